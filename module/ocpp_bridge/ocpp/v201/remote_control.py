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
  pass stops transactions, it starts none): Rejected. Else Accepted (with the transactionId when a transaction not yet
  authorized runs there, F02) and the token goes to the EVSEs' auth (``provide_token``;
  prevalidated unless AuthCtrlr.AuthorizeRemoteStart), its remoteStartId to the transaction.
- RequestStopTransaction: an ongoing transaction with that id -> Accepted and stopped with
  reason Remote; otherwise Rejected.
- GetTransactionStatus: messagesInQueue from the outbox; ongoingIndicator for a given id.
- UnlockConnector: unknown connector -> UnknownConnector; an authorized transaction there ->
  OngoingAuthorizedTransaction; else the EVSE's answer (Unlocked / UnlockFailed).
- TriggerMessage (the answer goes before the message, F06.FR.04; while Pending too, B02.FR.01,
  through the core's ``triggered``; while Rejected only BootNotification, B03): BootNotification
  only while not Accepted (F06.FR.17); StatusNotification needs evse with connectorId (F06.FR.12);
  MeterValues / TransactionEvent need a reading / a transaction; Heartbeat always;
  LogStatusNotification and FirmwareStatusNotification report Idle unless a block registered
  its own sender (``add_trigger``); other kinds: NotImplemented.
- Reset: with evseId -> Rejected (per-EVSE reset is not supported, as in EVerest). No
  transaction -> Accepted, reset right after the answer. Immediate -> Accepted; every
  transaction is stopped (ImmediateReset), the reset follows when the last has ended (or after
  ``RESET_STOP_WAIT_S``, ending what is left here). OnIdle -> Scheduled; the reset follows
  when the last transaction has ended. The reset waits (up to ``RESET_FLUSH_WAIT_S``) for the
  queued transaction messages to reach the CSMS. Immediate asks the system for a Hard reset,
  OnIdle a Soft.
- DataTransfer from the CSMS goes to the ``data_transfer`` module; none -> UnknownVendorId.

Must never: change availability or transactions' state directly (it asks their blocks), or
read a clock.
"""

from __future__ import annotations

import logging
from typing import Callable

from ocpp_bridge.deferred import Deferred, now_or_later
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import TxEnded
from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.outcome import Failure, undelivered
from ocpp_bridge.ocpp.v201.authorization import AUTHORIZE_REMOTE_START, AuthorizationBlock
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.meter_values import MeterValuesBlock
from ocpp_bridge.ocpp.v201.provisioning import Provisioning201
from ocpp_bridge.ocpp.v201.reservation import ReservationBlock
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock
from ocpp_bridge.ocpp.v201.variables import integer

log = logging.getLogger("ocpp_bridge.ocpp.v201.remote_control")

RESET_RETRIES = integer("OCPPCommCtrlr", "ResetRetries", 3)
VARIABLES = (RESET_RETRIES,)

RESET_STOP_WAIT_S = 30.0   # how long the EVSEs may take to end their transactions
RESET_FLUSH_WAIT_S = 10.0  # how long queued transaction messages may take to reach the CSMS
FLUSH_POLL_S = 0.5
RESET_TIMER, RESET_DEADLINE = "reset", "reset-deadline"
DATA_TRANSFER_STATUSES = ("Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId")

# requestedMessage -> fn(evse dict or None) -> TriggerMessageStatusEnumType
Trigger = Callable[[dict | None], str]


class RemoteControlBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], provisioning: Provisioning201, status: StatusBlock,
                 authorization: AuthorizationBlock, reservation: ReservationBlock, meter_values: MeterValuesBlock,
                 transactions: TransactionBlock):
        self.core = ctx.core
        self.model = ctx.config
        self.evse = ctx.evse
        self.provisioning = provisioning
        self.status = status
        self.authorization = authorization
        self.reservation = reservation
        self.meter_values = meter_values
        self.transactions = transactions
        self._reset_pending: str | None = None  # "Immediate" | "OnIdle"
        self._flush_until = 0.0
        self._triggers: dict[str, Trigger] = {
            "BootNotification": self._trigger_boot,
            "Heartbeat": self._trigger_heartbeat,
            "StatusNotification": self._trigger_status,
            "MeterValues": lambda evse: self._accepted(self.meter_values.trigger(evse and evse["id"])),
            "TransactionEvent": lambda evse: self._accepted(self.transactions.trigger(evse and evse["id"])),
            "LogStatusNotification": lambda evse: self._idle("LogStatusNotification"),
            "FirmwareStatusNotification": lambda evse: self._idle("FirmwareStatusNotification"),
        }
        for action, fn in (("RequestStartTransaction", self._on_start), ("RequestStopTransaction", self._on_stop),
                           ("GetTransactionStatus", self._on_transaction_status),
                           ("UnlockConnector", self._on_unlock), ("TriggerMessage", self._on_trigger),
                           ("Reset", self._on_reset), ("DataTransfer", self._on_data_transfer)):
            self.core.handle(action, fn)
        self.core.events.subscribe(TxEnded, self._on_tx_ended)

    def add_trigger(self, requested_message: str, fn: Trigger) -> None:
        """Let another block answer (and send) a TriggerMessage kind, e.g. FirmwareStatusNotification."""
        self._triggers[requested_message] = fn

    # ------------------------------------------------------------------ start / stop
    def _registered(self, action: str) -> bool:
        if self.core.registration == "Accepted":
            return True
        log.warning("%s while the registration is %s: Rejected (B02.FR.05)", action, self.core.registration)
        return False

    def _on_start(self, payload: dict) -> dict:
        evse, token = payload.get("evseId"), payload["idToken"]
        status_block, transactions = self.status, self.transactions
        if not self._registered("RequestStartTransaction"):
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
        transactions.expect_remote_start(evse, token["idToken"], payload["remoteStartId"])
        prevalidated = not self.model.read(AUTHORIZE_REMOTE_START)
        self.evse.provide_token(IdToken(token["idToken"], token["type"]), [evse], prevalidated,
                                        payload["remoteStartId"])
        response = {"status": "Accepted"}
        if tx is not None:
            response["transactionId"] = tx.transaction_id
        log.info("RequestStartTransaction %s on EVSE %d: Accepted", payload["remoteStartId"], evse)
        return response

    def _on_stop(self, payload: dict) -> dict:
        if not self._registered("RequestStopTransaction"):
            return {"status": "Rejected"}
        tx = self.transactions.by_transaction_id(payload["transactionId"])
        if tx is None:
            return {"status": "Rejected"}
        self.transactions.stop(tx.evse, "Remote")
        return {"status": "Accepted"}

    def _on_transaction_status(self, payload: dict) -> dict:
        tid = payload.get("transactionId")
        response = {"messagesInQueue": self.core.messages_in_queue(tid) > 0}
        if tid is not None:
            response["ongoingIndicator"] = self.transactions.by_transaction_id(tid) is not None
        return response

    # ------------------------------------------------------------------ unlock
    def _on_unlock(self, payload: dict):
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
    def _on_trigger(self, payload: dict) -> dict:
        kind, evse = payload["requestedMessage"], payload.get("evse")
        if evse is not None and not self.status.has(evse["id"]):
            return {"status": "Rejected"}
        fn = self._triggers.get(kind)
        if fn is None:
            status = "NotImplemented"
        elif kind != "BootNotification" and self.core.registration not in ("Accepted", "Pending"):
            status = "Rejected"  # B03: nothing but a BootNotification may leave now
        else:
            with self.core.triggered():
                status = fn(evse)
        log.info("TriggerMessage %s %s: %s", kind, evse or "", status)
        return {"status": status}

    @staticmethod
    def _accepted(sent: bool) -> str:
        return "Accepted" if sent else "Rejected"

    def _trigger_boot(self, evse: dict | None) -> str:
        if self.core.registration == "Accepted":
            return "Rejected"
        self.provisioning.boot_reason = "Triggered"
        self.provisioning.registration.send_boot()
        return "Accepted"

    def _trigger_heartbeat(self, evse: dict | None) -> str:
        self.provisioning.registration.send_heartbeat()
        return "Accepted"

    def _trigger_status(self, evse: dict | None) -> str:
        if evse is None or evse.get("connectorId") is None:
            return "Rejected"
        return self._accepted(self.status.send_one(evse["id"], evse["connectorId"]))

    def _idle(self, action: str) -> str:
        self.core.call(action, {"status": "Idle"})
        return "Accepted"

    # ------------------------------------------------------------------ Reset
    def _on_reset(self, payload: dict) -> dict:
        kind = payload["type"]
        if payload.get("evseId") is not None:
            log.info("Reset of EVSE %s: Rejected (not supported)", payload["evseId"])
            return {"status": "Rejected"}
        active = sorted(self.transactions.active_evses())
        if not active:
            self._reset_pending = kind
            self._reset_soon()  # after the answer
            return {"status": "Accepted"}
        if kind == "OnIdle":
            if self._reset_pending != "Immediate":
                self._reset_pending = "OnIdle"
            log.info("Reset OnIdle scheduled: waiting for %d transaction(s)", len(active))
            return {"status": "Scheduled"}
        self._reset_pending = "Immediate"
        for evse in active:
            self.transactions.stop(evse, "ImmediateReset")
        self.core.timers.set(RESET_DEADLINE, self.core.now + RESET_STOP_WAIT_S, self._reset_deadline)
        if not self.transactions.active_evses():
            self._reset_soon()
        return {"status": "Accepted"}

    def _on_tx_ended(self, event: TxEnded) -> None:
        if self._reset_pending is not None and not self.transactions.active_evses():
            self._reset_soon()

    def _reset_soon(self) -> None:
        """Reset once the queued transaction messages are out (they are durable anyway, so at
        most ``RESET_FLUSH_WAIT_S`` later, and at once while offline)."""
        self._flush_until = self.core.now + RESET_FLUSH_WAIT_S
        self.core.timers.cancel(RESET_DEADLINE)
        self.core.timers.set(RESET_TIMER, self.core.now, self._reset_when_flushed)

    def _reset_when_flushed(self) -> None:
        if self.core.connected and self.core.messages_in_queue() and self.core.now < self._flush_until:
            self.core.timers.set(RESET_TIMER, self.core.now + FLUSH_POLL_S, self._reset_when_flushed)
            return
        self._reset_now()

    def _reset_deadline(self) -> None:
        for evse in sorted(self.transactions.active_evses()):
            log.warning("EVSE %d did not end its transaction for the reset: ending it here", evse)
            self.transactions.force_end(evse, "ImmediateReset")
        self._reset_soon()

    def _reset_now(self) -> None:
        kind, self._reset_pending = self._reset_pending, None
        if kind is None:
            return
        self.core.timers.cancel(RESET_DEADLINE)
        self.core.timers.cancel(RESET_TIMER)
        system_kind = "Hard" if kind == "Immediate" else "Soft"
        log.info("Reset %s: asking for a %s reset", kind, system_kind)
        self.evse.reset(system_kind, lambda ok: ok or log.warning("the %s reset was refused", system_kind))

    # ------------------------------------------------------------------ DataTransfer
    def _on_data_transfer(self, payload: dict):
        answer = Deferred()

        def done(response: dict | None) -> None:
            if response is None:
                answer.resolve({"status": "UnknownVendorId"})
                return
            status = response.get("status")
            result = {"status": status if status in DATA_TRANSFER_STATUSES else "UnknownVendorId"}
            if response.get("data") is not None:
                result["data"] = response["data"]
            answer.resolve(result)

        self.evse.data_transfer(payload, done)
        return now_or_later(answer)

    def data_transfer_to_csms(self, vendor_id: str, message_id: str | None, data) -> Deferred:
        """A module's DataTransfer to the CSMS; resolves to the CSMS's answer ({"status", "data"?}),
        {"status": "Offline"} when it could not be delivered, Rejected on a CALLERROR."""
        answer = Deferred()
        payload = {"vendorId": vendor_id}
        if message_id is not None:
            payload["messageId"] = message_id
        if data is not None:
            payload["data"] = data

        def done(result: dict | None, error: Failure | None) -> None:
            if result is not None and self.core.check_response("DataTransfer", result):
                answer.resolve({k: result[k] for k in ("status", "data") if k in result})
            elif undelivered(error):
                answer.resolve({"status": "Offline"})
            else:
                answer.resolve({"status": "Rejected"})

        self.core.call("DataTransfer", payload, done)
        return answer
