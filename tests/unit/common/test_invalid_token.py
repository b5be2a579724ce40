"""A running transaction whose token the CSMS declares not valid
(``ocpp/common/invalid_token.py``): one rule for 1.6 StopTransactionOnInvalidId /
MaxEnergyOnInvalidId and 2.0.1 TxCtrlr.StopTxOnInvalidId / MaxEnergyOnInvalidId. Worked
examples on the pure guard with each version's settings, then both charge points."""

import pytest
from v201_harness import Sim, charging, plug, sample, tx_started

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.common.invalid_token import InvalidTokenGuard, delivered_wh
from ocpp_bridge.ocpp.v16 import transactions as v16
from ocpp_bridge.ocpp.v201 import transactions as v201
from support.core_fakes import FakeConfig, RecordingEvse
from support.cp16 import Rig

VERSIONS = {"1.6": v16.INVALID_TOKEN, "2.0.1": v201.INVALID_TOKEN}


def guard(version: str, *, stop: bool, max_energy: int) -> tuple[InvalidTokenGuard, RecordingEvse]:
    settings = VERSIONS[version]
    evse = RecordingEvse()
    config = FakeConfig({settings.stop: stop, settings.max_energy: max_energy})
    return InvalidTokenGuard(config, settings, evse), evse


@pytest.mark.parametrize("version", VERSIONS)
def test_an_accepted_token_changes_nothing(version):
    g, evse = guard(version, stop=True, max_energy=0)
    assert g.token_status("s1", 1, "TAG", "Accepted") is False and evse.calls == []


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("status", ["Invalid", "Blocked", "Expired", "Unknown"])
def test_stop_on_invalid_id_stops_the_transaction(version, status):
    g, evse = guard(version, stop=True, max_energy=500)
    assert g.token_status("s1", 2, "TAG", status) is False      # nothing to mark
    assert evse.calls == [("stop_transaction", 2, "DeAuthorized")]


@pytest.mark.parametrize("version", VERSIONS)
def test_without_stop_it_pauses_once_max_energy_is_delivered(version):
    g, evse = guard(version, stop=False, max_energy=500)
    assert g.token_status("s1", 1, "TAG", "Invalid") is True     # the block marks its record
    for energy in (1000.0, 1300.0, 1499.0):
        g.check("s1", 1, invalid=True, start_wh=1000.0, energy_wh=energy)
    assert evse.calls == []
    for energy in (1500.0, 1600.0):
        g.check("s1", 1, invalid=True, start_wh=1000.0, energy_wh=energy)
    assert evse.calls == [("pause_charging", 1)]                # once per run


@pytest.mark.parametrize("version", VERSIONS)
def test_nothing_counts_while_a_reading_is_unknown_and_a_zero_limit_pauses_at_once(version):
    g, evse = guard(version, stop=False, max_energy=500)
    g.check("s1", 1, invalid=True, start_wh=None, energy_wh=9999.0)   # 2.0.1: no reading at the start
    g.check("s1", 1, invalid=True, start_wh=0.0, energy_wh=None)
    g.check("s2", 2, invalid=False, start_wh=0.0, energy_wh=9999.0)   # not marked invalid
    assert evse.calls == []
    zero, evse = guard(version, stop=False, max_energy=0)
    zero.check("s1", 1, invalid=True, start_wh=None, energy_wh=None)
    assert evse.calls == [("pause_charging", 1)]
    assert (delivered_wh(100.0, 350.0), delivered_wh(None, 350.0), delivered_wh(100.0, None)) == (250.0, 0.0, 0.0)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_forgotten_transaction_leaves_nothing_behind(version):
    g, evse = guard(version, stop=False, max_energy=0)
    g.check("s1", 1, invalid=True, start_wh=0.0, energy_wh=0.0)
    g.forget("s1")
    assert g._paused == set()
    g.check("s1", 1, invalid=True, start_wh=0.0, energy_wh=0.0)      # a new run would pause it again
    assert evse.calls == [("pause_charging", 1), ("pause_charging", 1)]


# ------------------------------------------------------------------ both charge points
def test_1_6_counts_from_the_reading_kept_in_the_record_when_declared_invalid_after_a_restart(tmp_path):
    """The start went out offline; 600 Wh were delivered (kept in the record); the bridge
    restarted; then the CSMS declared the tag invalid: the limit is passed, pause at once,
    as 2.0.1 does (below)."""
    rig = Rig(tmp_path, overrides={"StopTransactionOnInvalidId": False, "MaxEnergyOnInvalidId": 500}).boot()
    rig.answers["StartTransaction"] = {"transactionId": 7, "idTagInfo": {"status": "Invalid"}}
    rig.disconnect()
    s = rig.plug_in(1)
    rig.start_tx(1, s, energy=1000)
    rig.meter(1, 1600)
    rig.restart()
    rig.event(E.SessionResumed(1, 1, s, rig.stamp()))
    rig.reconnect()                                          # StartTransaction.conf: Invalid
    assert rig.calls("StartTransaction") and rig.port.names().count("pause_charging") == 1


def test_2_0_1_counts_from_the_reading_kept_in_the_record_when_declared_invalid_after_a_restart(tmp_path):
    sim = Sim(tmp_path, overrides={"TxCtrlr": {"StopTxOnInvalidId": False, "MaxEnergyOnInvalidId": 500}})
    sim.answers["TransactionEvent"] = lambda req: ({"idTokenInfo": {"status": "Invalid"}} if "idToken" in req else {})
    sim.disconnect()
    sim.ev(plug(1, "s1"), tx_started(1, "s1", energy=1000.0), charging(1, "s1"), E.MeterReading(1, sample(1600.0)))
    sim.restart()
    sim.ev(E.SessionResumed(1, 1, "s1", "2026-01-01T00:00:00Z"))
    sim.connect()                                            # the answer to Started: Invalid
    assert sim.payloads("TransactionEvent") and sim.port.of("pause_charging") == [(1,)]


def test_2_0_1_a_reading_without_energy_still_pauses_at_a_zero_limit(tmp_path):
    """As in 1.6: every reading of an invalid transaction is a check (a limit of 0 means no
    energy at all), also after a restart, when the pause of the last run is forgotten."""
    sim = Sim(tmp_path, overrides={"TxCtrlr": {"StopTxOnInvalidId": False, "MaxEnergyOnInvalidId": 0}})
    sim.answers["TransactionEvent"] = lambda req: ({"idTokenInfo": {"status": "Invalid"}} if "idToken" in req else {})
    sim.ev(plug(1, "s1"), tx_started(1, "s1", energy=100.0), charging(1, "s1"))
    assert sim.port.of("pause_charging") == [(1,)]
    sim.restart()
    sim.connect()
    sim.ev(E.SessionResumed(1, 1, "s1", "2026-01-01T00:00:00Z"),
           E.MeterReading(1, E.MeterSample(timestamp="2026-01-01T00:00:00Z", power_w=0.0)))
    assert sim.port.of("pause_charging") == [(1,), (1,)]
