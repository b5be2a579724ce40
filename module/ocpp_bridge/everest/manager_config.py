"""Configuration delivered by an EVerest manager over MQTT (everest.md §1.5). PURE.

Owns the request a module sends for its own configuration, reading the manager's answer,
and turning the answer's ``module_config`` into what ``config.py`` understands: the module
options, the options of each implementation and the connections of each requirement. It
never touches a socket and never checks option values against the manifest
(``config.py`` does that).

Forms (framework >= 0.22; the module publishes on ``<p>config/request`` and the manager
answers on ``<p>modules/<id>/response``):

- ``"2025.12"`` (G3) request ``{"msg_type":"GetConfig","data":{"type":"Get","origin":<id>,
  "request":{"type":"Module"}}}``; answer ``{"msg_type":"GetConfigResponse","data":R}``.
- ``"2024.11"`` (G2c) the same JSON without the envelope: request ``{"type":"Get",...}``,
  answer ``R``.

``R = {"status":"Ok","status_info"?:"","type":"Get","response":{"type":"Module","data":
{"module_config":MC,"mappings":{...},"telemetry_config"?:{...}}}}``. In ``MC``,
``configuration_parameters`` is ``{"!module":[P],"<impl>":[P]}`` with
``P = {name, value, characteristics{datatype, mutability, unit?}}`` (defaults merged) and
``connections`` is ``{<req>:[{module_id, implementation_id, requirement{id, index?}}]}``.

The manager's retained definition topics (``<p>settings`` and the like) are wrapped in the
G3 envelope or not, which tells a module which generation the manager speaks before it asks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ocpp_bridge.everest.protocol import G2, G3, GENERATIONS, Outgoing, normalise_prefix

MODULE_PARAMETERS = "!module"


class ManagerConfigError(Exception):
    """The manager's answer cannot be used; the message says why."""


@dataclass(frozen=True)
class ModuleConfig:
    """What the manager told us about ourselves."""

    module_id: str
    module_name: str
    generation: str                      # the form the answer came in
    standalone: bool = False
    module_options: dict[str, Any] = field(default_factory=dict)
    impl_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    connections: dict[str, list[dict]] = field(default_factory=dict)  # req -> [{module_id, implementation_id}]


# --------------------------------------------------------------------------- topics
def request_topic(prefix: str) -> str:
    return f"{normalise_prefix(prefix)}config/request"


def response_topic(prefix: str, module_id: str) -> str:
    return f"{normalise_prefix(prefix)}modules/{module_id}/response"


def settings_topic(prefix: str) -> str:
    """A retained definition topic the manager publishes before it starts any module."""
    return f"{normalise_prefix(prefix)}settings"


# --------------------------------------------------------------------------- request
def config_request(prefix: str, module_id: str, generation: str) -> Outgoing:
    if generation not in GENERATIONS:
        raise ValueError(f"unknown generation {generation!r}")
    body = {"type": "Get", "origin": module_id, "request": {"type": "Module"}}
    payload = {"msg_type": "GetConfig", "data": body} if generation == G3 else body
    return Outgoing(request_topic(prefix), json.dumps(payload, separators=(",", ":")))


def generation_of(payload: bytes) -> str | None:
    """The generation of a retained definition message: G3 wraps it, G2 does not."""
    try:
        msg = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(msg, dict) and "msg_type" in msg:
        return G3 if msg.get("msg_type") == "GetConfigResponse" else None
    return G2 if msg is not None else None


# --------------------------------------------------------------------------- response
def decode_response(payload: bytes, module_id: str, module_name: str) -> ModuleConfig:
    """Read the manager's answer to our ``Module`` request (either generation)."""
    try:
        msg = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManagerConfigError(f"the manager's answer is not JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise ManagerConfigError("the manager's answer is not an object")
    generation = G2
    if "msg_type" in msg:
        if msg["msg_type"] != "GetConfigResponse":
            raise ManagerConfigError(f"the manager's answer has msg_type {msg['msg_type']!r}")
        msg, generation = msg.get("data"), G3
        if not isinstance(msg, dict):
            raise ManagerConfigError("the manager's GetConfigResponse has no data object")
    if msg.get("status") != "Ok":
        info = msg.get("status_info") or ""
        raise ManagerConfigError(f"the manager answered status {msg.get('status')!r} {info}".rstrip())
    response = msg.get("response")
    if not isinstance(response, dict) or response.get("type") != "Module":
        raise ManagerConfigError(f"the manager's answer is not a Module response: {_short(response)}")
    data = response.get("data")
    mc = data.get("module_config") if isinstance(data, dict) else None
    if not isinstance(mc, dict):
        raise ManagerConfigError("the manager's answer has no module_config")
    if mc.get("module_id") != module_id:
        raise ManagerConfigError(f"the manager's answer is for module {mc.get('module_id')!r}, not {module_id!r}")
    if mc.get("module_name") != module_name:
        raise ManagerConfigError(
            f"module {module_id!r} is a {mc.get('module_name')!r} in the manager's config, not a {module_name}")
    module_options, impl_options = _parameters(mc.get("configuration_parameters"))
    return ModuleConfig(
        module_id=module_id, module_name=module_name, generation=generation,
        standalone=bool(mc.get("standalone", False)),
        module_options=module_options, impl_options=impl_options,
        connections=_connections(mc.get("connections")),
    )


def _parameters(raw: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    if raw is None:
        return {}, {}
    if not isinstance(raw, dict):
        raise ManagerConfigError("configuration_parameters is not an object")
    module: dict[str, Any] = {}
    impls: dict[str, dict[str, Any]] = {}
    for owner, params in raw.items():
        if not isinstance(params, list):
            raise ManagerConfigError(f"configuration_parameters[{owner!r}] is not a list")
        values: dict[str, Any] = {}
        for p in params:
            if not isinstance(p, dict) or not isinstance(p.get("name"), str) or "value" not in p:
                raise ManagerConfigError(f"bad configuration parameter of {owner!r}: {_short(p)}")
            values[p["name"]] = p["value"]
        if owner == MODULE_PARAMETERS:
            module = values
        else:
            impls[owner] = values
    return module, impls


def _connections(raw: Any) -> dict[str, list[dict]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ManagerConfigError("connections is not an object")
    out: dict[str, list[dict]] = {}
    for req, entries in raw.items():
        if not isinstance(entries, list):
            raise ManagerConfigError(f"connections[{req!r}] is not a list")
        indexed = []
        for position, e in enumerate(entries):
            if not isinstance(e, dict) or not isinstance(e.get("module_id"), str) \
                    or not isinstance(e.get("implementation_id"), str):
                raise ManagerConfigError(f"bad connection of {req!r}: {_short(e)}")
            requirement = e.get("requirement")
            index = requirement.get("index", position) if isinstance(requirement, dict) else position
            indexed.append((index if isinstance(index, int) else position, position,
                            {"module_id": e["module_id"], "implementation_id": e["implementation_id"]}))
        out[req] = [entry for _i, _p, entry in sorted(indexed, key=lambda t: (t[0], t[1]))]
    return out


def _short(value: Any, limit: int = 200) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."
