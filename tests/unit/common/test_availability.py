"""The operative / scheduled model both versions keep (ocpp/common/availability.py): the rules
with an in-memory store and each version's "waits", each version's file across a restart, and
what the EVSEs are told."""

import pytest

from ocpp_bridge.ocpp.common.availability import EvseEnables, OperativeStates
from ocpp_bridge.ocpp.v16 import availability as v16
from ocpp_bridge.ocpp.v201 import availability as v201
from ocpp_bridge.store.database import open_database
from support.cp16 import FakePort


class MemoryStore:
    def __init__(self, applied=None, scheduled=None):
        self.applied, self.scheduled = dict(applied or {}), dict(scheduled or {})
        self.writes = 0

    def load(self):
        return dict(self.applied), dict(self.scheduled)

    def write(self, applied, scheduled):
        self.writes += 1
        for scope, operative in applied.items():
            self.scheduled.pop(scope, None)
            self.applied[scope] = operative
        self.scheduled.update(scheduled)


def waits_16(busy, operative):
    """1.6 §5.2: only a change to Inoperative of a connector with a transaction waits."""
    return lambda c: not operative and c in busy


def waits_201(busy, operative):
    """2.0.1 G03/G04: any change of a scope with a transaction, but the station made Operative."""
    return lambda s: s in busy and not (s == "station" and operative)


# ---------------------------------------------------------------------------- rules
def test_operative_unless_set_and_a_change_without_transaction_is_applied_at_once():
    store = MemoryStore()
    states = OperativeStates(store)
    assert states.operative(1) and states.wanted(1) and states.scheduled() == {}
    change = states.change([1, 2], False, waits_16(set(), False))
    assert (change.status, change.applied, change.scheduled) == ("Accepted", {1: False, 2: False}, {})
    assert not states.operative(1) and store.applied == {1: False, 2: False} and store.writes == 1


@pytest.mark.parametrize("waits", [waits_16, waits_201])
def test_a_change_to_inoperative_waits_for_the_transaction_and_is_applied_when_it_ends(waits):
    states = OperativeStates(MemoryStore())
    busy = {1}
    change = states.change([1], False, waits(busy, False))
    assert (change.status, change.scheduled) == ("Scheduled", {1: False})
    assert states.operative(1) and not states.wanted(1) and states.scheduled_for(1) is False
    assert states.apply_due(lambda s: s in busy) == {}             # still running
    busy.clear()
    assert states.apply_due(lambda s: s in busy) == {1: False}
    assert not states.operative(1) and states.scheduled() == {}


@pytest.mark.parametrize("waits", [waits_16, waits_201])
def test_already_in_the_requested_state_is_accepted_and_forgets_a_scheduled_change(waits):
    states = OperativeStates(MemoryStore())
    busy = {1}
    states.change([1], False, waits(busy, False))
    change = states.change([1], True, waits(busy, True))           # Operative cancels it
    assert (change.status, states.scheduled()) == ("Accepted", {})
    assert states.apply_due(lambda s: False) == {} and states.operative(1)


def test_what_makes_an_operative_change_wait_is_the_versions():
    s16 = OperativeStates(MemoryStore(applied={1: False}))
    assert s16.change([1], True, waits_16({1}, True)).status == "Accepted"            # 1.6: never waits
    s201 = OperativeStates(MemoryStore(applied={"evse:1": False, "station": False}))
    assert s201.change(["evse:1"], True, waits_201({"evse:1", "station"}, True)).status == "Scheduled"
    assert s201.change(["station"], True, waits_201({"evse:1", "station"}, True)).status == "Accepted"


def test_one_request_over_several_scopes_is_scheduled_when_any_of_them_waits():
    store = MemoryStore()
    states = OperativeStates(store)
    change = states.change([0, 1, 2, 3], False, waits_16({3}, False))       # 1.6 connector 0: all of them
    assert (change.status, change.applied, change.scheduled) == ("Scheduled", {0: False, 1: False, 2: False},
                                                                 {3: False})
    assert store.writes == 1


# ---------------------------------------------------------------------------- files
def test_the_2_0_1_file_keeps_both_across_a_restart(tmp_path):
    db = open_database(tmp_path, v201.DATABASE_NAME, v201.MIGRATIONS)
    states = OperativeStates(v201.AvailabilityFile201(db))
    states.change(["evse:1"], False, waits_201(set(), False))
    states.change(["station"], False, waits_201({"station"}, False))
    db.close()
    db = open_database(tmp_path, v201.DATABASE_NAME, v201.MIGRATIONS)
    again = OperativeStates(v201.AvailabilityFile201(db))
    assert not again.operative("evse:1") and again.operative("station")
    assert again.scheduled() == {"station": False}
    assert again.apply_due(lambda s: False) == {"station": False}
    db.close()
    db = open_database(tmp_path, v201.DATABASE_NAME, v201.MIGRATIONS)
    assert v201.AvailabilityFile201(db).load() == ({"evse:1": False, "station": False}, {})
    db.close()


@pytest.mark.parametrize("still_running, operative, scheduled", [(True, True, {2: False}), (False, False, {})])
def test_the_1_6_file_keeps_the_wanted_state_and_a_restart_reschedules_it_while_its_transaction_runs(
        tmp_path, still_running, operative, scheduled):
    db = open_database(tmp_path, v16.DATABASE_NAME, v16.MIGRATIONS)
    states = OperativeStates(v16.AvailabilityFile16(db, lambda c: c == 2))
    states.change([1], False, waits_16(set(), False))
    assert states.change([2], False, waits_16({2}, False)).status == "Scheduled"
    db.close()
    db = open_database(tmp_path, v16.DATABASE_NAME, v16.MIGRATIONS)
    assert [tuple(r) for r in db.execute("SELECT connector, operative FROM availability16 ORDER BY connector")] \
        == [(1, 0), (2, 0)]                                          # the wanted state, as the file always held
    again = OperativeStates(v16.AvailabilityFile16(db, lambda c: still_running and c == 2))
    assert not again.operative(1)
    assert again.operative(2) is operative and again.scheduled() == scheduled
    db.close()


# ---------------------------------------------------------------------------- the EVSEs
def enables(port):
    return [c[1:] for c in port.calls if c[0] == "enable_disable"]


def test_an_evse_hears_each_change_once_and_everything_again_after_it_restarted():
    port = FakePort()
    told = EvseEnables(port)
    told.assume({(1, 1): True, (2, 1): True})
    told.tell({(2, 1): False, (1, 1): True})
    assert enables(port) == [(2, 1, False)]
    told.tell({(1, 1): True, (2, 1): False})
    assert enables(port) == [(2, 1, False)]
    told.forget(1)
    told.tell({(1, 1): True, (2, 1): False})
    assert enables(port) == [(2, 1, False), (1, 1, True)]
    told.tell({(2, 1): False}, again=True)                             # 1.6: every applied change
    assert enables(port) == [(2, 1, False), (1, 1, True), (2, 1, False)]


def test_an_evse_that_refuses_is_logged(caplog):
    port = FakePort()
    port.ok["enable_disable"] = False
    EvseEnables(port).tell({(1, 1): False})
    assert "EVSE 1 connector 1 did not accept disable" in caplog.text
