"""OCPP 2.0.1 reservations (functional block H: ReserveNow, CancelReservation). PURE.

Owns the reservations the CSMS made (id, EVSE or none, idToken, groupIdToken, connectorType,
expiry), their persistence (``reservation201.db``, timers re-armed after a restart), the
expiry timers and the ReservationStatusUpdate(Expired / Removed) they send, the
``evse_port.reserve`` / ``cancel_reservation`` requests, and which EVSEs show Reserved.

Rules:
- ReservationCtrlr.Enabled false, an unknown EVSE, a connectorType no (such) EVSE has, or an
  expiry already past: Rejected. No evseId: a station-wide reservation when
  ReservationCtrlr.NonEvseSpecific is true, else Rejected (H01.FR.19).
- An EVSE-specific reservation: the EVSE's connectors decide otherwise: all Faulted ->
  Faulted; all Unavailable -> Unavailable; an EV present, a transaction running, a
  reservation with another id, or an EVSE the station-wide reservations need -> Occupied.
- A station-wide reservation is Accepted while every station-wide reservation, with it, can
  still get a free EVSE (one without an EV, a transaction, an EVSE-specific reservation, and
  not Faulted/Unavailable, of the reservation's connectorType if it names one) whatever order
  their drivers come in and whichever fitting EVSE each takes (``fits``); else Occupied (or
  Faulted / Unavailable when every fitting EVSE is so).
- A free EVSE that no one but a station-wide reservation's driver may take (taking it would
  leave a station-wide reservation without an EVSE) shows Reserved: with as many station-wide
  reservations as free EVSEs, all of them (H01.FR.23/24, as EVerest's Auth module does).
- A ReserveNow with the id of an existing reservation replaces it (H01.FR.02).
- The EVSE (or, for a station-wide one, the ``reservation`` module if connected) is asked
  (``reserve``); its answer gives Accepted or Rejected (the CALLRESULT waits for it).
- A session or transaction that starts with the reservation's id uses it up (no message); so
  does a transaction started by a station-wide reservation's idToken (the EVSE may not know
  that reservation's id).
- At ``expiryDateTime`` the reservation is cancelled and ReservationStatusUpdate(Expired)
  goes; when all the connectors of its EVSE become Faulted or Unavailable, or a station-wide
  one no longer fits, the same with Removed.

Must never: decide who may use a reservation (the EVSE's auth does), or read a clock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import TYPE_CHECKING

from ocpp_bridge.deferred import Deferred, now_or_later
from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.context import BlockContext, Later
from ocpp_bridge.ocpp.events import ConnectorStatusChanged
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.dm_definitions import RO
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.ocpp.v201.variables import boolean, enabled
from ocpp_bridge.store.database import transaction

if TYPE_CHECKING:
    from ocpp_bridge.ocpp.v201.transactions import TransactionBlock

log = logging.getLogger("ocpp_bridge.ocpp.v201.reservation")

RESERVATION_ENABLED = enabled("ReservationCtrlr")
NON_EVSE_SPECIFIC = boolean("ReservationCtrlr", "NonEvseSpecific", True, mutability=RO)  # H01 without evseId
VARIABLES = (RESERVATION_ENABLED, NON_EVSE_SPECIFIC)

DATABASE_NAME = "reservation201"
STATION_WIDE = 0  # the ``evse`` column of a reservation without evseId
MIGRATIONS = [
    """
    CREATE TABLE reservation (
        id INTEGER PRIMARY KEY, evse INTEGER NOT NULL, expiry REAL NOT NULL,
        id_token TEXT NOT NULL, group_id_token TEXT);
    """,
    "ALTER TABLE reservation ADD COLUMN connector_type TEXT;",
]
UNUSABLE = ("Faulted", "Unavailable")


def fits(pools: list[set[int]]) -> bool:
    """Can each station-wide reservation (its ``pool``: the free EVSEs it may use) still get an
    EVSE in any order of arrival and any choice of EVSE? Sufficient rule: every pool holds at
    least as many EVSEs as there are reservations whose pools overlap it (only those can take
    its EVSEs)."""
    return all(pool and len(pool) >= sum(1 for other in pools if other & pool) for pool in pools)


class ReservationBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], status: StatusBlock, transactions: Later[TransactionBlock],
                 db: sqlite3.Connection):
        """``transactions``: the transaction block (built after this one); ``db``: this block's
        file (``DATABASE_NAME``, ``MIGRATIONS``)."""
        self.core = ctx.core
        self.model = ctx.config
        self.evse = ctx.evse
        self.status = status
        self._transactions = transactions
        self.db = db
        self._by_id: dict[int, dict] = {}
        self._marked: set[int] = set()  # EVSEs this block shows as Reserved
        for rid, evse, expiry, token, group, connector_type in self.db.execute(
                "SELECT id, evse, expiry, id_token, group_id_token, connector_type FROM reservation ORDER BY rowid"):
            if evse != STATION_WIDE and not status.has(evse):
                continue
            self._remember(rid, evse or None, expiry, json.loads(token), json.loads(group) if group else None,
                           connector_type)
        self.core.handle("ReserveNow", self._on_reserve_now)
        self.core.handle("CancelReservation", self._on_cancel)
        self.core.events.subscribe_many(E.EVSE_EVENTS, self._on_event)
        self.core.events.subscribe(ConnectorStatusChanged, self._on_connector_status)
        self._refresh_marks()

    # ------------------------------------------------------------------ queries
    def for_evse(self, evse: int) -> dict | None:
        return next((r for r in self._by_id.values() if r["evse"] == evse), None)

    def station_wide(self) -> list[dict]:
        """The reservations without EVSE, oldest first."""
        return [r for r in self._by_id.values() if r["evse"] is None]

    def reserved_for_other(self, evse: int, id_token: dict, group_id_token: dict | None = None) -> bool:
        """Is ``evse`` reserved (EVSE-specifically, as libocpp asks) for someone else than this
        token (or its group)?"""
        r = self.for_evse(evse)
        if r is None:
            return False
        if r["id_token"].get("idToken") == id_token.get("idToken"):
            return False
        group = r.get("group_id_token")
        return not (group and group_id_token and group.get("idToken") == group_id_token.get("idToken"))

    # ------------------------------------------------------------------ capacity
    def _unusable(self, evse: int) -> bool:
        statuses = [self.status.status(evse, c) for c in self.status.connector_ids(evse)]
        return bool(statuses) and all(s in UNUSABLE for s in statuses)

    def _in_use(self, evse: int) -> bool:
        transactions = self._transactions.peek()  # None while the blocks are being built
        return self.status.is_occupied(evse) or (transactions is not None and evse in transactions.active_evses())

    def _free(self, ignore: int | None = None) -> set[int]:
        """EVSEs a station-wide reservation may count on (``ignore``: a reservation id left out)."""
        specific = {r["evse"] for r in self._by_id.values() if r["evse"] is not None and r["id"] != ignore}
        return {e for e in self.status.evse_ids()
                if e not in specific and not self._in_use(e) and not self._unusable(e)}

    def _fits(self, station_wide: list[dict], free: set[int]) -> bool:
        return fits([{e for e in free if self._connector_type_ok(e, r["connector_type"])} for r in station_wide])

    def _held(self) -> set[int]:
        """Free EVSEs only a station-wide reservation's driver may take."""
        wide = self.station_wide()
        if not wide:
            return set()
        free = self._free()
        return {e for e in free if not self._fits(wide, free - {e})}

    def _refresh_marks(self) -> None:
        marked = {r["evse"] for r in self._by_id.values() if r["evse"] is not None} | self._held()
        changed, self._marked = marked ^ self._marked, marked
        for evse in sorted(changed):
            if self.status.has(evse):
                self.status.set_reserved(evse, evse in marked)

    # ------------------------------------------------------------------ ReserveNow
    def _evse_status(self, evse: int, rid: int) -> str | None:
        """The non-Accepted answer this EVSE's state forces, or None."""
        status_block = self.status
        statuses = [status_block.status(evse, c) for c in status_block.connector_ids(evse)]
        if statuses and all(s == "Faulted" for s in statuses):
            return "Faulted"
        if statuses and all(s == "Unavailable" for s in statuses):
            return "Unavailable"
        if self._in_use(evse):
            return "Occupied"
        other = self.for_evse(evse)
        if other is not None and other["id"] != rid:
            return "Occupied"
        wide = [r for r in self.station_wide() if r["id"] != rid]
        if wide and not self._fits(wide, self._free(ignore=rid) - {evse}):
            return "Occupied"  # the station-wide reservations need this EVSE
        return None

    def _station_wide_status(self, rid: int, connector_type: str | None) -> str | None:
        """The non-Accepted answer to one more station-wide reservation, or None."""
        wide = [r for r in self.station_wide() if r["id"] != rid] + [{"id": rid, "connector_type": connector_type}]
        if self._fits(wide, self._free(ignore=rid)):
            return None
        fitting = [e for e in self.status.evse_ids() if self._connector_type_ok(e, connector_type)]
        for state in UNUSABLE:
            if all(all(self.status.status(e, c) == state for c in self.status.connector_ids(e))
                   for e in fitting):
                return state
        return "Occupied"

    def _connector_type_ok(self, evse: int, wanted: str | None) -> bool:
        if not wanted:
            return True
        for c in self.status.connector_ids(evse):
            try:
                if self.model.value("Connector", "ConnectorType", evse=evse, connector=c) == wanted:
                    return True
            except KeyError:
                continue
        return False

    def _on_reserve_now(self, payload: dict):
        rid, evse, connector_type = payload["id"], payload.get("evseId"), payload.get("connectorType")
        expiry = epoch(payload["expiryDateTime"]) or self.core.now
        if evse is None:
            known = (self.model.read(NON_EVSE_SPECIFIC)
                     and any(self._connector_type_ok(e, connector_type) for e in self.status.evse_ids()))
        else:
            known = self.status.has(evse) and self._connector_type_ok(evse, connector_type)
        if not self.model.read(RESERVATION_ENABLED) or not known or expiry <= self.core.now:
            log.info("ReserveNow %s on EVSE %s: Rejected", rid, evse)
            return {"status": "Rejected"}
        forced = self._evse_status(evse, rid) if evse is not None else self._station_wide_status(rid, connector_type)
        if forced is not None:
            log.info("ReserveNow %s on EVSE %s: %s", rid, evse, forced)
            return {"status": forced}
        old = self._by_id.get(rid)
        if old is not None and old["evse"] != evse:
            self._drop(rid, cancel=True)
        answer = Deferred()

        def reserved(ok: bool) -> None:
            if answer.done:  # the CSMS already got Rejected (CsmsAnswerTimeoutS): undo a late yes
                if ok:
                    self.evse.cancel_reservation(evse, None, reservation_id=rid)
                return
            if not ok:
                log.info("ReserveNow %s: EVSE %s refused", rid, evse)
                answer.resolve({"status": "Rejected"})
                return
            self._store(rid, evse, expiry, payload["idToken"], payload.get("groupIdToken"), connector_type)
            log.info("ReserveNow %s: %s reserved until %s", rid,
                     f"EVSE {evse}" if evse is not None else "the station", payload["expiryDateTime"])
            answer.resolve({"status": "Accepted"})

        group = payload.get("groupIdToken")
        self.evse.reserve(evse, rid, reserved, id_token=payload["idToken"]["idToken"],
                                  expiry_time=payload["expiryDateTime"],
                                  parent_id_token=group["idToken"] if group else None)
        return now_or_later(answer)

    def _store(self, rid: int, evse: int | None, expiry: float, id_token: dict, group: dict | None,
               connector_type: str | None) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM reservation WHERE id = ?", (rid,))  # a replacement goes last
            self.db.execute("INSERT INTO reservation (id, evse, expiry, id_token, group_id_token, connector_type) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (rid, STATION_WIDE if evse is None else evse, expiry, json.dumps(id_token),
                             json.dumps(group) if group else None, connector_type))
        self._by_id.pop(rid, None)
        self._remember(rid, evse, expiry, id_token, group, connector_type)
        self._refresh_marks()

    def _remember(self, rid: int, evse: int | None, expiry: float, id_token: dict, group: dict | None,
                  connector_type: str | None) -> None:
        self._by_id[rid] = {"id": rid, "evse": evse, "expiry": expiry, "id_token": id_token,
                            "group_id_token": group, "connector_type": connector_type}
        self.core.timers.set(f"reservation-{rid}", expiry, lambda: self._expire(rid))

    def _drop(self, rid: int, *, cancel: bool) -> dict | None:
        r = self._by_id.pop(rid, None)
        if r is None:
            return None
        self.core.timers.cancel(f"reservation-{rid}")
        with transaction(self.db):
            self.db.execute("DELETE FROM reservation WHERE id = ?", (rid,))
        if cancel:
            self.evse.cancel_reservation(r["evse"], None, reservation_id=rid)
        self._refresh_marks()
        return r

    def _expire(self, rid: int) -> None:
        if self._drop(rid, cancel=True) is None:
            return
        log.info("reservation %d expired", rid)
        self._status_update(rid, "Expired")

    def _status_update(self, rid: int, status: str) -> None:
        self.core.call("ReservationStatusUpdate", {"reservationId": rid, "reservationUpdateStatus": status})

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
        elif isinstance(event, E.TransactionStarted):
            token = (event.id_token.value or "").lower()
            used = next((r for r in self.station_wide() if (r["id_token"].get("idToken") or "").lower() == token),
                        None)
            if used is not None and self._drop(used["id"], cancel=False) is not None:
                log.info("station-wide reservation %d used on EVSE %d", used["id"], event.evse)
        if isinstance(event, (E.TransactionStarted, E.TransactionFinished, E.SessionStarted, E.SessionFinished)):
            self._refresh_marks()

    def _on_connector_status(self, changed: ConnectorStatusChanged) -> None:
        """H04: an EVSE that can no longer be used loses its reservation (Removed); so do the
        newest station-wide reservations that no longer fit."""
        evse, status = changed.evse, changed.status
        if status in UNUSABLE:
            r = self.for_evse(evse)
            if r is not None and self._unusable(evse):
                self._drop(r["id"], cancel=True)
                log.info("reservation %d removed: EVSE %d is %s", r["id"], evse, status)
                self._status_update(r["id"], "Removed")
            wide = self.station_wide()
            while wide and not self._fits(wide, self._free()):
                last = wide.pop()
                self._drop(last["id"], cancel=True)
                log.info("station-wide reservation %d removed: not enough usable EVSEs", last["id"])
                self._status_update(last["id"], "Removed")
        self._refresh_marks()

    def close(self) -> None:
        self.db.close()
