"""OCPP 2.0.1 transactions (functional block E: TransactionEvent). PURE.

Owns turning each EVSE's session events into TransactionEvent Started / Updated / Ended: when a
transaction starts and ends (TxCtrlr.TxStartPoint / TxStopPoint), its transactionId (the
EVerest session id, as EVerest's OCPP201 module does; a fresh uuid if that is longer than
36 characters), seqNo (persisted with each message: see below), triggerReason,
chargingState, evse, idToken, remoteStartId, reservationId, stoppedReason, ``offline`` (set on
events made while not connected) and the meterValue of Started (TxStartedMeasurands,
Transaction.Begin) and Ended (the TxEnded values kept during the transaction plus the last
reading, Transaction.End). Every TransactionEvent goes through ``core.send_transactional``
with tx_key = transactionId. Also the ``transaction_event`` / ``transaction_event_response``
events for the bus, and the internal ``transaction_started`` / ``transaction_ended`` (EVSE id).

Start and stop points (as EVerest's TransactionHandler): per session the block tracks
ev_connected, authorized and energy (charging). A transaction starts when any configured
TxStartPoint holds (EVConnected; Authorized; PowerPathClosed = both; EnergyTransfer) and ends
when any TxStopPoint no longer holds. A TransactionFinished whose reason is not about the EV
leaving or the authorization ending (a fault, a reset, a power loss, ...) ends the transaction
whatever the points say, and so does SessionFinished.

Event sources: SessionStarted (EVConnected -> CablePluggedIn; Authorized -> Authorized),
TransactionStarted (the other condition of the two, with the token), ChargingStateChanged
(Charging / SuspendedEV / SuspendedEVSE / EVConnected), TransactionFinished (stop reason,
mapped as in ``tx_records``), SessionFinished. A pending RequestStartTransaction for the EVSE
turns the authorization's triggerReason into RemoteStart and adds its remoteStartId.

All or nothing: the records live in the outbox's file (``tx_records``), and every change of
this block's state (one EVSE event, one CSMS answer, one request of another block) commits
its TransactionEvents and its records together or not at all, on disk and in memory
(``ocpp/state_change.py``); the bus and the other blocks hear of it after the commit.

Crash / power-loss recovery (``ocpp/common/recovery.py``): at load the outbox is the truth,
should a file ever hold a message without its record (2.0.1's rules, ``_load``): a record whose
Ended is queued is forgotten (no second Ended), a record behind the queued seqNos takes them
from there, and a record missing for a queued Started is rebuilt from that message. Any other
record waits for its EVSE to resume it; one the EVSE is ready without, or whose EVSE starts a
new session, ends with Ended / stoppedReason PowerLoss / triggerReason AbnormalCondition and
the last meter reading known (kept in the record on every change of the energy value); when
the EVSE was ready without it, a SessionFinished is emitted for the other blocks too (2.0.1's
status block set the connector Occupied at load and frees it on that). Its seqNo continues
from the record; ``offline`` is set when the station is not connected at that moment.

TransactionEventResponse: an idTokenInfo whose status is not Accepted stops the transaction or
pauses it once it delivered TxCtrlr.MaxEnergyOnInvalidId Wh since the EVSE's TransactionStarted
(``ocpp/common/invalid_token.py``; the energy at the start and the invalid mark are in the
record). The info goes to the authorization cache; totalCost / chargingPriority /
updatedPersonalMessage go to the bus. The latest meter readings are the shared
``ocpp/common/readings.py``.

CustomerInformation (N09/N10, ``customer_information.py``) asks which stored transactions hold
a token (``holding_token``) and clears it from those that already sent it (``forget_token``).

Must never: send a TransactionEvent any other way than ``send_transactional``, reuse a seqNo,
or read a clock (timestamps come from the events or ``core.now``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.common.invalid_token import InvalidTokenGuard, InvalidTokenSettings
from ocpp_bridge.ocpp.common.readings import MeterReadings
from ocpp_bridge.ocpp.common.recovery import Recovery, energy_changed
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import TxAnswered, TxEnded, TxStarted, TxUpdated
from ocpp_bridge.ocpp.state_change import StateChanges
from ocpp_bridge.ocpp.timefmt import event_time, iso
from ocpp_bridge.ocpp.v201.authorization import AuthorizationBlock
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.dm_definitions import TX_POINTS
from ocpp_bridge.ocpp.v201.meter_values import (
    SAMPLED_TX_ENDED_MEASURANDS,
    TX_STARTED_MEASURANDS,
    TX_UPDATED_MEASURANDS,
    meter_value,
)
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.ocpp.v201.tx_records import (
    EFFECT_OF_REASON,
    MIGRATIONS,
    STORE_NAME,
    TRIGGER_OF_REASON,
    Tx,
    TxStore,
    reason_201,
)
from ocpp_bridge.ocpp.v201.variables import Var, boolean, integer, member_list

log = logging.getLogger("ocpp_bridge.ocpp.v201.transactions")

TX = "TxCtrlr"
EV_CONNECTION_TIME_OUT = integer(TX, "EVConnectionTimeOut", 60, unit="s")
MAX_ENERGY_ON_INVALID_ID = integer(TX, "MaxEnergyOnInvalidId", 0, unit="Wh")
STOP_TX_ON_INVALID_ID = boolean(TX, "StopTxOnInvalidId", True)
TX_START_POINT = member_list(TX, "TxStartPoint", "PowerPathClosed", values_list=TX_POINTS, allow_empty=False)
TX_STOP_POINT = member_list(TX, "TxStopPoint", "EVConnected,Authorized", values_list=TX_POINTS, allow_empty=False)
VARIABLES = (EV_CONNECTION_TIME_OUT, boolean(TX, "StopTxOnEVSideDisconnect", True), TX_START_POINT, TX_STOP_POINT,
             STOP_TX_ON_INVALID_ID, MAX_ENERGY_ON_INVALID_ID,
             boolean("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", True))
INVALID_TOKEN = InvalidTokenSettings(stop=STOP_TX_ON_INVALID_ID, max_energy=MAX_ENERGY_ON_INVALID_ID)

ACTION = "TransactionEvent"


def _same_token(held: dict[str, Any] | None, token: dict[str, Any]) -> bool:
    return (held is not None and held.get("type") == token.get("type")
            and str(held.get("idToken", "")).casefold() == str(token.get("idToken", "")).casefold())


def id_token_201(token: E.IdToken | None) -> dict[str, Any] | None:
    if token is None or not token.value:
        return None
    return {"idToken": token.value[:36], "type": token.type}


_TX_EVENTS: dict[str, type[TxStarted] | type[TxUpdated] | type[TxEnded]] = {
    "Started": TxStarted, "Updated": TxUpdated, "Ended": TxEnded}


class TransactionBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], status: StatusBlock, authorization: AuthorizationBlock,
                 readings: MeterReadings):
        """``readings``: the EVSEs' latest meter readings."""
        self.core = ctx.core
        self.model = ctx.config
        self.evse = ctx.evse
        self.new_id = ctx.new_id
        self.store = TxStore(self.core.outbox.host(STORE_NAME, MIGRATIONS))
        self.status = status
        self.authorization = authorization
        self.readings = readings
        self._by_evse: dict[int, Tx] = {}
        self._remote: dict[int, tuple[str, int]] = {}  # evse -> (token value, remoteStartId)
        self.recovery = Recovery(self.evse, self._close_power_loss)
        self.invalid_token = InvalidTokenGuard(self.model, INVALID_TOKEN, self.evse)
        self.changes = StateChanges(self.core, (self, ("_by_evse", "_remote")), (self.recovery, Recovery.STATE),
                                    (self.invalid_token, InvalidTokenGuard.STATE))
        self._load()
        for tx in self._by_evse.values():
            if tx.ev_connected:
                status.set_occupied(tx.evse, tx.connector)
        self.core.events.subscribe_many(E.EVSE_EVENTS, self._on_event)
        self.core.on_tx_result(ACTION, self._on_result)

    def _load(self) -> None:
        """The records of the last run, squared with the outbox (the truth after a crash: each
        event is queued before its record is saved)."""
        loaded = {tx.transaction_id: tx for tx in self.store.load()}
        queued: dict[str, list[dict[str, Any]]] = {}
        for entry in self.core.outbox.entries():
            if entry.action == ACTION and entry.tx_key is not None:
                queued.setdefault(entry.tx_key, []).append(entry.payload)
        for tid, events in queued.items():
            if tid not in loaded and events[0]["eventType"] == "Started" and not self.store.finished(tid):
                loaded[tid] = self._rebuilt(events[0])
        for tid, tx in loaded.items():
            events = queued.get(tid, [])
            if any(e["eventType"] == "Ended" for e in events):
                self.store.remove(tx, finished=True)  # its Ended was queued just before a crash
                continue
            last = max((e["seqNo"] for e in events), default=-1)
            if last >= tx.seq_no:  # queued, record not saved: take the numbers from the outbox
                tx.seq_no, tx.started = last + 1, True
                self.store.save(tx)
            self._by_evse[tx.evse] = tx
            self.recovery.loaded(tx.session_id)

    @staticmethod
    def _rebuilt(started: dict[str, Any]) -> Tx:
        """A record lost by a crash right after its Started event was queued."""
        tid = started["transactionInfo"]["transactionId"]
        evse = started.get("evse") or {"id": 1}
        state = started["transactionInfo"].get("chargingState", "EVConnected")
        token = started.get("idToken")
        log.warning("transaction %s rebuilt from its queued Started event", tid)
        return Tx(session_id=tid, evse=evse["id"], connector=evse.get("connectorId", 1), transaction_id=tid,
                  started=True, ev_connected=True, authorized=token is not None, id_token=token,
                  id_token_sent=token is not None, charging_state=state, reported_state=state, evse_sent=True,
                  remote_start_id=started["transactionInfo"].get("remoteStartId"),
                  reservation_id=started.get("reservationId"), started_at=epoch(started.get("timestamp")))

    # ------------------------------------------------------------------ queries
    def active_evses(self) -> set[int]:
        """EVSEs with an OCPP transaction (Started sent, Ended not yet)."""
        return {e for e, tx in self._by_evse.items() if tx.started}

    def on_evse(self, evse: int) -> Tx | None:
        tx = self._by_evse.get(evse)
        return tx if tx is not None and tx.started else None

    def by_transaction_id(self, transaction_id: str) -> Tx | None:
        return next((tx for tx in self._by_evse.values() if tx.started and tx.transaction_id == transaction_id),
                    None)

    # ------------------------------------------------------------------ remote start
    def expect_remote_start(self, evse: int, token_value: str, remote_start_id: int) -> None:
        """RequestStartTransaction was accepted for ``evse``: its authorization is a RemoteStart
        (if it comes within TxCtrlr.EVConnectionTimeOut; the EVSEs' auth gives up then too)."""
        self._remote[evse] = (token_value, remote_start_id)
        timeout = self.model.read(EV_CONNECTION_TIME_OUT)
        if timeout > 0:
            self.core.timers.set(f"remote-start-{evse}", self.core.now + timeout, lambda: self._forget_remote(evse))

    def _forget_remote(self, evse: int) -> None:
        self._remote.pop(evse, None)

    def _authorization_trigger(self, tx: Tx, token: dict[str, Any] | None) -> str:
        pending = self._remote.get(tx.evse)
        if pending is not None and (token is None or token.get("idToken") == pending[0]):
            self._remote.pop(tx.evse)
            tx.remote_start_id = pending[1]
            return "RemoteStart"
        return "Authorized"

    # ------------------------------------------------------------------ events
    def _on_event(self, event: E.EvseEvent) -> None:
        with self.changes.change():
            self._handle_event(event)

    def _handle_event(self, event: E.EvseEvent) -> None:
        tx = self._by_evse.get(event.evse)
        self.recovery.on_event(event, [tx.session_id] if tx is not None else [])
        if isinstance(event, E.MeterReading):
            self._note_meter(event.evse)
        elif isinstance(event, E.SessionStarted):
            self._session_started(event)
        elif isinstance(event, E.TransactionStarted):
            self._transaction_started(event)
        elif isinstance(event, E.ChargingStateChanged):
            self._charging_state(event)
        elif isinstance(event, E.TransactionFinished):
            self._transaction_finished(event)
        elif isinstance(event, E.SessionFinished):
            self._session_finished(event)

    def _close_power_loss(self, session_id: str, unresumed: bool) -> bool:
        """Recovery ends a session that is gone; True when it was an OCPP transaction."""
        tx = next(t for t in self._by_evse.values() if t.session_id == session_id)
        was_started = tx.started
        self._end(tx, "PowerLoss", iso(self.core.now), None, trigger="AbnormalCondition")
        if unresumed:  # the other blocks (the connector status set Occupied at load) hear it is over
            self.changes.publish(E.SessionFinished(tx.evse, tx.connector, tx.session_id, iso(self.core.now)))
        return was_started

    def _note_meter(self, evse: int) -> None:
        """Keep the last energy reading of a transaction in its record (to end it after a power loss)."""
        tx = self.on_evse(evse)
        sample = self.readings.latest(evse)
        if tx is None or sample is None:
            return
        self._check_energy_on_invalid(tx)
        if energy_changed((tx.last_meter or {}).get("energy_import_wh"), sample.energy_import_wh):
            tx.last_meter = asdict(sample)
            self.store.save(tx)

    def _open(self, event: E.SessionStarted | E.TransactionStarted) -> Tx:
        """The record of this event's session (recovery has ended any other one left on the EVSE)."""
        tx = self._by_evse.get(event.evse)
        if tx is not None and tx.session_id == event.session_id:
            return tx
        sid = event.session_id or self.new_id()
        tid = sid if len(sid) <= 36 else self.new_id()
        tx = Tx(session_id=sid, evse=event.evse, connector=event.connector or 1, transaction_id=tid)
        self._by_evse[event.evse] = tx
        return tx

    def _session_started(self, ev: E.SessionStarted) -> None:
        tx = self._open(ev)
        tx.reservation_id = ev.reservation_id
        if ev.reason == "EVConnected":
            tx.ev_connected, tx.trigger, tx.charging_state = True, "CablePluggedIn", "EVConnected"
        else:
            self._authorize(tx, id_token_201(ev.id_token))
        self._evaluate(tx, ev.timestamp, ev.meter)

    def _transaction_started(self, ev: E.TransactionStarted) -> None:
        tx = self._open(ev)
        if ev.meter.energy_import_wh is not None and tx.start_energy is None:
            tx.start_energy = ev.meter.energy_import_wh  # MaxEnergyOnInvalidId counts from here
        token = id_token_201(ev.id_token)
        if ev.reservation_id is not None:
            tx.reservation_id = ev.reservation_id
        if not tx.ev_connected:  # authorized first: the EV has just arrived
            tx.ev_connected, tx.trigger, tx.charging_state = True, "CablePluggedIn", "EVConnected"
            if token is not None and token != tx.id_token:
                tx.id_token, tx.id_token_sent = token, False
            tx.authorized = True
            if not tx.started and tx.remote_start_id is not None:
                tx.trigger = "RemoteStart"  # as EVerest: a CSMS-provided token starts it
        else:
            self._authorize(tx, token)
        self._evaluate(tx, ev.timestamp, ev.meter)

    def _authorize(self, tx: Tx, token: dict[str, Any] | None) -> None:
        tx.trigger = self._authorization_trigger(tx, token)
        tx.authorized = True
        if token is not None and token != tx.id_token:
            tx.id_token, tx.id_token_sent = token, False

    def _charging_state(self, ev: E.ChargingStateChanged) -> None:
        tx = self._by_evse.get(ev.evse)
        if tx is None:
            return
        tx.charging_state = ev.state
        tx.energy = ev.state == "Charging"
        tx.trigger = "ChargingStateChanged"
        self._evaluate(tx, ev.timestamp, None)

    def _transaction_finished(self, ev: E.TransactionFinished) -> None:
        tx = self._by_evse.get(ev.evse)
        if tx is None:
            return
        reason = reason_201(ev.reason)
        tx.stop_reason = reason
        tx.stop_id_token = id_token_201(ev.id_token)
        tx.trigger = TRIGGER_OF_REASON[reason]
        tx.energy = False
        effect = EFFECT_OF_REASON.get(reason, "abort")
        if effect == "disconnected":
            tx.ev_connected = False
        elif effect == "deauthorized":
            tx.authorized = False
        tx.charging_state = "EVConnected" if tx.ev_connected else "Idle"  # no energy flows any more
        if effect == "abort" and tx.started:
            self._end(tx, reason, event_time(ev.timestamp, self.core.now), ev.meter)
            return
        self._evaluate(tx, ev.timestamp, ev.meter)

    def _session_finished(self, ev: E.SessionFinished) -> None:
        tx = self._by_evse.get(ev.evse)
        if tx is None:
            return
        tx.ev_connected, tx.energy, tx.charging_state = False, False, "Idle"
        self._end(tx, "EVDisconnected", event_time(ev.timestamp, self.core.now), None,
                  trigger="EVCommunicationLost")
        self._forget_remote(ev.evse)

    # ------------------------------------------------------------------ start / stop points
    def _holds(self, tx: Tx, point: str) -> bool:
        return {"EVConnected": tx.ev_connected, "Authorized": tx.authorized,
                "PowerPathClosed": tx.ev_connected and tx.authorized,
                "EnergyTransfer": tx.energy}.get(point, False)

    def _evaluate(self, tx: Tx, timestamp: str | None, meter: E.MeterSample | None) -> None:
        ts = event_time(timestamp, self.core.now)
        if not tx.started:
            if any(self._holds(tx, p) for p in self.model.read(TX_START_POINT)):
                self._start(tx, ts, meter)
            else:
                self.store.save(tx)
            return
        failed = [p for p in self.model.read(TX_STOP_POINT) if not self._holds(tx, p)]
        if failed:
            if not tx.ev_connected and {"EVConnected", "PowerPathClosed"} & set(failed):
                self._end(tx, "EVDisconnected", ts, meter, trigger="EVCommunicationLost")
            elif not tx.authorized:
                reason = tx.stop_reason or "DeAuthorized"
                self._end(tx, reason, ts, meter, trigger=TRIGGER_OF_REASON[reason])
            else:  # only EnergyTransfer is gone
                reason = "StoppedByEV" if tx.charging_state == "SuspendedEV" else (tx.stop_reason or "Other")
                self._end(tx, reason, ts, meter, trigger="ChargingStateChanged")
            return
        if tx.trigger == "ChargingStateChanged" and tx.charging_state == tx.reported_state:
            self.store.save(tx)  # nothing the CSMS does not know yet
            return
        stop_token = tx.stop_id_token if tx.trigger == "StopAuthorized" else None
        self._event(tx, "Updated", tx.trigger, ts, self._info(tx), id_token=stop_token)

    # ------------------------------------------------------------------ messages
    def _info(self, tx: Tx, *, force_state: bool = False) -> dict[str, Any]:
        info: dict[str, Any] = {"transactionId": tx.transaction_id}
        if force_state or tx.charging_state != tx.reported_state:
            info["chargingState"] = tx.charging_state
            tx.reported_state = tx.charging_state
        return info

    def _event(self, tx: Tx, event_type: str, trigger: str, timestamp: str, info: dict[str, Any],
               meter_values: list[dict[str, Any]] | None = None, *, id_token: dict[str, Any] | None = None) -> None:
        if tx.remote_start_id is not None and (event_type == "Started" or trigger == "RemoteStart"):
            info["remoteStartId"] = tx.remote_start_id
        payload: dict[str, Any] = {"eventType": event_type, "timestamp": timestamp, "triggerReason": trigger,
                   "seqNo": tx.seq_no, "transactionInfo": info}
        if not self.core.connected:
            payload["offline"] = True
        if event_type == "Started" or (tx.ev_connected and not tx.evse_sent):
            payload["evse"] = {"id": tx.evse, "connectorId": tx.connector}
            tx.evse_sent = tx.ev_connected
        if id_token is None and tx.authorized and tx.id_token is not None and not tx.id_token_sent:
            id_token = tx.id_token
            tx.id_token_sent = True
        if id_token is not None:
            payload["idToken"] = id_token
        if event_type == "Started" and tx.reservation_id is not None:
            payload["reservationId"] = tx.reservation_id
        if meter_values:
            payload["meterValue"] = meter_values
        tx.seq_no += 1
        self.core.send_transactional(ACTION, payload, tx.transaction_id)
        if event_type != "Ended":
            self.store.save(tx)
        log.info("TransactionEvent %s %s seqNo %d (%s)", event_type, tx.transaction_id, payload["seqNo"], trigger)
        self.changes.publish(_TX_EVENTS[event_type](tx.evse, tx.connector, tx.session_id, tx.transaction_id))

    def _meter(self, evse: int, sample: E.MeterSample | None, measurands: Var[tuple[str, ...]], context: str,
               tx: Tx | None = None) -> list[dict[str, Any]]:
        sample = sample or self.readings.latest(evse)
        if sample is None and tx is not None and tx.last_meter:  # after a restart: the last reading kept
            sample = E.MeterSample(**tx.last_meter)
        mv = meter_value(sample, self.model.read(measurands), context)
        return [mv] if mv else []

    def _start(self, tx: Tx, timestamp: str, meter: E.MeterSample | None) -> None:
        tx.started = True
        stamp = epoch(timestamp)
        tx.started_at = stamp if stamp is not None else self.core.now
        meter_values = self._meter(tx.evse, meter, TX_STARTED_MEASURANDS, "Transaction.Begin")
        self._event(tx, "Started", tx.trigger, timestamp, self._info(tx, force_state=True), meter_values)

    def _end(self, tx: Tx, reason: str, timestamp: str, meter: E.MeterSample | None, *,
             trigger: str | None = None) -> None:
        if self._by_evse.get(tx.evse) is tx:
            del self._by_evse[tx.evse]
        self.recovery.forget(tx.session_id)
        if not tx.started:
            self.store.remove(tx, finished=False)
            return
        trigger = trigger or TRIGGER_OF_REASON.get(reason, "AbnormalCondition")
        info = self._info(tx, force_state=True)
        info["stoppedReason"] = reason
        meter_values = self.store.ended_values(tx.transaction_id)
        meter_values += self._meter(tx.evse, meter, SAMPLED_TX_ENDED_MEASURANDS, "Transaction.End", tx)
        stop_token = tx.stop_id_token if trigger == "StopAuthorized" else None
        tx.started = False  # from here on it is not ongoing
        self._event(tx, "Ended", trigger, timestamp, info, meter_values, id_token=stop_token)
        self.store.remove(tx, finished=True)
        self.invalid_token.forget(tx.session_id)

    # ------------------------------------------------------------------ other blocks' requests
    def send_meter_update(self, evse: int, trigger: str, meter_values: list[dict[str, Any]]) -> bool:
        """An Updated event carrying meter values (periodic, clock-aligned or triggered)."""
        tx = self.on_evse(evse)
        if tx is None:
            return False
        with self.changes.change():
            self._event(tx, "Updated", trigger, iso(self.core.now), self._info(tx), meter_values or None)
        return True

    def add_ended_value(self, evse: int, meter_value_: dict[str, Any]) -> None:
        """Keep a TxEnded sample (SampledDataCtrlr/AlignedDataCtrlr TxEnded*) for the Ended event."""
        tx = self.on_evse(evse)
        if tx is not None:
            self.store.add_ended_value(tx.transaction_id, meter_value_)

    def stop(self, evse: int, reason: str) -> bool:
        """End ``evse``'s transaction for ``reason`` (2.0.1 name): the EVSE is asked to stop its
        charging; a transaction the EVSE has not authorized yet is ended here at once."""
        tx = self.on_evse(evse)
        if tx is None:
            return False
        if tx.authorized:
            everest = {"ImmediateReset": "HardReset"}.get(reason, reason)
            self.evse.stop_transaction(evse, everest, None)
        else:
            with self.changes.change():
                self._end(tx, reason, iso(self.core.now), None, trigger=TRIGGER_OF_REASON.get(reason))
        return True

    def force_end(self, evse: int, reason: str) -> None:
        """End the transaction here without waiting for the EVSE (it did not answer in time)."""
        tx = self.on_evse(evse)
        if tx is not None:
            with self.changes.change():
                self._end(tx, reason, iso(self.core.now), None, trigger=TRIGGER_OF_REASON.get(reason))

    # ------------------------------------------------------------------ results
    def _on_result(self, tx_key: str | None, request: dict[str, Any], result: dict[str, Any] | None) -> None:
        with self.changes.change():  # inside the commit that removes the message
            self._take_result(request, result)

    def _take_result(self, request: dict[str, Any], result: dict[str, Any] | None) -> None:
        tid = request["transactionInfo"]["transactionId"]
        tx = next((t for t in self._by_evse.values() if t.transaction_id == tid), None)
        where = (tx.session_id, tx.evse, tx.connector) if tx is not None else self.store.finished(tid)
        if request["eventType"] == "Ended":  # the last message of its transaction (the outbox is FIFO)
            self.store.forget_finished(tid)
        if result is None or where is None:
            return
        message = result.get("updatedPersonalMessage") or {}
        self.changes.publish(TxAnswered(
            request["eventType"], where[1], where[2], where[0], tid, total_cost=result.get("totalCost"),
            charging_priority=result.get("chargingPriority"),
            personal_message={k: message[k] for k in ("content", "format", "language") if message.get(k)}))
        info = result.get("idTokenInfo")
        if info is not None and request.get("idToken") is not None:
            self._on_token_info(tx, request["idToken"], info)

    def _on_token_info(self, tx: Tx | None, token: dict[str, Any], info: dict[str, Any]) -> None:
        self.authorization.update_cache(token, info)
        if tx is None or not tx.started or not self.invalid_token.token_status(
                tx.session_id, tx.evse, token.get("idToken"), str(info.get("status"))):
            return
        if not tx.invalid:
            tx.invalid = True
            self.store.save(tx)
        self._check_energy_on_invalid(tx)

    def _check_energy_on_invalid(self, tx: Tx) -> None:
        """TxCtrlr.MaxEnergyOnInvalidId, counted from the reading at the EVSE's TransactionStarted."""
        energy = self.readings.energy_wh(tx.evse)
        if energy is None:
            energy = (tx.last_meter or {}).get("energy_import_wh")
        self.invalid_token.check(tx.session_id, tx.evse, invalid=tx.invalid, start_wh=tx.start_energy,
                                 energy_wh=energy)

    def trigger(self, evse: int | None) -> bool:
        """TriggerMessage(TransactionEvent): an Updated for each (or this EVSE's) transaction."""
        evses = sorted(self.active_evses()) if evse is None else [e for e in [evse] if e in self.active_evses()]
        for e in evses:
            tx = self._by_evse[e]
            with self.changes.change():
                self._event(tx, "Updated", "Trigger", iso(self.core.now), self._info(tx),
                            self._meter(e, None, TX_UPDATED_MEASURANDS, "Trigger"))
        return bool(evses)

    # ------------------------------------------------------------------ customer information (N09/N10)
    def holding_token(self, token: dict[str, Any]) -> list[Tx]:
        """The stored transactions (sessions) whose idToken is ``token`` (type and value, the
        value case-insensitively)."""
        return [tx for tx in self._by_evse.values() if _same_token(tx.id_token, token)]

    def forget_token(self, token: dict[str, Any]) -> int:
        """Drop ``token`` from the stored transactions that hold it and have already sent it to the
        CSMS (one not yet sent still owes the CSMS its idToken and keeps it); how many were cleared."""
        cleared = 0
        with self.changes.change():
            for tx in self.holding_token(token):
                if tx.id_token_sent:
                    tx.id_token = None
                    self.store.save(tx)
                    cleared += 1
        return cleared

    def close(self) -> None:
        """Nothing of its own to close: its tables are in the outbox's file (closed by the core)."""
