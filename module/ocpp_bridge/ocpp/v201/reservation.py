"""OCPP 2.0.1 reservations (functional block H: ReserveNow, CancelReservation) — the 2.0.1
adapter of ``ocpp/common/reservations.py``. PURE.

Owns the 2.0.1 rules of a reservation request, the station-wide reservations (no evseId) and
the EVSEs they hold, the ReservationStatusUpdate(Expired / Removed) messages, and the file
``reservation201.db`` (its migrations); the book (persistence, timers, who may use a
reservation, using it up, the EVSE requests) is common.

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
- A ReserveNow with the id of an existing reservation replaces it (H01.FR.02); one on another
  EVSE is cancelled first.
- The EVSE (or, for a station-wide one, the ``reservation`` module if connected) is asked; its
  answer gives Accepted or Rejected (the CALLRESULT waits for it). CancelReservation waits for
  the EVSE's confirmation too.
- Using one up (no message): see the common module; the group of a token that starts a
  transaction without naming a reservation is what the authorization block knows of it.
- At ``expiryDateTime`` the reservation is cancelled and ReservationStatusUpdate(Expired)
  goes; when all the connectors of its EVSE become Faulted or Unavailable, or a station-wide
  one no longer fits, the same with Removed (H04).

Must never: authorize anyone, or read a clock.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any, Callable

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.common.reservations import (
    FOR_TOKEN,
    NOT_RESERVED,
    Reservation,
    ReservationBook,
    ReservationStore,
    adopting,
    given,
)
from ocpp_bridge.ocpp.context import BlockContext, Peer
from ocpp_bridge.ocpp.events import ConnectorStatusChanged
from ocpp_bridge.ocpp.v201.availability import TransactionsQuery
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.dm_definitions import RO
from ocpp_bridge.ocpp.v201.status import StatusBlock
from ocpp_bridge.ocpp.v201.variables import boolean, enabled

log = logging.getLogger("ocpp_bridge.ocpp.v201.reservation")

RESERVATION_ENABLED = enabled("ReservationCtrlr")
NON_EVSE_SPECIFIC = boolean("ReservationCtrlr", "NonEvseSpecific", True, mutability=RO)  # H01 without evseId
VARIABLES = (RESERVATION_ENABLED, NON_EVSE_SPECIFIC)

DATABASE_NAME = "reservation201"
MIGRATIONS = [
    """
    CREATE TABLE reservation (
        id INTEGER PRIMARY KEY, evse INTEGER NOT NULL, expiry REAL NOT NULL,
        id_token TEXT NOT NULL, group_id_token TEXT);
    """,
    "ALTER TABLE reservation ADD COLUMN connector_type TEXT;",
    # evse 0 meant station-wide; the tokens were IdTokenType JSON: the book keeps their idToken
    adopting("SELECT id, NULLIF(evse, 0), COALESCE(json_extract(id_token, '$.idToken'), ''), "
             "json_extract(group_id_token, '$.idToken'), expiry, connector_type FROM reservation ORDER BY rowid",
             "reservation"),
]
UNUSABLE = ("Faulted", "Unavailable")

GroupOf = Callable[[E.IdToken], tuple[bool, str | None]]  # what the authorization block knows of a token's group


def fits(pools: list[set[int]]) -> bool:
    """Can each station-wide reservation (its ``pool``: the free EVSEs it may use) still get an
    EVSE in any order of arrival and any choice of EVSE? Sufficient rule: every pool holds at
    least as many EVSEs as there are reservations whose pools overlap it (only those can take
    its EVSEs)."""
    return all(pool and len(pool) >= sum(1 for other in pools if other & pool) for pool in pools)


class ReservationBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], status: StatusBlock, transactions: Peer[TransactionsQuery],
                 db: sqlite3.Connection, *, group_of: GroupOf = lambda token: (False, None)) -> None:
        """``transactions``: the transaction block (built after this one); ``db``: this block's
        file (``DATABASE_NAME``, ``MIGRATIONS``); ``group_of``: what the authorization block
        knows of a token's group."""
        self.core = ctx.core
        self.model = ctx.config
        self.status = status
        self._transactions = transactions
        self._group_of = group_of
        self.book = ReservationBook(ReservationStore(db), ctx.core.timers, ctx.evse, self._mark,
                                    keep=lambda res: res.evse is None or status.has(res.evse),
                                    on_expired=lambda res: self._status_update(res.id, "Expired"),
                                    extra_marks=self._held)
        self.core.handle("ReserveNow", self._on_reserve_now)
        self.core.handle("CancelReservation", lambda payload: self.book.cancel(payload["reservationId"]))
        self.core.events.subscribe_many(E.EVSE_EVENTS, self._on_event)
        self.core.events.subscribe(ConnectorStatusChanged, self._on_connector_status)
        self.book.refresh()

    # ------------------------------------------------------------------ queries
    def for_evse(self, evse: int) -> Reservation | None:
        return self.book.on_evse(evse)

    def station_wide(self) -> list[Reservation]:
        """The reservations without EVSE, oldest first."""
        return self.book.station_wide()

    def reserved_for_other(self, evse: int, id_token: dict[str, Any], group_id_token: dict[str, Any] | None = None
                           ) -> bool:
        """Is ``evse`` reserved (EVSE-specifically, as libocpp asks) for someone else than this
        token (or its group)?"""
        group = (group_id_token or {}).get("idToken") or None
        return self.book.check(evse, id_token.get("idToken") or "", given(group)) not in (NOT_RESERVED, FOR_TOKEN)

    # ------------------------------------------------------------------ capacity
    def _connector_states(self, evse: int) -> list[str]:
        return [self.status.status(evse, c) for c in self.status.connector_ids(evse)]

    def _all_in(self, evse: int, states: tuple[str, ...]) -> bool:
        statuses = self._connector_states(evse)
        return bool(statuses) and all(s in states for s in statuses)

    def _in_use(self, evse: int) -> bool:
        transactions = self._transactions.peek()  # None while the blocks are being built
        return self.status.is_occupied(evse) or (transactions is not None and evse in transactions.active_evses())

    def _free(self, ignore: int | None = None) -> set[int]:
        """EVSEs a station-wide reservation may count on (``ignore``: a reservation id left out)."""
        specific = {r.evse for r in self.book.all() if r.evse is not None and r.id != ignore}
        return {e for e in self.status.evse_ids()
                if e not in specific and not self._in_use(e) and not self._all_in(e, UNUSABLE)}

    def _fits(self, wanted: list[str | None], free: set[int]) -> bool:
        """Can station-wide reservations of these connector types each get one of ``free``?"""
        return fits([{e for e in free if self._connector_type_ok(e, connector_type)} for connector_type in wanted])

    @staticmethod
    def _types(reservations: list[Reservation]) -> list[str | None]:
        return [r.connector_type for r in reservations]

    def _held(self) -> set[int]:
        """Free EVSEs only a station-wide reservation's driver may take."""
        wide = self._types(self.book.station_wide())
        if not wide:
            return set()
        free = self._free()
        return {e for e in free if not self._fits(wide, free - {e})}

    def _mark(self, evse: int, reserved: bool) -> None:
        if self.status.has(evse):
            self.status.set_reserved(evse, reserved)

    # ------------------------------------------------------------------ ReserveNow
    def _evse_status(self, evse: int, rid: int) -> str | None:
        """The non-Accepted answer this EVSE's state forces, or None."""
        for state in ("Faulted", "Unavailable"):
            if self._all_in(evse, (state,)):
                return state
        if self._in_use(evse):
            return "Occupied"
        other = self.book.on_evse(evse)
        if other is not None and other.id != rid:
            return "Occupied"
        wide = self._types([r for r in self.book.station_wide() if r.id != rid])
        if wide and not self._fits(wide, self._free(ignore=rid) - {evse}):
            return "Occupied"  # the station-wide reservations need this EVSE
        return None

    def _station_wide_status(self, rid: int, connector_type: str | None) -> str | None:
        """The non-Accepted answer to one more station-wide reservation, or None."""
        wide = self._types([r for r in self.book.station_wide() if r.id != rid]) + [connector_type]
        if self._fits(wide, self._free(ignore=rid)):
            return None
        fitting = [e for e in self.status.evse_ids() if self._connector_type_ok(e, connector_type)]
        for state in UNUSABLE:
            if all(all(s == state for s in self._connector_states(e)) for e in fitting):
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

    def _on_reserve_now(self, payload: dict[str, Any]) -> Any:
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
        old = self.book.get(rid)
        if old is not None and old.evse != evse:
            self.book.drop(rid, tell_evse=True)  # the reservation module cancels by id: before the new one
        group = payload.get("groupIdToken")
        res = Reservation(rid, evse, payload["idToken"]["idToken"], group["idToken"] if group else None, expiry,
                          connector_type)
        return self.book.request(res, payload["expiryDateTime"])

    def _status_update(self, rid: int, status: str) -> None:
        self.core.call("ReservationStatusUpdate", {"reservationId": rid, "reservationUpdateStatus": status})

    # ------------------------------------------------------------------ use
    def _on_event(self, event: object) -> None:
        if isinstance(event, (E.SessionStarted, E.TransactionStarted)) and event.reservation_id is not None:
            self.book.use(event.reservation_id)
        elif isinstance(event, E.TransactionStarted):
            token = event.id_token
            self.book.use_by(event.evse, token.value, lambda: self._group_of(token))
        elif isinstance(event, E.ReservationChanged) and not event.active:
            self.book.ended_at_evse(event.evse)
        if isinstance(event, (E.TransactionStarted, E.TransactionFinished, E.SessionStarted, E.SessionFinished)):
            self.book.refresh()

    def _on_connector_status(self, changed: ConnectorStatusChanged) -> None:
        """H04: an EVSE that can no longer be used loses its reservation (Removed); so do the
        newest station-wide reservations that no longer fit."""
        evse, status = changed.evse, changed.status
        if status in UNUSABLE:
            res = self.book.on_evse(evse)
            if res is not None and self._all_in(evse, UNUSABLE):
                self.book.drop(res.id, tell_evse=True)
                log.info("reservation %d removed: EVSE %d is %s", res.id, evse, status)
                self._status_update(res.id, "Removed")
            wide = self.book.station_wide()
            while wide and not self._fits(self._types(wide), self._free()):
                last = wide.pop()
                self.book.drop(last.id, tell_evse=True)
                log.info("station-wide reservation %d removed: not enough usable EVSEs", last.id)
                self._status_update(last.id, "Removed")
        self.book.refresh()

    def close(self) -> None:
        self.book.store.close()
