"""``charging_schedules`` on the bus (impls/charging_schedules.py): a composite schedule becomes
EVerest's ``/ocpp#/ChargingSchedules`` value (checked against our types/ocpp.yaml as the engine
checks what it publishes), and a real ``Engine`` (no broker, no CSMS, a fake clock) publishes
one per EVSE, 0 first, when OCPP starts, when the installed profiles change, and every
PublishChargingScheduleIntervalS on the station core's timers; with each publication every
``evse_energy_sink`` connection is called with ``set_external_limits`` and the composite of its
EVSE (the run config's ``mapping``; none: the station), an ``ExternalLimits`` checked against
types/energy.yaml. Profiles are installed in-process on ``station.blocks.smart_charging`` (no
CSMS message installs them yet)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import yaml

from ocpp_bridge.config import ConfigError, Connection, Settings, build_settings, load_run_config
from ocpp_bridge.engine import Engine
from ocpp_bridge.everest.definitions import Definitions, ValidationFailure
from ocpp_bridge.impls.charging_schedules import external_limits_value, schedule_value, schedules_value
from ocpp_bridge.ocpp.common.composite import CompositePeriod, CompositeSchedule

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def definitions():
    return Definitions.load(ROOT)


# ----------------------------------------------------------------------------- conversion
def test_a_composite_becomes_an_everest_charging_schedule(definitions):
    composite = CompositeSchedule(evse=2, start=T0 + 0.25, duration=600, unit="A", periods=(
        CompositePeriod(0, 16.0, 3), CompositePeriod(120, 6.5, 1)), min_charging_rate=6.0)
    value = schedule_value(composite)
    assert value == {
        "evse": 2, "charging_rate_unit": "A", "duration": 600, "start_schedule": "2026-01-01T00:00:00.250Z",
        "charging_schedule_period": [{"start_period": 0, "limit": 16, "number_phases": 3},
                                     {"start_period": 120, "limit": 6.5, "number_phases": 1}],
        "min_charging_rate": 6,
    }
    definitions.check_variable("ocpp", "charging_schedules", schedules_value([composite]))


def test_no_minimum_rate_no_field_and_watts_stay_watts(definitions):
    composite = CompositeSchedule(0, T0, 0, "W", (CompositePeriod(0, 33120.0, 3),))
    value = schedules_value([composite])
    assert value == {"schedules": [{"evse": 0, "charging_rate_unit": "W", "duration": 0,
                                    "start_schedule": "2026-01-01T00:00:00.000Z",
                                    "charging_schedule_period": [
                                        {"start_period": 0, "limit": 33120, "number_phases": 3}]}]}
    definitions.check_variable("ocpp", "charging_schedules", value)


def test_the_type_check_would_catch_a_broken_value(definitions):
    """The schema check above is not vacuous: a schedule without its periods is refused."""
    with pytest.raises(ValidationFailure):
        definitions.check_variable("ocpp", "charging_schedules",
                                   {"schedules": [{"evse": 0, "charging_rate_unit": "A"}]})


# ----------------------------------------------------------------------------- the engine
@pytest.fixture
def make_engine(tmp_path, definitions):
    made = []

    def make(clock, *, evses: int = 2, connections: dict | None = None, **options) -> tuple[Engine, list]:
        given = {"ChargePointId": "CP1", "CentralSystemURI": "ws://127.0.0.1:1/ocpp",
                 "DatabasePath": str(tmp_path / "db"), **options}
        managers = [{"module_id": f"evse_manager_{n}", "implementation_id": "evse"} for n in range(1, evses + 1)]
        settings = build_settings(Settings("ocpp", broker_port=1), options=given,
                                  connections={"evse_manager": managers},
                                  declared=definitions.config_options(), requires=definitions.requires())
        if connections:  # with their EVSE mappings, as a run config gives them (see the test above)
            settings = replace(settings, connections={**settings.connections, **connections})
        engine = Engine(settings, definitions, clock=clock)
        made.append(engine)
        published: list = []
        original = engine.publish_var

        def publish_var(impl, var, value):
            ok = original(impl, var, value)  # validated against the interface (ValidateSchema)
            if var == "charging_schedules":
                assert ok, value
                published.append(value)
            return ok

        engine.publish_var = publish_var  # type: ignore[method-assign]
        engine._publish = lambda out: None  # type: ignore[method-assign]  # no broker
        return engine, published

    yield make
    for engine in made:
        engine.station.close()
        engine.frame_log.close()


def start_ocpp(engine: Engine, now: float) -> None:
    """What ``_start_ocpp`` does for the bus side, without dialling the CSMS."""
    engine.station.core.now = now
    engine.ocpp_started = True
    for impl in engine.impls.values():
        impl.on_ocpp_started()


def limits(value: dict) -> list[tuple[int, str, list]]:
    return [(s["evse"], s["charging_rate_unit"], [(p["start_period"], p["limit"]) for p in s["charging_schedule_period"]])
            for s in value["schedules"]]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_published_at_start_with_the_default_limits_for_each_evse_and_the_station(make_engine, version):
    clock = Clock()
    engine, published = make_engine(clock, OcppVersion=version)
    engine._tick(clock())
    assert published == []  # nothing before OCPP starts
    start_ocpp(engine, clock())
    assert len(published) == 1
    assert limits(published[0]) == [(0, "A", [(0, 96)]), (1, "A", [(0, 48)]), (2, "A", [(0, 48)])]
    assert {s["duration"] for s in published[0]["schedules"]} == {600}
    assert {s["start_schedule"] for s in published[0]["schedules"]} == {"2026-01-01T00:00:00.000Z"}


def test_published_again_every_interval_in_the_configured_unit_and_duration(make_engine):
    clock = Clock()
    engine, published = make_engine(clock, evses=1, PublishChargingScheduleIntervalS=5,
                                    PublishChargingScheduleDurationS=60, RequestCompositeScheduleUnit="W")
    start_ocpp(engine, clock())
    due = engine._tick(clock())
    assert len(published) == 1 and due is not None and due <= T0 + 5
    clock.now = T0 + 4.9
    engine._tick(clock())
    assert len(published) == 1
    clock.now = T0 + 5
    engine._tick(clock())
    clock.now = T0 + 10
    engine._tick(clock())
    assert len(published) == 3
    assert [s["start_schedule"] for s in published[-1]["schedules"]] == ["2026-01-01T00:00:10.000Z"] * 2
    assert limits(published[-1]) == [(0, "W", [(0, 33120)]), (1, "W", [(0, 33120)])]
    assert {s["duration"] for s in published[-1]["schedules"]} == {60}


def test_interval_zero_publishes_only_at_start_and_on_changes(make_engine):
    clock = Clock()
    engine, published = make_engine(clock, evses=1, PublishChargingScheduleIntervalS=0)
    start_ocpp(engine, clock())
    clock.now = T0 + 3600
    engine._tick(clock())
    assert len(published) == 1


def test_a_profile_change_publishes_the_new_composite_at_once(make_engine):
    clock = Clock()
    engine, published = make_engine(clock, evses=2, OcppVersion="1.6")
    start_ocpp(engine, clock())
    engine.station.blocks.smart_charging.profiles.install({
        "chargingProfileId": 7, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": {
            "chargingRateUnit": "A", "startSchedule": "2026-01-01T00:00:00Z", "minChargingRate": 6,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}, {"startPeriod": 300, "limit": 10}]}}, 1)
    assert len(published) == 2
    assert limits(published[1]) == [(0, "A", [(0, 64), (300, 58)]), (1, "A", [(0, 16), (300, 10)]),
                                    (2, "A", [(0, 48)])]
    assert published[1]["schedules"][1]["min_charging_rate"] == 6
    engine.station.blocks.smart_charging.profiles.clear(lambda i: i.id == 7)
    assert limits(published[2]) == [(0, "A", [(0, 96)]), (1, "A", [(0, 48)]), (2, "A", [(0, 48)])]


def test_profile_changes_before_ocpp_starts_publish_nothing(make_engine):
    clock = Clock()
    engine, published = make_engine(clock, evses=1, OcppVersion="1.6")
    engine.station.blocks.smart_charging.profiles.clear(lambda i: True)
    engine.station.blocks.smart_charging.profiles.install({
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative", "chargingSchedule": {
            "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 20}]}}, 1)
    assert published == []


@pytest.mark.parametrize("option, value", [("RequestCompositeScheduleUnit", "kW"),
                                           ("PublishChargingScheduleIntervalS", -1),
                                           ("PublishChargingScheduleDurationS", -5)])
def test_bad_schedule_options_are_refused(make_engine, option, value):
    with pytest.raises(ConfigError, match=option):
        make_engine(Clock(), **{option: value})


# ----------------------------------------------------------------------------- enforcement
def test_a_composite_becomes_external_limits_at_absolute_times(definitions):
    composite = CompositeSchedule(1, T0, 600, "A", (CompositePeriod(0, 16.0, 3), CompositePeriod(300, 10.5, 1)))
    value = external_limits_value(composite)
    assert value == {"schedule_export": [], "schedule_setpoints": [], "schedule_import": [
        {"timestamp": "2026-01-01T00:00:00.000Z", "limits_to_leaves": {},
         "limits_to_root": {"ac_max_current_A": {"value": 16, "source": "OCPP"},
                            "ac_max_phase_count": {"value": 3, "source": "OCPP"}}},
        {"timestamp": "2026-01-01T00:05:00.000Z", "limits_to_leaves": {},
         "limits_to_root": {"ac_max_current_A": {"value": 10.5, "source": "OCPP"},
                            "ac_max_phase_count": {"value": 1, "source": "OCPP"}}}]}
    definitions.check_arguments("external_energy_limits", "set_external_limits", {"value": value})
    watts = external_limits_value(CompositeSchedule(0, T0, 60, "W", (CompositePeriod(0, 11000.0, 3),)))
    assert watts["schedule_import"][0]["limits_to_root"]["total_power_W"] == {"value": 11000, "source": "OCPP"}
    definitions.check_arguments("external_energy_limits", "set_external_limits", {"value": watts})


def test_the_run_config_maps_each_energy_sink_to_its_evse(tmp_path, definitions):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"active_modules": {
        "ocpp": {"module": "OcppBridge", "config_module": {"ChargePointId": "CP1"}, "connections": {
            "evse_manager": [{"module_id": "evse_manager_1", "implementation_id": "evse"}],
            "evse_energy_sink": [{"module_id": "grid", "implementation_id": "external_limits"},
                                 {"module_id": "sink_1", "implementation_id": "external_limits"},
                                 {"module_id": "sink_2", "implementation_id": "external_limits"}]}},
        "evse_manager_1": {"module": "EvseManager", "mapping": {"module": {"evse": 1}}},
        "grid": {"module": "EnergyNode"},
        "sink_1": {"module": "EnergyNode", "mapping": {"module": {"evse": 1}}},
        "sink_2": {"module": "EnergyNode", "mapping": {"module": {"evse": 9},
                                                       "implementations": {"external_limits": {"evse": 2}}}}}}))
    settings = load_run_config(path, "ocpp", definitions.config_options(), definitions.requires(), env={})
    assert [(c.module_id, c.evse) for c in settings.connections["evse_energy_sink"]] == [
        ("grid", None), ("sink_1", 1), ("sink_2", 2)]
    assert settings.connections["evse_manager"][0].evse == 1


def test_each_energy_sink_gets_the_composite_of_its_evse_with_every_publication(make_engine, definitions):
    clock = Clock()
    sinks = {"evse_energy_sink": [Connection("grid", "external_limits"), Connection("sink_2", "external_limits", 2),
                                  Connection("sink_9", "external_limits", 9)]}
    engine, published = make_engine(clock, evses=2, OcppVersion="1.6", connections=sinks)
    calls: list = []
    engine.call_required = lambda req, index, cmd, args, on_done, timeout_s=None: calls.append(  # type: ignore
        (req, index, cmd, args))
    start_ocpp(engine, clock())
    assert [(req, index, cmd) for req, index, cmd, _ in calls] == [
        ("evse_energy_sink", 0, "set_external_limits"), ("evse_energy_sink", 1, "set_external_limits")]  # no EVSE 9
    for *_, args in calls:
        definitions.check_arguments("external_energy_limits", "set_external_limits", args)
    station, evse_2 = (args["value"]["schedule_import"] for *_, args in calls)
    assert [e["limits_to_root"]["ac_max_current_A"]["value"] for e in station] == [96]
    assert [e["limits_to_root"]["ac_max_current_A"]["value"] for e in evse_2] == [48]
    engine.station.blocks.smart_charging.profiles.install({
        "chargingProfileId": 3, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": {
            "chargingRateUnit": "A", "startSchedule": "2026-01-01T00:00:00Z",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 20}, {"startPeriod": 60, "limit": 8}]}}, 2)
    assert len(calls) == 4 and len(published) == 2
    evse_2 = calls[3][3]["value"]["schedule_import"]
    assert [(e["timestamp"], e["limits_to_root"]["ac_max_current_A"]["value"]) for e in evse_2] == [
        ("2026-01-01T00:00:00.000Z", 20), ("2026-01-01T00:01:00.000Z", 8)]
    clock.now = T0 + 30
    engine._tick(clock())
    assert len(calls) == 6  # and again with the interval's publication


def test_without_energy_sinks_nothing_is_called(make_engine):
    clock = Clock()
    engine, published = make_engine(clock, evses=1)
    calls: list = []
    engine.call_required = lambda *args, **kwargs: calls.append(args)  # type: ignore[method-assign]
    start_ocpp(engine, clock())
    assert len(published) == 1 and calls == []
