"""Validation against the official OCA schemas shipped in the ``ocpp`` package."""

import copy
import json
import subprocess
import sys

import pytest
from jsonschema import Draft4Validator

from ocpp_bridge.ocpp import schemas
from ocpp_bridge.ocpp.schemas import OcppSchemas, SchemaViolation, UnknownAction, is_rfc3339_date_time

METER_VALUES_16 = {
    "connectorId": 1,
    "transactionId": 42,
    "meterValue": [{
        "timestamp": "2024-05-01T12:00:00.123Z",
        "sampledValue": [
            {"value": "1234.5", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "21.4", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
        ],
    }],
}

SET_PROFILE_16 = {
    "connectorId": 1,
    "csChargingProfiles": {
        "chargingProfileId": 7,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}, {"startPeriod": 60, "limit": 6}],
        },
    },
}

TRANSACTION_EVENT_201 = {
    "eventType": "Updated",
    "timestamp": "2024-05-01T12:00:00+02:00",
    "triggerReason": "MeterValuePeriodic",
    "seqNo": 3,
    "transactionInfo": {"transactionId": "tx-1", "chargingState": "Charging"},
    "evse": {"id": 1, "connectorId": 1},
    "meterValue": [{
        "timestamp": "2024-05-01T12:00:00Z",
        "sampledValue": [{"value": 1234.5, "measurand": "Energy.Active.Import.Register"}],
    }],
}


@pytest.fixture(scope="module")
def v16():
    return OcppSchemas("1.6")


@pytest.fixture(scope="module")
def v201():
    return OcppSchemas("2.0.1")


def violation(check, action, payload):
    with pytest.raises(SchemaViolation) as info:
        check(action, payload)
    return info.value


# ------------------------------------------------------------------ actions

def test_knows_the_actions_of_each_version(v16, v201):
    assert len(v16.actions) == 39 and len(v201.actions) == 64
    assert v16.knows("MeterValues") and v16.knows("StartTransaction")
    assert not v16.knows("MeterValuesResponse") and not v16.knows("TransactionEvent")
    assert v201.knows("TransactionEvent") and v201.knows("Heartbeat")
    assert not v201.knows("StartTransaction") and not v201.knows("TransactionEventRequest")


def test_unknown_action_and_version(v16):
    with pytest.raises(UnknownAction):
        v16.check_request("TransactionEvent", {})
    with pytest.raises(ValueError):
        OcppSchemas("2.1")


def test_every_schema_file_compiles():
    assert schemas.warm_up("1.6") == 78
    assert schemas.warm_up("2.0.1") == 128


def test_validators_are_built_once_and_shared():
    OcppSchemas("1.6").check_request("Heartbeat", {})
    first = schemas._CACHE[("1.6", "Heartbeat", "request")]
    OcppSchemas("1.6").check_request("Heartbeat", {})
    assert schemas._CACHE[("1.6", "Heartbeat", "request")] is first


def test_reads_the_json_files_without_importing_the_ocpp_package():
    code = ("import sys; from ocpp_bridge.ocpp import schemas; schemas.warm_up('1.6'); "
            "schemas.warm_up('2.0.1'); print('ocpp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ valid payloads

def test_valid_requests_and_responses_pass(v16, v201):
    v16.check_request("MeterValues", METER_VALUES_16)
    v16.check_request("SetChargingProfile", SET_PROFILE_16)
    v16.check_response("BootNotification",
                       {"status": "Accepted", "currentTime": "2024-05-01T12:00:00Z", "interval": 300})
    v201.check_request("TransactionEvent", TRANSACTION_EVENT_201)
    v201.check_response("BootNotification",
                        {"status": "Pending", "currentTime": "2024-05-01T12:00:00Z", "interval": 10})


def test_multiple_of_uses_decimal_semantics(v16):
    schema = json.loads((schemas.schema_dir("1.6") / "SetChargingProfile.json").read_text())
    # Plain float arithmetic gets this wrong, which is why the test matters:
    assert not Draft4Validator(schema).is_valid(SET_PROFILE_16)
    v16.check_request("SetChargingProfile", SET_PROFILE_16)
    for ok in (0, 6, 0.1, 0.3, 16.1, 1234.5, 99999.9, 1e27, 1e300, 2 ** 63):  # big ones: found by fuzzing
        payload = copy.deepcopy(SET_PROFILE_16)
        payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = ok
        v16.check_request("SetChargingProfile", payload)
    for bad in (21.45, 0.05, 1e-9):
        payload = copy.deepcopy(SET_PROFILE_16)
        payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = bad
        err = violation(v16.check_request, "SetChargingProfile", payload)
        assert err.kind == "property"
        assert err.path == "/csChargingProfiles/chargingSchedule/chargingSchedulePeriod/0/limit"


# ------------------------------------------------------------------ error kinds

def test_wrong_json_type_is_type(v16, v201):
    err = violation(v16.check_request, "MeterValues", {**METER_VALUES_16, "connectorId": "1"})
    assert (err.kind, err.path) == ("type", "/connectorId")
    assert violation(v16.check_request, "MeterValues", {**METER_VALUES_16, "connectorId": 1.5}).kind == "type"
    assert violation(v16.check_request, "MeterValues", {**METER_VALUES_16, "connectorId": True}).kind == "type"
    assert violation(v201.check_request, "TransactionEvent", {**TRANSACTION_EVENT_201, "seqNo": "3"}).kind == "type"
    assert violation(v201.check_request, "Heartbeat", []).kind == "type"


def test_missing_field_and_cardinality_are_occurrence(v16, v201):
    missing = {k: v for k, v in METER_VALUES_16.items() if k != "meterValue"}
    assert violation(v16.check_request, "MeterValues", missing).kind == "occurrence"
    assert violation(v16.check_request, "MeterValues", {**METER_VALUES_16, "meterValue": []}).kind == "occurrence"
    event = copy.deepcopy(TRANSACTION_EVENT_201)
    del event["transactionInfo"]["transactionId"]
    err = violation(v201.check_request, "TransactionEvent", event)
    assert (err.kind, err.path) == ("occurrence", "/transactionInfo")


def test_unknown_field_is_format(v16, v201):
    assert violation(v16.check_request, "Heartbeat", {"x": 1}).kind == "format"
    event = copy.deepcopy(TRANSACTION_EVENT_201)
    event["evse"]["colour"] = "red"
    err = violation(v201.check_request, "TransactionEvent", event)
    assert (err.kind, err.path) == ("format", "/evse")


def test_invalid_values_are_property(v16, v201):
    assert violation(v16.check_response, "BootNotification",
                     {"status": "Maybe", "currentTime": "2024-05-01T12:00:00Z", "interval": 1}).kind == "property"
    long_vendor = {"chargePointVendor": "v" * 21, "chargePointModel": "m"}
    err = violation(v16.check_request, "BootNotification", long_vendor)
    assert (err.kind, err.path) == ("property", "/chargePointVendor")
    bad_evse = copy.deepcopy(TRANSACTION_EVENT_201)
    bad_evse["transactionInfo"]["transactionId"] = "t" * 37
    assert violation(v201.check_request, "TransactionEvent", bad_evse).kind == "property"


def test_bad_date_time_is_property_even_though_the_ocpp_package_lets_it_pass(v16, v201):
    for stamp in ("2024-05-01T12:00:00", "2024-05-01 12:00:00Z", "yesterday", "2024-02-30T00:00:00Z"):
        payload = copy.deepcopy(METER_VALUES_16)
        payload["meterValue"][0]["timestamp"] = stamp
        err = violation(v16.check_request, "MeterValues", payload)
        assert (err.kind, err.path) == ("property", "/meterValue/0/timestamp")
    assert violation(v201.check_request, "TransactionEvent",
                     {**TRANSACTION_EVENT_201, "timestamp": "2024-05-01T25:00:00Z"}).kind == "property"


def test_uri_format_is_checked(v16):
    good = {"location": "ftp://user:pw@example.com/logs", "retrieveDate": "2024-05-01T12:00:00Z"}
    OcppSchemas("1.6").check_request("UpdateFirmware", good)
    for location in ("not a uri", "//no-scheme/path", ""):
        assert violation(v16.check_request, "UpdateFirmware", {**good, "location": location}).kind == "property"


def test_violation_message_names_the_field(v16):
    err = violation(v16.check_request, "MeterValues", {**METER_VALUES_16, "connectorId": "1"})
    assert err.message.startswith("/connectorId:") and "integer" in err.message


# ------------------------------------------------------------------ RFC 3339

@pytest.mark.parametrize("text", [
    "2024-05-01T12:00:00Z", "2024-05-01t12:00:00z", "2024-05-01T12:00:00.5+02:00",
    "2024-05-01T12:00:00.123456789-23:59", "2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
    "1990-12-31T23:59:60Z",
])
def test_rfc3339_accepts(text):
    assert is_rfc3339_date_time(text)


@pytest.mark.parametrize("text", [
    "2024-05-01T12:00:00", "2024-05-01 12:00:00Z", "2024-05-01T12:00Z", "2024-5-01T12:00:00Z",
    "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z",
    "2024-04-31T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z", "2024-05-01T12:00:61Z",
    "2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00+02:60", "2024-05-01T12:00:00+0200",
    "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00Z ", "２０２４-05-01T12:00:00Z", "",
])
def test_rfc3339_refuses(text):
    assert not is_rfc3339_date_time(text)


# ------------------------------------------------------------------ $ref inlining

def test_inlined_schemas_have_no_refs_left_and_judge_like_the_originals():
    for version in ("1.6", "2.0.1"):
        for path in schemas.schema_dir(version).iterdir():
            assert "$ref" not in json.dumps(schemas._inline_refs(json.loads(path.read_text())))
    original = json.loads((schemas.schema_dir("2.0.1") / "TransactionEventRequest.json").read_text())
    inlined = schemas._inline_refs(original)
    cls = schemas._validator_class(original)
    slow = cls(original, format_checker=schemas._FORMAT_CHECKER)
    fast = cls(inlined, format_checker=schemas._FORMAT_CHECKER)
    cases = [TRANSACTION_EVENT_201]
    for path, value in [(("evse", "id"), "1"), (("transactionInfo", "chargingState"), "Flying"),
                        (("transactionInfo", "extra"), 1), (("meterValue", 0, "timestamp"), "now"),
                        (("meterValue", 0, "sampledValue"), []), (("evse",), {"connectorId": 1})]:
        case = copy.deepcopy(TRANSACTION_EVENT_201)
        target = case
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        cases.append(case)
    for case in cases:
        assert [(e.validator, list(e.absolute_path)) for e in slow.iter_errors(case)] == \
            [(e.validator, list(e.absolute_path)) for e in fast.iter_errors(case)]
    assert sum(1 for case in cases if not fast.is_valid(case)) == len(cases) - 1
