"""OCPP 1.6 remote control: what the CSMS may ask the charge point to do. PURE.

Owns the answers to RemoteStartTransaction, RemoteStopTransaction, UnlockConnector, Reset,
TriggerMessage and DataTransfer (both directions), turned into ``EvsePort`` requests:
- RemoteStartTransaction / RemoteStopTransaction before the CSMS Accepted our BootNotification
  (Pending, Rejected): Rejected, nothing starts or stops (1.6 §4.2 does not allow them then;
  the answer is 2.0.1 B02.FR.05's, as libocpp gives it; ``common/remote_control.py``).
- RemoteStartTransaction: Rejected for connector 0 or an unknown one, a connector that is
  Unavailable / Faulted / in a transaction or reserved for another idTag (TC_046_2: the
  reservation's idTag, or an idTag whose known parent is the reservation's parentIdTag, may
  use it; libocpp's rule), or a chargingProfile that is not a TxProfile. Without connectorId,
  the connectors reserved for another idTag are left out (none left -> Rejected). Else the
  idTag goes to the Auth module (``provide_token``, type Central), prevalidated unless
  AuthorizeRemoteTxRequests is true or a reservation with a parentIdTag waits for an idTag
  whose parent is not known yet (then the Auth module asks ``validate_token``, whose Authorize
  learns it); the profile is handed on as the ``RemoteStartProfile`` event.
- RemoteStopTransaction: the EVSE of that transactionId stops (reason Remote); unknown id ->
  Rejected.
- UnlockConnector: unknown connector -> NotSupported; a running transaction is stopped first
  (UnlockCommand); the answer (Unlocked / UnlockFailed) waits for the EVSE's force_unlock.
- Reset Soft/Hard: Accepted; running transactions stop (SoftReset / HardReset), then
  ``EvsePort.reset`` Soft / Hard, the way ``common/reset.py`` orchestrates it for both
  versions (both kinds wait for the StopTransactions to leave; ResetRetries). 1.6 cannot end a
  transaction here: one its EVSE did not end in time is left to the crash recovery after the
  restart (a StopTransaction PowerLoss unless the EVSE resumes it).
- TriggerMessage: BootNotification, DiagnosticsStatusNotification, FirmwareStatusNotification
  (Idle, unless a block registered its own sender with ``add_trigger``), Heartbeat,
  MeterValues and StatusNotification (one connector or all), through the registry both
  versions share (``common/remote_control.py``: after the CALLRESULT, while Pending too, only
  BootNotification while Rejected); a triggered BootNotification goes at once and its answer
  moves the registration on; an unknown connector -> Rejected.
- DataTransfer both ways: ``common/data_transfer.py``; 1.6 data is a string, so a module's
  non-string data goes to the CSMS as its JSON text.

Must never: change availability, reservations or transaction records itself.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.common.data_transfer import DataTransfer
from ocpp_bridge.ocpp.common.remote_control import TriggerMessages, accepted, remote_stop, report_idle
from ocpp_bridge.ocpp.common.reset import ResetOrchestrator
from ocpp_bridge.ocpp.context import BlockContext, EvseSwitch
from ocpp_bridge.ocpp.events import RemoteStartProfile
from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.registration import Registration
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.keys import flag, integer
from ocpp_bridge.ocpp.v16.meter_values import MeterValues16
from ocpp_bridge.ocpp.v16.reservation import FOR_OTHER, FOR_OTHER_WITH_PARENT, Reservation16
from ocpp_bridge.ocpp.v16.status import Status16
from ocpp_bridge.ocpp.v16.transactions import Transactions16

log = logging.getLogger("ocpp_bridge.ocpp.v16.remote_control")

AUTHORIZE_REMOTE_TX_REQUESTS = flag("AuthorizeRemoteTxRequests", False)
RESET_RETRIES = integer("ResetRetries", 3)
KEYS = (AUTHORIZE_REMOTE_TX_REQUESTS, RESET_RETRIES)

Payload = dict[str, Any]
RULE = "1.6 §4.2"


class _ResetTransactions:
    """The 1.6 transactions as the reset sees them: stopped by the EVSE, never ended here."""

    def __init__(self, transactions: Transactions16, evse: EvseSwitch) -> None:
        self.transactions = transactions
        self.evse = evse

    def active_evses(self) -> set[int]:
        return {rec.evse for rec in self.transactions.records()}

    def stop(self, evse: int, reason: str) -> None:
        self.evse.stop_transaction(evse, reason)

    def force_end(self, evse: int, reason: str) -> None:
        log.warning("EVSE %d: its transaction stays open through the reset; the restart's crash recovery "
                    "closes it unless the EVSE resumes it", evse)


def _as_text(data: Any) -> str:
    """1.6 DataTransfer.data is a string: other data goes as its JSON text."""
    return data if isinstance(data, str) else json.dumps(data)


class RemoteControl16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], registration: Registration, status: Status16,
                 transactions: Transactions16, meter_values: MeterValues16, reservation: Reservation16):
        self.registration = registration
        self.reservation = reservation
        self.core = ctx.core
        self.evse = ctx.evse
        self.keys = ctx.config
        self.count = ctx.evse_count
        self.status = status
        self.tx = transactions
        self.meter_values = meter_values
        self.resets = ResetOrchestrator(self.core, self.evse, _ResetTransactions(transactions, self.evse),
                                        self.keys, retries=RESET_RETRIES)
        self.data_transfer = DataTransfer(self.core, self.evse, encode_data=_as_text)
        # requestedMessage -> sends it for a connector (None: all)
        self.triggers: TriggerMessages[int | None] = TriggerMessages(self.core)
        for kind, send in (("BootNotification", lambda connector: self._sent(registration.send_boot)),
                           ("Heartbeat", lambda connector: self._sent(registration.send_heartbeat)),
                           ("StatusNotification", lambda connector: self._sent(lambda: status.trigger(connector))),
                           ("MeterValues", lambda connector: self._sent(lambda: meter_values.trigger(connector))),
                           ("DiagnosticsStatusNotification",
                            lambda connector: report_idle(self.core, "DiagnosticsStatusNotification")),
                           ("FirmwareStatusNotification",
                            lambda connector: report_idle(self.core, "FirmwareStatusNotification"))):
            self.triggers.add(kind, send)
        for action, fn in (("RemoteStartTransaction", self._remote_start), ("RemoteStopTransaction", self._remote_stop),
                           ("UnlockConnector", self._unlock), ("Reset", self._reset_request),
                           ("TriggerMessage", self._trigger)):
            self.core.handle(action, fn)

    # ------------------------------------------------------------------ start / stop
    def _remote_start(self, payload: Payload) -> Payload:
        connector = payload.get("connectorId")
        profile = payload.get("chargingProfile")
        id_tag = payload["idTag"]
        if not accepted(self.core, "RemoteStartTransaction", RULE):
            return {"status": "Rejected"}
        if connector is not None and not 1 <= connector <= self.count:
            return {"status": "Rejected"}
        if profile is not None and profile.get("chargingProfilePurpose") != "TxProfile":
            return {"status": "Rejected"}
        if connector is not None and (self.status.status(connector) in ("Unavailable", "Faulted")
                                      or self.tx.active(connector) is not None):
            return {"status": "Rejected"}
        candidates = [connector] if connector is not None else list(range(1, self.count + 1))
        checks = {e: self.reservation.check(e, id_tag) for e in candidates}
        evses = [e for e in candidates if checks[e] != FOR_OTHER]
        if not evses:
            log.info("RemoteStartTransaction %s: connector(s) %s reserved for another idTag: Rejected",
                     id_tag, candidates)
            return {"status": "Rejected"}
        parent_unknown = any(checks[e] == FOR_OTHER_WITH_PARENT for e in evses)
        prevalidated = not self.keys.read(AUTHORIZE_REMOTE_TX_REQUESTS) and not parent_unknown
        log.info("RemoteStartTransaction %s on %s (prevalidated %s)", id_tag, evses, prevalidated)
        self.evse.provide_token(IdToken(id_tag, "Central"), evses, prevalidated)
        if profile is not None:
            self.core.events.publish(RemoteStartProfile(connector, profile))
        return {"status": "Accepted"}

    def _remote_stop(self, payload: Payload) -> Payload:
        rec = self.tx.by_transaction_id(payload["transactionId"])
        return remote_stop(self.core, "RemoteStopTransaction", RULE, None if rec is None else rec.evse,
                           lambda evse: self.evse.stop_transaction(evse, "Remote"))

    def _unlock(self, payload: Payload) -> Any:  # a Deferred (the core waits on it)
        connector = payload["connectorId"]
        if not 1 <= connector <= self.count:
            return {"status": "NotSupported"}
        answer = Deferred()
        port = self.evse

        def unlock(_stopped: bool = True) -> None:
            port.force_unlock(connector, 1, lambda ok: answer.resolve({"status": "Unlocked" if ok else "UnlockFailed"}))

        if self.tx.active(connector) is not None:
            port.stop_transaction(connector, "UnlockCommand", unlock)
        else:
            unlock()
        return answer

    # ------------------------------------------------------------------ reset
    def _reset_request(self, payload: Payload) -> Payload:
        kind = payload["type"]  # Soft | Hard: what EvsePort.reset takes
        self.resets.reset_now(kind, "SoftReset" if kind == "Soft" else "HardReset")
        return {"status": "Accepted"}

    # ------------------------------------------------------------------ trigger
    def _trigger(self, payload: Payload) -> Payload:
        what, connector = payload["requestedMessage"], payload.get("connectorId")
        if connector is not None and not 0 <= connector <= self.count:
            return {"status": "Rejected"}
        log.info("TriggerMessage %s (connector %s)", what, connector)
        return {"status": self.triggers.answer(what, connector)}

    def add_trigger(self, requested_message: str, send: Callable[[int | None], str]) -> None:
        """Let another block send a TriggerMessage kind (e.g. FirmwareStatusNotification with the
        current status); ``send(connector)`` returns the TriggerMessageStatus (Accepted or Rejected)."""
        self.triggers.add(requested_message, send)

    @staticmethod
    def _sent(fn: Callable[[], None]) -> str:
        fn()
        return "Accepted"

    # ------------------------------------------------------------------ data transfer
    def data_transfer_to_csms(self, vendor_id: str, message_id: str | None, data: Any) -> Deferred:
        """Resolves to ``{"status", "data"?}``; status Offline when the CSMS did not answer."""
        return self.data_transfer.to_csms(vendor_id, message_id, data)
