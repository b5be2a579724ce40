"""The version-neutral reservations (ocpp/common/reservations.py), once: who may use one, the
book (order, persistence, expiry timers, marks, use), the EVSE requests, and the migrations
that move each version's older file into the common table. A fake EVSE side, the core's
timers run by hand, SQLite files in tmp_path."""

import json

import pytest

from ocpp_bridge.ocpp.common.reservations import (
    FOR_OTHER,
    FOR_OTHER_WITH_PARENT,
    FOR_TOKEN,
    NOT_RESERVED,
    Reservation,
    ReservationBook,
    ReservationStore,
    given,
)
from ocpp_bridge.ocpp.station import Timers
from ocpp_bridge.ocpp.v16 import reservation as v16
from ocpp_bridge.ocpp.v201 import reservation as v201
from ocpp_bridge.store.database import open_database

T0 = 1_767_225_600.0
UNKNOWN = lambda: (False, None)


class FakeEvse:
    def __init__(self):
        self.calls = []           # ("reserve" | "cancel", evse, reservation id)
        self.held = []            # done callbacks not answered yet
        self.hold = False
        self.ok = True

    def _done(self, done):
        if done is None:
            return
        if self.hold:
            self.held.append(done)
        else:
            done(self.ok)

    def reserve(self, evse, reservation_id, done=None, *, id_token="", expiry_time="", parent_id_token=None):
        self.calls.append(("reserve", evse, reservation_id))
        self._done(done)

    def cancel_reservation(self, evse, done=None, *, reservation_id=None):
        self.calls.append(("cancel", evse, reservation_id))
        self._done(done)


class Rig:
    def __init__(self, tmp_path, name="r", migrations=v201.MIGRATIONS, **book):
        self.db = open_database(tmp_path, name, migrations)
        self.timers, self.evse, self.marks, self.expired = Timers(), FakeEvse(), [], []
        self.book = ReservationBook(ReservationStore(self.db), self.timers, self.evse,
                                    lambda evse, on: self.marks.append((evse, on)),
                                    on_expired=self.expired.append, **book)
        self.book.refresh()


def res(rid=1, evse=1, token="OWNER", group=None, expires_at=T0 + 60, connector_type=None):
    return Reservation(rid, evse, token, group, expires_at, connector_type)


# ---------------------------------------------------------------------------- who may use it
def test_who_may_use_a_reservation():
    asked = []

    def lookup():
        asked.append(True)
        return True, "family"

    plain, grouped = res(), res(group="FAMILY")
    assert plain.check("owner", lookup) == FOR_TOKEN                      # any case
    assert plain.check("OTHER", lookup) == FOR_OTHER and asked == []      # no group: never asked
    assert grouped.check("OWNER", lookup) == FOR_TOKEN and asked == []
    assert grouped.check("CHILD", lookup) == FOR_TOKEN and asked == [True]
    assert grouped.check("CHILD", given("OTHERS")) == FOR_OTHER
    assert grouped.check("CHILD", given(None)) == FOR_OTHER
    assert grouped.check("CHILD", UNKNOWN) == FOR_OTHER_WITH_PARENT
    assert res(token="").check("", given(None)) == FOR_OTHER               # an empty identifier matches nothing


def test_check_and_allowed_per_evse(tmp_path):
    rig = Rig(tmp_path)
    rig.book.place(res(1, 1, group="FAMILY"))
    rig.book.place(res(2, None, token="WIDE"))  # station-wide ones do not hold an EVSE here
    assert [rig.book.check(e, "X", given("FAMILY")) for e in (1, 2)] == [FOR_TOKEN, NOT_RESERVED]
    assert rig.book.allowed("X", given("ELSE"), [1, 2]) == [2]
    assert rig.book.allowed("X", UNKNOWN, [1, 2]) == [1, 2]


# ---------------------------------------------------------------------------- the book
def test_placed_reservations_are_marked_persisted_and_a_replacement_goes_last(tmp_path):
    rig = Rig(tmp_path)
    rig.book.place(res(1, 1))
    rig.book.place(res(2, None, token="B"))
    rig.book.place(res(1, 2, token="NEW"))                          # same id, another EVSE
    assert rig.marks == [(1, True), (1, False), (2, True)]
    assert [r.id for r in rig.book.all()] == [2, 1]
    rig.db.close()
    again = Rig(tmp_path)
    assert [(r.id, r.evse, r.token) for r in again.book.all()] == [(2, None, "B"), (1, 2, "NEW")]
    assert again.marks == [(2, True)]


def test_keep_leaves_stored_reservations_out(tmp_path):
    rig = Rig(tmp_path)
    rig.book.place(res(1, 1))
    rig.book.place(res(2, 5))
    rig.db.close()
    again = Rig(tmp_path, keep=lambda r: r.evse != 5)
    assert [r.id for r in again.book.all()] == [1]


def test_expiry_cancels_at_the_evse_and_tells_the_adapter(tmp_path):
    rig = Rig(tmp_path)
    rig.book.place(res(1, 1, expires_at=T0 + 60))
    rig.timers.run_due(T0 + 59)
    assert rig.expired == []
    rig.timers.run_due(T0 + 60)
    assert [r.id for r in rig.expired] == [1] and rig.evse.calls == [("cancel", 1, 1)]
    assert rig.book.all() == [] and rig.marks[-1] == (1, False)
    rig.db.close()
    assert Rig(tmp_path).book.all() == []


def test_timers_are_armed_again_after_a_restart(tmp_path):
    rig = Rig(tmp_path)
    rig.book.place(res(1, 1, expires_at=T0 + 60))
    rig.db.close()
    again = Rig(tmp_path)
    again.timers.run_due(T0 + 60)
    assert [r.id for r in again.expired] == [1]


def test_use_by_id_by_token_or_group_and_the_evse_ending_it(tmp_path):
    rig = Rig(tmp_path)
    rig.book.place(res(1, 1, token="A", group="FAMILY"))
    rig.book.place(res(2, None, token="WIDE"))
    rig.book.place(res(3, 2, token="C"))
    assert rig.book.use_by(2, "X", given("FAMILY")) is None          # EVSE 2's reservation is C's
    assert rig.book.use_by(2, "wide", UNKNOWN).id == 2                # a station-wide one, by its token
    assert rig.book.use_by(1, "CHILD", given("family")).id == 1       # EVSE 1's, by the group
    rig.book.ended_at_evse(2)
    assert rig.book.all() == [] and rig.evse.calls == [] and rig.expired == []
    rig.book.place(res(4, 1))
    assert rig.book.use(4).id == 4 and rig.book.use(4) is None
    rig.timers.run_due(T0 + 3600)
    assert rig.expired == []


# ---------------------------------------------------------------------------- the EVSE requests
def test_request_accepted_once_the_evse_holds_it(tmp_path):
    rig = Rig(tmp_path)
    rig.evse.hold = True
    answer = rig.book.request(res(1, 1), "2026-01-01T00:01:00Z")
    assert not answer.done and rig.book.all() == []
    rig.evse.held.pop()(True)
    assert answer.value == {"status": "Accepted"} and [r.id for r in rig.book.all()] == [1]


def test_request_refused_or_answered_now(tmp_path):
    rig = Rig(tmp_path)
    assert rig.book.request(res(1, 1), "") == {"status": "Accepted"}
    rig.evse.ok = False
    assert rig.book.request(res(2, 2), "") == {"status": "Rejected"}
    assert [r.id for r in rig.book.all()] == [1]


def test_a_late_yes_is_undone(tmp_path):
    rig = Rig(tmp_path)
    rig.evse.hold = True
    answer = rig.book.request(res(7, 1), "")
    answer.resolve({"status": "Rejected"})  # what the core does at CsmsAnswerTimeoutS
    rig.evse.held.pop()(True)
    assert rig.evse.calls[-1] == ("cancel", 1, 7) and rig.book.all() == []


def test_cancel_waits_for_the_evse(tmp_path):
    rig = Rig(tmp_path)
    assert rig.book.cancel(1) == {"status": "Rejected"}
    rig.book.place(res(1, 1))
    rig.evse.ok = False
    assert rig.book.cancel(1) == {"status": "Rejected"} and rig.book.get(1) is not None
    rig.evse.ok, rig.evse.hold = True, True
    answer = rig.book.cancel(1)
    assert not answer.done and rig.book.get(1) is not None
    rig.evse.held.pop()(True)
    assert answer.value == {"status": "Accepted"} and rig.book.get(1) is None


# ---------------------------------------------------------------------------- the older files
def test_a_1_6_file_of_before_keeps_its_reservations(tmp_path):
    old = open_database(tmp_path, v16.DATABASE_NAME, v16.MIGRATIONS[:1])
    old.execute("INSERT INTO reservation16 VALUES (9, 0, 2, 'OWNER', 'FAMILY', ?)", (T0 + 60,))
    old.execute("INSERT INTO reservation16 VALUES (3, 1, 1, 'OTHER', NULL, ?)", (T0 + 90,))
    old.close()
    rig = Rig(tmp_path, v16.DATABASE_NAME, v16.MIGRATIONS)  # the old rowid was the reservation id
    assert rig.book.all() == [res(3, 1, "OTHER", None, T0 + 90), res(9, 2, "OWNER", "FAMILY", T0 + 60)]
    assert rig.marks == [(1, True), (2, True)]


@pytest.mark.parametrize("versions", [1, 2])
def test_a_2_0_1_file_of_before_keeps_its_reservations(tmp_path, versions):
    old = open_database(tmp_path, v201.DATABASE_NAME, v201.MIGRATIONS[:versions])
    token = json.dumps({"idToken": "A", "type": "ISO14443"})
    group = json.dumps({"idToken": "G", "type": "Central"})
    old.execute("INSERT INTO reservation (id, evse, expiry, id_token, group_id_token) VALUES (5, 0, ?, ?, ?)",
                (T0 + 60, token, group))
    old.execute("INSERT INTO reservation (id, evse, expiry, id_token) VALUES (2, 1, ?, ?)", (T0 + 90, token))
    if versions == 2:
        old.execute("UPDATE reservation SET connector_type = 'sType2' WHERE id = 5")
    old.close()
    rig = Rig(tmp_path, v201.DATABASE_NAME, v201.MIGRATIONS)  # the old rowid was the reservation id
    assert rig.book.all() == [res(2, 1, "A", None, T0 + 90),
                              res(5, None, "A", "G", T0 + 60, "sType2" if versions == 2 else None)]
