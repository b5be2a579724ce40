"""The latest meter reading of each EVSE (``ocpp/common/readings.py``), shared by both
versions' transaction and meter-value blocks: worked examples, and the EV's SoC (EVerest's
``ev_info``) joining the powermeter's readings in 1.6 and 2.0.1 alike."""

from v201_harness import Sim

from ocpp_bridge.ocpp import evse_events as E
from ocpp_bridge.ocpp.common.readings import MeterReadings
from support.core_fakes import FakeCore
from support.cp16 import Rig

T0 = 1_767_225_600.0


def reading(energy: float, **kw) -> E.MeterSample:
    return E.MeterSample(timestamp="2026-01-01T00:00:00Z", energy_import_wh=energy, **kw)


def built() -> tuple[FakeCore, MeterReadings]:
    core = FakeCore(T0)
    return core, MeterReadings(core.events)


def test_the_newest_reading_of_each_evse():
    core, readings = built()
    assert readings.latest(1) is None and readings.energy_wh(1) is None
    core.events.publish(E.MeterReading(1, reading(10.0)))
    core.events.publish(E.MeterReading(2, reading(20.0)))
    core.events.publish(E.MeterReading(1, reading(11.0)))
    assert (readings.energy_wh(1), readings.energy_wh(2)) == (11.0, 20.0)
    assert readings.latest(3) is None


def test_the_soc_joins_the_current_reading_and_every_later_one_without_its_own():
    core, readings = built()
    core.events.publish(E.EvInfo(1, 40.0))                        # before any reading: kept
    core.events.publish(E.MeterReading(1, reading(10.0)))
    assert readings.latest(1).soc_percent == 40.0
    core.events.publish(E.EvInfo(1, 41.0))                        # joins the current reading
    assert (readings.latest(1).soc_percent, readings.energy_wh(1)) == (41.0, 10.0)
    core.events.publish(E.MeterReading(1, reading(12.0, soc_percent=45.0)))   # its own wins
    assert readings.latest(1).soc_percent == 45.0
    core.events.publish(E.MeterReading(1, reading(13.0)))
    assert readings.latest(1).soc_percent == 41.0                 # the EV's last SoC again
    core.events.publish(E.EvInfo(2, None))                        # no SoC: nothing changes
    assert readings.latest(2) is None


def test_a_block_may_take_a_reading_of_its_own():
    """1.6 takes the meter value of TransactionStarted as the EVSE's latest reading."""
    core, readings = built()
    core.events.publish(E.EvInfo(1, 30.0))
    readings.take(1, reading(500.0))
    assert (readings.energy_wh(1), readings.latest(1).soc_percent) == (500.0, 30.0)


def test_1_6_reports_the_soc_of_ev_info_like_2_0_1(tmp_path):
    """The SoC arrives apart from the powermeter: both versions send it with the reading."""
    rig = Rig(tmp_path, overrides={"MeterValuesSampledData": "SoC"}).boot()
    rig.meter(1, 10.0)
    rig.event(E.EvInfo(1, 55.0))
    rig.request("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1})
    [sv] = rig.calls("MeterValues")[-1]["meterValue"][0]["sampledValue"]
    assert (sv["measurand"], sv["value"], sv["unit"]) == ("SoC", "55", "Percent")

    sim = Sim(tmp_path / "201", overrides={"AlignedDataCtrlr": {"Measurands": "SoC"}})
    sim.ev(E.EvInfo(1, 56.0), E.MeterReading(1, reading(10.0)))  # the SoC came first
    sim.request("TriggerMessage", {"requestedMessage": "MeterValues", "evse": {"id": 1}})
    [sv] = sim.payloads("MeterValues")[-1]["meterValue"][0]["sampledValue"]
    assert (sv["measurand"], sv["value"]) == ("SoC", 56)
