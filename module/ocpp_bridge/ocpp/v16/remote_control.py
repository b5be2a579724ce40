"""OCPP 1.6 remote control: what the CSMS may ask the charge point to do. PURE.

Owns the answers to RemoteStartTransaction, RemoteStopTransaction, UnlockConnector, Reset,
TriggerMessage and DataTransfer (both directions), turned into ``EvsePort`` requests:
- RemoteStartTransaction / RemoteStopTransaction before the CSMS Accepted our BootNotification
  (Pending, Rejected): Rejected, nothing starts or stops (1.6 §4.2 does not allow them then;
  the answer is 2.0.1 B02.FR.05's, as libocpp gives it).
- RemoteStartTransaction: Rejected for connector 0 or an unknown one, a connector that is
  Unavailable / Faulted / in a transaction or reserved for another idTag (TC_046_2: the
  reservation's idTag, or an idTag whose known parent is the reservation's parentIdTag, may
  use it; libocpp's rule), or a chargingProfile that is not a TxProfile. Without connectorId,
  the connectors reserved for another idTag are left out (none left -> Rejected). Else the
  idTag goes to the Auth module (``provide_token``, type Central), prevalidated unless
  AuthorizeRemoteTxRequests is true or a reservation with a parentIdTag waits for an idTag
  whose parent is not known yet (then the Auth module asks ``validate_token``, whose Authorize
  learns it); the profile is handed on as the ``remote_start_charging_profile`` event.
- RemoteStopTransaction: the EVSE of that transactionId stops (reason Remote); unknown id ->
  Rejected.
- UnlockConnector: unknown connector -> NotSupported; a running transaction is stopped first
  (UnlockCommand); the answer (Unlocked / UnlockFailed) waits for the EVSE's force_unlock.
- Reset Soft/Hard: Accepted; running transactions stop (SoftReset / HardReset), then, once
  they ended and their messages left (both kinds: a StopTransaction cut in flight by the
  reset would reach the CSMS twice), or after RESET_WAIT_S, ``EvsePort.reset`` runs; a
  failed reset is tried again up to ResetRetries times.
- TriggerMessage: BootNotification, DiagnosticsStatusNotification, FirmwareStatusNotification
  (status from the charge point's ``diagnostics_status`` / ``firmware_status`` when some
  block provides them, else Idle), Heartbeat, MeterValues and StatusNotification (one
  connector or all); queued after the CALLRESULT and sent while Pending too (the core's
  ``triggered``); a triggered BootNotification goes at once and its answer moves the
  registration on; unknown connector, or anything but BootNotification while Rejected ->
  Rejected.
- DataTransfer from the CSMS goes to the ``data_transfer`` module (none -> UnknownVendorId);
  ``data_transfer_to_csms`` sends one to the CSMS (no answer -> status Offline).

Must never: change availability, reservations or transaction records itself.
"""

from __future__ import annotations

import json
import logging
from typing import Callable

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import RemoteStartProfile, TxEnded
from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.outcome import undelivered
from ocpp_bridge.ocpp.registration import Registration
from ocpp_bridge.ocpp.station import InvalidOutgoing
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

RESET_TIMER = "reset16"
RESET_WAIT_S = 10.0
RESET_CHECK_S = 1.0
RESET_RETRY_S = 5.0


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
        self._reset: dict | None = None  # {"kind", "deadline", "tries"}
        # requestedMessage -> what sends it for a connector (None: all) -> False when it cannot
        self._triggers: dict[str, Callable[[int | None], bool]] = {
            "BootNotification": lambda connector: self._sent(registration.send_boot),
            "Heartbeat": lambda connector: self._sent(registration.send_heartbeat),
            "StatusNotification": lambda connector: self._sent(lambda: status.trigger(connector)),
            "MeterValues": lambda connector: self._sent(lambda: meter_values.trigger(connector)),
            "DiagnosticsStatusNotification": lambda connector: self._idle("DiagnosticsStatusNotification"),
            "FirmwareStatusNotification": lambda connector: self._idle("FirmwareStatusNotification"),
        }
        for action, fn in (("RemoteStartTransaction", self._remote_start), ("RemoteStopTransaction", self._remote_stop),
                           ("UnlockConnector", self._unlock), ("Reset", self._reset_request),
                           ("TriggerMessage", self._trigger), ("DataTransfer", self._data_transfer)):
            self.core.handle(action, fn)
        self.core.events.subscribe(TxEnded, self._on_tx_ended)

    # ------------------------------------------------------------------ start / stop
    def _registered(self, action: str) -> bool:
        if self.core.registration == "Accepted":
            return True
        log.warning("%s while the registration is %s: Rejected (1.6 §4.2)", action, self.core.registration)
        return False

    def _remote_start(self, payload: dict) -> dict:
        connector = payload.get("connectorId")
        profile = payload.get("chargingProfile")
        id_tag = payload["idTag"]
        if not self._registered("RemoteStartTransaction"):
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

    def _remote_stop(self, payload: dict) -> dict:
        if not self._registered("RemoteStopTransaction"):
            return {"status": "Rejected"}
        rec = self.tx.by_transaction_id(payload["transactionId"])
        if rec is None:
            return {"status": "Rejected"}
        self.evse.stop_transaction(rec.evse, "Remote")
        return {"status": "Accepted"}

    def _unlock(self, payload: dict):
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
    def _reset_request(self, payload: dict) -> dict:
        kind = payload["type"]
        reason = "SoftReset" if kind == "Soft" else "HardReset"
        for rec in self.tx.records():
            log.info("%s reset: stopping the transaction on EVSE %d", kind, rec.evse)
            self.evse.stop_transaction(rec.evse, reason)
        self._reset = {"kind": kind, "deadline": self.core.now + RESET_WAIT_S, "tries": 0}
        self.core.timers.set(RESET_TIMER, self.core.now, self._reset_when_ready)  # after our CALLRESULT
        return {"status": "Accepted"}

    def _on_tx_ended(self, event: TxEnded) -> None:
        if self._reset is not None and not self.tx.records():
            self.core.timers.set(RESET_TIMER, self.core.now, self._reset_when_ready)

    def _reset_when_ready(self) -> None:
        r = self._reset
        if r is None:
            return
        settled = not self.tx.records() and (self.core.messages_in_queue() == 0 or not self.core.connected)
        if not settled and self.core.now < r["deadline"]:
            self.core.timers.set(RESET_TIMER, self.core.now + RESET_CHECK_S, self._reset_when_ready)
            return
        r["tries"] += 1
        log.info("%s reset now (try %d)", r["kind"], r["tries"])
        self.evse.reset(r["kind"], self._reset_done)

    def _reset_done(self, ok: bool) -> None:
        r = self._reset
        if r is None:
            return
        if ok:
            self._reset = None
            return
        retries = self.keys.read(RESET_RETRIES)
        if r["tries"] > retries:
            log.error("%s reset failed %d time(s); giving up (ResetRetries %d)", r["kind"], r["tries"], retries)
            self._reset = None
            return
        self.core.timers.set(RESET_TIMER, self.core.now + RESET_RETRY_S, self._reset_when_ready)

    # ------------------------------------------------------------------ trigger
    def _trigger(self, payload: dict) -> dict:
        what, connector = payload["requestedMessage"], payload.get("connectorId")
        if connector is not None and not 0 <= connector <= self.count:
            return {"status": "Rejected"}
        log.info("TriggerMessage %s (connector %s)", what, connector)
        if what != "BootNotification" and self.core.registration not in ("Accepted", "Pending"):
            return {"status": "Rejected"}  # nothing but BootNotification may leave now (1.6 §4.2)
        with self.core.triggered():
            return self._send_triggered(what, connector)

    def add_trigger(self, requested_message: str, send: Callable[[int | None], bool]) -> None:
        """Let another block send a TriggerMessage kind (e.g. FirmwareStatusNotification with the
        current status); ``send(connector)`` returns False when there is nothing it can send."""
        self._triggers[requested_message] = send

    def _send_triggered(self, what: str, connector: int | None) -> dict:
        send = self._triggers.get(what)
        if send is None:
            return {"status": "NotImplemented"}
        return {"status": "Accepted" if send(connector) else "Rejected"}

    @staticmethod
    def _sent(fn: Callable[[], None]) -> bool:
        fn()
        return True

    def _idle(self, action: str) -> bool:
        """No firmware update or diagnostics upload is running: the status is Idle."""
        self.core.call(action, {"status": "Idle"})
        return True

    # ------------------------------------------------------------------ data transfer
    def _data_transfer(self, payload: dict):
        answer = Deferred()
        self.evse.data_transfer(
            payload, lambda response: answer.resolve(response if response else {"status": "UnknownVendorId"}))
        return answer

    def data_transfer_to_csms(self, vendor_id: str, message_id: str | None, data) -> Deferred:
        """Resolves to ``{"status", "data"?}``; status Offline when the CSMS did not answer."""
        answer = Deferred()
        payload: dict = {"vendorId": vendor_id}
        if message_id is not None:
            payload["messageId"] = message_id
        if data is not None:
            payload["data"] = data if isinstance(data, str) else json.dumps(data)

        def done(result, error) -> None:
            if result is None:
                answer.resolve({"status": "Offline" if error is None or undelivered(error) else "Rejected"})
                return
            response = {"status": result.get("status", "Rejected")}
            if result.get("data") is not None:
                response["data"] = result["data"]
            answer.resolve(response)

        try:
            self.core.call("DataTransfer", payload, done)
        except InvalidOutgoing as exc:
            answer.fail(str(exc))
        return answer

