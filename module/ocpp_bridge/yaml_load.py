"""YAML reading for the definition, error and run-config files: libyaml when PyYAML has it.

Owns ``safe_load``: the same documents as ``yaml.safe_load``, parsed by PyYAML's C loader
(``CSafeLoader``, in PyYAML's wheels) when it is there, else by the pure-Python ``SafeLoader``.
Start-up reads some 45 YAML files before the module is ready; the pure-Python loader spent
about 0.75 s of a 1.1 s start on them. tests/unit/test_yaml_load.py checks both loaders give
the same objects for every YAML file the module ships.

Must never: construct anything the safe loader would not (no Python objects, no tags).
"""

from __future__ import annotations

from typing import Any

import yaml

Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, with libyaml when available; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
