"""OCPP 1.6 Reservation profile: ReserveNow and CancelReservation. PURE.

Owns the reservations the CSMS made (id, connector, EVSE, idTag, parentIdTag, expiry) in
``reservations16.db`` and their expiry timers; the reservation itself is held by EVerest's
reservation handling behind ``EvsePort.reserve`` / ``cancel_reservation``.

ReserveNow answers, in this order: Rejected (connector 0 while ReserveConnectorZeroSupported
is false, unknown connector, expiry already past, the EVSE refused), Faulted, Unavailable,
Occupied (a session runs, or another reservation holds it), Accepted. The same
reservationId replaces the earlier reservation. A connector-0 reservation (when supported)
takes the first idle connector. The answer waits for the EVSE's reply.

A reservation ends when it expires (the EVSE is told to cancel it), when the CSMS cancels it
(CancelReservation: Rejected for an unknown id), when a transaction uses it (the start's
reservationId, or the first start on that connector by the reserved idTag or by an idTag whose
parent is the reservation's parentIdTag), or when the EVSE reports its reservation ended.

Who may use a reservation (1.6 §5.13, TC_046, TC_053): its idTag, or any idTag whose parentIdTag
(from the Authorize answer, the local list or the cache: ``parent_of``) equals the
reservation's parentIdTag; idTags compare case-insensitively. ``check(evse, idTag)`` answers
as EVerest's ``exists_reservation`` does (NotReserved, ReservedForToken, ReservedForOtherToken,
ReservedForOtherTokenAndHasParentToken when the idTag's parent is not known yet);
``restrict(result, idTag)`` narrows an Accepted validation to the EVSEs the token may start on
(``evse_ids``), so the Auth module refuses another tag on a reserved connector.

Must never: authorize anyone or start a transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Callable

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.keys import R, flag
from ocpp_bridge.ocpp.v16.status import Status16
from ocpp_bridge.store.database import transaction

log = logging.getLogger("ocpp_bridge.ocpp.v16.reservation")

RESERVE_CONNECTOR_ZERO_SUPPORTED = flag("ReserveConnectorZeroSupported", False, access=R)
KEYS = (RESERVE_CONNECTOR_ZERO_SUPPORTED,)

DATABASE_NAME = "reservations16"
MIGRATIONS = [
    """
    CREATE TABLE reservation16 (
        reservation_id INTEGER PRIMARY KEY,
        connector INTEGER NOT NULL,
        evse INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        parent_id_tag TEXT,
        expires_at REAL NOT NULL
    );
    """,
]
TIMER = "resv16-{}"

# idTag -> (known, parentIdTag): what the authorization block knows of the idTag's parent
ParentLookup = Callable[[str], tuple[bool, str | None]]
NOT_RESERVED, FOR_TOKEN = "NotReserved", "ReservedForToken"
FOR_OTHER, FOR_OTHER_WITH_PARENT = "ReservedForOtherToken", "ReservedForOtherTokenAndHasParentToken"


@dataclass
class Reservation:
    reservation_id: int
    connector: int
    evse: int
    id_tag: str
    parent_id_tag: str | None
    expires_at: float


class Reservation16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], status: Status16, db: sqlite3.Connection, *,
                 parent_of: ParentLookup = lambda id_tag: (False, None)):
        """``db``: this block's file (``DATABASE_NAME``, ``MIGRATIONS``); ``parent_of(id_tag)``:
        what the authorization block knows of the tag's parent."""
        self.parent_of = parent_of
        self.core = ctx.core
        self.evse = ctx.evse
        self.keys = ctx.config
        self.count = ctx.evse_count
        self.status = status
        self.db = db
        self._by_id: dict[int, Reservation] = {}
        for row in self.db.execute("SELECT reservation_id, connector, evse, id_tag, parent_id_tag, expires_at "
                                   "FROM reservation16"):
            self._hold(Reservation(*row))
        self.core.handle("ReserveNow", self._reserve_now)
        self.core.handle("CancelReservation", self._cancel_reservation)
        self.core.events.subscribe_many(E.EVSE_EVENTS, self._on_evse)

    def on_evse(self, evse: int) -> Reservation | None:
        return next((r for r in self._by_id.values() if r.evse == evse), None)

    # ------------------------------------------------------------------ who may use it
    def check(self, evse: int, id_tag: str, parent: str | None = None, *, parent_known: bool = False) -> str:
        """May ``id_tag`` start on ``evse`` as far as reservations go? ``parent`` (with
        ``parent_known``) is the idTag's parentIdTag when the caller has it; else ``parent_of``
        is asked."""
        res = self.on_evse(evse)
        if res is None:
            return NOT_RESERVED
        if _same(res.id_tag, id_tag):
            return FOR_TOKEN
        if not res.parent_id_tag:
            return FOR_OTHER
        if not parent_known:
            parent_known, parent = self.parent_of(id_tag)
        if not parent_known:
            return FOR_OTHER_WITH_PARENT
        return FOR_TOKEN if _same(res.parent_id_tag, parent) else FOR_OTHER

    def restrict(self, result: dict, id_tag: str) -> dict:
        """An Accepted validation of ``id_tag`` limited (``evse_ids``) to the EVSEs no reservation
        of another token holds; unchanged when no reservation stands in its way."""
        if result.get("status") != "Accepted":
            return result
        parent = result.get("parent_id_token")
        allowed = [e for e in range(1, self.count + 1)
                   if self.check(e, id_tag, parent, parent_known=True) != FOR_OTHER]
        if len(allowed) == self.count:
            return result
        log.info("idTag %s: reserved connector(s) %s are not for it", id_tag,
                 [e for e in range(1, self.count + 1) if e not in allowed])
        return {**result, "evse_ids": allowed}

    # ------------------------------------------------------------------ ReserveNow
    def _reserve_now(self, payload: dict):
        connector, rid = payload["connectorId"], payload["reservationId"]
        expires_at = epoch(payload["expiryDate"])
        if connector == 0 and not self.keys.read(RESERVE_CONNECTOR_ZERO_SUPPORTED):
            return {"status": "Rejected"}
        if not 0 <= connector <= self.count or expires_at is None or expires_at <= self.core.now:
            return {"status": "Rejected"}
        if connector == 0:
            evse = next((c for c in range(1, self.count + 1) if self._free(c, rid)), None)
            if evse is None:
                return {"status": "Occupied"}
        else:
            evse = connector
            refusal = self._refusal(evse, rid)
            if refusal is not None:
                return {"status": refusal}
        old = self._by_id.get(rid)
        res = Reservation(rid, connector, evse, payload["idTag"], payload.get("parentIdTag"), expires_at)
        answer = Deferred()

        def done(ok: bool) -> None:
            if answer.done:  # the CSMS already got Rejected (CsmsAnswerTimeoutS): undo a late yes
                if ok:
                    self.evse.cancel_reservation(evse, None, reservation_id=rid)
                return
            if not ok:
                log.info("ReserveNow %d: EVSE %d refused", rid, evse)
                answer.resolve({"status": "Rejected"})
                return
            if old is not None and old.evse != evse:
                self._end(old, tell_evse=True)
            self._store(res)
            log.info("reservation %d: connector %d (EVSE %d) for %s until %s", rid, connector, evse,
                     res.id_tag, payload["expiryDate"])
            answer.resolve({"status": "Accepted"})

        self.evse.reserve(evse, rid, done, id_token=res.id_tag, expiry_time=payload["expiryDate"],
                                  parent_id_token=res.parent_id_tag)
        return answer

    def _refusal(self, evse: int, rid: int) -> str | None:
        state = self.status.status(evse)
        if state == "Faulted":
            return "Faulted"
        if state == "Unavailable":
            return "Unavailable"
        if state not in ("Available", "Reserved"):
            return "Occupied"
        held = self.on_evse(evse)
        if state == "Reserved" and (held is None or held.reservation_id != rid):
            return "Occupied"  # reserved by someone else (another id, or not through us)
        return None

    def _free(self, evse: int, rid: int) -> bool:
        return self._refusal(evse, rid) is None

    # ------------------------------------------------------------------ CancelReservation
    def _cancel_reservation(self, payload: dict):
        res = self._by_id.get(payload["reservationId"])
        if res is None:
            return {"status": "Rejected"}
        answer = Deferred()

        def done(ok: bool) -> None:
            if ok:
                self._end(res, tell_evse=False)
            answer.resolve({"status": "Accepted" if ok else "Rejected"})

        self.evse.cancel_reservation(res.evse, done, reservation_id=res.reservation_id)
        return answer

    # ------------------------------------------------------------------ ending
    def consume(self, evse: int, id_tag: str) -> int | None:
        """A transaction starts on ``evse`` by ``id_tag``: the reservation it uses, if any."""
        res = self.on_evse(evse)
        if res is None or self.check(evse, id_tag) != FOR_TOKEN:
            return None
        self._end(res, tell_evse=False)
        return res.reservation_id

    def _on_evse(self, ev) -> None:
        if isinstance(ev, E.TransactionStarted) and ev.reservation_id is not None:
            res = self._by_id.get(ev.reservation_id)
            if res is not None:
                self._end(res, tell_evse=False)
        elif isinstance(ev, E.ReservationChanged) and not ev.active:
            res = self.on_evse(ev.evse)
            if res is not None:
                self._end(res, tell_evse=False)

    def _expire(self, rid: int) -> None:
        res = self._by_id.get(rid)
        if res is not None:
            log.info("reservation %d expired", rid)
            self._end(res, tell_evse=True)

    def _end(self, res: Reservation, *, tell_evse: bool) -> None:
        if self._by_id.pop(res.reservation_id, None) is None:
            return
        with transaction(self.db):
            self.db.execute("DELETE FROM reservation16 WHERE reservation_id = ?", (res.reservation_id,))
        self.core.timers.cancel(TIMER.format(res.reservation_id))
        self.status.set_reserved(res.evse, False)
        if tell_evse:
            self.evse.cancel_reservation(res.evse, reservation_id=res.reservation_id)

    # ------------------------------------------------------------------ helpers
    def _store(self, res: Reservation) -> None:
        with transaction(self.db):
            self.db.execute("INSERT OR REPLACE INTO reservation16 (reservation_id, connector, evse, id_tag, "
                            "parent_id_tag, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                            (res.reservation_id, res.connector, res.evse, res.id_tag, res.parent_id_tag,
                             res.expires_at))
        self._hold(res)

    def _hold(self, res: Reservation) -> None:
        old = self._by_id.get(res.reservation_id)
        if old is not None and old.evse != res.evse:
            self.status.set_reserved(old.evse, False)
        self._by_id[res.reservation_id] = res
        self.status.set_reserved(res.evse, True)
        self.core.timers.set(TIMER.format(res.reservation_id), res.expires_at,
                             lambda rid=res.reservation_id: self._expire(rid))

    def close(self) -> None:
        self.db.close()


def _same(a: str | None, b: str | None) -> bool:
    """1.6 idTags are CiString20: equal when equal ignoring case."""
    return bool(a) and bool(b) and a.lower() == b.lower()
