"""Shape compatibility of our interface and type files with EVerest's reference files.

Owns the check that every command, argument, result, variable and type we declare has exactly
the name and JSON shape of EVerest's definition: the two schemas are compared recursively,
ignoring only ``description`` texts; ``$ref`` strings must be identical. The reference files live
in ``shared/everest-reference`` (or ``$OCPP_BRIDGE_SHARED/everest-reference``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("OCPP_BRIDGE_SHARED") or ROOT.parent / "shared")
REFERENCE = SHARED / "everest-reference"

PROVIDED = ["ocpp", "ocpp_1_6_charge_point", "auth_token_validator", "auth_token_provider", "ocpp_data_transfer"]
REQUIRED = ["evse_manager", "reservation", "system", "evse_security", "ocpp_data_transfer",
            "display_message", "external_energy_limits"]
REF_RE = re.compile(r"^/([A-Za-z0-9_]+)#/([A-Za-z0-9_]+)$")



def test_reference_files_are_present():
    assert REFERENCE.is_dir(), f"EVerest reference files not found at {REFERENCE} (set OCPP_BRIDGE_SHARED)"


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def strip_descriptions(node: Any) -> Any:
    """Drop every ``description`` annotation (a string); a property named ``description`` stays."""
    if isinstance(node, dict):
        return {k: strip_descriptions(v) for k, v in node.items()
                if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def shape_diff(ours: Any, theirs: Any, path: str) -> list[str]:
    """Every difference between two schemas (descriptions ignored), one line each."""
    ours, theirs = strip_descriptions(ours), strip_descriptions(theirs)
    out: list[str] = []
    _diff(ours, theirs, path, out)
    return out


def _diff(ours: Any, theirs: Any, path: str, out: list[str]) -> None:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in list(theirs) + [k for k in ours if k not in theirs]:
            sub = f"{path}/{key}"
            if key not in ours:
                out.append(f"{sub}: missing in ours (reference: {_short(theirs[key])})")
            elif key not in theirs:
                out.append(f"{sub}: not in the reference (ours: {_short(ours[key])})")
            else:
                _diff(ours[key], theirs[key], sub, out)
    elif isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs) or not all(isinstance(v, (dict, list)) for v in theirs):
            if ours != theirs or [type(v) for v in ours] != [type(v) for v in theirs]:
                out.append(f"{path}: ours {_short(ours)} != reference {_short(theirs)}")
            return
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _diff(a, b, f"{path}[{i}]", out)
    elif type(ours) is not type(theirs) or ours != theirs:
        out.append(f"{path}: ours {_short(ours)} != reference {_short(theirs)}")


def _refs(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _types(folder: Path, name: str, cache: dict) -> dict | None:
    key = (folder, name)
    if key not in cache:
        path = folder / "types" / f"{name}.yaml"
        cache[key] = (_load(path).get("types") or {}) if path.is_file() else None
    return cache[key]


OWN_ERRORS = "/errors/ocpp_bridge"  # errors our implementations raise beyond EVerest's declarations


def _without_own_errors(ours: dict, theirs: dict) -> dict:
    """Our interface minus the ``errors:`` entries that reference our own error file (an
    addition EVerest's peers ignore); every other ``errors:`` entry is still compared."""
    extra = [e for e in ours.get("errors") or [] if str(e.get("reference", "")).split("#")[0] == OWN_ERRORS]
    if not extra:
        return ours
    kept = [e for e in ours["errors"] if e not in extra]
    out = {k: v for k, v in ours.items() if k != "errors"}
    if kept or "errors" in theirs:
        out["errors"] = kept
    return out


def compare_interfaces(names: list[str]) -> list[str]:
    """Differences of the named interfaces and of every type they reach, transitively."""
    problems: list[str] = []
    cache: dict = {}
    todo: list[str] = []
    for name in names:
        theirs = _load(REFERENCE / "interfaces" / f"{name}.yaml")
        ours_path = ROOT / "interfaces" / f"{name}.yaml"
        if not ours_path.is_file():
            problems.append(f"interfaces/{name}.yaml: missing")
            continue
        ours = _without_own_errors(_load(ours_path), theirs)
        problems += shape_diff({k: v for k, v in ours.items() if k != "description"},
                               {k: v for k, v in theirs.items() if k != "description"},
                               f"interfaces/{name}.yaml:")
        todo += list(_refs(theirs))
    seen: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        m = REF_RE.match(ref)
        if not m:
            problems.append(f"unexpected $ref form {ref!r}")
            continue
        file, type_name = m.groups()
        theirs = (_types(REFERENCE, file, cache) or {}).get(type_name)
        if theirs is None:
            problems.append(f"{ref}: not in the reference either")
            continue
        todo += list(_refs(theirs))
        ours_file = _types(ROOT, file, cache)
        if ours_file is None:
            problems.append(f"types/{file}.yaml: missing (needed for {ref})")
        elif type_name not in ours_file:
            problems.append(f"types/{file}.yaml: type {type_name} missing (needed for {ref})")
        else:
            problems += shape_diff(ours_file[type_name], theirs, f"types/{file}.yaml:{type_name}")
    return problems


def test_provided_interfaces_and_their_types_match_reference():
    problems = compare_interfaces(PROVIDED)
    assert problems == [], f"{len(problems)} difference(s):\n" + "\n".join(problems)


def test_required_interfaces_and_their_types_match_reference():
    problems = compare_interfaces(REQUIRED)
    assert problems == [], f"{len(problems)} difference(s):\n" + "\n".join(problems)


def test_every_type_we_declare_matches_reference():
    problems = []
    for path in sorted((ROOT / "types").glob("*.yaml")):
        ref_path = REFERENCE / "types" / path.name
        theirs = (_load(ref_path).get("types") or {}) if ref_path.is_file() else {}
        for name, schema in (_load(path).get("types") or {}).items():
            if name not in theirs:
                problems.append(f"types/{path.name}:{name}: not in the reference")
            else:
                problems += shape_diff(schema, theirs[name], f"types/{path.name}:{name}")
    assert problems == [], f"{len(problems)} difference(s):\n" + "\n".join(problems)


def test_ocpp_and_text_message_types_are_complete():
    """The type files of our provided interfaces hold every reference type, not just a subset."""
    for name in ("ocpp", "text_message"):
        ours = _load(ROOT / "types" / f"{name}.yaml")["types"]
        theirs = _load(REFERENCE / "types" / f"{name}.yaml")["types"]
        assert list(ours) == list(theirs), name


# --------------------------------------------------------------------------- the checker itself

def test_shape_diff_reports_every_difference():
    theirs = {"type": "object", "description": "x", "required": ["a"],
              "properties": {"a": {"type": "string", "$ref": "/ocpp#/A"},
                             "b": {"type": "integer", "minimum": 0},
                             "description": {"type": "string"}},
              "enum": ["X", "Y"]}
    ours = {"type": "object", "description": "other words", "required": ["a"],
            "properties": {"a": {"type": "string", "$ref": "/ocpp#/B"},
                           "c": {"type": "integer"},
                           "description": {"type": "number"}},
            "enum": ["X"]}
    problems = shape_diff(ours, theirs, "t")
    assert "t/properties/a/$ref: ours '/ocpp#/B' != reference '/ocpp#/A'" in problems
    assert any(p.startswith("t/properties/b: missing in ours") for p in problems)
    assert any(p.startswith("t/properties/c: not in the reference") for p in problems)
    assert "t/properties/description/type: ours 'number' != reference 'string'" in problems
    assert any(p.startswith("t/enum: ours ['X']") for p in problems)
    assert len(problems) == 5
    assert shape_diff({**theirs, "description": "own words"}, theirs, "t") == []


def test_shape_diff_is_type_strict():
    assert shape_diff({"minimum": True}, {"minimum": 1}, "t") != []
    assert shape_diff({"maximum": 1.0}, {"maximum": 1}, "t") != []


def test_only_our_own_error_file_is_added_to_reference_interfaces():
    """The one deliberate difference: ``errors: [{reference: /errors/ocpp_bridge}]``."""
    for name in ("ocpp", "ocpp_1_6_charge_point"):
        ours = _load(ROOT / "interfaces" / f"{name}.yaml")
        assert {"reference": OWN_ERRORS} in ours["errors"], name
        assert (ROOT / "errors" / "ocpp_bridge.yaml").is_file()
    assert _without_own_errors({"errors": [{"reference": OWN_ERRORS}]}, {}) == {}
    assert _without_own_errors({"errors": [{"reference": "/errors/x"}, {"reference": OWN_ERRORS}]}, {}) == \
        {"errors": [{"reference": "/errors/x"}]}
