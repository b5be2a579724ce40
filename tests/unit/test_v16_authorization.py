"""OCPP 1.6 authorization: validate_token (Authorize.req, cache, local list and the keys that
steer them), SendLocalList, GetLocalListVersion, ClearCache. Pure charge point, scripted CSMS."""

import pytest

from ocpp_bridge.ocpp.evse_events import IdToken
from support.cp16 import Rig

FUTURE = "2027-01-01T00:00:00Z"
PAST = "2025-01-01T00:00:00Z"


def validate(rig, tag):
    d = rig.cp.validate_token(IdToken(tag))
    rig.pump_answers()
    assert d.done, "validate_token did not resolve"
    return d.value


def test_online_authorize_and_cache_hit_while_offline(tmp_path):
    rig = Rig(tmp_path).boot()
    rig.answers["Authorize"] = {"idTagInfo": {"status": "Accepted", "expiryDate": FUTURE, "parentIdTag": "GROUP"}}
    assert validate(rig, "TAG1") == {"status": "Accepted", "expiry_time": FUTURE, "parent_id_token": "GROUP"}
    assert rig.calls("Authorize") == [{"idTag": "TAG1"}]
    rig.disconnect()
    assert validate(rig, "tag1")["status"] == "Accepted"  # cache, case-insensitive
    assert validate(rig, "OTHER") == {"status": "Invalid"}
    assert len(rig.calls("Authorize")) == 1


def test_online_always_asks_without_local_pre_authorize(tmp_path):
    rig = Rig(tmp_path).boot()
    validate(rig, "TAG1")
    validate(rig, "TAG1")
    assert len(rig.calls("Authorize")) == 2


def test_local_pre_authorize_uses_cache_and_list(tmp_path):
    rig = Rig(tmp_path, overrides={"LocalPreAuthorize": True}).boot()
    validate(rig, "TAG1")
    assert validate(rig, "TAG1") == {"status": "Accepted"}
    assert len(rig.calls("Authorize")) == 1
    rig.request("SendLocalList", {"listVersion": 1, "updateType": "Full",
                                  "localAuthorizationList": [{"idTag": "LISTED", "idTagInfo": {"status": "Accepted"}},
                                                             {"idTag": "OLD", "idTagInfo": {"status": "Accepted",
                                                                                            "expiryDate": PAST}}]})
    assert validate(rig, "LISTED") == {"status": "Accepted"}
    assert len(rig.calls("Authorize")) == 1
    validate(rig, "OLD")  # expired locally: the CSMS decides
    assert rig.calls("Authorize")[-1] == {"idTag": "OLD"}


def test_authorize_without_answer_falls_back_to_offline_rules(tmp_path):
    rig = Rig(tmp_path, overrides={"AllowOfflineTxForUnknownId": True}).boot()
    rig.answers["Authorize"] = None
    d = rig.cp.validate_token(IdToken("NEW"))
    assert not d.done
    rig.advance(31)  # response timeout
    assert d.value == {"status": "Accepted"}


@pytest.mark.parametrize("cached, local_offline, allow_unknown, expect", [
    ("Accepted", True, False, "Accepted"),
    ("Blocked", True, True, "Blocked"),
    (None, True, False, "Invalid"),
    (None, True, True, "Accepted"),
    ("Accepted", False, False, "Invalid"),    # LocalAuthorizeOffline off: nothing is known offline
    ("Blocked", False, True, "Accepted"),     # ... and AllowOfflineTxForUnknownId decides for everyone
])
def test_offline_rules(tmp_path, cached, local_offline, allow_unknown, expect):
    rig = Rig(tmp_path, overrides={"LocalAuthorizeOffline": local_offline,
                                   "AllowOfflineTxForUnknownId": allow_unknown}).boot()
    if cached:
        rig.answers["Authorize"] = {"idTagInfo": {"status": cached}}
        validate(rig, "TAG")
    rig.disconnect()
    assert validate(rig, "TAG")["status"] == expect


def test_expired_cache_entry_is_expired_offline(tmp_path):
    rig = Rig(tmp_path).boot()
    rig.answers["Authorize"] = {"idTagInfo": {"status": "Accepted", "expiryDate": "2026-01-01T00:01:00Z"}}
    validate(rig, "TAG")
    rig.disconnect()
    assert validate(rig, "TAG")["status"] == "Accepted"
    rig.advance(61)
    assert validate(rig, "TAG")["status"] == "Expired"


def test_cache_disabled_is_not_used_or_filled(tmp_path):
    rig = Rig(tmp_path, overrides={"AuthorizationCacheEnabled": False}).boot()
    validate(rig, "TAG")
    rig.disconnect()
    assert validate(rig, "TAG") == {"status": "Invalid"}
    rig.reconnect()
    assert rig.request("ClearCache", {}) == {"status": "Rejected"}


def test_tc_061_clear_cache(tmp_path):
    rig = Rig(tmp_path).boot()
    validate(rig, "TAG")
    assert rig.request("ClearCache", {}) == {"status": "Accepted"}
    rig.disconnect()
    assert validate(rig, "TAG") == {"status": "Invalid"}


def test_tc_042_get_local_list_version(tmp_path):
    rig = Rig(tmp_path).boot()
    assert rig.request("GetLocalListVersion", {}) == {"listVersion": 0}
    rig.request("SendLocalList", {"listVersion": 5, "updateType": "Full", "localAuthorizationList": []})
    assert rig.request("GetLocalListVersion", {}) == {"listVersion": 5}
    other = Rig(tmp_path / "b", overrides={"SupportedFeatureProfiles": "Core,RemoteTrigger"}).boot()
    assert other.request("GetLocalListVersion", {}) == {"listVersion": -1}
    assert other.request("SendLocalList", {"listVersion": 1, "updateType": "Full"}) == {"status": "NotSupported"}


def test_tc_043_local_list_full_then_differential_with_version_mismatch(tmp_path):
    rig = Rig(tmp_path).boot()
    full = {"listVersion": 2, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "A", "idTagInfo": {"status": "Accepted"}}, {"idTag": "B", "idTagInfo": {"status": "Blocked"}}]}
    assert rig.request("SendLocalList", full) == {"status": "Accepted"}
    diff = {"listVersion": 2, "updateType": "Differential", "localAuthorizationList": [
        {"idTag": "C", "idTagInfo": {"status": "Accepted"}}]}
    assert rig.request("SendLocalList", diff) == {"status": "VersionMismatch"}
    diff["listVersion"] = 3
    diff["localAuthorizationList"].append({"idTag": "A"})  # no idTagInfo: removed
    assert rig.request("SendLocalList", diff) == {"status": "Accepted"}
    assert rig.request("GetLocalListVersion", {}) == {"listVersion": 3}
    rig.disconnect()
    assert [validate(rig, t)["status"] for t in ("A", "B", "C")] == ["Invalid", "Blocked", "Accepted"]


def test_local_list_failures_and_disabled(tmp_path):
    rig = Rig(tmp_path).boot()
    too_many = {"listVersion": 1, "updateType": "Full",
                "localAuthorizationList": [{"idTag": f"T{i}", "idTagInfo": {"status": "Accepted"}} for i in range(101)]}
    assert rig.request("SendLocalList", too_many) == {"status": "Failed"}  # > SendLocalListMaxLength (100)
    dup = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "x", "idTagInfo": {"status": "Accepted"}}, {"idTag": "X", "idTagInfo": {"status": "Accepted"}}]}
    assert rig.request("SendLocalList", dup) == {"status": "Failed"}
    no_info = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [{"idTag": "x"}]}
    assert rig.request("SendLocalList", no_info) == {"status": "Failed"}
    rig.request("ChangeConfiguration", {"key": "LocalAuthListEnabled", "value": "false"})
    assert rig.request("SendLocalList", {"listVersion": 9, "updateType": "Full"}) == {"status": "NotSupported"}
    assert rig.request("GetLocalListVersion", {}) == {"listVersion": 0}


def test_local_list_max_length(tmp_path):
    rig = Rig(tmp_path).boot()
    for v in range(10):  # fill to 1000 entries (LocalAuthListMaxLength), 100 per message
        update = {"listVersion": v + 2, "updateType": "Full" if v == 0 else "Differential",
                  "localAuthorizationList": [{"idTag": f"T{v}-{i}", "idTagInfo": {"status": "Accepted"}}
                                             for i in range(100)]}
        assert rig.request("SendLocalList", update) == {"status": "Accepted"}
    one_more = {"listVersion": 20, "updateType": "Differential",
                "localAuthorizationList": [{"idTag": "ONE", "idTagInfo": {"status": "Accepted"}}]}
    assert rig.request("SendLocalList", one_more) == {"status": "Failed"}


def test_listed_tags_never_enter_the_cache_and_conflicts_are_reported(tmp_path):
    rig = Rig(tmp_path).boot()
    rig.request("SendLocalList", {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "L", "idTagInfo": {"status": "Accepted"}}]})
    rig.answers["Authorize"] = {"idTagInfo": {"status": "Blocked"}}
    assert validate(rig, "L") == {"status": "Blocked"}  # online, the CSMS's word counts
    last = rig.calls("StatusNotification")[-1]
    assert (last["connectorId"], last["errorCode"]) == (0, "LocalListConflict")
    assert rig.cp.blocks.authorization.store.cache_get("L") is None


def test_start_and_stop_transaction_answers_update_the_cache(tmp_path):
    rig = Rig(tmp_path).boot()
    rig.answers["StopTransaction"] = {"idTagInfo": {"status": "Expired"}}
    s = rig.plug_in(1)
    rig.start_tx(1, s, id_tag="T")
    rig.disconnect()
    assert validate(rig, "T") == {"status": "Accepted"}  # from StartTransaction.conf
    rig.reconnect()
    rig.stop_tx(1, s, id_tag="T")
    rig.disconnect()
    assert validate(rig, "T") == {"status": "Expired"}  # from StopTransaction.conf


def test_a_start_transaction_answer_without_parent_keeps_the_known_parent(tmp_path):  # 1.6 §5.13, as 2.0.1 C09
    rig = Rig(tmp_path).boot()
    rig.answers["Authorize"] = {"idTagInfo": {"status": "Accepted", "parentIdTag": "FAMILY"}}
    validate(rig, "CHILD")
    s = rig.plug_in(1)
    rig.start_tx(1, s, id_tag="CHILD")  # its idTagInfo says nothing of the parent
    assert rig.cp.blocks.authorization.known_parent("CHILD") == (True, "FAMILY")
    rig.disconnect()
    assert validate(rig, "CHILD") == {"status": "Accepted", "parent_id_token": "FAMILY"}  # from the cache
