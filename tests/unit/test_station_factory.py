"""Tests of ``ocpp_bridge.station_factory``: reading the ConfigOverridesPath file.

Covers: no path means no overrides; a JSON object is what the charge points get; a file that
cannot be read, is not JSON, or holds JSON other than an object is a ConfigError naming the
file (the start-up reports it as a configuration error instead of crashing in a station).
"""

from __future__ import annotations

import json

import pytest

from ocpp_bridge.config import ConfigError, Settings
from ocpp_bridge.station_factory import read_overrides


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
