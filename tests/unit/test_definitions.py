"""Tests of the module's definition files and of ``ocpp_bridge.everest.definitions``.

Covers: every manifest/interface/type/error file validates against EVerest's meta-schemas; the
manifest declares the ids and options of the contract; and ``Definitions`` loads, resolves
``$ref``s and accepts or rejects arguments, results and variables as EVerest would.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml
from referencing import Registry
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

from ocpp_bridge.everest.definitions import (
    FORMAT_CHECKER,
    Command,
    DefinitionError,
    Definitions,
    ValidationFailure,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("OCPP_BRIDGE_SHARED") or ROOT.parent / "shared")
REFERENCE = SHARED / "everest-reference"

CV = {"component": {"name": ""}, "variable": {"name": "HeartbeatInterval"}}

CONFIG_DEFAULTS = {
    "ChargePointId": "cp001",
    "CentralSystemURI": "ws://127.0.0.1:9000/ocpp",
    "OcppVersion": "1.6",
    "AutoOcppVersions": "2.0.1,1.6",
    "DatabasePath": "/tmp/ocpp-bridge",
    "ChargePointVendor": "ocpp-bridge",
    "ChargePointModel": "ocpp-bridge",
    "ChargePointSerialNumber": "",
    "FirmwareVersion": "0.1.0",
    "FirmwareVersionPath": "",
    "SecurityProfile": 0,
    "BasicAuthPassword": "",
    "CsmsCaBundle": "",
    "CsmsLeafCertificate": "",
    "CsmsLeafKey": "",
    "PrivateKeyPassword": "",
    "EverestProtocol": "2025.12",
    "MessageLogPath": "",
    "ConfigOverridesPath": "",
    "GlobalReadyTimeoutS": 10,
    "CommandTimeoutS": 300,
    "CsmsAnswerTimeoutS": 5,
    "MessageTimeoutS": 30,
    "WebsocketPingIntervalS": 30,
    "WebsocketPongTimeoutS": 10,
    "RetryBackOffWaitMinimumS": 3,
    "RetryBackOffRandomRangeS": 10,
    "RetryBackOffRepeatTimes": 5,
    "NetworkProfileConnectionAttempts": 3,
    "MessageQueueResumeDelay": 0,
    "DelayOcppStart": 0,
    "PublishChargingScheduleIntervalS": 30,   # EVerest OCPP's defaults (spec/everest.md §4)
    "PublishChargingScheduleDurationS": 600,
    "RequestCompositeScheduleUnit": "A",
    "ValidateSchema": True,
}


@pytest.fixture(scope="module")
def defs() -> Definitions:
    return Definitions.load(ROOT)


# --------------------------------------------------------------------------- meta-schemas

def _no_network(uri: str):
    raise NoSuchResource(ref=uri)


def _meta_validator(name: str) -> jsonschema.Draft7Validator:
    assert REFERENCE.is_dir(), f"EVerest reference files not found at {REFERENCE} (set OCPP_BRIDGE_SHARED)"
    schema = yaml.safe_load((REFERENCE / "schemas" / name).read_text())
    draft7 = DRAFT7.create_resource(jsonschema.Draft7Validator.META_SCHEMA)
    registry = Registry(retrieve=_no_network).with_resources([
        ("http://json-schema.org/draft-07/schema", draft7),
        ("http://json-schema.org/draft-07/schema#", draft7),
    ])
    return jsonschema.Draft7Validator(schema, registry=registry, format_checker=FORMAT_CHECKER)


def _errors(validator: jsonschema.Draft7Validator, path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text())
    return [f"{path.relative_to(ROOT)}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(doc)]


def _files(folder: str) -> list[Path]:
    files = sorted((ROOT / folder).glob("*.yaml"))
    assert files, f"no {folder}/*.yaml files"
    return files


def test_manifest_matches_meta_schema():
    assert _errors(_meta_validator("manifest.yaml"), ROOT / "manifest.yaml") == []


def test_interfaces_match_meta_schema():
    validator = _meta_validator("interface.yaml")
    problems = [p for f in _files("interfaces") for p in _errors(validator, f)]
    assert problems == [], "\n".join(problems)


def test_types_match_meta_schema():
    validator = _meta_validator("type.yaml")
    problems = [p for f in _files("types") for p in _errors(validator, f)]
    assert problems == [], "\n".join(problems)


def test_errors_match_meta_schema():
    validator = _meta_validator("error-declaration-list.yaml")
    problems = [p for f in _files("errors") for p in _errors(validator, f)]
    assert problems == [], "\n".join(problems)


def test_interface_schemas_are_valid_draft7():
    """EVerest checks each argument/result/variable schema against draft-07 separately."""
    problems = []
    for path in _files("interfaces"):
        doc = yaml.safe_load(path.read_text())
        schemas = [(f"var {v}", s) for v, s in (doc.get("vars") or {}).items()]
        for c, cdef in (doc.get("cmds") or {}).items():
            schemas += [(f"{c}({a})", s) for a, s in (cdef.get("arguments") or {}).items()]
            if "result" in cdef:
                schemas.append((f"{c} result", cdef["result"]))
        for label, schema in schemas:
            for e in jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA) \
                    .iter_errors(schema):
                problems.append(f"{path.name} {label}: {e.message}")
    assert problems == [], "\n".join(problems)


def test_error_references_resolve():
    problems = []
    for path in _files("interfaces"):
        for entry in yaml.safe_load(path.read_text()).get("errors") or []:
            ref = entry["reference"]
            file, _, name = ref.removeprefix("/errors/").partition("#/")
            target = ROOT / "errors" / f"{file}.yaml"
            if not target.is_file():
                problems.append(f"{path.name}: {ref}: no {target.relative_to(ROOT)}")
                continue
            names = [e["name"] for e in yaml.safe_load(target.read_text()).get("errors") or []]
            if name and name not in names:
                problems.append(f"{path.name}: {ref}: no error {name}")
    assert problems == [], "\n".join(problems)


def test_error_names_match_reference():
    assert REFERENCE.is_dir(), f"EVerest reference files not found at {REFERENCE} (set OCPP_BRIDGE_SHARED)"
    checked = 0
    for ref_file in sorted((REFERENCE / "errors").glob("*.yaml")):
        ours = ROOT / "errors" / ref_file.name
        if not ours.is_file():
            continue
        theirs = [e["name"] for e in yaml.safe_load(ref_file.read_text())["errors"]]
        mine = [e["name"] for e in yaml.safe_load(ours.read_text())["errors"]]
        assert mine == theirs, f"errors/{ref_file.name}"
        checked += 1
    assert checked >= 1


# --------------------------------------------------------------------------- manifest

def test_manifest_ids_match_contract(defs):
    assert defs.provides() == {"ocpp_generic": "ocpp", "main": "ocpp_1_6_charge_point",
                               "auth_validator": "auth_token_validator", "auth_provider": "auth_token_provider",
                               "data_transfer": "ocpp_data_transfer"}
    expected = {
        "evse_manager": ("evse_manager", 1, 128),
        "reservation": ("reservation", 0, 1),
        "auth": ("auth", 0, 1),
        "system": ("system", 0, 1),
        "security": ("evse_security", 0, 1),
        "data_transfer": ("ocpp_data_transfer", 0, 1),
        "display_message": ("display_message", 0, 1),
        "evse_energy_sink": ("external_energy_limits", 0, 129),
    }
    got = {k: (v["interface"], v["min_connections"], v["max_connections"])
           for k, v in defs.requires().items()}
    assert got == expected


def test_manifest_flags_and_metadata(defs):
    m = defs.manifest
    assert m["enable_external_mqtt"] is False
    assert m["enable_global_errors"] is True
    assert "://" in m["metadata"]["license"] and "Apache-2.0" in m["metadata"]["license"]
    assert m["metadata"]["authors"] == ["ocpp-bridge developers"]


def test_config_defaults_cover_every_option(defs):
    assert defs.config_defaults() == CONFIG_DEFAULTS


def test_config_options_are_typed_and_described(defs):
    python_type = {"string": str, "integer": int, "boolean": bool, "number": (int, float)}
    options = defs.config_options()
    assert set(options) == set(CONFIG_DEFAULTS)
    for name, opt in options.items():
        assert set(opt) == {"type", "description", "default"}
        assert len(opt["description"]) >= 10, name
        default = opt["default"]
        assert isinstance(default, python_type[opt["type"]]), name
        if opt["type"] != "boolean":
            assert not isinstance(default, bool), name


def test_requires_fills_connection_defaults(tmp_path):
    root = _copy_root(tmp_path)
    manifest = yaml.safe_load((root / "manifest.yaml").read_text())
    manifest["requires"]["reservation"] = {"interface": "reservation"}
    (root / "manifest.yaml").write_text(yaml.safe_dump(manifest))
    req = Definitions.load(root).requires()["reservation"]
    assert req == {"interface": "reservation", "min_connections": 1, "max_connections": 1}


# --------------------------------------------------------------------------- lookups

def test_commands_and_variables(defs):
    cmds = defs.commands("ocpp")
    assert set(cmds) == {"stop", "restart", "security_event", "get_variables", "set_variables",
                         "change_availability", "monitor_variables"}
    assert isinstance(cmds["set_variables"], Command)
    assert set(cmds["set_variables"].arguments) == {"requests", "source"}
    assert cmds["monitor_variables"].result is None
    assert cmds["stop"].result["type"] == "boolean"
    assert defs.variables("ocpp_1_6_charge_point")["configuration_key"]["$ref"] == "/ocpp#/KeyValue"
    auth = defs.commands("auth")
    assert set(auth) == {"set_connection_timeout", "set_master_pass_group_id", "withdraw_authorization"}
    timeout = auth["set_connection_timeout"]
    assert {a: s["type"] for a, s in timeout.arguments.items()} == {"connection_timeout": "integer"}
    assert timeout.result is None
    assert defs.commands("auth")["withdraw_authorization"].result["$ref"] == "/authorization#/WithdrawAuthorizationResult"


def test_unknown_interface_is_a_definition_error(defs):
    with pytest.raises(DefinitionError):
        defs.commands("no_such_interface")


# --------------------------------------------------------------------------- arguments

def test_valid_arguments_pass(defs):
    defs.check_arguments("ocpp", "get_variables", {"requests": [{"component_variable": CV}]})
    defs.check_arguments("ocpp", "set_variables",
                         {"requests": [{"component_variable": CV, "value": "30"}], "source": "x"})
    defs.check_arguments("ocpp_1_6_charge_point", "set_configuration_key",
                         {"key": "HeartbeatInterval", "value": "30"})
    defs.check_arguments("auth", "set_connection_timeout", {"connection_timeout": 60})


def test_no_arguments_accepts_none_and_empty(defs):
    defs.check_arguments("ocpp", "stop", None)
    defs.check_arguments("ocpp", "stop", {})
    with pytest.raises(ValidationFailure, match="unknown argument 'force'"):
        defs.check_arguments("ocpp", "stop", {"force": True})


def test_nested_missing_property_names_the_field(defs):
    bad = {"requests": [{"component_variable": {"component": {"name": ""}}}]}
    with pytest.raises(ValidationFailure) as info:
        defs.check_arguments("ocpp", "get_variables", bad)
    assert str(info.value) == \
        "argument 'requests': [0].component_variable: 'variable' is a required property"


def test_missing_argument_fails(defs):
    with pytest.raises(ValidationFailure, match="missing argument 'source'"):
        defs.check_arguments("ocpp", "set_variables", {"requests": []})


def test_extra_argument_fails(defs):
    with pytest.raises(ValidationFailure, match="unknown argument 'bogus'"):
        defs.check_arguments("ocpp", "get_variables", {"requests": [], "bogus": 1})


def test_wrong_type_fails(defs):
    with pytest.raises(ValidationFailure) as info:
        defs.check_arguments("auth", "set_connection_timeout", {"connection_timeout": "60"})
    assert "argument 'connection_timeout'" in str(info.value)
    assert "'60' is not of type 'integer'" in str(info.value)


def test_bad_enum_names_the_field(defs):
    with pytest.raises(ValidationFailure) as info:
        defs.check_arguments("ocpp", "change_availability",
                             {"request": {"operational_status": "Broken"}})
    assert str(info.value).startswith("argument 'request': operational_status: 'Broken'")


def test_arguments_must_be_an_object(defs):
    with pytest.raises(ValidationFailure, match="must be an object"):
        defs.check_arguments("ocpp", "get_variables", [{"component_variable": CV}])


def test_unknown_command_fails(defs):
    with pytest.raises(ValidationFailure, match="no command 'reboot'"):
        defs.check_arguments("ocpp", "reboot", {})


@pytest.mark.parametrize("stamp", [
    "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123+02:00", "2024-02-29T23:59:60z",
])
def test_good_date_time_passes(defs, stamp):
    defs.check_arguments("ocpp", "security_event",
                         {"event": {"type": "SettingSystemTime", "timestamp": stamp}})


@pytest.mark.parametrize("stamp", [
    "yesterday", "2024-05-01", "2024-05-01 12:00:00Z", "2024-05-01T12:00:00",
    "2023-02-29T12:00:00Z", "2024-13-01T12:00:00Z", "2024-05-01T24:00:00Z",
    "2024-05-01T12:00:00+25:00",
])
def test_bad_date_time_fails(defs, stamp):
    with pytest.raises(ValidationFailure) as info:
        defs.check_arguments("ocpp", "security_event",
                             {"event": {"type": "SettingSystemTime", "timestamp": stamp}})
    assert "timestamp" in str(info.value) and "date-time" in str(info.value)


def test_ref_inside_type_file_resolves(defs):
    """EventData -> /ocpp#/ComponentVariable -> /ocpp#/Component -> /ocpp#/EVSE (minimum 1)."""
    event = {"component_variable": {"component": {"name": "C", "evse": {"id": 0}},
                                    "variable": {"name": "V"}},
             "event_id": 0, "timestamp": "2024-05-01T12:00:00Z", "trigger": "Alerting",
             "actual_value": "1", "event_notification_type": "CustomMonitor"}
    with pytest.raises(ValidationFailure) as info:
        defs.check_variable("ocpp", "event_data", event)
    assert "component_variable.component.evse.id" in str(info.value)
    event["component_variable"]["component"]["evse"]["id"] = 1
    defs.check_variable("ocpp", "event_data", event)


def test_ref_across_type_files_resolves(defs):
    """OcppTransactionEventResponse -> /text_message#/MessageContent (content required)."""
    value = {"original_transaction_event": {"transaction_event": "Started", "session_id": "s"},
             "personal_message": {"format": "UTF8"}}
    with pytest.raises(ValidationFailure, match="personal_message: 'content' is a required"):
        defs.check_variable("ocpp", "ocpp_transaction_event_response", value)
    value["personal_message"]["content"] = "hello"
    defs.check_variable("ocpp", "ocpp_transaction_event_response", value)


# --------------------------------------------------------------------------- results, vars

def test_result_checks(defs):
    defs.check_result("ocpp", "stop", True)
    with pytest.raises(ValidationFailure, match="result"):
        defs.check_result("ocpp", "stop", "yes")
    with pytest.raises(ValidationFailure, match=r"result: \[0\]\.status: 'Bogus'"):
        defs.check_result("ocpp", "set_variables", [{"status": "Bogus", "component_variable": CV}])
    defs.check_result("ocpp", "set_variables", [{"status": "Accepted", "component_variable": CV}])
    defs.check_result("ocpp_1_6_charge_point", "set_configuration_key", "NotSupported")
    with pytest.raises(ValidationFailure):
        defs.check_result("ocpp_1_6_charge_point", "set_configuration_key", "Maybe")


def test_command_without_result_must_return_none(defs):
    defs.check_result("ocpp", "monitor_variables", None)
    with pytest.raises(ValidationFailure, match="returns nothing"):
        defs.check_result("ocpp", "monitor_variables", True)


def test_variable_checks(defs):
    defs.check_variable("ocpp", "is_connected", False)
    with pytest.raises(ValidationFailure, match="variable 'is_connected'"):
        defs.check_variable("ocpp", "is_connected", "no")
    defs.check_variable("ocpp_1_6_charge_point", "configuration_key",
                        {"key": "HeartbeatInterval", "read_only": False, "value": "30"})
    with pytest.raises(ValidationFailure, match="Additional properties"):
        defs.check_variable("ocpp_1_6_charge_point", "configuration_key",
                            {"key": "K", "read_only": False, "extra": 1})
    with pytest.raises(ValidationFailure, match="no variable 'nope'"):
        defs.check_variable("ocpp", "nope", 1)


def test_required_interface_variable(defs):
    defs.check_variable("evse_manager", "session_event", {
        "uuid": "u1", "event": "TransactionStarted", "timestamp": "2024-05-01T12:00:00Z",
        "transaction_started": {"id_tag": {"id_token": {"value": "TAG", "type": "ISO14443"},
                                           "authorization_type": "RFID"},
                                "meter_value": {"timestamp": "2024-05-01T12:00:00Z",
                                                "energy_Wh_import": {"total": 12.5}}}})
    with pytest.raises(ValidationFailure, match="event"):
        defs.check_variable("evse_manager", "session_event",
                            {"uuid": "u1", "event": "Exploded", "timestamp": "2024-05-01T12:00:00Z"})


# --------------------------------------------------------------------------- broken definitions

def _copy_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for folder in ("interfaces", "types", "errors"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copy(ROOT / "manifest.yaml", root / "manifest.yaml")
    return root


def test_missing_interface_file_is_a_definition_error(tmp_path):
    root = _copy_root(tmp_path)
    (root / "interfaces" / "reservation.yaml").unlink()
    with pytest.raises(DefinitionError, match="reservation"):
        Definitions.load(root)


def test_unresolvable_ref_is_a_definition_error(tmp_path):
    root = _copy_root(tmp_path)
    path = root / "types" / "ocpp.yaml"
    path.write_text(path.read_text().replace("/ocpp#/Variable\n", "/ocpp#/NoSuchType\n"))
    with pytest.raises(DefinitionError, match="NoSuchType"):
        Definitions.load(root)


def test_broken_yaml_is_a_definition_error(tmp_path):
    root = _copy_root(tmp_path)
    (root / "manifest.yaml").write_text("description: [unclosed\n")
    with pytest.raises(DefinitionError, match="YAML"):
        Definitions.load(root)


def test_missing_root_is_a_definition_error(tmp_path):
    with pytest.raises(DefinitionError):
        Definitions.load(tmp_path / "nothing-here")


def test_every_type_of_every_type_file_resolves(defs):
    """EVerest's full type files reference each other widely; each type and everything it reaches loads."""
    resolver = defs._registry.resolver()
    count = 0
    for path in _files("types"):
        for name in yaml.safe_load(path.read_text()).get("types") or {}:
            defs._check_ref(resolver, f"/{path.stem}#/{name}", path.name, seen=set())
            count += 1
    assert count > 250


# --------------------------------------------------------------------------- where the definitions are

def _package(base: Path, *, packaged: bool, checkout: bool) -> Path:
    """A package folder ``base/module/ocpp_bridge`` with or without the wheel's copy and a checkout."""
    package = base / "module" / "ocpp_bridge"
    package.mkdir(parents=True)
    if packaged:
        (package / "definitions").mkdir()
        (package / "definitions" / "manifest.yaml").write_text("description: packaged\n")
    if checkout:
        (base / "manifest.yaml").write_text("description: checkout\n")
    return package


def test_the_packaged_definitions_come_first_then_the_checkout(tmp_path):
    from ocpp_bridge.paths import find_root

    both = _package(tmp_path / "a", packaged=True, checkout=True)
    assert find_root({}, both) == both / "definitions"
    tree = _package(tmp_path / "b", packaged=False, checkout=True)
    assert find_root({}, tree) == tmp_path / "b"
    assert find_root({"OCPP_BRIDGE_HOME": str(tmp_path / "b")}, both) == (tmp_path / "b").resolve()


def test_missing_or_broken_definitions_name_the_path(tmp_path):
    from ocpp_bridge.paths import DefinitionsNotFound, find_root

    nothing = _package(tmp_path / "a", packaged=False, checkout=False)
    with pytest.raises(DefinitionsNotFound, match=str(nothing / "definitions")):
        find_root({}, nothing)
    broken = _package(tmp_path / "b", packaged=True, checkout=True)
    (broken / "definitions" / "manifest.yaml").unlink()
    with pytest.raises(DefinitionsNotFound, match=f"{broken / 'definitions'} has no manifest.yaml"):
        find_root({}, broken)  # a broken install is not hidden by a checkout next to it
    with pytest.raises(DefinitionsNotFound, match=f"OCPP_BRIDGE_HOME={tmp_path}: no manifest.yaml"):
        find_root({"OCPP_BRIDGE_HOME": str(tmp_path)}, broken)
