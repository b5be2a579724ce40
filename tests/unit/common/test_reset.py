"""The reset orchestration both versions share (ocpp/common/reset.py): a real station core with
an in-memory outbox, fake transactions, a fake EVSE port and a fake clock."""

import json

import pytest

from ocpp_bridge.ocpp.common.reset import FLUSH_WAIT_S, RETRY_S, STOP_WAIT_S, ResetOrchestrator
from ocpp_bridge.ocpp.events import TxEnded
from ocpp_bridge.ocpp.station import StationCore
from ocpp_bridge.ocpp.v16.remote_control import RESET_RETRIES as RESET_RETRIES_16
from ocpp_bridge.ocpp.v201.remote_control import RESET_RETRIES as RESET_RETRIES_201
from support.cp16 import FakePort

T0 = 1_767_225_600.0


class Values:
    """A configuration store holding a few values (label -> value), the defaults otherwise."""

    def __init__(self, **values):
        self.values = values

    def read(self, setting):
        return self.values.get(setting.label, setting.fallback)

    def on_change(self, setting, fn):
        return None


class FakeTransactions:
    def __init__(self, core, *evses):
        self.core = core
        self.active = set(evses)
        self.stopped: list[tuple[int, str]] = []
        self.ended_here: list[tuple[int, str]] = []

    def active_evses(self):
        return set(self.active)

    def stop(self, evse, reason):
        self.stopped.append((evse, reason))

    def force_end(self, evse, reason):
        self.ended_here.append((evse, reason))
        self.end(evse)

    def end(self, evse):
        self.active.discard(evse)
        self.core.events.publish(TxEnded(evse, 1, f"s{evse}"))


class Bench:
    def __init__(self, *evses, version="1.6", retries=None):
        self.sent: list[list] = []
        self.now = T0
        self.core = StationCore(version, self._send)
        self.core.registration = "Accepted"
        self.core.on_connected(self.now)
        self.port = FakePort()
        self.tx = FakeTransactions(self.core, *evses)
        setting = RESET_RETRIES_16 if version == "1.6" else RESET_RETRIES_201
        values = Values(**({setting.label: retries} if retries is not None else {}))
        self.resets = ResetOrchestrator(self.core, self.port, self.tx, values, retries=setting)

    def _send(self, text):
        self.sent.append(json.loads(text))
        return True

    def tick(self, seconds=0.0):
        self.now += seconds
        self.core.poll(self.now)

    def resets_asked(self):
        return [c[1] for c in self.port.calls if c[0] == "reset"]

    def queue_stop_transaction(self):
        self.core.send_transactional("StopTransaction", {"transactionId": 1, "meterStop": 0,
                                                         "timestamp": "2026-01-01T00:00:00Z"}, "s1")

    def answer_in_flight(self):
        call = self.core.session.in_flight
        self.core.on_text(json.dumps([3, call.unique_id, {}]), self.now)


def test_without_transactions_the_reset_goes_on_the_next_step_not_inside_the_request():
    bench = Bench()
    bench.resets.reset_now("Hard", "HardReset")
    assert bench.resets_asked() == [] and bench.resets.pending == "Hard"
    bench.tick()
    assert bench.resets_asked() == ["Hard"] and bench.resets.pending is None


def test_every_transaction_is_stopped_and_the_reset_follows_the_last_end():
    bench = Bench(2, 1)
    bench.resets.reset_now("Soft", "SoftReset")
    assert bench.tx.stopped == [(1, "SoftReset"), (2, "SoftReset")]
    bench.tx.end(1)
    bench.tick(1)
    assert bench.resets_asked() == []
    bench.tx.end(2)
    bench.tick()
    assert bench.resets_asked() == ["Soft"] and bench.tx.ended_here == []


def test_what_the_evses_do_not_end_in_time_is_ended_here():
    bench = Bench(1)
    bench.resets.reset_now("Hard", "ImmediateReset")
    bench.tick(STOP_WAIT_S - 1)
    assert bench.resets_asked() == [] and bench.tx.ended_here == []
    bench.tick(1)
    assert bench.tx.ended_here == [(1, "ImmediateReset")]
    bench.tick()
    assert bench.resets_asked() == ["Hard"]


def test_the_reset_waits_for_the_queue_to_drain_but_not_forever():
    bench = Bench(1)
    bench.resets.reset_now("Soft", "SoftReset")
    bench.queue_stop_transaction()          # the StopTransaction the stop queued, not answered yet
    bench.tx.end(1)
    bench.tick(FLUSH_WAIT_S / 2)
    assert bench.resets_asked() == []
    bench.answer_in_flight()
    bench.tick(0.5)
    assert bench.resets_asked() == ["Soft"]

    bench = Bench(1)
    bench.resets.reset_now("Soft", "SoftReset")
    bench.queue_stop_transaction()          # never answered
    bench.tx.end(1)
    bench.tick(FLUSH_WAIT_S - 0.5)
    assert bench.resets_asked() == []
    bench.tick(0.5)
    assert bench.resets_asked() == ["Soft"]


def test_offline_the_reset_does_not_wait_for_the_queue():
    bench = Bench(1)
    bench.resets.reset_now("Soft", "SoftReset")
    bench.queue_stop_transaction()
    bench.core.on_disconnected(bench.now)
    bench.tx.end(1)
    bench.tick()
    assert bench.resets_asked() == ["Soft"]


def test_reset_when_idle_stops_nothing_and_waits_as_long_as_it_takes():
    bench = Bench(1)
    bench.resets.reset_when_idle("Soft")
    bench.tick(10 * STOP_WAIT_S)
    assert bench.tx.stopped == [] and bench.tx.ended_here == [] and bench.resets_asked() == []
    bench.tx.end(1)
    bench.tick()
    assert bench.resets_asked() == ["Soft"]


def test_a_reset_now_overrides_one_waiting_for_idle_and_not_the_other_way_round():
    bench = Bench(1)
    bench.resets.reset_when_idle("Soft")
    bench.resets.reset_now("Hard", "ImmediateReset")
    bench.resets.reset_when_idle("Soft")
    assert bench.tx.stopped == [(1, "ImmediateReset")] and bench.resets.pending == "Hard"
    bench.tx.end(1)
    bench.tick()
    assert bench.resets_asked() == ["Hard"]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
@pytest.mark.parametrize("retries, asked", [(0, 1), (2, 3), (None, 4)])  # None: the default, 3 in both
def test_a_refused_reset_is_tried_again_reset_retries_times(version, retries, asked):
    bench = Bench(version=version, retries=retries)
    bench.port.ok["reset"] = False
    bench.resets.reset_now("Soft", "SoftReset")
    bench.tick()
    for _ in range(5):
        bench.tick(RETRY_S)
    assert bench.resets_asked() == ["Soft"] * asked
    assert bench.resets.pending is None                 # given up


def test_a_transaction_ending_while_the_system_answers_does_not_ask_twice():
    bench = Bench(1)
    bench.port.hold.add("reset")
    bench.resets.reset_now("Hard", "HardReset")
    bench.tick(STOP_WAIT_S)                              # ended here, then flushed
    bench.tick()
    assert bench.resets_asked() == ["Hard"]
    bench.core.events.publish(TxEnded(2, 1, "late"))
    bench.tick(RETRY_S)
    assert bench.resets_asked() == ["Hard"]
    _name, done = bench.port.held.pop()
    done(True)
    assert bench.resets.pending is None
