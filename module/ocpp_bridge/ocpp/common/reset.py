"""Reset orchestration, the same for both versions. PURE.

Owns the way from an accepted Reset to ``EvsePort.reset``:
1. ``reset_now(kind, stop_reason)``: every running transaction is asked to stop (the
   version's reason); the EVSEs get ``STOP_WAIT_S`` to end them, after which what is left is
   ended here (``TransactionsToStop.force_end``).
   ``reset_when_idle(kind)``: nothing is stopped; the reset waits for the last transaction to
   end, however long that takes (2.0.1 OnIdle).
2. Once no transaction runs, the queued messages (the StopTransaction / TransactionEvent
   Ended just queued above all) get up to ``FLUSH_WAIT_S`` to reach the CSMS: a message cut
   in flight by the reset would reach the CSMS twice. Offline, the reset does not wait (the
   messages are durable and go after the restart).
3. ``EvsePort.reset(kind)`` (Soft | Hard). A reset the system refuses is tried again after
   ``RETRY_S``, up to ResetRetries more times (1.6 ``ResetRetries``, 2.0.1
   ``OCPPCommCtrlr.ResetRetries``: the setting the adapter hands in, read at each failure).

Every step runs on a timer set for "now" or later, so the reset never goes before the
CALLRESULT of the Reset that asked for it.

The constants are one choice for both versions (1.6 used to give transactions and queue
together 10 s, 2.0.1 30 s to end the transactions and 10 s to flush): an EVSE that stops
gracefully (DC ramp-down, ISO 15118 session stop, contactor welding check) may need more
than 10 s, and the CSMS already has its answer, so waiting longer costs nothing; ending a
transaction here while its EVSE is still stopping it would end it twice.

What stays in each version's adapter: which Reset kinds exist and what they mean (1.6
Soft / Hard; 2.0.1 Immediate / OnIdle, a per-EVSE reset Rejected), the stop reason, and how
a transaction is stopped or ended here.

Must never: read a clock (``core.now``), decide the answer to the CSMS, or touch a
transaction record itself (it asks ``TransactionsToStop``).
"""

from __future__ import annotations

import logging
from typing import Protocol

from ocpp_bridge.ocpp.events import TxEnded
from ocpp_bridge.ocpp.evse_events import EvsePort
from ocpp_bridge.ocpp.settings import Config, Setting
from ocpp_bridge.ocpp.station import StationCore

log = logging.getLogger("ocpp_bridge.ocpp.common.reset")

STOP_WAIT_S = 30.0   # how long the EVSEs may take to end their transactions
FLUSH_WAIT_S = 10.0  # how long the queued messages may take to reach the CSMS
FLUSH_POLL_S = 0.5
RETRY_S = 5.0        # between a refused reset and the next try
RESET_TIMER, RESET_DEADLINE = "reset", "reset-deadline"


class TransactionsToStop(Protocol):
    """What the orchestrator asks of the version's transactions."""

    def active_evses(self) -> set[int]:
        """The EVSEs with a running transaction."""
        ...

    def stop(self, evse: int, reason: str) -> None:
        """Ask for the transaction on ``evse`` to end (``reason``: the version's)."""
        ...

    def force_end(self, evse: int, reason: str) -> None:
        """The EVSE did not end it in time: end it here, without waiting for the EVSE."""
        ...


class ResetOrchestrator:
    def __init__(self, core: StationCore, evse: EvsePort, transactions: TransactionsToStop, config: Config, *,
                 retries: Setting[int]) -> None:
        """``retries``: the version's ResetRetries setting, read from ``config``."""
        self.core = core
        self.evse = evse
        self.transactions = transactions
        self.config = config
        self.retries = retries
        self._kind: str | None = None        # the pending reset: "Soft" | "Hard"
        self._stop_reason: str | None = None  # set while transactions are being stopped for it
        self._flush_until = 0.0
        self._tries = 0
        self._asked = False  # the system has been asked to reset and has not answered yet
        core.events.subscribe(TxEnded, self._on_tx_ended)

    @property
    def pending(self) -> str | None:
        """The kind of the reset on its way (None: none)."""
        return self._kind

    def reset_now(self, kind: str, stop_reason: str) -> None:
        """Stop every transaction for ``stop_reason``, then reset (``kind``: Soft | Hard)."""
        self._kind, self._stop_reason, self._tries = kind, stop_reason, 0
        active = sorted(self.transactions.active_evses())
        for evse in active:
            log.info("%s reset: stopping the transaction on EVSE %d (%s)", kind, evse, stop_reason)
            self.transactions.stop(evse, stop_reason)
        if active:
            self.core.timers.set(RESET_DEADLINE, self.core.now + STOP_WAIT_S, self._stop_deadline)
        self._when_idle()

    def reset_when_idle(self, kind: str) -> None:
        """Reset once no transaction runs, stopping none. A reset already stopping the
        transactions stays as it is."""
        if self._stop_reason is None:
            self._kind, self._tries = kind, 0
        self._when_idle()

    # ------------------------------------------------------------------ steps
    def _on_tx_ended(self, event: TxEnded) -> None:
        self._when_idle()

    def _when_idle(self) -> None:
        if self._kind is not None and not self._asked and not self.transactions.active_evses() \
                and not self.core.timers.is_set(RESET_TIMER):
            self._flush_then_reset()

    def _stop_deadline(self) -> None:
        reason = self._stop_reason or ""
        for evse in sorted(self.transactions.active_evses()):
            log.warning("EVSE %d did not end its transaction within %.0fs for the reset: ending it here",
                        evse, STOP_WAIT_S)
            self.transactions.force_end(evse, reason)
        self._flush_then_reset()

    def _flush_then_reset(self) -> None:
        self.core.timers.cancel(RESET_DEADLINE)
        self._flush_until = self.core.now + FLUSH_WAIT_S
        self.core.timers.set(RESET_TIMER, self.core.now, self._reset_when_flushed)  # after our CALLRESULT

    def _reset_when_flushed(self) -> None:
        if self.core.connected and self.core.messages_in_queue() and self.core.now < self._flush_until:
            self.core.timers.set(RESET_TIMER, self.core.now + FLUSH_POLL_S, self._reset_when_flushed)
            return
        self._reset()

    def _reset(self) -> None:
        kind = self._kind
        if kind is None:
            return
        self._stop_reason = None
        self._asked = True
        self._tries += 1
        log.info("%s reset now (try %d)", kind, self._tries)
        self.evse.reset(kind, self._reset_done)

    def _reset_done(self, ok: bool) -> None:
        kind, self._asked = self._kind, False
        if kind is None:
            return
        if ok:
            self._kind = None
            return
        retries = self.config.read(self.retries)
        if self._tries > retries:
            log.error("%s reset failed %d time(s); giving up (%s %d)", kind, self._tries, self.retries.label, retries)
            self._kind = None
            return
        log.warning("%s reset refused (try %d); trying again in %.0fs", kind, self._tries, RETRY_S)
        self.core.timers.set(RESET_TIMER, self.core.now + RETRY_S, self._reset)
