"""What both OCPP versions keep of their reservations, who may use one, and the EVSE requests.
The book is pure; ``ReservationStore`` writes the SQLite file it is handed (no clock, no
network).

Owns:
- ``Reservation``: id, EVSE (None: a station-wide reservation, 2.0.1 only), the reserved
  identifier, its group (1.6 parentIdTag, 2.0.1 groupIdToken), expiry, connector type (2.0.1).
- ``ReservationStore``: the table ``reservations`` in the version's own file (1.6
  ``reservations16``, 2.0.1 ``reservation201``); ``adopting`` is the migration script that moves
  a version's older table into it, so files written before keep their reservations.
- ``ReservationBook``: the reservations in the order they were placed (a replacement goes
  last), written to the store as they change, their expiry timers (at expiry a reservation is
  dropped, the EVSE is told to cancel it, and the adapter's ``on_expired`` hears of it), and
  the EVSEs shown Reserved (those of the EVSE-specific reservations plus the adapter's
  ``extra_marks``).

Who may use a reservation (1.6 §5.13, 2.0.1 H01): its identifier, or any identifier whose group
is the reservation's group; identifiers compare case-insensitively (1.6 CiString20, 2.0.1
"IdToken is case insensitive"). ``check`` answers with EVerest's ReservationCheckStatus names;
the group of the identifier is asked of a ``GroupLookup`` only when it matters.

Using one up: a transaction (or session) that names the reservation's id (``use``); one that
names none, on the EVSE by an identifier that may use its reservation there, else by one that
may use a station-wide reservation (``use_by``: the reservation module does not tell the EVSE
which reservation it used). An EVSE reporting that its reservation ended ends ours.

The EVSE requests: ``request`` asks the EVSE (or the ``reservation`` module) to hold a
reservation and answers ReserveNow when it did (Accepted, and the reservation is placed) or
refused (Rejected); a yes that comes after the CSMS was answered (CsmsAnswerTimeoutS) is undone.
``cancel`` answers CancelReservation once the EVSE confirmed (Rejected for an unknown id or a
refusal, as libocpp does in both versions). Both messages spell Accepted and Rejected alike in
both versions.

Must never: decide whether a reservation may be made (each version's adapter checks the
EVSE's state, 1.6's connector 0, 2.0.1's station-wide capacity), send an OCPP message, or read
a clock (the timers hold absolute due times).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from ocpp_bridge.deferred import Deferred, now_or_later
from ocpp_bridge.ocpp.evse_events import Done
from ocpp_bridge.store.database import transaction

log = logging.getLogger("ocpp_bridge.ocpp.common.reservations")

NOT_RESERVED, FOR_TOKEN = "NotReserved", "ReservedForToken"
FOR_OTHER, FOR_OTHER_WITH_PARENT = "ReservedForOtherToken", "ReservedForOtherTokenAndHasParentToken"
ACCEPTED, REJECTED = "Accepted", "Rejected"

GroupLookup = Callable[[], tuple[bool, str | None]]  # () -> (known, group) of the identifier asking


def given(group: str | None) -> GroupLookup:
    """A lookup for a caller that has the identifier's group already."""
    return lambda: (True, group)


def same(a: str | None, b: str | None) -> bool:
    """Identifiers are equal when equal ignoring case (and never when empty)."""
    return bool(a) and bool(b) and str(a).lower() == str(b).lower()


@dataclass(frozen=True)
class Reservation:
    id: int
    evse: int | None
    token: str
    group: str | None
    expires_at: float
    connector_type: str | None = None

    def check(self, token: str, group_of: GroupLookup) -> str:
        """May ``token`` use this reservation? (ReservationCheckStatus)"""
        if same(self.token, token):
            return FOR_TOKEN
        if not self.group:
            return FOR_OTHER
        known, group = group_of()
        if not known:
            return FOR_OTHER_WITH_PARENT
        return FOR_TOKEN if same(self.group, group) else FOR_OTHER


# ---------------------------------------------------------------------------- the file
TABLE = """
CREATE TABLE reservations (
    id INTEGER NOT NULL UNIQUE, evse INTEGER, token TEXT NOT NULL, group_token TEXT,
    expires_at REAL NOT NULL, connector_type TEXT);
"""
COLUMNS = "id, evse, token, group_token, expires_at, connector_type"


def adopting(select: str, old_table: str) -> str:
    """The migration script that creates ``reservations`` from ``select`` (the older table's
    rows as ``COLUMNS``, oldest first) and drops ``old_table``."""
    return f"{TABLE}\nINSERT INTO reservations ({COLUMNS}) {select};\nDROP TABLE {old_table};"


class ReservationStore:
    """One version's reservations file (its migrations end with an ``adopting`` script)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def load(self) -> list[Reservation]:
        rows = self.db.execute(f"SELECT {COLUMNS} FROM reservations ORDER BY rowid").fetchall()
        return [Reservation(int(rid), None if evse is None else int(evse), str(token), group or None, float(expiry),
                            connector_type or None)
                for rid, evse, token, group, expiry, connector_type in rows]

    def save(self, res: Reservation) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM reservations WHERE id = ?", (res.id,))  # a replacement goes last
            self.db.execute(f"INSERT INTO reservations ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                            (res.id, res.evse, res.token, res.group, res.expires_at, res.connector_type))

    def delete(self, reservation_id: int) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM reservations WHERE id = ?", (reservation_id,))

    def close(self) -> None:
        self.db.close()


# ---------------------------------------------------------------------------- the book
class TimerPort(Protocol):
    def set(self, name: str, due: float, fn: Callable[[], None]) -> None: ...

    def cancel(self, name: str) -> None: ...


class ReservationRequests(Protocol):
    """What the book asks of the EVSE side (``EvseSwitch``)."""

    def reserve(self, evse: int | None, reservation_id: int, done: Done | None = None, *, id_token: str = "",
                expiry_time: str = "", parent_id_token: str | None = None) -> None: ...

    def cancel_reservation(self, evse: int | None, done: Done | None = None, *,
                           reservation_id: int | None = None) -> None: ...


class ReservationBook:
    def __init__(self, store: ReservationStore, timers: TimerPort, evse: ReservationRequests,
                 mark: Callable[[int, bool], None], *, keep: Callable[[Reservation], bool] = lambda res: True,
                 on_expired: Callable[[Reservation], None] = lambda res: None,
                 extra_marks: Callable[[], set[int]] = set) -> None:
        """``mark(evse, reserved)``: show an EVSE Reserved or not; ``keep``: which stored
        reservations still apply; ``extra_marks``: EVSEs shown Reserved for another reason.
        The adapter calls ``refresh`` once it is built."""
        self.store = store
        self.timers = timers
        self.evse = evse
        self._mark = mark
        self._on_expired = on_expired
        self._extra_marks = extra_marks
        self._by_id: dict[int, Reservation] = {}
        self._marked: set[int] = set()
        for res in store.load():
            if keep(res):
                self._by_id[res.id] = res
                self._arm(res)

    # ------------------------------------------------------------------ queries
    def get(self, reservation_id: int) -> Reservation | None:
        return self._by_id.get(reservation_id)

    def on_evse(self, evse: int) -> Reservation | None:
        """The EVSE-specific reservation of ``evse``."""
        return next((r for r in self._by_id.values() if r.evse == evse), None)

    def all(self) -> list[Reservation]:
        return list(self._by_id.values())

    def station_wide(self) -> list[Reservation]:
        """The reservations without EVSE, oldest first."""
        return [r for r in self._by_id.values() if r.evse is None]

    def check(self, evse: int, token: str, group_of: GroupLookup) -> str:
        """May ``token`` start on ``evse`` as far as its EVSE-specific reservation goes?"""
        res = self.on_evse(evse)
        return NOT_RESERVED if res is None else res.check(token, group_of)

    def allowed(self, token: str, group_of: GroupLookup, evses: list[int]) -> list[int]:
        """The EVSEs of ``evses`` no reservation of another identifier holds."""
        return [e for e in evses if self.check(e, token, group_of) != FOR_OTHER]

    # ------------------------------------------------------------------ changes
    def place(self, res: Reservation) -> None:
        self.store.save(res)
        self._by_id.pop(res.id, None)
        self._by_id[res.id] = res
        self._arm(res)
        self.refresh()

    def drop(self, reservation_id: int, *, tell_evse: bool) -> Reservation | None:
        """Remove a reservation (``tell_evse``: ask the EVSE to cancel it too); None when unknown."""
        res = self._by_id.pop(reservation_id, None)
        if res is None:
            return None
        self.timers.cancel(_timer(reservation_id))
        self.store.delete(reservation_id)
        if tell_evse:
            self.evse.cancel_reservation(res.evse, None, reservation_id=reservation_id)
        self.refresh()
        return res

    def use(self, reservation_id: int) -> Reservation | None:
        """A transaction or session started with this reservation: it is used up (no message)."""
        res = self.drop(reservation_id, tell_evse=False)
        if res is not None:
            log.info("reservation %d used", reservation_id)
        return res

    def use_by(self, evse: int, token: str, group_of: GroupLookup) -> Reservation | None:
        """A transaction starts on ``evse`` by ``token`` without naming a reservation: the one
        it uses, if any (that EVSE's, else a station-wide one)."""
        candidates = [r for r in self._by_id.values() if r.evse == evse] + self.station_wide()
        res = next((r for r in candidates if r.check(token, group_of) == FOR_TOKEN), None)
        return None if res is None else self.use(res.id)

    def ended_at_evse(self, evse: int) -> None:
        """The EVSE reports that its reservation ended: so does ours (no message)."""
        res = self.on_evse(evse)
        if res is not None:
            log.info("reservation %d ended on EVSE %d", res.id, evse)
            self.drop(res.id, tell_evse=False)

    def refresh(self) -> None:
        """Show Reserved exactly the EVSEs that should (after a change the book cannot see)."""
        marked = {r.evse for r in self._by_id.values() if r.evse is not None} | self._extra_marks()
        changed, self._marked = marked ^ self._marked, marked
        for evse in sorted(changed):
            self._mark(evse, evse in marked)

    def _arm(self, res: Reservation) -> None:
        self.timers.set(_timer(res.id), res.expires_at, lambda: self._expire(res.id))

    def _expire(self, reservation_id: int) -> None:
        res = self.drop(reservation_id, tell_evse=True)
        if res is not None:
            log.info("reservation %d expired", reservation_id)
            self._on_expired(res)

    # ------------------------------------------------------------------ the EVSE requests
    def request(self, res: Reservation, expiry_time: str) -> Any:
        """ReserveNow's answer (now, or a Deferred): Accepted once the EVSE holds ``res``
        (then placed here), Rejected when it refused."""
        answer = Deferred()

        def done(ok: bool) -> None:
            if answer.done:  # the CSMS already got Rejected (CsmsAnswerTimeoutS): undo a late yes
                if ok:
                    self.evse.cancel_reservation(res.evse, None, reservation_id=res.id)
                return
            if not ok:
                log.info("reservation %d: %s refused it", res.id, _where(res.evse))
                answer.resolve({"status": REJECTED})
                return
            self.place(res)
            log.info("reservation %d: %s for %s until %s", res.id, _where(res.evse), res.token, expiry_time)
            answer.resolve({"status": ACCEPTED})

        self.evse.reserve(res.evse, res.id, done, id_token=res.token, expiry_time=expiry_time,
                          parent_id_token=res.group)
        return now_or_later(answer)

    def cancel(self, reservation_id: int) -> Any:
        """CancelReservation's answer (now, or a Deferred)."""
        res = self._by_id.get(reservation_id)
        if res is None:
            return {"status": REJECTED}
        answer = Deferred()

        def done(ok: bool) -> None:
            if ok and self.drop(res.id, tell_evse=False) is not None:
                log.info("reservation %d cancelled by the CSMS", res.id)
            answer.resolve({"status": ACCEPTED if ok else REJECTED})

        self.evse.cancel_reservation(res.evse, done, reservation_id=res.id)
        return now_or_later(answer)


def _timer(reservation_id: int) -> str:
    return f"reservation-{reservation_id}"


def _where(evse: int | None) -> str:
    return "the station" if evse is None else f"EVSE {evse}"
