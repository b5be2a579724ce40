"""``yaml_load.safe_load`` (libyaml when PyYAML has it) reads every YAML file the module ships
(manifest, interfaces, types, errors) to the same objects as the pure-Python ``yaml.safe_load``,
and refuses what the safe loader refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ocpp_bridge import yaml_load
from ocpp_bridge.paths import module_root


def shipped_yaml_files() -> list[Path]:
    root = module_root()
    files = sorted(root.glob("manifest.yaml")) + sorted(root.glob("*/*.yaml"))
    return files


def test_the_module_ships_yaml_files_to_compare():
    names = {p.parent.name for p in shipped_yaml_files()}
    assert {"interfaces", "types", "errors"} <= names, names


def test_libyaml_is_used_when_pyyaml_has_it():
    assert yaml_load.Loader is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize("path", shipped_yaml_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_objects_as_the_pure_python_safe_loader(path: Path):
    text = path.read_text(encoding="utf-8")
    assert yaml_load.safe_load(text) == yaml.load(text, Loader=yaml.SafeLoader)


def test_python_tags_are_refused_like_safe_load():
    with pytest.raises(yaml.YAMLError):
        yaml_load.safe_load("!!python/object/apply:os.system ['true']")
    with pytest.raises(yaml.YAMLError):
        yaml_load.safe_load("a: [1, 2")
