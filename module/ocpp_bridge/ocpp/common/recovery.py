"""Crash and power-loss recovery of transactions, for both OCPP versions. PURE.

Owns which transactions wait for their EVSE after a restart, and when an open transaction is
closed as PowerLoss because its session is gone:
- the sessions whose records were loaded at start-up (``loaded``) wait; any EVSE event that
  names one of them (``SessionResumed`` first of all) means the EVSE kept that session: it is
  resumed, and its transaction goes on;
- ``EvseReady`` (the EVSE finished initialising, after ``get_evse`` at OCPP start) for an EVSE
  whose session still waits: the session ended with the power. The version's block closes its
  transaction as PowerLoss, and when that was an OCPP transaction the EVSE is told
  (``stop_transaction`` PowerLoss), as EVerest's OCPP modules do for the sessions their
  EvseManagers do not resume;
- a new session on an EVSE (``SessionStarted`` or ``TransactionStarted`` with another session
  id) while a record of another session is open there (the charger restarted, or its end was
  lost): that one is closed as PowerLoss too; the EVSE has moved on and is not told.
Each record keeps the last energy reading of its transaction for that close
(``energy_changed``). The version's block says how it closes (``close(session_id, unresumed)``: 1.6 StopTransaction,
2.0.1 TransactionEvent(Ended) with triggerReason AbnormalCondition) and forgets a session here
when its transaction ends any other way (``forget``).

Not here, because the versions differ: squaring the records with the outbox at load (the
outbox is the truth: each message is queued before its record is written). 1.6
(``v16/transactions.py`` ``_load``) drops a record whose StopTransaction is queued, takes a
missing transactionId from the outbox's id map, and rebuilds a lost record from its queued
StartTransaction; 2.0.1 (``v201/transactions.py`` ``_load``) moves a record whose Ended is
queued to the finished table (the answer to that Ended still needs its EVSE), takes the seqNos
queued beyond the record's, and rebuilds a lost record from its queued Started event.

Must never: build or send OCPP messages, write a store, or read a clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Callable, Protocol

from ocpp_bridge.ocpp.evse_events import Done, EvseReady, SessionStarted, TransactionStarted

log = logging.getLogger("ocpp_bridge.ocpp.common.recovery")


class StopPort(Protocol):
    """What recovery asks of an EVSE."""

    def stop_transaction(self, evse: int, reason: str, done: Done | None = None) -> None: ...


class EvseEvent(Protocol):
    @property
    def evse(self) -> int: ...


def energy_changed(kept_wh: float | None, energy_wh: float | None) -> bool:
    """Whether a reading's energy should replace the one a record keeps to close its
    transaction after a power loss (every change to the Wh; both versions persist it)."""
    return energy_wh is not None and (kept_wh is None or round(energy_wh) != round(kept_wh))


class Recovery:
    STATE = ("_waiting",)  # restored by the block's state changes (``ocpp/state_change.py``)

    def __init__(self, evse: StopPort, close: Callable[[str, bool], bool]) -> None:
        """``close(session_id, unresumed)``: the block closes that session's transaction as
        PowerLoss (``unresumed``: its EVSE is ready without it; else a new session replaced it)
        and answers whether it was an OCPP transaction."""
        self._evse = evse
        self._close = close
        self._waiting: set[str] = set()  # loaded at start-up, not yet resumed by their EVSE

    def loaded(self, session_id: str) -> None:
        """A session whose record was loaded at start-up: it waits for its EVSE."""
        self._waiting.add(session_id)

    def forget(self, session_id: str) -> None:
        """Its transaction ended (or it was never one): nothing waits for it any more."""
        self._waiting.discard(session_id)

    def waiting(self) -> frozenset[str]:
        return frozenset(self._waiting)

    def on_event(self, event: EvseEvent, open_sessions: Sequence[str]) -> None:
        """An EVSE event, before the block handles it; ``open_sessions``: the sessions with an
        open record on ``event.evse``."""
        session_id = getattr(event, "session_id", None)
        if session_id in self._waiting:
            self._waiting.discard(session_id)
            log.info("EVSE %d: session %s resumed; its transaction goes on", event.evse, session_id)
        if isinstance(event, EvseReady):
            for gone in [s for s in open_sessions if s in self._waiting]:
                log.warning("EVSE %d: session %s was not resumed after the restart: its transaction ends as "
                            "PowerLoss", event.evse, gone)
                self._waiting.discard(gone)
                if self._close(gone, True):
                    self._evse.stop_transaction(event.evse, "PowerLoss")
        elif isinstance(event, (SessionStarted, TransactionStarted)):
            for gone in [s for s in open_sessions if s != event.session_id]:
                log.warning("EVSE %d: session %s replaces the unfinished session %s: its transaction ends as "
                            "PowerLoss", event.evse, event.session_id, gone)
                self._waiting.discard(gone)
                self._close(gone, False)
