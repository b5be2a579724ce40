"""OCPP 1.6 StartTransaction / StopTransaction for the EVSEs' transactions. PURE.

Owns each running transaction's record (session id = EVerest's uuid = the outbox tx_key,
connector, idTag, meterStart, reservation, the CSMS's transactionId once known, whether the
CSMS declared its idTag invalid, the StopTxn*Data collected so far), kept in the outbox's
file (``Outbox.host``), so a restart loses nothing. Every change of that state (one EVSE
event, one StartTransaction.conf) is all or nothing (``ocpp/state_change.py``): a record and
its StartTransaction (or its removal and its StopTransaction) commit together or not at all,
on disk and in memory, and the bus hears of it after the commit.

- TransactionStarted -> StartTransaction (idTag, meterStart in Wh, timestamp, reservationId)
  through the durable outbox, and ``TxStarted`` (for the other blocks and the bus).
- StartTransaction.conf -> the transactionId is recorded (the core substitutes it into the
  queued MeterValues / StopTransaction), ``TxUpdated`` with it, and its
  idTagInfo goes to the authorization cache. idTagInfo not Accepted: StopTransactionOnInvalidId
  true -> the EVSE stops with reason DeAuthorized; false -> energy stops (pause) once the
  transaction delivered MaxEnergyOnInvalidId Wh since meterStart (``ocpp/common/invalid_token.py``;
  the invalid mark is persisted in the record).
- TransactionFinished -> StopTransaction (meterStop in Wh, reason mapped from EVerest's
  StopTransactionReason, the idTag that stopped it, transactionData = the StopTxnSampledData
  begin/periodic/end values and the StopTxnAlignedData clock values) and ``TxEnded``
  Ended. The transactionId is -1 until the CSMS gave one (the outbox fills it in later).
- SessionFinished while its transaction is still open and StopTransactionOnEVSideDisconnect
  is true -> the EVSE is asked to stop it (EVDisconnected); if the EVSE answers that it has no
  such transaction, it is stopped here (EVDisconnected, last meter value known).
- Crash / power-loss recovery (``ocpp/common/recovery.py``): a record still open at start-up
  waits for its EVSE to resume it; one the EVSE is ready without, or whose EVSE starts a new
  session, is closed with StopTransaction reason PowerLoss, the last meter value known
  (persisted on every change of the energy reading) and the time of recovery. At load the
  outbox is the truth, should a file ever hold a message without its record (1.6's rules,
  ``_load``): a record missing is rebuilt from its queued StartTransaction, a record whose
  StopTransaction is queued is dropped, and a record without the transactionId the outbox's
  map holds takes it from there.

The latest reading of each EVSE is the shared ``ocpp/common/readings.py``; 1.6 also takes the
meter value of TransactionStarted as the EVSE's latest reading (its first sampled MeterValues
may come before the first powermeter update).

Must never: send a transaction message by any path but ``core.send_transactional``, decide
the status (``status.py``) or sample meter values on its own (``meter_values.py`` adds them).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Callable

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.common.invalid_token import InvalidTokenGuard, InvalidTokenSettings
from ocpp_bridge.ocpp.common.readings import MeterReadings
from ocpp_bridge.ocpp.common.recovery import Recovery, energy_changed
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import TxEnded, TxStarted, TxUpdated
from ocpp_bridge.ocpp.outbox import PLACEHOLDER_TRANSACTION_ID
from ocpp_bridge.ocpp.sampled_values import V16, sampled_values
from ocpp_bridge.ocpp.state_change import StateChanges
from ocpp_bridge.ocpp.timefmt import event_time, iso
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.keys import ENERGY_IMPORT_REGISTER, flag, integer, limit, measurands
from ocpp_bridge.store.database import transaction

log = logging.getLogger("ocpp_bridge.ocpp.v16.transactions")

MAX_ENERGY_ON_INVALID_ID = integer("MaxEnergyOnInvalidId", 0)
STOP_TRANSACTION_ON_EV_SIDE_DISCONNECT = flag("StopTransactionOnEVSideDisconnect", True)
STOP_TRANSACTION_ON_INVALID_ID = flag("StopTransactionOnInvalidId", True)
UNLOCK_CONNECTOR_ON_EV_SIDE_DISCONNECT = flag("UnlockConnectorOnEVSideDisconnect", True)
# what StopTransaction.transactionData holds (the meter values block samples them)
STOP_TXN_ALIGNED_DATA = measurands("StopTxnAlignedData", "", max_length_key="StopTxnAlignedDataMaxLength")
STOP_TXN_SAMPLED_DATA = measurands("StopTxnSampledData", ENERGY_IMPORT_REGISTER,
                                   max_length_key="StopTxnSampledDataMaxLength")
KEYS = (MAX_ENERGY_ON_INVALID_ID, STOP_TRANSACTION_ON_EV_SIDE_DISCONNECT, STOP_TRANSACTION_ON_INVALID_ID,
        UNLOCK_CONNECTOR_ON_EV_SIDE_DISCONNECT, STOP_TXN_ALIGNED_DATA, limit("StopTxnAlignedDataMaxLength", 10),
        STOP_TXN_SAMPLED_DATA, limit("StopTxnSampledDataMaxLength", 10))
INVALID_TOKEN = InvalidTokenSettings(stop=STOP_TRANSACTION_ON_INVALID_ID, max_energy=MAX_ENERGY_ON_INVALID_ID)

STORE_NAME = "tx16"  # its tables, hosted in the outbox's file
MIGRATIONS = [
    """
    CREATE TABLE tx16 (
        session_id TEXT PRIMARY KEY,
        evse INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        meter_start REAL NOT NULL,
        started_at TEXT NOT NULL,
        reservation_id INTEGER,
        transaction_id INTEGER,
        last_meter REAL,
        invalid INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE tx16_data (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        meter_value TEXT NOT NULL
    );
    CREATE INDEX tx16_data_session ON tx16_data (session_id);
    """,
]

# EVerest StopTransactionReason -> 1.6 Reason (EVerest's OCPP module); anything else is Other.
REASONS_16 = frozenset({"EmergencyStop", "EVDisconnected", "HardReset", "Local", "PowerLoss", "Reboot",
                        "Remote", "SoftReset", "UnlockCommand", "DeAuthorized"})


def reason_16(everest_reason: str | None) -> str:
    return everest_reason if everest_reason in REASONS_16 else "Other"


@dataclass
class TxRecord:
    session_id: str
    evse: int
    id_tag: str
    meter_start: float
    started_at: str
    reservation_id: int | None = None
    transaction_id: int | None = None
    last_meter: float | None = None
    invalid: bool = False


class Transactions16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], readings: MeterReadings, *,
                 remember_id_tag: Callable[[str, dict[str, Any]], None] = lambda tag, info: None,
                 reservation_for: Callable[[int, str], int | None] = lambda evse, id_tag: None):
        """``readings``: the EVSEs' latest meter readings; ``remember_id_tag(id_tag, idTagInfo)``:
        the authorization cache; ``reservation_for(evse, id_tag)``: the reservationId a start by
        ``id_tag`` uses up (the reservation block)."""
        self.core = ctx.core
        self.keys = ctx.config
        self.evse = ctx.evse
        self.db = self.core.outbox.host(STORE_NAME, MIGRATIONS)
        self.readings = readings
        self.remember_id_tag = remember_id_tag
        self.reservation_for = reservation_for
        self._tx: dict[str, TxRecord] = {}
        self.recovery = Recovery(self.evse, self._close_power_loss)
        self.invalid_token = InvalidTokenGuard(self.keys, INVALID_TOKEN, self.evse)
        self.changes = StateChanges(self.core, (self, ("_tx",)), (readings, MeterReadings.STATE),
                                    (self.recovery, Recovery.STATE), (self.invalid_token, InvalidTokenGuard.STATE))
        self._load()
        self.core.events.subscribe_many(E.EVSE_EVENTS, self._on_evse)
        self.core.on_tx_result("StartTransaction", self._on_start_result)
        self.core.on_tx_result("StopTransaction", self._on_stop_result)

    def _load(self) -> None:
        """The records of the last run, squared with the outbox (the truth after a crash: each
        message is queued before its record is written)."""
        for row in self.db.execute("SELECT session_id, evse, id_tag, meter_start, started_at, reservation_id, "
                                   "transaction_id, last_meter, invalid FROM tx16"):
            session_id, evse, id_tag, meter_start, started_at, reservation_id, transaction_id, last_meter, invalid = row
            rec = TxRecord(session_id, evse, id_tag, meter_start, started_at, reservation_id, transaction_id,
                           last_meter, bool(invalid))
            if self._stop_queued(rec.session_id):
                self._forget(rec.session_id)  # its StopTransaction was queued just before a crash
                continue
            if rec.transaction_id is None:  # acknowledged just before a crash: the outbox has the id
                rec.transaction_id = self.core.outbox.transaction_id(rec.session_id)
            self._tx[rec.session_id] = rec
            self.recovery.loaded(rec.session_id)
        self._rebuild_from_outbox()

    def _stop_queued(self, session_id: str) -> bool:
        return any(action == "StopTransaction" for action, _ in self.core.pending_transactional(session_id))

    # ------------------------------------------------------------------ questions
    def active(self, evse: int) -> TxRecord | None:
        return next((r for r in self._tx.values() if r.evse == evse), None)

    def open_session(self, evse: int) -> str | None:
        """The session id of the transaction open on ``evse``, if any."""
        rec = self.active(evse)
        return rec.session_id if rec is not None else None

    def by_transaction_id(self, transaction_id: int) -> TxRecord | None:
        return next((r for r in self._tx.values() if r.transaction_id == transaction_id), None)

    def records(self) -> list[TxRecord]:
        return list(self._tx.values())

    def record(self, session_id: str) -> TxRecord | None:
        return self._tx.get(session_id)

    def add_transaction_data(self, session_id: str, meter_value: dict[str, Any]) -> None:
        """A MeterValue for this transaction's StopTransaction.transactionData."""
        if session_id in self._tx and meter_value.get("sampledValue"):
            with transaction(self.db):
                self.db.execute("INSERT INTO tx16_data (session_id, meter_value) VALUES (?, ?)",
                                (session_id, json.dumps(meter_value, separators=(",", ":"))))

    def _note_meter(self, rec: TxRecord, energy_wh: float) -> None:
        """Persist the last energy reading of a transaction (used to close it after a power loss)."""
        rec.last_meter = energy_wh
        with transaction(self.db):
            self.db.execute("UPDATE tx16 SET last_meter = ? WHERE session_id = ?", (energy_wh, rec.session_id))

    # ------------------------------------------------------------------ events
    def _on_evse(self, ev: E.EvseEvent) -> None:
        with self.changes.change():
            self._handle_evse(ev)

    def _handle_evse(self, ev: E.EvseEvent) -> None:
        self.recovery.on_event(ev, [r.session_id for r in self._tx.values() if r.evse == ev.evse])
        if isinstance(ev, E.TransactionStarted):
            self._started(ev)
        elif isinstance(ev, E.TransactionFinished):
            rec = self._tx.get(ev.session_id)
            if rec is None:
                log.warning("EVSE %d: TransactionFinished for unknown session %s ignored", ev.evse, ev.session_id)
                return
            self._stop(rec, ev.reason, ev.meter, event_time(ev.timestamp, self.core.now), ev.id_token)
            if ev.reason == "EVDisconnected" and self.keys.read(UNLOCK_CONNECTOR_ON_EV_SIDE_DISCONNECT):
                self.evse.force_unlock(ev.evse, ev.connector)  # 1.6: free the cable for the user
        elif isinstance(ev, E.SessionFinished):
            if ev.session_id in self._tx and self.keys.read(STOP_TRANSACTION_ON_EV_SIDE_DISCONNECT):
                log.info("EVSE %d: EV gone with transaction %s open: stopping it", ev.evse, ev.session_id)
                session_id = ev.session_id
                self.evse.stop_transaction(ev.evse, "EVDisconnected", lambda ok: self._ev_gone(session_id, ok))
        elif isinstance(ev, E.MeterReading):
            rec = self.active(ev.evse)
            if rec is None:
                return
            energy = self.readings.energy_wh(ev.evse)
            if energy is not None and energy_changed(rec.last_meter, energy):
                self._note_meter(rec, energy)
            self._check_energy_on_invalid(rec)

    def _started(self, ev: E.TransactionStarted) -> None:
        if ev.session_id in self._tx:
            log.info("EVSE %d: TransactionStarted %s seen again; ignored", ev.evse, ev.session_id)
            return
        self.readings.take(ev.evse, ev.meter)  # 1.6: the start's meter value is the latest reading
        id_tag = (ev.id_token.value or "")[:20]
        reservation_id = ev.reservation_id
        if reservation_id is None:
            reservation_id = self.reservation_for(ev.evse, id_tag)
        meter = ev.meter.energy_import_wh or 0.0
        rec = TxRecord(ev.session_id, ev.evse, id_tag, meter, event_time(ev.timestamp, self.core.now),
                       reservation_id, last_meter=meter)
        payload: dict[str, Any] = {"connectorId": ev.evse, "idTag": id_tag, "meterStart": int(round(meter)),
                                   "timestamp": rec.started_at}
        if reservation_id is not None:
            payload["reservationId"] = int(reservation_id)
        log.info("EVSE %d: transaction %s started by %s at %.0f Wh", ev.evse, ev.session_id, id_tag, meter)
        self.core.send_transactional("StartTransaction", payload, rec.session_id)
        self._insert(rec)
        self._add_stop_txn_sample(rec, ev.meter, "Transaction.Begin")
        self.changes.publish(TxStarted(rec.evse, 1, rec.session_id, _tid(rec)))

    def _insert(self, rec: TxRecord) -> None:
        with transaction(self.db):
            self.db.execute("INSERT INTO tx16 (session_id, evse, id_tag, meter_start, started_at, reservation_id, "
                            "last_meter) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (rec.session_id, rec.evse, rec.id_tag, rec.meter_start, rec.started_at,
                             rec.reservation_id, rec.last_meter))
        self._tx[rec.session_id] = rec

    def _rebuild_from_outbox(self) -> None:
        """A StartTransaction queued just before a crash, its record not yet written: rebuild
        the record from the message (the EVSE then resumes or loses the session as usual)."""
        for entry in self.core.outbox.entries():
            key = entry.tx_key
            if entry.action != "StartTransaction" or key is None or key in self._tx or self._stop_queued(key):
                continue
            p = entry.payload
            rec = TxRecord(key, int(p["connectorId"]), p["idTag"], float(p["meterStart"]), p["timestamp"],
                           p.get("reservationId"), last_meter=float(p["meterStart"]))
            log.warning("EVSE %d: transaction %s rebuilt from its queued StartTransaction", rec.evse, key)
            self._insert(rec)
            self.recovery.loaded(key)

    def _stop(self, rec: TxRecord, reason: str, meter: E.MeterSample | None, timestamp: str,
              id_token: E.IdToken | None) -> None:
        if meter is not None:
            self._add_stop_txn_sample(rec, meter, "Transaction.End", timestamp)
        energy = meter.energy_import_wh if meter is not None else None
        if energy is None:
            energy = rec.last_meter if rec.last_meter is not None else rec.meter_start
        payload: dict[str, Any] = {"transactionId": rec.transaction_id if rec.transaction_id is not None
                                   else PLACEHOLDER_TRANSACTION_ID,
                                   "meterStop": int(round(energy)), "timestamp": timestamp,
                                   "reason": reason_16(reason)}
        if id_token is not None and id_token.value:
            payload["idTag"] = id_token.value[:20]
        data = [json.loads(text) for (text,) in self.db.execute(
            "SELECT meter_value FROM tx16_data WHERE session_id = ? ORDER BY id", (rec.session_id,))]
        if data:
            payload["transactionData"] = data
        log.info("EVSE %d: transaction %s (%s) stopped: %s at %.0f Wh", rec.evse, rec.session_id,
                 rec.transaction_id, payload["reason"], energy)
        self.core.send_transactional("StopTransaction", payload, rec.session_id)
        self._forget(rec.session_id)
        self.changes.publish(TxEnded(rec.evse, 1, rec.session_id, _tid(rec)))

    def _close_power_loss(self, session_id: str, unresumed: bool) -> bool:
        """Recovery closes a transaction whose session is gone (a 1.6 record is always one)."""
        self._stop(self._tx[session_id], "PowerLoss", None, iso(self.core.now), None)
        return True

    def _ev_gone(self, session_id: str, ok: bool) -> None:
        """The EVSE refused to stop a transaction whose session is over (it lost it, e.g. its
        TransactionFinished was published while this process was down): close it here."""
        rec = self._tx.get(session_id)
        if rec is not None and not ok:
            log.warning("EVSE %d: has no transaction %s any more: stopping it as EVDisconnected", rec.evse,
                        session_id)
            with self.changes.change():
                self._stop(rec, "EVDisconnected", None, iso(self.core.now), None)

    def _forget(self, session_id: str) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM tx16 WHERE session_id = ?", (session_id,))
            self.db.execute("DELETE FROM tx16_data WHERE session_id = ?", (session_id,))
        self._tx.pop(session_id, None)
        self.invalid_token.forget(session_id)
        self.recovery.forget(session_id)

    def _add_stop_txn_sample(self, rec: TxRecord, meter: E.MeterSample, context: str,
                             timestamp: str | None = None) -> None:
        values = sampled_values(meter, self.keys.read(STOP_TXN_SAMPLED_DATA), context, V16)
        if values:
            self.add_transaction_data(rec.session_id, {
                "timestamp": timestamp or event_time(meter.timestamp, self.core.now), "sampledValue": values})

    # ------------------------------------------------------------------ answers
    def _on_start_result(self, tx_key: str | None, request: dict[str, Any], result: dict[str, Any] | None) -> None:
        with self.changes.change():  # inside the commit that removes the message
            self._take_start_result(tx_key, request, result)

    def _take_start_result(self, tx_key: str | None, request: dict[str, Any], result: dict[str, Any] | None) -> None:
        if result is None:
            log.error("StartTransaction of %s was dropped: the CSMS never gave it a transactionId", tx_key)
            return
        transaction_id = int(result["transactionId"])
        info = result.get("idTagInfo") or {}
        self.remember_id_tag(request["idTag"], info)
        rec = self._tx.get(tx_key) if tx_key else None
        if rec is not None:
            rec.transaction_id = transaction_id
            with transaction(self.db):
                self.db.execute("UPDATE tx16 SET transaction_id = ? WHERE session_id = ?", (transaction_id, tx_key))
        self.changes.publish(TxUpdated(request["connectorId"], 1, str(tx_key), str(transaction_id)))
        if rec is None or not self.invalid_token.token_status(rec.session_id, rec.evse, rec.id_tag,
                                                              info.get("status", "Accepted")):
            return
        rec.invalid = True
        with transaction(self.db):
            self.db.execute("UPDATE tx16 SET invalid = 1 WHERE session_id = ?", (tx_key,))
        self._check_energy_on_invalid(rec)

    def _on_stop_result(self, tx_key: str | None, request: dict[str, Any], result: dict[str, Any] | None) -> None:
        if result is not None and result.get("idTagInfo") and request.get("idTag"):
            self.remember_id_tag(request["idTag"], result["idTagInfo"])

    def _check_energy_on_invalid(self, rec: TxRecord) -> None:
        """MaxEnergyOnInvalidId, counted from meterStart (what the CSMS was told)."""
        energy = self.readings.energy_wh(rec.evse)
        self.invalid_token.check(rec.session_id, rec.evse, invalid=rec.invalid, start_wh=rec.meter_start,
                                 energy_wh=energy if energy is not None else rec.last_meter)

    def close(self) -> None:
        """Nothing of its own to close: its tables are in the outbox's file (closed by the core)."""


def _tid(rec: TxRecord) -> str | None:
    """The CSMS's transactionId as the bus shows it (None until StartTransaction.conf)."""
    return None if rec.transaction_id is None else str(rec.transaction_id)
