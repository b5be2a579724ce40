"""Tests of ``ocpp_bridge.station_factory``: reading the ConfigOverridesPath file.

Covers: no path means no overrides; a JSON object is what the charge points get; a file that
cannot be read, is not JSON, or holds JSON other than an object is a ConfigError naming the
file (the start-up reports it as a configuration error instead of crashing in a station).
"""

from __future__ import annotations

import json

import pytest

from ocpp_bridge.config import ConfigError, Settings, build_settings
from ocpp_bridge.engine import Engine
from ocpp_bridge.everest.definitions import Definitions
from ocpp_bridge.station_factory import build_station, check_overrides, firmware_version, overrides_for, read_overrides

DEFINITIONS = Definitions.load()


def settings_with_overrides(path: str) -> Settings:
    return Settings("cp", options={"ConfigOverridesPath": path})


def test_no_overrides_path_means_no_overrides():
    assert read_overrides(settings_with_overrides("")) is None


def test_a_json_object_is_the_overrides(tmp_path):
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"HeartbeatInterval": "61"}))
    assert read_overrides(settings_with_overrides(str(path))) == {"HeartbeatInterval": "61"}


@pytest.mark.parametrize("content", ["[1, 2]", '"HeartbeatInterval"', "61", "null"])
def test_json_that_is_not_an_object_is_a_config_error(tmp_path, content):
    path = tmp_path / "overrides.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match="expected a JSON object") as raised:
        read_overrides(settings_with_overrides(str(path)))
    assert str(path) in str(raised.value)


def test_a_file_that_is_not_json_is_a_config_error(tmp_path):
    path = tmp_path / "overrides.json"
    path.write_text("{HeartbeatInterval: 61")
    with pytest.raises(ConfigError, match="ConfigOverridesPath"):
        read_overrides(settings_with_overrides(str(path)))


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="ConfigOverridesPath"):
        read_overrides(settings_with_overrides(str(tmp_path / "absent.json")))


# ----------------------------------------------------------------------------- building a station
def full_settings(tmp_path, overrides, version="1.6") -> Settings:
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps(overrides))
    return build_settings(Settings("ocpp", broker_port=1),
                          options={"ChargePointId": "CP1", "CentralSystemURI": "ws://127.0.0.1:1/ocpp",
                                   "DatabasePath": str(tmp_path / "db"), "ConfigOverridesPath": str(path),
                                   "OcppVersion": version},
                          connections={"evse_manager": [{"module_id": "evse_manager_1", "implementation_id": "evse"}]},
                          declared=DEFINITIONS.config_options(), requires=DEFINITIONS.requires())


@pytest.mark.parametrize("version, overrides", [
    ("1.6", {"NoSuchKey": "1"}),
    ("1.6", {"HeartbeatInterval": "not a number"}),
    ("2.0.1", {"OCPPCommCtrlr": {"NoSuchVariable": "1"}}),
    ("2.0.1", {"NoSuchComponent": {"Enabled": "true"}}),
])
def test_an_override_the_station_refuses_is_a_config_error_not_a_crash(tmp_path, version, overrides):
    settings = full_settings(tmp_path, overrides, version)
    with pytest.raises(ConfigError, match=f"ConfigOverridesPath .*OCPP {version}"):
        build_station(settings, version, lambda text: True)


def test_auto_mode_gives_each_version_its_part_of_one_overrides_file(tmp_path):
    both = {"HeartbeatInterval": "61", "OCPPCommCtrlr": {"HeartbeatInterval": "62"}}
    assert overrides_for(both, "1.6", auto=True) == {"HeartbeatInterval": "61"}
    assert overrides_for(both, "2.0.1", auto=True) == {"OCPPCommCtrlr": {"HeartbeatInterval": "62"}}
    assert overrides_for(both, "1.6", auto=False) == both
    settings = full_settings(tmp_path, both, "auto")
    for version in ("1.6", "2.0.1"):
        station = build_station(settings, version, lambda text: True)
        try:
            assert station.version == version
        finally:
            station.close()


def test_auto_mode_checks_every_offered_version_at_the_start(tmp_path):
    """The 2.0.1 station of an auto run may be built only when a CSMS first picks 2.0.1;
    a bad 2.0.1 override must stop the start, not that switch."""
    settings = full_settings(tmp_path, {"HeartbeatInterval": "61", "OCPPCommCtrlr": {"NoSuchVariable": "1"}}, "auto")
    check_overrides(settings, ["1.6"])  # 1.6's part is fine
    with pytest.raises(ConfigError, match="OCPP 2.0.1"):
        check_overrides(settings, ["1.6", "2.0.1"])


def test_an_engine_with_a_bad_override_of_the_other_version_does_not_start(tmp_path):
    settings = full_settings(tmp_path, {"OCPPCommCtrlr": {"NoSuchVariable": "1"}}, "auto")
    with pytest.raises(ConfigError, match="OCPP 2.0.1"):
        Engine(settings, DEFINITIONS)


def test_the_firmware_version_comes_from_its_file_when_there_is_one(tmp_path):
    version = tmp_path / "version"
    version.write_text("2.1.0-rc1\nbuilt somewhere\n")
    with_file = Settings("cp", options={"FirmwareVersion": "1.0", "FirmwareVersionPath": str(version)})
    assert firmware_version(with_file) == "2.1.0-rc1"
    version.write_text("\n")
    assert firmware_version(with_file) == "1.0"  # an empty file: the option
    missing = Settings("cp", options={"FirmwareVersion": "1.0", "FirmwareVersionPath": str(tmp_path / "none")})
    assert firmware_version(missing) == "1.0"
    assert firmware_version(Settings("cp", options={"FirmwareVersion": "1.0", "FirmwareVersionPath": ""})) == "1.0"
