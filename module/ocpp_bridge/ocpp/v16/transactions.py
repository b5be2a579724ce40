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
  transaction delivered MaxEnergyOnInvalidId Wh (once per run; the invalid mark is persisted,
  so after a restart it is paused again when the limit is reached).
- TransactionFinished -> StopTransaction (meterStop in Wh, reason mapped from EVerest's
  StopTransactionReason, the idTag that stopped it, transactionData = the StopTxnSampledData
  begin/periodic/end values and the StopTxnAlignedData clock values) and ``TxEnded``
  Ended. The transactionId is -1 until the CSMS gave one (the outbox fills it in later).
- SessionFinished while its transaction is still open and StopTransactionOnEVSideDisconnect
  is true -> the EVSE is asked to stop it (EVDisconnected); if the EVSE answers that it has no
  such transaction, it is stopped here (EVDisconnected, last meter value known).
- Crash / power-loss recovery. A record still open at start-up waits for its EVSE: a
  ``SessionResumed`` (or any event) with its session id means the EVSE kept the session and the
  transaction goes on. When the EVSE is ready (``EvseReady``, after ``get_evse`` at OCPP start)
  without having resumed it, or it starts a new session on that connector, the transaction is
  closed with StopTransaction reason PowerLoss, the last meter value known (persisted on every
  change of the energy reading) and the time of recovery; on ``EvseReady`` the EVSE is also
  told (``stop_transaction`` PowerLoss), as EVerest's OCPP module does for the sessions its
  EvseManagers do not resume. Should a file ever hold a message without its record (the
  outbox is the truth then): a record missing is rebuilt from its queued StartTransaction, a
  record whose StopTransaction is queued is dropped, and a record without the transactionId
  the outbox's map holds takes it from there.

Must never: send a transaction message by any path but ``core.send_transactional``, decide
the status (``status.py``) or sample meter values on its own (``meter_values.py`` adds them).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Callable

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import TxEnded, TxStarted, TxUpdated
from ocpp_bridge.ocpp.outbox import PLACEHOLDER_TRANSACTION_ID
from ocpp_bridge.ocpp.sampled_values import sampled_values
from ocpp_bridge.ocpp.state_change import StateChanges
from ocpp_bridge.ocpp.timefmt import iso
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


def ocpp_time(text: str | None, now: float) -> str:
    """An EVSE's timestamp as an OCPP dateTime (``now`` when absent or unreadable)."""
    t = epoch(text)
    return iso(t if t is not None else now)


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
    def __init__(self, ctx: BlockContext[ConfigurationKeys], *,
                 remember_id_tag: Callable[[str, dict], None] = lambda tag, info: None,
                 reservation_for: Callable[[int, str], int | None] = lambda evse, id_tag: None):
        """``remember_id_tag(id_tag, idTagInfo)``: the authorization cache; ``reservation_for(evse,
        id_tag)``: the reservationId a start by ``id_tag`` uses up (the reservation block)."""
        self.core = ctx.core
        self.keys = ctx.config
        self.evse = ctx.evse
        self.remember_id_tag = remember_id_tag
        self.reservation_for = reservation_for
        self.db = self.core.outbox.host(STORE_NAME, MIGRATIONS)
        self._tx: dict[str, TxRecord] = {}
        self._last: dict[int, E.MeterSample] = {}
        self._paused: set[str] = set()
        self._recovering: set[str] = set()  # loaded at start-up; not yet resumed by their EVSE
        self.changes = StateChanges(self.core, self, ("_tx", "_last", "_paused", "_recovering"))
        for row in self.db.execute("SELECT session_id, evse, id_tag, meter_start, started_at, reservation_id, "
                                   "transaction_id, last_meter, invalid FROM tx16"):
            rec = TxRecord(*row[:8], invalid=bool(row[8]))
            if any(action == "StopTransaction" for action, _ in self.core.pending_transactional(rec.session_id)):
                self._forget(rec.session_id)  # its StopTransaction was queued just before a crash
                continue
            if rec.transaction_id is None:  # acknowledged just before a crash: the outbox has the id
                rec.transaction_id = self.core.outbox.transaction_id(rec.session_id)
            self._tx[rec.session_id] = rec
            self._recovering.add(rec.session_id)
        self._rebuild_from_outbox()
        self.core.events.subscribe_many(E.EVSE_EVENTS, self._on_evse)
        self.core.on_tx_result("StartTransaction", self._on_start_result)
        self.core.on_tx_result("StopTransaction", self._on_stop_result)

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

    def last_sample(self, evse: int) -> E.MeterSample | None:
        return self._last.get(evse)

    def add_transaction_data(self, session_id: str, meter_value: dict) -> None:
        """A MeterValue for this transaction's StopTransaction.transactionData."""
        if session_id in self._tx and meter_value.get("sampledValue"):
            with transaction(self.db):
                self.db.execute("INSERT INTO tx16_data (session_id, meter_value) VALUES (?, ?)",
                                (session_id, json.dumps(meter_value, separators=(",", ":"))))

    def note_meter(self, session_id: str, energy_wh: float | None) -> None:
        """Persist the last energy reading of a transaction (used to close it after a power loss)."""
        rec = self._tx.get(session_id)
        if rec is not None and energy_wh is not None:
            rec.last_meter = energy_wh
            with transaction(self.db):
                self.db.execute("UPDATE tx16 SET last_meter = ? WHERE session_id = ?", (energy_wh, session_id))

    # ------------------------------------------------------------------ events
    def _on_evse(self, ev) -> None:
        with self.changes.change():
            self._handle_evse(ev)

    def _handle_evse(self, ev) -> None:
        session_id = getattr(ev, "session_id", None)
        if session_id in self._recovering:  # the EVSE still has this session
            self._recovering.discard(session_id)
            log.info("EVSE %d: session %s resumed; its transaction goes on", ev.evse, session_id)
        if isinstance(ev, E.EvseReady):
            self._close_unresumed(ev.evse)
        elif isinstance(ev, E.TransactionStarted):
            self._started(ev)
        elif isinstance(ev, E.TransactionFinished):
            rec = self._tx.get(ev.session_id)
            if rec is None:
                log.warning("EVSE %d: TransactionFinished for unknown session %s ignored", ev.evse, ev.session_id)
                return
            self._stop(rec, ev.reason, ev.meter, ocpp_time(ev.timestamp, self.core.now), ev.id_token)
            if ev.reason == "EVDisconnected" and self.keys.read(UNLOCK_CONNECTOR_ON_EV_SIDE_DISCONNECT):
                self.evse.force_unlock(ev.evse, ev.connector)  # 1.6: free the cable for the user
        elif isinstance(ev, E.SessionStarted):
            self._close_orphans(ev.evse, ev.session_id)
        elif isinstance(ev, E.SessionFinished):
            rec = self._tx.get(ev.session_id)
            if rec is not None and self.keys.read(STOP_TRANSACTION_ON_EV_SIDE_DISCONNECT):
                log.info("EVSE %d: EV gone with transaction %s open: stopping it", ev.evse, ev.session_id)
                self.evse.stop_transaction(
                    ev.evse, "EVDisconnected", lambda ok, sid=ev.session_id: self._ev_gone(sid, ok))
        elif isinstance(ev, E.MeterReading):
            self._last[ev.evse] = ev.sample
            rec = self.active(ev.evse)
            energy = ev.sample.energy_import_wh
            if rec is not None and energy is not None and (rec.last_meter is None
                                                           or round(energy) != round(rec.last_meter)):
                self.note_meter(rec.session_id, energy)
            self._check_energy_on_invalid(ev.evse, ev.sample)

    def _started(self, ev: E.TransactionStarted) -> None:
        if ev.session_id in self._tx:
            log.info("EVSE %d: TransactionStarted %s seen again; ignored", ev.evse, ev.session_id)
            return
        self._close_orphans(ev.evse, ev.session_id)
        self._last[ev.evse] = ev.meter
        id_tag = (ev.id_token.value or "")[:20]
        reservation_id = ev.reservation_id
        if reservation_id is None:
            reservation_id = self.reservation_for(ev.evse, id_tag)
        meter = ev.meter.energy_import_wh or 0.0
        rec = TxRecord(ev.session_id, ev.evse, id_tag, meter, ocpp_time(ev.timestamp, self.core.now),
                       reservation_id, last_meter=meter)
        payload = {"connectorId": ev.evse, "idTag": id_tag, "meterStart": int(round(meter)),
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
            if entry.action != "StartTransaction" or key is None or key in self._tx:
                continue
            if any(action == "StopTransaction" for action, _ in self.core.pending_transactional(key)):
                continue
            p = entry.payload
            rec = TxRecord(key, int(p["connectorId"]), p["idTag"], float(p["meterStart"]), p["timestamp"],
                           p.get("reservationId"), last_meter=float(p["meterStart"]))
            log.warning("EVSE %d: transaction %s rebuilt from its queued StartTransaction", rec.evse, key)
            self._insert(rec)
            self._recovering.add(key)

    def _stop(self, rec: TxRecord, reason: str, meter: E.MeterSample | None, timestamp: str,
              id_token: E.IdToken | None) -> None:
        if meter is not None:
            self._add_stop_txn_sample(rec, meter, "Transaction.End", timestamp)
        energy = meter.energy_import_wh if meter is not None else None
        if energy is None:
            energy = rec.last_meter if rec.last_meter is not None else rec.meter_start
        payload: dict = {"transactionId": rec.transaction_id if rec.transaction_id is not None
                         else PLACEHOLDER_TRANSACTION_ID,
                         "meterStop": int(round(energy)), "timestamp": timestamp, "reason": reason_16(reason)}
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

    def _close_orphans(self, evse: int, session_id: str) -> None:
        for rec in [r for r in self._tx.values() if r.evse == evse and r.session_id != session_id]:
            log.warning("EVSE %d: transaction %s was left open (charger restarted?): stopping it as PowerLoss",
                        evse, rec.session_id)
            self._stop(rec, "PowerLoss", None, iso(self.core.now), None)

    def _ev_gone(self, session_id: str, ok: bool) -> None:
        """The EVSE refused to stop a transaction whose session is over (it lost it, e.g. its
        TransactionFinished was published while this process was down): close it here."""
        rec = self._tx.get(session_id)
        if rec is not None and not ok:
            log.warning("EVSE %d: has no transaction %s any more: stopping it as EVDisconnected", rec.evse,
                        session_id)
            with self.changes.change():
                self._stop(rec, "EVDisconnected", None, iso(self.core.now), None)

    def _close_unresumed(self, evse: int) -> None:
        """The EVSE is ready and did not resume its session: the transaction ended with the power."""
        for rec in [r for r in self._tx.values() if r.evse == evse and r.session_id in self._recovering]:
            log.warning("EVSE %d: transaction %s (%s) was not resumed after the restart: stopping it as PowerLoss "
                        "at %.0f Wh", evse, rec.session_id, rec.transaction_id, rec.last_meter or rec.meter_start)
            self._stop(rec, "PowerLoss", None, iso(self.core.now), None)
            self.evse.stop_transaction(evse, "PowerLoss")

    def _forget(self, session_id: str) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM tx16 WHERE session_id = ?", (session_id,))
            self.db.execute("DELETE FROM tx16_data WHERE session_id = ?", (session_id,))
        self._tx.pop(session_id, None)
        self._paused.discard(session_id)
        self._recovering.discard(session_id)

    def _add_stop_txn_sample(self, rec: TxRecord, meter: E.MeterSample, context: str,
                             timestamp: str | None = None) -> None:
        values = sampled_values(meter, self.keys.read(STOP_TXN_SAMPLED_DATA), context, "1.6")
        if values:
            self.add_transaction_data(rec.session_id, {"timestamp": timestamp or ocpp_time(meter.timestamp,
                                                                                          self.core.now),
                                                       "sampledValue": values})

    # ------------------------------------------------------------------ answers
    def _on_start_result(self, tx_key: str | None, request: dict, result: dict | None) -> None:
        with self.changes.change():  # inside the commit that removes the message
            self._take_start_result(tx_key, request, result)

    def _take_start_result(self, tx_key: str | None, request: dict, result: dict | None) -> None:
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
        status = info.get("status", "Accepted")
        if rec is None or status == "Accepted":
            return
        if self.keys.read(STOP_TRANSACTION_ON_INVALID_ID):
            log.info("EVSE %d: idTag %s is %s: stopping transaction %d", rec.evse, rec.id_tag, status, transaction_id)
            self.evse.stop_transaction(rec.evse, "DeAuthorized")
            return
        rec.invalid = True
        with transaction(self.db):
            self.db.execute("UPDATE tx16 SET invalid = 1 WHERE session_id = ?", (tx_key,))
        self._check_energy_on_invalid(rec.evse, self._last.get(rec.evse))

    def _on_stop_result(self, tx_key: str | None, request: dict, result: dict | None) -> None:
        if result is not None and result.get("idTagInfo") and request.get("idTag"):
            self.remember_id_tag(request["idTag"], result["idTagInfo"])

    def _check_energy_on_invalid(self, evse: int, sample: E.MeterSample | None) -> None:
        rec = self.active(evse)
        if rec is None or not rec.invalid or rec.session_id in self._paused:
            return
        allowed = self.keys.read(MAX_ENERGY_ON_INVALID_ID)
        energy = sample.energy_import_wh if sample is not None else None
        delivered = (energy - rec.meter_start) if energy is not None else 0.0
        if delivered >= allowed:
            log.info("EVSE %d: %.0f Wh delivered on an invalid idTag (MaxEnergyOnInvalidId %d): pausing",
                     evse, delivered, allowed)
            self._paused.add(rec.session_id)
            self.evse.pause_charging(evse)

    def close(self) -> None:
        """Nothing of its own to close: its tables are in the outbox's file (closed by the core)."""


def _tid(rec: TxRecord) -> str | None:
    """The CSMS's transactionId as the bus shows it (None until StartTransaction.conf)."""
    return None if rec.transaction_id is None else str(rec.transaction_id)
