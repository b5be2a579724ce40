"""The version-neutral authorization cache and local list (SQLite)."""

from ocpp_bridge.ocpp.auth_store import AuthStore, epoch


def test_epoch():
    assert epoch("2026-01-01T00:00:00Z") == 1_767_225_600.0
    assert epoch("2026-01-01T01:00:00+01:00") == 1_767_225_600.0
    assert epoch("2026-01-01T00:00:00") == 1_767_225_600.0
    assert epoch(None) is None and epoch("") is None and epoch("soon") is None


def test_cache_put_get_expiry_case_and_clear(tmp_path):
    store = AuthStore.open(str(tmp_path))
    store.cache_put("Tag1", {"status": "Accepted"}, now=10.0, expires_at=100.0)
    entry = store.cache_get("TAG1", now=20.0)
    assert entry.info == {"status": "Accepted"} and not entry.expired(99.0) and entry.expired(100.0)
    store.cache_put("tag1", {"status": "Blocked"}, now=30.0)  # same identifier, any case
    assert store.cache_size() == 1 and store.cache_get("tag1").info == {"status": "Blocked"}
    assert store.cache_get("tag1").expires_at is None
    store.cache_clear()
    assert store.cache_get("tag1") is None
    store.close()


def test_cache_survives_reopen_and_evicts_least_recently_used(tmp_path):
    store = AuthStore.open(str(tmp_path), cache_max=2)
    store.cache_put("a", {"status": "Accepted"}, now=1.0)
    store.cache_put("b", {"status": "Accepted"}, now=2.0)
    store.cache_get("a", now=3.0)  # a is used again: b is now the oldest
    store.cache_put("c", {"status": "Accepted"}, now=4.0)
    assert store.cache_get("b") is None and store.cache_get("a") is not None and store.cache_get("c") is not None
    store.close()
    again = AuthStore.open(str(tmp_path))
    assert again.cache_size() == 2
    again.close()


def test_local_list_full_differential_and_version(tmp_path):
    store = AuthStore.open(str(tmp_path))
    assert store.list_version() == 0 and store.list_size() == 0
    store.list_replace(3, [("A", {"status": "Accepted"}), ("B", {"status": "Blocked"})])
    assert store.list_version() == 3 and store.list_get("a") == {"status": "Accepted"}
    assert store.list_keys_after([("c", {"status": "Accepted"}), ("A", None)]) == 2
    store.list_update(4, [("c", {"status": "Accepted"}), ("A", None), ("b", {"status": "Accepted"})])
    assert store.list_version() == 4 and store.list_get("A") is None
    assert store.list_get("B") == {"status": "Accepted"} and store.list_size() == 2
    store.list_replace(5, [])
    assert store.list_size() == 0 and store.list_version() == 5
    store.close()
