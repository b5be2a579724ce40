"""OCPP 2.0.1 reservations (functional block H: ReserveNow, CancelReservation). PURE.

Owns the reservations the CSMS made (id, EVSE, idToken, groupIdToken, expiry), their
persistence (``reservation201.db``, timers re-armed after a restart), the expiry timers and
the ReservationStatusUpdate(Expired) they send, and the ``evse_port.reserve`` /
``cancel_reservation`` requests.

Rules:
- ReservationCtrlr.Enabled false, no evseId (NonEvseSpecific is false), an unknown EVSE, a
  connectorType none of its connectors has, or an expiry already past: Rejected.
- The EVSE's connectors decide otherwise: all Faulted -> Faulted; all Unavailable ->
  Unavailable; an EV present, a transaction running, or a reservation with another id ->
  Occupied. A ReserveNow with the id of an existing reservation replaces it (H01.FR.02).
- Else the EVSE is asked (``reserve``); its answer gives Accepted or Rejected (the CALLRESULT
  waits for it).
- A session or transaction that starts with the reservation's id uses it up (no message).
- At ``expiryDateTime`` the EVSE is told to cancel and ReservationStatusUpdate(Expired) goes;
  when all its connectors become Faulted or Unavailable, the same with Removed.

Must never: decide who may use a reservation (the EVSE's auth does), or read a clock.
"""

from __future__ import annotations

import json
import logging

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.v201.remote_control import now_or_later
from ocpp_bridge.store.database import open_database, transaction

log = logging.getLogger("ocpp_bridge.ocpp.v201.reservation")

DATABASE_NAME = "reservation201"
MIGRATIONS = [
    """
    CREATE TABLE reservation (
        id INTEGER PRIMARY KEY, evse INTEGER NOT NULL, expiry REAL NOT NULL,
        id_token TEXT NOT NULL, group_id_token TEXT);
    """,
]


class ReservationBlock:
    def __init__(self, cp):
        self.cp = cp
        self.core = cp.core
        self.db = open_database(cp.db_dir, DATABASE_NAME, MIGRATIONS)
        self._by_id: dict[int, dict] = {}
        for rid, evse, expiry, token, group in self.db.execute(
                "SELECT id, evse, expiry, id_token, group_id_token FROM reservation"):
            self._remember(rid, evse, expiry, json.loads(token), json.loads(group) if group else None)
            if cp.status.has(evse):
                cp.status.set_reserved(evse, True)
        self.core.handle("ReserveNow", self._on_reserve_now)
        self.core.handle("CancelReservation", self._on_cancel)
        self.core.on("evse", self._on_event)
        self.core.on("connector_status", self._on_connector_status)

    # ------------------------------------------------------------------ queries
    def for_evse(self, evse: int) -> dict | None:
        return next((r for r in self._by_id.values() if r["evse"] == evse), None)

    def reserved_for_other(self, evse: int, id_token: dict, group_id_token: dict | None = None) -> bool:
        """Is ``evse`` reserved for someone else than this token (or its group)?"""
        r = self.for_evse(evse)
        if r is None:
            return False
        if r["id_token"].get("idToken") == id_token.get("idToken"):
            return False
        group = r.get("group_id_token")
        return not (group and group_id_token and group.get("idToken") == group_id_token.get("idToken"))

    # ------------------------------------------------------------------ ReserveNow
    def _enabled(self) -> bool:
        try:
            return self.cp.model.bool_value("ReservationCtrlr", "Enabled")
        except (KeyError, ValueError):
            return True

    def _evse_status(self, evse: int, rid: int) -> str | None:
        """The non-Accepted answer this EVSE's state forces, or None."""
        status_block = self.cp.status
        statuses = [status_block.status(evse, c) for c in status_block.connector_ids(evse)]
        if statuses and all(s == "Faulted" for s in statuses):
            return "Faulted"
        if statuses and all(s == "Unavailable" for s in statuses):
            return "Unavailable"
        transactions = getattr(self.cp, "transactions", None)
        if status_block.is_occupied(evse) or (transactions is not None and evse in transactions.active_evses()):
            return "Occupied"
        other = self.for_evse(evse)
        if other is not None and other["id"] != rid:
            return "Occupied"
        return None

    def _connector_type_ok(self, evse: int, wanted: str | None) -> bool:
        if not wanted:
            return True
        for c in self.cp.status.connector_ids(evse):
            try:
                if self.cp.model.value("Connector", "ConnectorType", evse=evse, connector=c) == wanted:
                    return True
            except KeyError:
                continue
        return False

    def _on_reserve_now(self, payload: dict):
        rid, evse = payload["id"], payload.get("evseId")
        expiry = epoch(payload["expiryDateTime"]) or self.core.now
        if (not self._enabled() or evse is None or not self.cp.status.has(evse)
                or not self._connector_type_ok(evse, payload.get("connectorType")) or expiry <= self.core.now):
            log.info("ReserveNow %s on EVSE %s: Rejected", rid, evse)
            return {"status": "Rejected"}
        forced = self._evse_status(evse, rid)
        if forced is not None:
            log.info("ReserveNow %s on EVSE %d: %s", rid, evse, forced)
            return {"status": forced}
        old = self._by_id.get(rid)
        if old is not None and old["evse"] != evse:
            self._drop(rid, cancel=True)
        answer = Deferred()

        def reserved(ok: bool) -> None:
            if answer.done:  # the CSMS already got Rejected (CsmsAnswerTimeoutS): undo a late yes
                if ok:
                    self.cp.evse_port.cancel_reservation(evse, None, reservation_id=rid)
                return
            if not ok:
                log.info("ReserveNow %s: EVSE %d refused", rid, evse)
                answer.resolve({"status": "Rejected"})
                return
            self._store(rid, evse, expiry, payload["idToken"], payload.get("groupIdToken"))
            log.info("ReserveNow %s: EVSE %d reserved until %s", rid, evse, payload["expiryDateTime"])
            answer.resolve({"status": "Accepted"})

        group = payload.get("groupIdToken")
        self.cp.evse_port.reserve(evse, rid, reserved, id_token=payload["idToken"]["idToken"],
                                  expiry_time=payload["expiryDateTime"],
                                  parent_id_token=group["idToken"] if group else None)
        return now_or_later(answer)

    def _store(self, rid: int, evse: int, expiry: float, id_token: dict, group: dict | None) -> None:
        with transaction(self.db):
            self.db.execute("INSERT OR REPLACE INTO reservation VALUES (?, ?, ?, ?, ?)",
                            (rid, evse, expiry, json.dumps(id_token), json.dumps(group) if group else None))
        self._remember(rid, evse, expiry, id_token, group)
        self.cp.status.set_reserved(evse, True)

    def _remember(self, rid: int, evse: int, expiry: float, id_token: dict, group: dict | None) -> None:
        self._by_id[rid] = {"id": rid, "evse": evse, "expiry": expiry, "id_token": id_token,
                            "group_id_token": group}
        self.core.timers.set(f"reservation-{rid}", expiry, lambda: self._expire(rid))

    def _drop(self, rid: int, *, cancel: bool) -> dict | None:
        r = self._by_id.pop(rid, None)
        if r is None:
            return None
        self.core.timers.cancel(f"reservation-{rid}")
        with transaction(self.db):
            self.db.execute("DELETE FROM reservation WHERE id = ?", (rid,))
        if cancel:
            self.cp.evse_port.cancel_reservation(r["evse"], None, reservation_id=rid)
        self.cp.status.set_reserved(r["evse"], False)
        return r

    def _expire(self, rid: int) -> None:
        if self._drop(rid, cancel=True) is None:
            return
        log.info("reservation %d expired", rid)
        self.core.call("ReservationStatusUpdate", {"reservationId": rid, "reservationUpdateStatus": "Expired"})

    # ------------------------------------------------------------------ CancelReservation
    def _on_cancel(self, payload: dict) -> dict:
        rid = payload["reservationId"]
        if self._drop(rid, cancel=True) is None:
            return {"status": "Rejected"}
        log.info("reservation %d cancelled by the CSMS", rid)
        return {"status": "Accepted"}

    # ------------------------------------------------------------------ use
    def _on_event(self, event) -> None:
        if isinstance(event, (E.SessionStarted, E.TransactionStarted)) and event.reservation_id is not None:
            if self._drop(event.reservation_id, cancel=False) is not None:
                log.info("reservation %d used on EVSE %d", event.reservation_id, event.evse)

    def _on_connector_status(self, evse: int, connector: int, status: str) -> None:
        """H04: an EVSE that can no longer be used loses its reservation (Removed)."""
        r = self.for_evse(evse)
        if r is None or status not in ("Faulted", "Unavailable"):
            return
        connectors = self.cp.status.connector_ids(evse)
        if all(self.cp.status.status(evse, c) in ("Faulted", "Unavailable") for c in connectors):
            self._drop(r["id"], cancel=True)
            log.info("reservation %d removed: EVSE %d is %s", r["id"], evse, status)
            self.core.call("ReservationStatusUpdate", {"reservationId": r["id"], "reservationUpdateStatus": "Removed"})

    def close(self) -> None:
        self.db.close()
