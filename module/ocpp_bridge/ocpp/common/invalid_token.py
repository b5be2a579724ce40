"""A running transaction whose token the CSMS declares not valid, for both OCPP versions. PURE.

Owns one rule, 1.6 StopTransactionOnInvalidId / MaxEnergyOnInvalidId and 2.0.1
TxCtrlr.StopTxOnInvalidId / TxCtrlr.MaxEnergyOnInvalidId alike. When the answer to a
transaction message says its token is not Accepted:
- Stop...OnInvalidId true: the EVSE is asked to stop the transaction (reason DeAuthorized);
- false: the transaction is marked invalid and charges on until it has delivered
  MaxEnergyOnInvalidId Wh since its start; then the EVSE is asked to pause charging, once per
  run of the module (a limit of 0 pauses at once).
The block persists the mark and the energy it counts from in the transaction's record, so
after a restart the transaction is paused again as soon as the limit is reached; it asks
``check`` at every meter reading of the transaction and right after marking it, and
``forget``s the transaction when it ends (nothing per session is left behind).

Where the versions differ, the block passes it in: the energy counted from is 1.6's meterStart
(what StartTransaction reported) and 2.0.1's reading at the EVSE's TransactionStarted (None
when the EVSE gave none: then nothing counts as delivered); 1.6 learns the token's status from
StartTransaction.conf, 2.0.1 from any TransactionEventResponse to an event that carried it.

Must never: build OCPP messages, write a store, or read a clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from ocpp_bridge.ocpp.evse_events import Done
from ocpp_bridge.ocpp.settings import Config, Setting

log = logging.getLogger("ocpp_bridge.ocpp.common.invalid_token")


@dataclass(frozen=True)
class InvalidTokenSettings:
    stop: Setting[bool]       # StopTransactionOnInvalidId / TxCtrlr.StopTxOnInvalidId
    max_energy: Setting[int]  # MaxEnergyOnInvalidId / TxCtrlr.MaxEnergyOnInvalidId (Wh)


class ChargingPort(Protocol):
    """What the guard asks of an EVSE."""

    def stop_transaction(self, evse: int, reason: str, done: Done | None = None) -> None: ...

    def pause_charging(self, evse: int, done: Done | None = None) -> None: ...


def delivered_wh(start_wh: float | None, energy_wh: float | None) -> float:
    """Energy delivered since the start; 0 while either reading is unknown."""
    if start_wh is None or energy_wh is None:
        return 0.0
    return energy_wh - start_wh


class InvalidTokenGuard:
    STATE = ("_paused",)  # restored by the block's state changes (``ocpp/state_change.py``)

    def __init__(self, config: Config, settings: InvalidTokenSettings, evse: ChargingPort) -> None:
        self._config = config
        self._settings = settings
        self._evse = evse
        self._paused: set[str] = set()  # sessions paused in this run

    def token_status(self, session_id: str, evse: int, token: str | None, status: str) -> bool:
        """The CSMS says the running transaction's ``token`` is ``status``. True when the block
        must mark the transaction invalid (and persist it), then ``check`` it."""
        if status == "Accepted":
            return False
        if self._config.read(self._settings.stop):
            log.info("EVSE %d: token %s is %s: stopping transaction %s", evse, token, status, session_id)
            self._evse.stop_transaction(evse, "DeAuthorized")
            return False
        return True

    def check(self, session_id: str, evse: int, *, invalid: bool, start_wh: float | None,
              energy_wh: float | None) -> None:
        """Pause the transaction once it delivered MaxEnergyOnInvalidId Wh on an invalid token."""
        if not invalid or session_id in self._paused:
            return
        allowed = self._config.read(self._settings.max_energy)
        delivered = delivered_wh(start_wh, energy_wh)
        if delivered >= allowed:
            log.info("EVSE %d: %.0f Wh delivered on an invalid token (MaxEnergyOnInvalidId %d): pausing "
                     "transaction %s", evse, delivered, allowed, session_id)
            self._paused.add(session_id)
            self._evse.pause_charging(evse)

    def forget(self, session_id: str) -> None:
        self._paused.discard(session_id)
