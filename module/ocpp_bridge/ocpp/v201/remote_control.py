"""OCPP 2.0.1 remote control (functional blocks F, B11/B12 Reset, P DataTransfer). PURE.

Owns the CSMS's requests that act on EVSEs or make the station send something:
RequestStartTransaction, RequestStopTransaction, GetTransactionStatus, UnlockConnector,
TriggerMessage, Reset and DataTransfer (both ways: ``data_transfer_to_csms``).

Rules (libocpp's RemoteTransactionControl unless said):
- RequestStartTransaction / RequestStopTransaction before our BootNotification was Accepted:
  Rejected (B02.FR.05).
- RequestStartTransaction: no evseId, an unknown EVSE, an EVSE whose connectors are all
  Faulted/Unavailable, an authorized transaction already there, a reservation of the EVSE
  for another token, or a groupIdToken that is AuthCtrlr.MasterPassGroupId (C16: a master
  pass stops transactions, it starts none): Rejected; so is one whose chargingProfile
  ``smart_charging.py`` refuses (K05). Else Accepted (with the transactionId when a transaction not yet
  authorized runs there, F02) and the token goes to the EVSEs' auth (``provide_token``;
  prevalidated unless AuthCtrlr.AuthorizeRemoteStart), its remoteStartId to the transaction.
- RequestStopTransaction: an ongoing transaction with that id -> Accepted and stopped with
  reason Remote; otherwise Rejected.
- GetTransactionStatus: messagesInQueue from the outbox; ongoingIndicator for a given id.
- UnlockConnector: unknown connector -> UnknownConnector; an authorized transaction there ->
  OngoingAuthorizedTransaction; else the EVSE's answer (Unlocked / UnlockFailed).
- TriggerMessage (the registry both versions share, ``common/remote_control.py``: the answer
  goes before the message, F06.FR.04; while Pending too, B02.FR.01; while Rejected only
  BootNotification, B03): BootNotification
  only while not Accepted (F06.FR.17); StatusNotification needs evse with connectorId (F06.FR.12);
  MeterValues / TransactionEvent need a reading / a transaction; Heartbeat always;
  LogStatusNotification and FirmwareStatusNotification report Idle unless a block registered
  its own sender (``add_trigger``); other kinds: NotImplemented.
- Reset: with evseId -> Rejected (per-EVSE reset is not supported, as in EVerest). No
  transaction -> Accepted, reset right after the answer. Immediate -> Accepted; every
  transaction is stopped (ImmediateReset). OnIdle -> Scheduled; the reset follows when the
  last transaction has ended, none is stopped. Immediate asks the system for a Hard reset,
  OnIdle a Soft. The waiting (for the transactions, for their messages to reach the CSMS),
  ending what is left and OCPPCommCtrlr.ResetRetries: ``common/reset.py``, as in 1.6.
- DataTransfer both ways: ``common/data_transfer.py``; 2.0.1 data is anyType, sent as it is.

Must never: change availability or transactions' state directly (it asks their blocks), or
read a clock.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ocpp_bridge.deferred import Deferred, now_or_later
from ocpp_bridge.ocpp.common.data_transfer import DataTransfer
from ocpp_bridge.ocpp.common.remote_control import TriggerMessages, accepted, remote_stop, report_idle
from ocpp_bridge.ocpp.common.reset import ResetOrchestrator
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import RemoteStartProfile
from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.v201.authorization import AUTHORIZE_REMOTE_START, AuthorizationBlock
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.meter_values import MeterValuesBlock
from ocpp_bridge.ocpp.v201.provisioning import Provisioning201
from ocpp_bridge.ocpp.v201.reservation import ReservationBlock
from ocpp_bridge.ocpp.v201.smart_charging import SmartChargingBlock, status_answer
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock
from ocpp_bridge.ocpp.v201.variables import integer

log = logging.getLogger("ocpp_bridge.ocpp.v201.remote_control")

RESET_RETRIES = integer("OCPPCommCtrlr", "ResetRetries", 3)
VARIABLES = (RESET_RETRIES,)

Payload = dict[str, Any]
Evse = dict[str, int]  # EVSEType: {"id", "connectorId"?}
# requestedMessage -> fn(evse or None) -> TriggerMessageStatusEnumType
Trigger = Callable[[Evse | None], str]
RULE = "B02.FR.05"


class _ResetTransactions:
    """The 2.0.1 transactions as the reset sees them."""

    def __init__(self, transactions: TransactionBlock) -> None:
        self.transactions = transactions

    def active_evses(self) -> set[int]:
        return self.transactions.active_evses()

    def stop(self, evse: int, reason: str) -> None:
        self.transactions.stop(evse, reason)

    def force_end(self, evse: int, reason: str) -> None:
        self.transactions.force_end(evse, reason)


class RemoteControlBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], provisioning: Provisioning201, status: StatusBlock,
                 authorization: AuthorizationBlock, reservation: ReservationBlock, meter_values: MeterValuesBlock,
                 transactions: TransactionBlock, charging: SmartChargingBlock):
        self.core = ctx.core
        self.model = ctx.config
        self.evse = ctx.evse
        self.provisioning = provisioning
        self.status = status
        self.authorization = authorization
        self.reservation = reservation
        self.meter_values = meter_values
        self.transactions = transactions
        self.charging = charging
        self.resets = ResetOrchestrator(self.core, self.evse, _ResetTransactions(transactions), self.model,
                                        retries=RESET_RETRIES)
        self.data_transfer = DataTransfer(self.core, self.evse, encode_data=lambda data: data)
        self.triggers: TriggerMessages[Evse | None] = TriggerMessages(self.core)
        for kind, fn in (("BootNotification", self._trigger_boot),
                         ("Heartbeat", self._trigger_heartbeat),
                         ("StatusNotification", self._trigger_status),
                         ("MeterValues", lambda evse: self._accepted(self.meter_values.trigger(evse and evse["id"]))),
                         ("TransactionEvent",
                          lambda evse: self._accepted(self.transactions.trigger(evse and evse["id"]))),
                         ("LogStatusNotification", lambda evse: report_idle(self.core, "LogStatusNotification")),
                         ("FirmwareStatusNotification",
                          lambda evse: report_idle(self.core, "FirmwareStatusNotification"))):
            self.triggers.add(kind, fn)
        for action, handler in (("RequestStartTransaction", self._on_start), ("RequestStopTransaction", self._on_stop),
                                ("GetTransactionStatus", self._on_transaction_status),
                                ("UnlockConnector", self._on_unlock), ("TriggerMessage", self._on_trigger),
                                ("Reset", self._on_reset)):
            self.core.handle(action, handler)

    def add_trigger(self, requested_message: str, fn: Trigger) -> None:
        """Let another block answer (and send) a TriggerMessage kind, e.g. FirmwareStatusNotification."""
        self.triggers.add(requested_message, fn)

    # ------------------------------------------------------------------ start / stop
    def _on_start(self, payload: Payload) -> Payload:
        evse, token = payload.get("evseId"), payload["idToken"]
        status_block, transactions = self.status, self.transactions
        if not accepted(self.core, "RequestStartTransaction", RULE):
            return {"status": "Rejected"}
        if evse is None or not status_block.has(evse):
            log.info("RequestStartTransaction without a known evseId (%s): Rejected", evse)
            return {"status": "Rejected"}
        tx = transactions.on_evse(evse)
        usable = [c for c in status_block.connector_ids(evse)
                  if status_block.status(evse, c) not in ("Faulted", "Unavailable")]
        if (tx is not None and tx.authorized) or not usable or \
                self.reservation.reserved_for_other(evse, token, payload.get("groupIdToken")):
            log.info("RequestStartTransaction on EVSE %d: Rejected (busy, unavailable or reserved)", evse)
            return {"status": "Rejected"}
        if self.authorization.is_master_pass(payload.get("groupIdToken")):
            log.info("RequestStartTransaction on EVSE %d: Rejected (the master pass group starts nothing)", evse)
            return {"status": "Rejected"}
        profile = payload.get("chargingProfile")
        if profile is not None and not self.charging.takes_profiles():
            log.info("RequestStartTransaction on EVSE %d: its charging profile is ignored (smart charging is off)", evse)
            profile = None
        if profile is not None:
            refusal = self.charging.remote_start_refusal(evse, profile)
            if refusal is not None:
                log.info("RequestStartTransaction on EVSE %d: Rejected, its charging profile: %s (%s)", evse, *refusal)
                return status_answer("Rejected", *refusal)
        transactions.expect_remote_start(evse, token["idToken"], payload["remoteStartId"])
        prevalidated = not self.model.read(AUTHORIZE_REMOTE_START)
        self.evse.provide_token(IdToken(token["idToken"], token["type"]), [evse], prevalidated,
                                payload["remoteStartId"])
        if profile is not None:
            self.core.events.publish(RemoteStartProfile(evse, profile, payload["remoteStartId"]))
        response: Payload = {"status": "Accepted"}
        if tx is not None:
            response["transactionId"] = tx.transaction_id
        log.info("RequestStartTransaction %s on EVSE %d: Accepted", payload["remoteStartId"], evse)
        return response

    def _on_stop(self, payload: Payload) -> Payload:
        tx = self.transactions.by_transaction_id(payload["transactionId"])
        return remote_stop(self.core, "RequestStopTransaction", RULE, None if tx is None else tx.evse,
                           lambda evse: self.transactions.stop(evse, "Remote"))

    def _on_transaction_status(self, payload: Payload) -> Payload:
        tid = payload.get("transactionId")
        response: Payload = {"messagesInQueue": self.core.messages_in_queue(tid) > 0}
        if tid is not None:
            response["ongoingIndicator"] = self.transactions.by_transaction_id(tid) is not None
        return response

    # ------------------------------------------------------------------ unlock
    def _on_unlock(self, payload: Payload) -> Any:  # the answer, or a Deferred the core waits on
        evse, connector = payload["evseId"], payload["connectorId"]
        if not self.status.has(evse, connector):
            return {"status": "UnknownConnector"}
        tx = self.transactions.on_evse(evse)
        if tx is not None and tx.authorized:
            return {"status": "OngoingAuthorizedTransaction"}
        answer = Deferred()
        self.evse.force_unlock(
            evse, connector, lambda ok: answer.resolve({"status": "Unlocked" if ok else "UnlockFailed"}))
        return now_or_later(answer)

    # ------------------------------------------------------------------ TriggerMessage
    def _on_trigger(self, payload: Payload) -> Payload:
        kind, evse = payload["requestedMessage"], payload.get("evse")
        if evse is not None and not self.status.has(evse["id"]):
            return {"status": "Rejected"}
        status = self.triggers.answer(kind, evse)
        log.info("TriggerMessage %s %s: %s", kind, evse or "", status)
        return {"status": status}

    @staticmethod
    def _accepted(sent: bool) -> str:
        return "Accepted" if sent else "Rejected"

    def _trigger_boot(self, evse: Evse | None) -> str:
        if self.core.registration == "Accepted":
            return "Rejected"  # F06.FR.17
        self.provisioning.boot_reason = "Triggered"
        self.provisioning.registration.send_boot()
        return "Accepted"

    def _trigger_heartbeat(self, evse: Evse | None) -> str:
        self.provisioning.registration.send_heartbeat()
        return "Accepted"

    def _trigger_status(self, evse: Evse | None) -> str:
        if evse is None or evse.get("connectorId") is None:
            return "Rejected"  # F06.FR.12
        return self._accepted(self.status.send_one(evse["id"], evse["connectorId"]))

    # ------------------------------------------------------------------ Reset
    def _on_reset(self, payload: Payload) -> Payload:
        kind = payload["type"]
        if payload.get("evseId") is not None:
            log.info("Reset of EVSE %s: Rejected (not supported)", payload["evseId"])
            return {"status": "Rejected"}
        if kind == "OnIdle":
            busy = len(self.transactions.active_evses())
            self.resets.reset_when_idle("Soft")
            if not busy:
                return {"status": "Accepted"}
            log.info("Reset OnIdle scheduled: waiting for %d transaction(s)", busy)
            return {"status": "Scheduled"}
        self.resets.reset_now("Hard", "ImmediateReset")
        return {"status": "Accepted"}

    # ------------------------------------------------------------------ DataTransfer
    def data_transfer_to_csms(self, vendor_id: str, message_id: str | None, data: Any) -> Deferred:
        """A module's DataTransfer to the CSMS; resolves to the CSMS's answer ({"status", "data"?}),
        {"status": "Offline"} when it could not be delivered, Rejected on a CALLERROR."""
        return self.data_transfer.to_csms(vendor_id, message_id, data)
