"""The version-neutral authorization decision (ocpp/common/authorization.py), once, with both
versions' settings, shapes and rules: a fake station core (scripted Authorize answers, a
settable clock), a configuration read by label, an in-memory auth store."""

import pytest

from ocpp_bridge.ocpp import auth_store
from ocpp_bridge.ocpp.auth_store import AuthStore
from ocpp_bridge.ocpp.common.authorization import AuthorizationPolicy
from ocpp_bridge.ocpp.outcome import LocalFailure
from ocpp_bridge.ocpp.v16 import authorization as v16
from ocpp_bridge.ocpp.v201 import authorization as v201

T0 = auth_store.epoch("2026-01-01T00:00:00Z")
PAST, FUTURE = "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z"


class FakeCsms:
    def __init__(self):
        self.connected, self.running, self.registration, self.now = True, True, "Accepted", T0
        self.calls = []           # (action, payload)
        self.pending = []         # the done callbacks of unanswered calls
        self.schema_ok = True

    def call(self, action, payload, on_done=None, *, front=False):
        self.calls.append((action, payload))
        self.pending.append(on_done)

    def check_response(self, action, payload):
        return self.schema_ok

    def answer(self, result=None, failure=None):
        self.pending.pop(0)(result, failure)


class FakeConfig:
    def __init__(self, **values):
        self.values = values      # label -> value

    def read(self, setting):
        return self.values.get(setting.label, setting.fallback)

    def on_change(self, setting, fn):
        pass


class Version:
    """One version's adapter data, how it spells a token's info, and the names of two settings."""

    def __init__(self, module, key, group, cache_enabled, unknown_accepted):
        self.m, self.key, self.group = module, key, group
        self.cache_enabled, self.unknown_accepted = cache_enabled, unknown_accepted

    def info(self, status="Accepted", expiry=None, group=None):
        info = {"status": status}
        if expiry:
            info[self.m.SHAPE.expiry_field] = expiry
        if group:
            info[self.m.SHAPE.group_field] = self.group(group)
        return info


V16 = Version(v16, "TAG", lambda g: g, "AUTHORIZATION_CACHE_ENABLED", "ALLOW_OFFLINE_TX_FOR_UNKNOWN_ID")
V201 = Version(v201, "ISO14443:TAG", lambda g: {"idToken": g, "type": "Central"}, "AUTH_CACHE_ENABLED",
               "OFFLINE_TX_FOR_UNKNOWN_ID_ENABLED")


def policy(version, conflicts=None, **config):
    """config: setting name (the module's constant) -> value."""
    csms = FakeCsms()
    values = {getattr(version.m, name).label: value for name, value in config.items()}
    store = AuthStore.in_memory()
    on_conflict = conflicts.append if conflicts is not None else None
    return AuthorizationPolicy(csms, FakeConfig(**values), store, settings=version.m.SETTINGS, shape=version.m.SHAPE,
                               rules=version.m.RULES, on_list_conflict=on_conflict), csms, store


def decide(p, csms, key, answer=None):
    d = p.validate(key, key, {"asked": key})
    if not d.done and answer is not None:
        csms.answer(answer)
    assert d.done
    return d.value


def full_list(store, key, info, version=1):
    store.list_replace(version, [(key, info)])


BOTH = pytest.mark.parametrize("version", [V16, V201], ids=["1.6", "2.0.1"])


# ---------------------------------------------------------------------------- online / offline
@BOTH
@pytest.mark.parametrize("what", ["connected", "running", "registration"])
def test_online_means_connected_running_and_registered(version, what):
    p, csms, _ = policy(version, **{version.unknown_accepted: True})
    setattr(csms, what, "Pending" if what == "registration" else False)
    assert decide(p, csms, version.key) == {"status": "Accepted"}  # the offline rule for unknown ids
    assert csms.calls == []


@BOTH
def test_online_the_csms_decides_and_its_answer_is_mapped_and_cached(version):
    p, csms, store = policy(version)
    answer = {version.m.SHAPE.answer_field: version.info("Accepted", FUTURE, "FAMILY")}
    assert decide(p, csms, version.key, answer) == {"status": "Accepted", "expiry_time": FUTURE,
                                                   "parent_id_token": "FAMILY"}
    assert csms.calls == [("Authorize", {"asked": version.key})]
    assert store.cache_get(version.key.lower()).info == version.info("Accepted", FUTURE, "FAMILY")


@BOTH
def test_local_pre_authorize_takes_the_list_before_the_cache(version):
    p, csms, store = policy(version, LOCAL_PRE_AUTHORIZE=True)
    store.cache_put(version.key, version.info("Accepted"), T0)
    full_list(store, version.key, version.info("Blocked"))
    decide(p, csms, version.key, {version.m.SHAPE.answer_field: version.info("Accepted")})
    assert len(csms.calls) == 1, "a listed token that is not Accepted is asked, the cache is not used"
    full_list(store, version.key, version.info("Accepted", FUTURE), version=2)
    assert decide(p, csms, version.key)["status"] == "Accepted"
    assert len(csms.calls) == 1


@BOTH
def test_expired_entries_are_asked_again_online(version):
    p, csms, store = policy(version, LOCAL_PRE_AUTHORIZE=True)
    full_list(store, version.key, version.info("Accepted", PAST))
    decide(p, csms, version.key, {version.m.SHAPE.answer_field: version.info("Accepted")})
    store.list_replace(2, [])
    store.cache_put(version.key, version.info("Accepted"), T0, expires_at=T0 - 1)
    decide(p, csms, version.key, {version.m.SHAPE.answer_field: version.info("Accepted")})
    assert len(csms.calls) == 2


# ---------------------------------------------------------------------------- where the versions differ
def test_offline_1_6_a_known_token_gets_its_own_status():  # 1.6 §3.5
    p, csms, store = policy(V16, ALLOW_OFFLINE_TX_FOR_UNKNOWN_ID=True)
    csms.connected = False
    full_list(store, "LISTED", {"status": "Blocked"})
    store.cache_put("OLD", {"status": "Accepted", "expiryDate": PAST}, T0, expires_at=T0 - 1)
    assert decide(p, csms, "LISTED") == {"status": "Blocked"}
    assert decide(p, csms, "OLD") == {"status": "Expired", "expiry_time": PAST}
    assert store.cache_get("OLD") is not None, "1.6 keeps an expired entry (its status is Expired)"
    assert decide(p, csms, "NEW") == {"status": "Accepted"}


def test_offline_2_0_1_a_listed_token_not_accepted_is_refused_a_cached_one_is_unknown():
    p, csms, store = policy(V201, OFFLINE_TX_FOR_UNKNOWN_ID_ENABLED=True)
    csms.connected = False
    full_list(store, "ISO14443:LISTED", {"status": "Blocked"})
    store.cache_put("ISO14443:CACHED", {"status": "Blocked"}, T0)
    store.cache_put("ISO14443:OLD", {"status": "Accepted"}, T0, expires_at=T0 - 1)
    assert decide(p, csms, "ISO14443:LISTED") == {"status": "Unknown"}
    assert decide(p, csms, "ISO14443:CACHED") == {"status": "Accepted"}  # as an unknown id
    assert decide(p, csms, "ISO14443:OLD") == {"status": "Accepted"}
    assert store.cache_get("ISO14443:OLD") is None, "an expired 2.0.1 cache entry is removed"


@pytest.mark.parametrize("failure", [LocalFailure("timeout"), None], ids=["no answer", "breaks the schema"])
def test_without_an_answer_1_6_applies_the_offline_rules_2_0_1_refuses(failure):
    results = {}
    for version in (V16, V201):
        p, csms, store = policy(version)
        store.cache_put(version.key, version.info("Accepted"), T0)
        csms.schema_ok = failure is not None
        d = p.validate(version.key, version.key, {})
        csms.answer(None if failure else {version.m.SHAPE.answer_field: {}}, failure)
        results[version.m.RULES.refused] = d.value
    assert results == {"Invalid": {"status": "Accepted"}, "Unknown": {"status": "Unknown"}}


def test_refused_status_is_each_versions():
    for version, refused in ((V16, "Invalid"), (V201, "Unknown")):
        p, csms, _ = policy(version)
        csms.connected = False
        assert decide(p, csms, version.key) == {"status": refused}


def test_2_0_1_cache_lifetime_counts_from_the_last_use_capped_by_the_expiry():  # TC_C_46
    p, csms, store = policy(V201, LOCAL_PRE_AUTHORIZE=True, AUTH_CACHE_LIFE_TIME=100)
    p.remember("ISO14443:A", {"status": "Accepted"})
    assert store.cache_get("ISO14443:A").expires_at == T0 + 100
    csms.now = T0 + 90
    assert decide(p, csms, "ISO14443:A")["status"] == "Accepted"
    assert store.cache_get("ISO14443:A").expires_at == T0 + 190
    p.remember("ISO14443:B", {"status": "Accepted", "cacheExpiryDateTime": "2026-01-01T00:01:40Z"})
    assert store.cache_get("ISO14443:B").expires_at == T0 + 100  # the date comes first
    assert csms.calls == []


def test_1_6_cache_expiry_is_the_expiry_date_only():
    p, _, store = policy(V16)
    p.remember("A", {"status": "Accepted"})
    p.remember("B", {"status": "Accepted", "expiryDate": FUTURE})
    assert (store.cache_get("A").expires_at, store.cache_get("B").expires_at) == (None, auth_store.epoch(FUTURE))


# ---------------------------------------------------------------------------- what answers leave behind
@BOTH
def test_an_answer_without_the_group_keeps_the_known_one(version):  # C09, 1.6 §5.13
    p, _, store = policy(version)
    p.remember(version.key, version.info("Accepted", group="FAMILY"))
    p.remember(version.key, version.info("Accepted"))
    assert p.known_group(version.key) == (True, "FAMILY")
    assert store.cache_get(version.key).info == version.info("Accepted", group="FAMILY")
    p.remember(version.key, version.info("Blocked", group="NEW"))
    assert p.known_group(version.key) == (True, "NEW")
    assert p.validation(store.cache_get(version.key).info) == {"status": "Blocked", "parent_id_token": "NEW"}


@BOTH
def test_known_group_from_memory_then_the_list_then_the_cache(version):
    p, _, store = policy(version, **{version.cache_enabled: False})
    assert p.known_group(version.key) == (False, None)
    full_list(store, version.key, version.info("Accepted", group="LISTED"))
    assert p.known_group(version.key) == (True, "LISTED")
    p.remember(version.key, version.info("Accepted", group="ANSWERED"))  # the cache is off: memory holds it
    assert p.known_group(version.key) == (True, "ANSWERED")
    assert store.cache_size() == 0


def test_the_memory_of_groups_is_bounded():
    p, _, _ = policy(V16, AUTHORIZATION_CACHE_ENABLED=False)
    for i in range(300):
        p.remember(f"T{i}", {"status": "Accepted", "parentIdTag": "G"})
    assert p.known_group("T0") == (False, None) and p.known_group("T299") == (True, "G")


def test_1_6_listed_tokens_stay_out_of_the_cache_and_conflicts_are_reported():  # 1.6 §3.5.3
    conflicts = []
    p, _, store = policy(V16, conflicts)
    full_list(store, "L", {"status": "Accepted"})
    p.remember("L", {"status": "Accepted"})
    p.remember("l", {"status": "Blocked"})
    assert conflicts == ["l"] and store.cache_size() == 0


def test_2_0_1_listed_tokens_may_be_cached_and_nothing_is_reported():
    conflicts = []
    p, _, store = policy(V201, conflicts)
    full_list(store, "ISO14443:L", {"status": "Accepted"})
    p.remember("ISO14443:L", {"status": "Blocked"})
    assert conflicts == [] and store.cache_get("ISO14443:L").info == {"status": "Blocked"}


# ---------------------------------------------------------------------------- SendLocalList / ClearCache
def entries(*keys, info={"status": "Accepted"}):  # noqa: B006 (read only)
    return [(k, info) for k in keys]


@BOTH
def test_update_list_checks(version):
    p, _, store = policy(version)
    update = lambda kind, v, items, per=100, cap=3: p.update_list(kind, v, items, per_message=per, capacity=cap)
    assert update("Full", 1, entries("A", "B"), per=1) == "Failed"                # more than one message carries
    assert update("Full", 1, entries("A", "a")) == "Failed"                       # duplicate, any case
    assert update("Full", 1, [("A", None)]) == "Failed"                           # Full without info
    assert update("Full", 1, entries("A", "B", "C", "D")) == "Failed"             # over capacity
    assert store.list_version() == 0
    assert update("Full", 2, entries("A", "B")) == "Accepted"
    assert update("Differential", 2, entries("C")) == "VersionMismatch"
    assert update("Differential", 2, entries("C", "c")) == "Failed"               # malformed before stale
    assert update("Differential", 3, entries("C", "D")) == "Failed"               # would hold 4
    assert update("Differential", 3, entries("C", "D") + [("A", None)]) == "Accepted"
    assert (store.list_version(), store.list_size(), store.list_get("a")) == (3, 3, None)


def test_1_6_a_list_update_removes_its_identifiers_from_the_cache():
    p, _, store = policy(V16)
    store.cache_put("A", {"status": "Accepted"}, T0)
    p.update_list("Full", 1, entries("a"), per_message=10, capacity=10)
    assert store.cache_get("A") is None


@BOTH
def test_clear_cache(version):
    p, _, store = policy(version)
    store.cache_put(version.key, {"status": "Accepted"}, T0)
    assert p.clear_cache() == "Accepted" and store.cache_size() == 0
    disabled, _, _ = policy(version, **{version.cache_enabled: False})
    assert disabled.clear_cache() == "Rejected"
