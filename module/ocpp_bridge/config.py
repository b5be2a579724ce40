"""The module's settings: an EVerest run config (or the manager's answer) + manifest defaults.

Owns turning "where does my configuration come from" into one ``Settings`` object: the
broker, the prefix, our module id, every ``config:`` option of ``manifest.yaml`` (defaults
filled in, types checked) and the connections of our requirements. Nothing here connects
to anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ocpp_bridge import yaml_load
from ocpp_bridge.ocpp_versions import parse_offered

MODULE_NAME = "OcppBridge"

_TYPES: dict[str, type | tuple[type, ...]] = {"boolean": bool, "integer": int, "number": (int, float), "string": str}


class ConfigError(Exception):
    """The configuration cannot be used; the message says why."""


@dataclass(frozen=True)
class Connection:
    """One fulfilment of a requirement: ``module_id``'s implementation ``implementation_id``."""

    module_id: str
    implementation_id: str
    evse: int | None = None  # the EVSE the connected implementation is mapped to (run config ``mapping``)


@dataclass(frozen=True)
class Settings:
    module_id: str
    prefix: str = "everest/"
    broker_host: str = "localhost"
    broker_port: int = 1883
    broker_socket: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    connections: dict[str, list[Connection]] = field(default_factory=dict)
    impl_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # impl id -> its options

    def __getitem__(self, option: str) -> Any:
        return self.options[option]

    @property
    def ocpp_version(self) -> str:
        return str(self.options["OcppVersion"])

    @property
    def central_system_url(self) -> str:
        base = str(self.options["CentralSystemURI"]).rstrip("/")
        return f"{base}/{self.options['ChargePointId']}"


def _typed_options(given: dict[str, Any], declared: dict[str, dict], what: str) -> dict[str, Any]:
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ConfigError(f"unknown {what}(s) {unknown}; known: {sorted(declared)}")
    options: dict[str, Any] = {}
    for name, spec in declared.items():
        value = given.get(name, spec.get("default"))
        if value is None:
            raise ConfigError(f"{what} {name} has no value and no default")
        expected = _TYPES[spec["type"]]
        if isinstance(value, bool) and spec["type"] in ("integer", "number"):
            raise ConfigError(f"{what} {name} must be {spec['type']}, got {value!r}")
        if spec["type"] == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # YAML reads 1.6 as a number; the option is a string
        if not isinstance(value, expected):
            raise ConfigError(f"{what} {name} must be {spec['type']}, got {value!r}")
        options[name] = value
    return options


def resolve_impl_options(given: dict[str, dict], declared: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """Per implementation (``config_implementation`` / the manager's ``<impl>`` parameters):
    defaults + given values of the ``config:`` each ``provides:`` entry declares."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ConfigError(f"options for unknown implementation(s) {unknown}")
    return {impl: _typed_options(given.get(impl) or {}, spec, f"option of implementation {impl}")
            for impl, spec in declared.items()}


def resolve_options(given: dict[str, Any], declared: dict[str, dict]) -> dict[str, Any]:
    """Manifest defaults + given values, every value checked against its declared type."""
    options = _typed_options(given, declared, "config option")
    if str(options.get("OcppVersion")) not in ("1.6", "2.0.1", "auto"):
        raise ConfigError(f"OcppVersion must be \"1.6\", \"2.0.1\" or \"auto\", got {options.get('OcppVersion')!r}")
    if options.get("OcppVersion") == "auto":
        try:
            parse_offered(str(options.get("AutoOcppVersions", "")))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if options.get("EverestProtocol") not in ("2025.12", "2024.11"):
        raise ConfigError(f"EverestProtocol must be \"2025.12\" or \"2024.11\", got {options.get('EverestProtocol')!r}")
    if options.get("RequestCompositeScheduleUnit", "A") not in ("A", "W"):
        raise ConfigError(f"RequestCompositeScheduleUnit must be \"A\" or \"W\", "
                          f"got {options.get('RequestCompositeScheduleUnit')!r}")
    for name in ("PublishChargingScheduleIntervalS", "PublishChargingScheduleDurationS"):
        if options.get(name, 0) < 0:
            raise ConfigError(f"{name} must not be negative")
    profile = options.get("SecurityProfile")
    if profile not in (0, 1, 2, 3):
        raise ConfigError("SecurityProfile must be 0 (no auth), 1 (HTTP Basic auth), 2 (TLS + HTTP Basic auth) "
                          "or 3 (mutual TLS)")
    if options.get("NetworkProfileConnectionAttempts", 1) < 1:
        raise ConfigError("NetworkProfileConnectionAttempts must be at least 1")
    scheme = str(options.get("CentralSystemURI", "")).split(":", 1)[0].lower()
    if profile in (2, 3) and scheme != "wss":
        raise ConfigError(f"SecurityProfile {profile} needs a wss:// CentralSystemURI, got {scheme}://")
    return options


MappingOf = Callable[[str, str], "int | None"]  # (module id, implementation id) -> its EVSE


def parse_connections(raw: dict | None, requires: dict[str, dict],
                      mapping_of: MappingOf = lambda module_id, impl_id: None) -> dict[str, list[Connection]]:
    raw = raw or {}
    result: dict[str, list[Connection]] = {}
    for req_id, spec in requires.items():
        entries = raw.get(req_id) or []
        conns = [Connection(str(e["module_id"]), str(e["implementation_id"]),
                            mapping_of(str(e["module_id"]), str(e["implementation_id"]))) for e in entries]
        low, high = spec.get("min_connections", 1), spec.get("max_connections", 1)
        if not low <= len(conns) <= high:
            raise ConfigError(f"requirement {req_id!r} needs {low}..{high} connections, got {len(conns)}")
        result[req_id] = conns
    extra = sorted(set(raw) - set(requires))
    if extra:
        raise ConfigError(f"connections for unknown requirement(s) {extra}")
    return result


def impl_config_options(manifest: dict) -> dict[str, dict[str, dict]]:
    """Implementation id -> the ``config:`` options its ``provides:`` entry declares."""
    return {impl: dict((spec or {}).get("config") or {})
            for impl, spec in (manifest.get("provides") or {}).items()}


def build_settings(where: Settings, *, options: dict[str, Any], connections: dict | None,
                   declared: dict[str, dict], requires: dict[str, dict],
                   impl_options: dict[str, dict] | None = None,
                   impl_declared: dict[str, dict[str, dict]] | None = None,
                   mapping_of: MappingOf = lambda module_id, impl_id: None) -> Settings:
    """``where`` (module id, prefix, broker) completed with given values, wherever they came
    from (a run-config file or a manager): options checked against the manifest, connections
    against its requirements (each with its EVSE mapping, where ``mapping_of`` knows one)."""
    return replace(
        where,
        prefix=where.prefix if where.prefix.endswith("/") else where.prefix + "/",
        options=resolve_options(options, declared),
        connections=parse_connections(connections, requires, mapping_of),
        impl_options=resolve_impl_options(impl_options or {}, impl_declared) if impl_declared is not None else {},
    )


def load_run_config(path: str | Path, module_id: str | None, declared: dict[str, dict],
                    requires: dict[str, dict], env: Mapping[str, str] | None = None,
                    impl_declared: dict[str, dict[str, dict]] | None = None) -> Settings:
    """Read an EVerest run-config YAML file and build our Settings."""
    environment: Mapping[str, str] = os.environ if env is None else env
    try:
        doc = yaml_load.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read run config {path}: {exc}") from None
    modules = doc.get("active_modules") or {}
    ours = [mid for mid, m in modules.items() if isinstance(m, dict) and m.get("module") == MODULE_NAME]
    if module_id is None:
        if len(ours) != 1:
            raise ConfigError(f"{path}: {len(ours)} modules of type {MODULE_NAME} ({ours}); pass --module")
        module_id = ours[0]
    entry = modules.get(module_id)
    if not isinstance(entry, dict) or entry.get("module") != MODULE_NAME:
        raise ConfigError(f"{path}: no active module {module_id!r} with module: {MODULE_NAME}")
    settings = doc.get("settings") or {}
    host = str(environment.get("MQTT_SERVER_ADDRESS") or settings.get("mqtt_broker_host") or "localhost")
    port = int(environment.get("MQTT_SERVER_PORT") or settings.get("mqtt_broker_port") or 1883)
    prefix = str(settings.get("mqtt_everest_prefix") or "everest")
    socket_path = settings.get("mqtt_broker_socket_path") if environment.get("MQTT_SERVER_ADDRESS") is None else None
    where = Settings(module_id, prefix=prefix, broker_host=host, broker_port=port, broker_socket=socket_path)
    return build_settings(
        where, options=entry.get("config_module") or {}, connections=entry.get("connections"),
        declared=declared, requires=requires,
        impl_options=entry.get("config_implementation") or {}, impl_declared=impl_declared,
        mapping_of=lambda mid, impl: run_config_mapping(modules, mid, impl),
    )


def run_config_mapping(modules: dict, module_id: str, impl_id: str) -> int | None:
    """The EVSE a run config maps ``module_id``'s implementation ``impl_id`` to: its
    ``mapping.implementations.<impl>.evse``, else the module's ``mapping.module.evse``, else None."""
    entry = modules.get(module_id)
    mapping = entry.get("mapping") if isinstance(entry, dict) else None
    if not isinstance(mapping, dict):
        return None
    impls = mapping.get("implementations")
    for found in (impls.get(impl_id) if isinstance(impls, dict) else None, mapping.get("module")):
        if isinstance(found, dict) and isinstance(found.get("evse"), int) and not isinstance(found["evse"], bool):
            return int(found["evse"])
    return None
