"""OCPP 2.0.1 authorization (block C) and the local authorization list (block D) on the
pure core: ``validate_token`` against a scripted CSMS, the cache, the list, and their
persistence. Test ids cite OCA 2.0.1 cases only where the test covers what the case checks.
"""

import pytest
from v201_harness import Sim, full_session_start

from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.v201.device_model import VariableKey

PAST = "2025-01-01T00:00:00Z"
FUTURE = "2027-01-01T00:00:00Z"


def validate(sim, value="TAG1", type_="ISO14443"):
    d = sim.cp.validate_token(IdToken(value, type_))
    sim.settle()
    assert d.done and d.error is None
    return d.value


def authorizes(sim):
    return [p["idToken"]["idToken"] for p in sim.payloads("Authorize")]


def entry(value, status="Accepted", **info):
    return {"idToken": {"idToken": value, "type": "ISO14443"}, "idTokenInfo": {"status": status, **info}}


def send_list(sim, version, update_type, items=None):
    payload = {"versionNumber": version, "updateType": update_type}
    if items is not None:
        payload["localAuthorizationList"] = items
    return sim.request("SendLocalList", payload)["status"]


PRE = {"AuthCtrlr": {"LocalPreAuthorize": True}}


# ------------------------------------------------------------------------ online / Authorize
def test_online_token_goes_to_the_csms(tmp_path):
    sim = Sim(tmp_path)
    sim.answers["Authorize"] = {"idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": FUTURE,
                                                "groupIdToken": {"idToken": "GROUP", "type": "Central"}}}
    assert validate(sim) == {"status": "Accepted", "expiry_time": FUTURE, "parent_id_token": "GROUP"}
    assert sim.payloads("Authorize") == [{"idToken": {"idToken": "TAG1", "type": "ISO14443"}}]


@pytest.mark.parametrize("status", ["Invalid", "Blocked", "Expired", "Unknown", "NoCredit"])  # TC_C_02/06/07
def test_the_csms_status_is_passed_on(tmp_path, status):
    sim = Sim(tmp_path)
    sim.answers["Authorize"] = {"idTokenInfo": {"status": status}}
    assert validate(sim)["status"] == status


def test_no_answer_means_unknown(tmp_path):
    sim = Sim(tmp_path)
    sim.hold.add("Authorize")
    d = sim.cp.validate_token(IdToken("TAG1"))
    assert not d.done
    sim.tick(31)
    assert d.value == {"status": "Unknown"}


@pytest.mark.parametrize("type_", ["Central", "NoAuthorization"])
def test_central_and_no_authorization_tokens_are_accepted_locally(tmp_path, type_):
    sim = Sim(tmp_path)
    assert validate(sim, "X", type_) == {"status": "Accepted"}
    assert authorizes(sim) == []


def test_auth_ctrlr_disabled_accepts_everything(tmp_path):
    sim = Sim(tmp_path, overrides={"AuthCtrlr": {"Enabled": False}})
    assert validate(sim)["status"] == "Accepted"
    assert authorizes(sim) == []


# ------------------------------------------------------------------------ cache
def test_tc_c_08_and_c_33_cache_hit_after_an_authorize_response(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    assert validate(sim)["status"] == "Accepted"
    assert validate(sim)["status"] == "Accepted"
    assert authorizes(sim) == ["TAG1"]


def test_tc_c_36_no_local_pre_authorize_asks_the_csms_every_time(tmp_path):
    sim = Sim(tmp_path)
    validate(sim)
    validate(sim)
    assert authorizes(sim) == ["TAG1", "TAG1"]


@pytest.mark.parametrize("status", ["Blocked", "Invalid"])  # TC_C_09 / TC_C_10
def test_a_cached_non_accepted_entry_is_asked_again(tmp_path, status):
    sim = Sim(tmp_path, overrides=PRE)
    sim.answers["Authorize"] = {"idTokenInfo": {"status": status}}
    validate(sim)
    sim.answers["Authorize"] = {"idTokenInfo": {"status": "Accepted"}}
    assert validate(sim)["status"] == "Accepted"
    assert authorizes(sim) == ["TAG1", "TAG1"]


def test_tc_c_11_an_expired_cache_entry_is_asked_again(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    sim.answers["Authorize"] = {"idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": PAST}}
    validate(sim)
    validate(sim)
    assert authorizes(sim) == ["TAG1", "TAG1"]


def test_tc_c_46_cache_lifetime_counts_from_the_last_use(tmp_path):
    sim = Sim(tmp_path, overrides={"AuthCtrlr": {"LocalPreAuthorize": True}, "AuthCacheCtrlr": {"LifeTime": 100}})
    validate(sim)
    sim.tick(90)
    validate(sim)                     # a hit: the lifetime starts again
    sim.tick(90)
    validate(sim)
    assert authorizes(sim) == ["TAG1"]
    sim.tick(101)
    validate(sim)
    assert authorizes(sim) == ["TAG1", "TAG1"]


def test_cache_hit_while_offline(tmp_path):
    sim = Sim(tmp_path)
    validate(sim)                     # cached online (LocalPreAuthorize is false: asked)
    sim.disconnect()
    assert validate(sim)["status"] == "Accepted"
    assert authorizes(sim) == ["TAG1"]


def test_tc_c_32_cache_persists_over_a_reboot(tmp_path):
    sim = Sim(tmp_path)
    validate(sim)
    sim.restart()
    assert validate(sim)["status"] == "Accepted"        # offline after the restart
    assert authorizes(sim) == []


def test_cache_disabled_keeps_nothing(tmp_path):
    sim = Sim(tmp_path, overrides={"AuthCacheCtrlr": {"Enabled": False}})
    validate(sim)
    sim.disconnect()
    assert validate(sim)["status"] == "Unknown"


def test_tc_c_34_cache_updated_from_a_transaction_event_response(tmp_path):
    sim = Sim(tmp_path)
    sim.answers["TransactionEvent"] = lambda req: ({"idTokenInfo": {"status": "Accepted"}} if "idToken" in req else {})
    full_session_start(sim, 1, "s1")
    sim.disconnect()
    assert validate(sim)["status"] == "Accepted"
    assert authorizes(sim) == []


GROUP = {"idToken": "FAMILY", "type": "Central"}


def test_tc_c_41_the_cache_keeps_the_group_of_a_token(tmp_path):  # C09
    sim = Sim(tmp_path, overrides=PRE)
    sim.answers["Authorize"] = {"idTokenInfo": {"status": "Accepted", "groupIdToken": GROUP}}
    sim.answers["TransactionEvent"] = lambda req: ({"idTokenInfo": {"status": "Accepted"}} if "idToken" in req else {})
    assert validate(sim, "A") == {"status": "Accepted", "parent_id_token": "FAMILY"}
    full_session_start(sim, 1, "s1", "A")  # its TransactionEventResponse says nothing of the group
    assert validate(sim, "A") == {"status": "Accepted", "parent_id_token": "FAMILY"}  # from the cache
    sim.disconnect()
    assert validate(sim, "A") == {"status": "Accepted", "parent_id_token": "FAMILY"}
    assert authorizes(sim) == ["A"]


def test_a_new_group_from_the_csms_replaces_the_cached_one(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    sim.answers["Authorize"] = {"idTokenInfo": {"status": "Accepted", "groupIdToken": GROUP}}
    validate(sim, "A")
    sim.cp.authorization.update_cache({"idToken": "A", "type": "ISO14443"},
                                      {"status": "Accepted", "groupIdToken": {"idToken": "NEW", "type": "Central"}})
    assert validate(sim, "A")["parent_id_token"] == "NEW"


def test_the_local_list_gives_the_group(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    assert send_list(sim, 1, "Full", [entry("L", groupIdToken=GROUP)]) == "Accepted"
    assert validate(sim, "L") == {"status": "Accepted", "parent_id_token": "FAMILY"}


def test_tc_c_49_master_pass_group_id(tmp_path):  # C16
    sim = Sim(tmp_path)
    assert sim.cp.authorization.master_pass_group() is None
    sim.set("AuthCtrlr", "MasterPassGroupId", "Police")
    assert sim.cp.authorization.is_master_pass({"idToken": "POLICE", "type": "Central"})
    assert not sim.cp.authorization.is_master_pass(GROUP) and not sim.cp.authorization.is_master_pass(None)
    assert sim.cp.model.set(VariableKey("AuthCtrlr", "MasterPassGroupId"), "x" * 37, by_csms=True) != "Accepted"


def test_tc_c_37_and_c_38_clear_cache(tmp_path):
    sim = Sim(tmp_path)
    validate(sim)
    assert sim.request("ClearCache", {}) == {"status": "Accepted"}
    sim.disconnect()
    assert validate(sim)["status"] == "Unknown"
    sim.connect()
    sim.set("AuthCacheCtrlr", "Enabled", "false")
    assert sim.request("ClearCache", {}) == {"status": "Rejected"}


# ------------------------------------------------------------------------ offline
def test_tc_c_26_offline_unknown_id(tmp_path):
    sim = Sim(tmp_path, connect=False)
    assert validate(sim)["status"] == "Unknown"
    sim.set("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "true")
    assert validate(sim)["status"] == "Accepted"
    assert sim.calls() == []


# ------------------------------------------------------------------------ local list
def test_tc_c_27_online_local_list_accepted_without_authorize(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    assert send_list(sim, 1, "Full", [entry("TAG1")]) == "Accepted"
    assert validate(sim)["status"] == "Accepted"
    assert authorizes(sim) == []


@pytest.mark.parametrize("status", ["Invalid", "Blocked"])  # TC_C_28 / TC_C_29
def test_online_local_list_not_accepted_asks_the_csms(tmp_path, status):
    sim = Sim(tmp_path, overrides=PRE)
    send_list(sim, 1, "Full", [entry("TAG1", status)])
    assert validate(sim)["status"] == "Accepted"          # the CSMS's answer
    assert authorizes(sim) == ["TAG1"]


def test_tc_c_30_online_local_list_expired_entry_asks_the_csms(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    send_list(sim, 1, "Full", [entry("TAG1", cacheExpiryDateTime=PAST)])
    validate(sim)
    assert authorizes(sim) == ["TAG1"]


def test_tc_c_21_offline_local_list_accepted(tmp_path):
    sim = Sim(tmp_path)
    send_list(sim, 1, "Full", [entry("TAG1")])
    sim.disconnect()
    assert validate(sim)["status"] == "Accepted"


@pytest.mark.parametrize("status", ["Invalid", "Blocked", "Expired"])  # TC_C_22 / TC_C_23 / TC_C_24
def test_offline_local_list_not_accepted(tmp_path, status):
    sim = Sim(tmp_path, overrides={"AuthCtrlr": {"OfflineTxForUnknownIdEnabled": True}})
    send_list(sim, 1, "Full", [entry("TAG1", status)])
    sim.disconnect()
    assert validate(sim)["status"] == "Unknown"


def test_tc_c_25_offline_local_list_wins_over_the_cache(tmp_path):
    sim = Sim(tmp_path)
    validate(sim)                                           # cache: Accepted
    send_list(sim, 1, "Full", [entry("TAG1", "Blocked")])
    sim.disconnect()
    assert validate(sim)["status"] == "Unknown"


def test_local_authorize_offline_false_uses_neither(tmp_path):
    sim = Sim(tmp_path, overrides={"AuthCtrlr": {"LocalAuthorizeOffline": False}})
    send_list(sim, 1, "Full", [entry("TAG1")])
    sim.disconnect()
    assert validate(sim)["status"] == "Unknown"


def test_tc_d_01_full_list_and_d_08_version(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    assert send_list(sim, 3, "Full", [entry("A"), entry("B", "Blocked")]) == "Accepted"
    assert sim.request("GetLocalListVersion", {}) == {"versionNumber": 3}
    assert sim.cp.model.value("LocalAuthListCtrlr", "Entries") == "2"
    assert send_list(sim, 4, "Full", [entry("C")]) == "Accepted"       # replaces
    assert sim.cp.model.value("LocalAuthListCtrlr", "Entries") == "1"
    assert validate(sim, "A")["status"] == "Accepted" and authorizes(sim) == ["A"]   # not in the list any more


def test_tc_d_02_and_d_03_differential_update_and_remove(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    send_list(sim, 1, "Full", [entry("A"), entry("B")])
    assert send_list(sim, 2, "Differential", [entry("C"), {"idToken": {"idToken": "A", "type": "ISO14443"}}]) \
        == "Accepted"
    assert sim.cp.model.value("LocalAuthListCtrlr", "Entries") == "2"
    assert sim.request("GetLocalListVersion", {}) == {"versionNumber": 2}
    validate(sim, "C")
    validate(sim, "A")
    assert authorizes(sim) == ["A"]


def test_tc_d_04_full_with_empty_list_clears_it(tmp_path):
    sim = Sim(tmp_path)
    send_list(sim, 1, "Full", [entry("A")])
    assert send_list(sim, 2, "Full") == "Accepted"
    assert sim.cp.model.value("LocalAuthListCtrlr", "Entries") == "0"
    assert sim.request("GetLocalListVersion", {}) == {"versionNumber": 2}


def test_tc_d_05_differential_with_empty_list_changes_only_the_version(tmp_path):
    sim = Sim(tmp_path)
    send_list(sim, 1, "Full", [entry("A")])
    assert send_list(sim, 5, "Differential") == "Accepted"
    assert sim.request("GetLocalListVersion", {}) == {"versionNumber": 5}
    assert sim.cp.model.value("LocalAuthListCtrlr", "Entries") == "1"


def test_tc_d_06_version_mismatch(tmp_path):
    sim = Sim(tmp_path)
    send_list(sim, 5, "Full", [entry("A")])
    assert send_list(sim, 5, "Differential", [entry("B")]) == "VersionMismatch"
    assert send_list(sim, 4, "Differential", [entry("B")]) == "VersionMismatch"
    assert sim.cp.model.value("LocalAuthListCtrlr", "Entries") == "1"


@pytest.mark.parametrize("items", [
    [entry("A"), entry("A", "Blocked")],                     # duplicate
    [{"idToken": {"idToken": "A", "type": "ISO14443"}}],     # Full without idTokenInfo
])
def test_malformed_lists_fail(tmp_path, items):
    sim = Sim(tmp_path)
    assert send_list(sim, 1, "Full", items) == "Failed"
    assert send_list(sim, 0, "Full", [entry("A")]) == "Failed"
    assert sim.request("GetLocalListVersion", {}) == {"versionNumber": 0}


def test_tc_d_07_list_persists_over_a_reboot(tmp_path):
    sim = Sim(tmp_path)
    send_list(sim, 7, "Full", [entry("A")])
    sim.restart()
    assert validate(sim, "A")["status"] == "Accepted"
    sim.connect()
    assert sim.request("GetLocalListVersion", {}) == {"versionNumber": 7}


def test_tc_d_10_function_disabled(tmp_path):
    sim = Sim(tmp_path)
    send_list(sim, 7, "Full", [entry("A")])
    sim.set("LocalAuthListCtrlr", "Enabled", "false")
    assert sim.request("GetLocalListVersion", {}) == {"versionNumber": 0}
    assert send_list(sim, 8, "Full", [entry("A")]) == "Failed"


# ------------------------------------------------------------------------ one core with 1.6
def test_more_entries_than_items_per_message_fail(tmp_path):  # as 1.6 SendLocalListMaxLength
    sim = Sim(tmp_path)
    assert send_list(sim, 1, "Full", [entry(f"T{i}") for i in range(101)]) == "Failed"
    assert send_list(sim, 1, "Full", [entry(f"T{i}") for i in range(100)]) == "Accepted"


def test_a_malformed_differential_fails_before_its_version_is_compared(tmp_path):  # as 1.6
    sim = Sim(tmp_path)
    send_list(sim, 5, "Full", [entry("A")])
    assert send_list(sim, 5, "Differential", [entry("B"), entry("b")]) == "Failed"
