"""What a CSMS may send, as hypothesis strategies built from the official OCPP schemas.

Owns: the CSMS-initiated actions of each version (written out from the specifications,
not taken from the code under test), the version's CALLERROR vocabulary, schema-valid
request payloads (hypothesis-jsonschema on the ``ocpp`` package's JSON files), schema-
invalid ones (a valid payload broken by ``json_strategies.mutated``) and broken frames.

Generation speed: hypothesis-jsonschema rebuilds nested strategies on every draw, which
made one 2.0.1 example cost up to half a second. Two changes that keep every generated
payload valid against the real schema make it ~20 times faster: the strategy of each
sub-schema is built once and reused (``_cached_from_schema``), and generation uses a copy of
the schema with arrays capped at 3 items and the optional ``customData`` left out
(``customData`` is added back, at the top level, in some examples).
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from typing import Any

import hypothesis_jsonschema._from_schema as _hjs
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from json_strategies import NASTY_STRINGS, deep_json, json_objects, json_values, mutated

from ocpp_bridge.ocpp.schemas import schema_dir

CSMS_ACTIONS = {
    "1.6": [  # OCPP 1.6 edition 2 §5 and the security whitepaper (edition 3), CSMS -> charge point
        "CancelReservation", "CertificateSigned", "ChangeAvailability", "ChangeConfiguration", "ClearCache",
        "ClearChargingProfile", "DataTransfer", "DeleteCertificate", "ExtendedTriggerMessage",
        "GetCompositeSchedule", "GetConfiguration", "GetDiagnostics", "GetInstalledCertificateIds",
        "GetLocalListVersion", "GetLog", "InstallCertificate", "RemoteStartTransaction",
        "RemoteStopTransaction", "ReserveNow", "Reset", "SendLocalList", "SetChargingProfile",
        "SignedUpdateFirmware", "TriggerMessage", "UnlockConnector", "UpdateFirmware",
    ],
    "2.0.1": [  # OCPP 2.0.1 part 2, messages the CSMS sends
        "CancelReservation", "CertificateSigned", "ChangeAvailability", "ClearCache", "ClearChargingProfile",
        "ClearDisplayMessage", "ClearVariableMonitoring", "CostUpdated", "CustomerInformation", "DataTransfer",
        "DeleteCertificate", "GetBaseReport", "GetChargingProfiles", "GetCompositeSchedule",
        "GetDisplayMessages", "GetInstalledCertificateIds", "GetLocalListVersion", "GetLog",
        "GetMonitoringReport", "GetReport", "GetTransactionStatus", "GetVariables", "InstallCertificate",
        "PublishFirmware", "RequestStartTransaction", "RequestStopTransaction", "ReserveNow", "Reset",
        "SendLocalList", "SetChargingProfile", "SetDisplayMessage", "SetMonitoringBase", "SetMonitoringLevel",
        "SetNetworkProfile", "SetVariableMonitoring", "SetVariables", "TriggerMessage", "UnlockConnector",
        "UnpublishFirmware", "UpdateFirmware",
    ],
}

# OCPP-J 1.6 §4.2.3 and OCPP 2.0.1 part 4 §4.3: the codes a CALLERROR may carry.
VOCABULARY = {
    "1.6": {"NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError",
            "FormationViolation", "PropertyConstraintViolation", "OccurenceConstraintViolation",
            "TypeConstraintViolation", "GenericError"},
    "2.0.1": {"FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported", "NotImplemented",
              "NotSupported", "OccurrenceConstraintViolation", "PropertyConstraintViolation", "ProtocolError",
              "RpcFrameworkError", "SecurityError", "TypeConstraintViolation"},
}
# The codes that say "your payload breaks the schema": never the answer to a schema-valid one.
VALIDATION_CODES = {"FormationViolation", "FormatViolation", "PropertyConstraintViolation",
                    "OccurenceConstraintViolation", "OccurrenceConstraintViolation", "TypeConstraintViolation"}

MAX_ARRAY = 3


def _reuse_strategies() -> None:
    """Make hypothesis-jsonschema build the strategy of each sub-schema once, not per draw."""
    original = _hjs.__dict__["__from_schema"]
    if getattr(original, "reuses", False):
        return
    cache: dict[tuple, Any] = {}

    def cached(schema, *, alphabet, custom_formats):
        if custom_formats or not isinstance(schema, dict):
            return original(schema, alphabet=alphabet, custom_formats=custom_formats)
        key = (json.dumps(schema, sort_keys=True), id(alphabet))
        if key not in cache:
            cache[key] = original(schema, alphabet=alphabet, custom_formats=custom_formats)
        return cache[key]

    cached.reuses = True
    setattr(_hjs, "__from_schema", cached)


_reuse_strategies()


def request_schema(version: str, action: str) -> dict:
    name = f"{action}.json" if version == "1.6" else f"{action}Request.json"
    with open(schema_dir(version) / name, encoding="utf-8") as f:
        return json.load(f)


def _for_generation(node: Any) -> Any:
    """A copy that accepts a subset of what the schema accepts: short arrays, no customData."""
    if isinstance(node, list):
        return [_for_generation(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _for_generation(value) for key, value in node.items() if key != "customData"}
    if out.get("type") == "array":
        out["maxItems"] = max(out.get("minItems", 0), min(out.get("maxItems", MAX_ARRAY), MAX_ARRAY))
    return out


def _snap_to_multiples(value: Any, schema: dict, root: dict) -> Any:
    """``value`` with each float under a ``multipleOf`` made an exact decimal multiple:
    hypothesis-jsonschema builds 7 * 0.1 = 0.7000000000000001, which no validator accepts."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        schema = root.get("definitions", {}).get(ref.split("/")[-1], {})
    if isinstance(value, float) and "multipleOf" in schema:
        step = Decimal(repr(schema["multipleOf"]))
        return float((Decimal(repr(value)) / step).to_integral_value() * step)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        return {k: _snap_to_multiples(v, properties.get(k, {}), root) for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items", {})
        return [_snap_to_multiples(v, items if isinstance(items, dict) else {}, root) for v in value]
    return value


@functools.cache
def valid_payloads(version: str, action: str) -> st.SearchStrategy[dict]:
    schema = _for_generation(request_schema(version, action))
    for name in ("$id", "id"):  # the file's own identity: not a constraint
        schema.pop(name, None)
    base = from_schema(schema).map(lambda payload: _snap_to_multiples(payload, schema, schema))
    if version == "1.6":
        return base
    custom = st.fixed_dictionaries({"vendorId": st.text(min_size=1, max_size=20)}, optional={"x": json_values})
    return st.one_of(base, st.tuples(base, custom).map(lambda pair: {**pair[0], "customData": pair[1]}))


def invalid_payloads(version: str, action: str) -> st.SearchStrategy[dict]:
    return valid_payloads(version, action).flatmap(mutated)


def calls(version: str, payloads) -> st.SearchStrategy[tuple[str, dict]]:
    """(action, payload) for every CSMS-initiated action of ``version``."""
    return st.sampled_from(CSMS_ACTIONS[version]).flatmap(
        lambda action: st.tuples(st.just(action), payloads(version, action)))


def frame_text(unique_id: str, action: str, payload: dict) -> str:
    """A CALL as a CSMS writes it (``json.dumps`` escapes a lone surrogate as ``\\ud800``)."""
    return json.dumps([2, unique_id, action, payload])


_ids = st.one_of(st.text(min_size=1, max_size=36), st.just("x" * 37), st.just(""), st.integers(), st.none(),
                 st.sampled_from(NASTY_STRINGS))

broken_frames = st.one_of(
    st.text(max_size=60),                                                   # not JSON, or not an array
    json_values.map(json.dumps),
    st.tuples(st.sampled_from([0, 1, 5, 2.0, "2", -1, 2 ** 63]), _ids, st.text(max_size=10),
              json_objects).map(lambda t: json.dumps(list(t))),               # unknown message types
    st.tuples(_ids, st.text(max_size=30) | st.sampled_from(NASTY_STRINGS),
              json_values).map(lambda t: json.dumps([2, *t])),                 # CALLs with any id/action/payload
    st.lists(json_values, max_size=6).map(lambda xs: json.dumps([2, *xs])),  # CALLs of any length
    st.tuples(_ids, json_values).map(lambda t: json.dumps([3, *t])),         # CALLRESULTs nobody asked for
    st.tuples(_ids, json_values, json_values, json_values).map(lambda t: json.dumps([4, *t])),
    st.sampled_from([
        '[2,"id","Heartbeat",{}', "[2,'id','Heartbeat',{}]", '[2,"id","Reset",{"type":NaN}]',
        '[2,"id","Reset",{"type":Infinity}]', '[2,"id","GetConfiguration",{"key":["\\ud800"]}]',
        '[2,"\\ud800","GetConfiguration",{}]', '[2,"id","\\ud800",{}]', '[2,"id","GetConfiguration",{"\\udfff":1}]',
        '[2,"id","SendLocalList",{"listVersion":9223372036854775808,"updateType":"Full"}]',
        '[2,"id","SendLocalList",{"versionNumber":-9223372036854775809,"updateType":"Full"}]',
        '[2,"id","DataTransfer",{"vendorId":"v","data":1e400}]',
        '[2,"id","DataTransfer",{"vendorId":"v","data":' + deep_json(900) + "}]",
        deep_json(5000), '[2,"id","GetConfiguration",' + deep_json(90) + "]", "", "[]", "[2]", "null",
        '[3,"nobody",{"currentTime":"\\ud800"}]', '[4,"nobody","\\ud800","\\udc00",{"\\ud800":1}]',
    ]),
)
