"""The version-neutral profile keeping (ocpp/common/smart_charging.py): install, replace, clear,
the file surviving a reopen (and a replacement being one transaction), TxProfiles ending with
their transaction, ChargingProfilesChanged on every change, and ``schedule`` seeing the
transactions running now. A plain event bus, SQLite files in tmp_path, a minimal mapping of a
made-up wire shape (each version's adapter has its own)."""

import sqlite3

import pytest

from ocpp_bridge.ocpp.common.composite import Context, Profile, Running, Schedule, SchedulePeriod
from ocpp_bridge.ocpp.common.smart_charging import MIGRATIONS, ProfileStore, SmartCharging
from ocpp_bridge.ocpp.events import ChargingProfilesChanged, EventBus, TxEnded
from ocpp_bridge.store.database import open_database

T0 = 1_767_225_600.0


def wire(pid, purpose="TxDefaultProfile", stack=0, limit=16.0, tx=None):
    return {"id": pid, "purpose": purpose, "stack": stack, "limit": limit, "tx": tx}


def to_profile(w, evse):
    if w["limit"] < 0:
        raise ValueError("negative limit")
    return Profile(id=w["id"], stack_level=w["stack"], purpose=w["purpose"], kind="Absolute",
                   schedules=(Schedule("A", (SchedulePeriod(0, w["limit"]),), start_schedule=T0 - 3600),),
                   evse=evse, transaction_id=w["tx"])


class Station:
    def __init__(self, tmp_path, running=None):
        self.tmp_path = tmp_path
        self.running = {} if running is None else running
        self.events = EventBus()
        self.changes = []
        self.events.subscribe(ChargingProfilesChanged, self.changes.append)
        self.sc = self.open()

    def open(self):
        db = open_database(str(self.tmp_path), "profiles", MIGRATIONS)
        return SmartCharging(self.events, ProfileStore(db), to_profile, evses=(1, 2),
                             running_on=self.running.get, context=lambda: Context(evses=(), default_limit_amps=32))

    def reopen(self):
        self.sc.close()
        self.events = EventBus()
        self.sc = self.open()
        return self.sc


def ids(sc):
    return [i.id for i in sc.installed()]


def test_install_replaces_the_same_id_and_what_the_rule_names(tmp_path):
    st = Station(tmp_path)
    st.sc.install(wire(1, stack=0), 1)
    st.sc.install(wire(2, stack=1), 1)
    st.sc.install(wire(1, stack=3, limit=10), 2)           # same id, now on EVSE 2
    assert ids(st.sc) == [2, 1] and st.sc.installed(lambda i: i.id == 1)[0].evse == 2
    st.sc.install(wire(7, stack=1), 1, replaces=lambda i: i.evse == 1 and i.profile.stack_level == 1)
    assert ids(st.sc) == [1, 7]
    assert [c.evses for c in st.changes] == [{1}, {1}, {1, 2}, {1}]


def test_a_profile_the_mapping_refuses_changes_nothing(tmp_path):
    st = Station(tmp_path)
    st.sc.install(wire(1), 1)
    with pytest.raises(ValueError):
        st.sc.install(wire(1, limit=-1), 1)
    assert ids(st.sc) == [1] and len(st.changes) == 1
    assert [w["id"] for _, w in st.reopen().store.load()] == [1]


def test_installed_profiles_survive_a_reopen_in_order(tmp_path):
    st = Station(tmp_path)
    for pid in (5, 3, 9):
        st.sc.install(wire(pid, limit=pid), 1)
    st.sc.install(wire(3, limit=30), 2)
    sc = st.reopen()
    assert ids(sc) == [5, 9, 3]
    assert sc.installed(lambda i: i.id == 3)[0].wire["limit"] == 30 and sc.installed()[2].evse == 2


def test_a_replacement_is_one_transaction(tmp_path):
    st = Station(tmp_path)
    st.sc.install(wire(1), 1)
    st.sc.install(wire(2), 1)

    st.sc.store.db.execute("CREATE TRIGGER no_inserts BEFORE INSERT ON charging_profiles "
                           "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    with pytest.raises(sqlite3.DatabaseError):
        st.sc.install(wire(3), 1, replaces=lambda i: True)
    assert ids(st.sc) == [1, 2], "nothing changed in memory"
    assert [w["id"] for _, w in st.sc.store.load()] == [1, 2], "nor in the file"


def test_clear_by_any_criteria(tmp_path):
    st = Station(tmp_path)
    st.sc.install(wire(1, stack=0), 1)
    st.sc.install(wire(2, stack=1, purpose="TxProfile"), 2)
    st.sc.install(wire(3, stack=1), 2)
    assert st.sc.clear(lambda i: i.id == 99) == [] and len(st.changes) == 3, "nothing matched: no change"
    gone = st.sc.clear(lambda i: i.evse == 2 and i.profile.stack_level == 1)
    assert [i.id for i in gone] == [2, 3] and ids(st.sc) == [1]
    assert st.changes[-1].evses == {2}
    assert ids(st.reopen()) == [1]


def test_tx_profiles_end_with_their_transaction(tmp_path):
    st = Station(tmp_path)
    st.sc.install(wire(1, purpose="TxProfile", tx="A"), 1)
    st.sc.install(wire(2, purpose="TxProfile", tx="B"), 1)   # belongs to another transaction
    st.sc.install(wire(3, purpose="TxProfile"), 2)
    st.sc.install(wire(4, purpose="TxDefaultProfile"), 1)
    st.events.publish(TxEnded(evse=1, connector=1, session_id="s1", transaction_id="A"))
    assert ids(st.sc) == [2, 3, 4]
    st.events.publish(TxEnded(evse=2, connector=1, session_id="s2", transaction_id="C"))
    assert ids(st.sc) == [2, 4], "a TxProfile without transaction id belongs to whatever ran there"
    assert ids(st.reopen()) == [2, 4]


def test_schedule_sees_the_transactions_running_now(tmp_path):
    running = {}
    st = Station(tmp_path, running)
    st.sc.install(wire(1, purpose="TxDefaultProfile", limit=20), 0)
    st.sc.install(wire(2, purpose="TxProfile", limit=6, tx="A"), 1)
    assert [p.limit for p in st.sc.schedule(1, T0, 600, "A").periods] == [20]
    running[1] = Running("A", T0 - 60)
    assert [p.limit for p in st.sc.schedule(1, T0, 600, "A").periods] == [6]
    assert [p.limit for p in st.sc.schedule(0, T0, 600, "A").periods] == [26], "EVSE 0: the sum of 1 and 2"


def test_a_stored_profile_the_mapping_no_longer_reads_is_dropped_with_a_log(tmp_path, caplog):
    st = Station(tmp_path)
    st.sc.install(wire(1), 1)
    st.sc.install(wire(2), 1)
    st.sc.store.db.execute("UPDATE charging_profiles SET wire = ? WHERE id = 2", ('{"id": 2}',))
    assert ids(st.reopen()) == [1]
    assert "dropping stored charging profile 2" in caplog.text
