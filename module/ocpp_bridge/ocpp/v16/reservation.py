"""OCPP 1.6 Reservation profile: ReserveNow and CancelReservation — the 1.6 adapter of
``ocpp/common/reservations.py``. PURE.

Owns the 1.6 rules of a reservation request, the file ``reservations16.db`` (its migrations),
and the 1.6 view of who may use a reservation; the book (timers, use, the EVSE requests) is
common, and the reservation itself is held by EVerest's reservation handling behind
``EvsePort.reserve`` / ``cancel_reservation``.

ReserveNow answers, in this order: Rejected (connector 0 while ReserveConnectorZeroSupported
is false, unknown connector, expiry already past, the EVSE refused), Faulted, Unavailable,
Occupied (a session runs, or another reservation holds it), Accepted. A connector-0
reservation (when supported) takes the first idle connector (1.6 §5.13: 1.6 has no
station-wide reservation). The same reservationId replaces the earlier reservation; one on
another connector is cancelled first. The answer waits for the EVSE's reply.

A reservation ends when it expires (the EVSE is told to cancel it), when the CSMS cancels it,
when a transaction uses it (the start's reservationId, or the first start on that connector by
an idTag that may use it), or when the EVSE reports its reservation ended.

Who may use a reservation (1.6 §5.13, TC_046, TC_053): its idTag, or any idTag whose parentIdTag
(from the Authorize answer, the local list or the cache: ``parent_of``) equals the
reservation's parentIdTag. ``check(evse, idTag)`` answers as EVerest's ``exists_reservation``
does (ReservedForOtherTokenAndHasParentToken when the idTag's parent is not known yet);
``validate_with_reservations`` narrows an Accepted validation to the EVSEs the token may start
on (``evse_ids``), so the Auth module refuses another tag on a reserved connector.

Must never: authorize anyone or start a transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any, Callable, Protocol

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.common.reservations import (
    FOR_OTHER,
    FOR_OTHER_WITH_PARENT,
    FOR_TOKEN,
    NOT_RESERVED,
    GroupLookup,
    Reservation,
    ReservationBook,
    ReservationStore,
    adopting,
    given,
)
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.v16.authorization import id_tag_of
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.keys import R, flag
from ocpp_bridge.ocpp.v16.status import Status16

__all__ = ["FOR_OTHER", "FOR_OTHER_WITH_PARENT", "FOR_TOKEN", "NOT_RESERVED", "Reservation16",
           "validate_with_reservations"]

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
    adopting("SELECT reservation_id, evse, id_tag, parent_id_tag, expires_at, NULL FROM reservation16 ORDER BY rowid",
             "reservation16"),
]

# idTag -> (known, parentIdTag): what the authorization block knows of the idTag's parent
ParentLookup = Callable[[str], tuple[bool, str | None]]


class Validator(Protocol):
    def validate_token(self, token: E.IdToken) -> Deferred: ...


class Reservation16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], status: Status16, db: sqlite3.Connection, *,
                 parent_of: ParentLookup = lambda id_tag: (False, None)) -> None:
        """``db``: this block's file (``DATABASE_NAME``, ``MIGRATIONS``); ``parent_of(id_tag)``:
        what the authorization block knows of the tag's parent."""
        self.parent_of = parent_of
        self.core = ctx.core
        self.keys = ctx.config
        self.count = ctx.evse_count
        self.status = status
        self.book = ReservationBook(ReservationStore(db), ctx.core.timers, ctx.evse, status.set_reserved)
        self.book.refresh()
        self.core.handle("ReserveNow", self._reserve_now)
        self.core.handle("CancelReservation", lambda payload: self.book.cancel(payload["reservationId"]))
        self.core.events.subscribe_many(E.EVSE_EVENTS, self._on_evse)

    def on_evse(self, evse: int) -> Reservation | None:
        return self.book.on_evse(evse)

    # ------------------------------------------------------------------ who may use it
    def _parent(self, id_tag: str) -> GroupLookup:
        return lambda: self.parent_of(id_tag)

    def check(self, evse: int, id_tag: str) -> str:
        """May ``id_tag`` start on ``evse`` as far as reservations go? (ReservationCheckStatus)"""
        return self.book.check(evse, id_tag, self._parent(id_tag))

    def restrict(self, result: dict[str, Any], id_tag: str) -> dict[str, Any]:
        """An Accepted validation of ``id_tag`` limited (``evse_ids``) to the EVSEs no reservation
        of another token holds; unchanged when no reservation stands in its way."""
        if result.get("status") != "Accepted":
            return result
        evses = list(range(1, self.count + 1))
        allowed = self.book.allowed(id_tag, given(result.get("parent_id_token")), evses)
        if len(allowed) == self.count:
            return result
        log.info("idTag %s: reserved connector(s) %s are not for it", id_tag, [e for e in evses if e not in allowed])
        return {**result, "evse_ids": allowed}

    def consume(self, evse: int, id_tag: str) -> int | None:
        """A transaction starts on ``evse`` by ``id_tag``: the id of the reservation it uses, if any."""
        res = self.book.use_by(evse, id_tag, self._parent(id_tag))
        return None if res is None else res.id

    # ------------------------------------------------------------------ ReserveNow
    def _reserve_now(self, payload: dict[str, Any]) -> Any:
        connector, rid = payload["connectorId"], payload["reservationId"]
        expires_at = epoch(payload["expiryDate"])
        if connector == 0 and not self.keys.read(RESERVE_CONNECTOR_ZERO_SUPPORTED):
            return {"status": "Rejected"}
        if not 0 <= connector <= self.count or expires_at is None or expires_at <= self.core.now:
            return {"status": "Rejected"}
        if connector == 0:
            evse = next((c for c in range(1, self.count + 1) if self._refusal(c, rid) is None), None)
            if evse is None:
                return {"status": "Occupied"}
        else:
            evse = connector
            refusal = self._refusal(evse, rid)
            if refusal is not None:
                return {"status": refusal}
        old = self.book.get(rid)
        if old is not None and old.evse != evse:
            self.book.drop(rid, tell_evse=True)  # the reservation module cancels by id: before the new one
        log.info("ReserveNow %d: connector %d (EVSE %d) for %s", rid, connector, evse, payload["idTag"])
        return self.book.request(Reservation(rid, evse, payload["idTag"], payload.get("parentIdTag"), expires_at),
                                 payload["expiryDate"])

    def _refusal(self, evse: int, rid: int) -> str | None:
        state = self.status.status(evse)
        if state == "Faulted":
            return "Faulted"
        if state == "Unavailable":
            return "Unavailable"
        if state not in ("Available", "Reserved"):
            return "Occupied"
        held = self.book.on_evse(evse)
        if state == "Reserved" and (held is None or held.id != rid):
            return "Occupied"  # reserved by someone else (another id, or not through us)
        return None

    # ------------------------------------------------------------------ ending
    def _on_evse(self, ev: object) -> None:
        if isinstance(ev, E.TransactionStarted) and ev.reservation_id is not None:
            self.book.use(ev.reservation_id)
        elif isinstance(ev, E.ReservationChanged) and not ev.active:
            self.book.ended_at_evse(ev.evse)

    def close(self) -> None:
        self.book.store.close()


def validate_with_reservations(authorization: Validator, reservation: Reservation16, token: E.IdToken) -> Deferred:
    """The authorization block's answer, narrowed to the EVSEs no reservation of another
    token holds (``Reservation16.restrict``)."""
    answer = Deferred()
    id_tag = id_tag_of(token.value)
    authorization.validate_token(token).then(
        lambda result, error: answer.fail(error) if error is not None
        else answer.resolve(reservation.restrict(result, id_tag)))
    return answer
