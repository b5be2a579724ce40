"""OCPP 2.0.1 transaction records and their SQLite tables (hosted in the outbox's file). PURE.

Owns what must survive a restart for each EVerest session the 2.0.1 transaction block
follows: the ``Tx`` record (start/stop conditions, transactionId, the next seqNo, charging
state, idToken and whether the CSMS has it, remoteStartId, reservationId, when it started, the last meter
reading, the energy at the EVSE's TransactionStarted and whether the CSMS declared the token
invalid, for TxCtrlr.MaxEnergyOnInvalidId), the meter values kept for the Ended event
(TxEnded sampled/aligned data), and which EVSE an ended transaction was on until its last
message is acknowledged. Also the fixed EVerest -> 2.0.1 tables (stop reasons, their
trigger reasons, how each reason affects the stop conditions).

The tables live in the outbox's file (``Outbox.host``, guest name ``STORE_NAME``), so a record
and the message it numbers commit together (the transaction block's changes are atomic):
never a message without its record, never a repeated seqNo.

Must never: build or send OCPP messages, read a clock, or know the device model.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, fields
from typing import Any

from ocpp_bridge.store.database import transaction

STORE_NAME = "tx201"  # the guest name of these tables in the outbox's file
MIGRATIONS = [
    """
    CREATE TABLE tx (session_id TEXT PRIMARY KEY, evse INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE TABLE ended_value (id INTEGER PRIMARY KEY AUTOINCREMENT, transaction_id TEXT NOT NULL,
                              meter_value TEXT NOT NULL);
    CREATE INDEX ended_value_tx ON ended_value (transaction_id);
    CREATE TABLE finished (transaction_id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
                           evse INTEGER NOT NULL, connector INTEGER NOT NULL);
    """,
]

# 2.0.1 ReasonEnumType; EVerest's StopTransactionReason names not in it are mapped below.
REASONS = frozenset({
    "DeAuthorized", "EmergencyStop", "EnergyLimitReached", "EVDisconnected", "GroundFault",
    "ImmediateReset", "Local", "LocalOutOfCredit", "MasterPass", "Other", "OvercurrentFault",
    "PowerLoss", "PowerQuality", "Reboot", "Remote", "SOCLimitReached", "StoppedByEV",
    "TimeLimitReached", "Timeout"})
_EVEREST_ONLY = {"HardReset": "ImmediateReset", "SoftReset": "Other", "UnlockCommand": "Other",
                 "ReqEnergyTransferRejected": "Other"}

# stoppedReason -> triggerReason of the Ended event (libocpp's table)
TRIGGER_OF_REASON = {
    "DeAuthorized": "Deauthorized", "EmergencyStop": "AbnormalCondition",
    "EnergyLimitReached": "EnergyLimitReached", "EVDisconnected": "EVCommunicationLost",
    "GroundFault": "AbnormalCondition", "ImmediateReset": "ResetCommand", "Local": "StopAuthorized",
    "LocalOutOfCredit": "ChargingStateChanged", "MasterPass": "StopAuthorized",
    "Other": "AbnormalCondition", "OvercurrentFault": "AbnormalCondition", "PowerLoss": "AbnormalCondition",
    "PowerQuality": "AbnormalCondition", "Reboot": "ResetCommand", "Remote": "RemoteStop",
    "SOCLimitReached": "EnergyLimitReached", "StoppedByEV": "ChargingStateChanged",
    "TimeLimitReached": "TimeLimitReached", "Timeout": "EVConnectTimeout",
}

# How a TransactionFinished reason changes the stop conditions:
#   "disconnected": the EV left; "deauthorized": the right to charge ended (the EV may still
#   be plugged in, so a TxStopPoint of EVConnected alone keeps the transaction open);
#   anything else ("abort"): the transaction ends whatever the stop points say.
EFFECT_OF_REASON = {
    "EVDisconnected": "disconnected",
    "DeAuthorized": "deauthorized", "Remote": "deauthorized", "Local": "deauthorized",
    "MasterPass": "deauthorized", "StoppedByEV": "deauthorized", "EnergyLimitReached": "deauthorized",
    "SOCLimitReached": "deauthorized", "TimeLimitReached": "deauthorized",
    "LocalOutOfCredit": "deauthorized", "Timeout": "deauthorized",
}


def reason_201(everest_reason: str | None) -> str:
    """EVerest StopTransactionReason -> 2.0.1 ReasonEnumType."""
    if everest_reason in REASONS:
        return everest_reason
    return _EVEREST_ONLY.get(everest_reason or "", "Other")


@dataclass
class Tx:
    """One EVerest session on one EVSE, and the OCPP transaction it becomes."""

    session_id: str
    evse: int
    connector: int
    transaction_id: str
    started: bool = False            # TransactionEvent(Started) is queued
    seq_no: int = 0                  # the next seqNo to use
    ev_connected: bool = False
    authorized: bool = False
    energy: bool = False
    charging_state: str = "Idle"     # the state now
    reported_state: str | None = None  # the state the CSMS was last told
    trigger: str = "CablePluggedIn"  # why the last condition changed (for the next event)
    id_token: dict[str, Any] | None = None
    id_token_sent: bool = False
    group_id_token: dict[str, Any] | None = None
    remote_start_id: int | None = None
    reservation_id: int | None = None
    evse_sent: bool = False          # evse went out after the EV connected
    stop_reason: str | None = None   # 2.0.1 ReasonEnumType, once known
    stop_id_token: dict[str, Any] | None = None
    last_meter: dict[str, Any] | None = None   # the last MeterSample (as a dict) seen in the transaction
    start_energy: float | None = None  # Wh at the EVSE's TransactionStarted (MaxEnergyOnInvalidId)
    invalid: bool = False            # the CSMS declared the token invalid (StopTxOnInvalidId false)
    started_at: float | None = None  # epoch seconds of the Started event (a Relative TxProfile's origin)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Tx:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class TxStore:
    def __init__(self, conn: sqlite3.Connection):
        """``conn``: the outbox's connection, with ``MIGRATIONS`` applied as guest ``STORE_NAME``."""
        self.db = conn

    def load(self) -> list[Tx]:
        return [Tx.from_json(data) for (data,) in self.db.execute("SELECT data FROM tx ORDER BY rowid")]

    def save(self, tx: Tx) -> None:
        with transaction(self.db):
            self.db.execute("INSERT OR REPLACE INTO tx (session_id, evse, data) VALUES (?, ?, ?)",
                            (tx.session_id, tx.evse, tx.to_json()))

    def remove(self, tx: Tx, *, finished: bool) -> None:
        """Forget a session; ``finished``: it was an OCPP transaction whose messages may still be queued."""
        with transaction(self.db):
            self.db.execute("DELETE FROM tx WHERE session_id = ?", (tx.session_id,))
            self.db.execute("DELETE FROM ended_value WHERE transaction_id = ?", (tx.transaction_id,))
            if finished:
                self.db.execute("INSERT OR REPLACE INTO finished VALUES (?, ?, ?, ?)",
                                (tx.transaction_id, tx.session_id, tx.evse, tx.connector))

    def add_ended_value(self, transaction_id: str, meter_value: dict[str, Any]) -> None:
        with transaction(self.db):
            self.db.execute("INSERT INTO ended_value (transaction_id, meter_value) VALUES (?, ?)",
                            (transaction_id, json.dumps(meter_value)))

    def ended_values(self, transaction_id: str) -> list[dict[str, Any]]:
        return [json.loads(v) for (v,) in self.db.execute(
            "SELECT meter_value FROM ended_value WHERE transaction_id = ? ORDER BY id", (transaction_id,))]

    def finished(self, transaction_id: str) -> tuple[str, int, int] | None:
        """(session_id, evse, connector) of an ended transaction whose messages may still be queued."""
        row = self.db.execute("SELECT session_id, evse, connector FROM finished WHERE transaction_id = ?",
                              (transaction_id,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def forget_finished(self, transaction_id: str) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM finished WHERE transaction_id = ?", (transaction_id,))

    def finished_ids(self) -> list[str]:
        return [t for (t,) in self.db.execute("SELECT transaction_id FROM finished")]

