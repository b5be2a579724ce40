"""OCPP 2.0.1 authorization (functional blocks C and D). PURE.

Owns the decision on an idToken (``validate_token``, called by the bus side's auth
validator), the Authorize request, the authorization cache and the local authorization list
(both kept by the shared ``ocpp/auth_store.py``, file ``auth.db``), and the CSMS calls
ClearCache, SendLocalList and GetLocalListVersion.

validate_token, in libocpp's order (C01-C15):
1. type Central or NoAuthorization, or AuthCtrlr.Enabled false -> Accepted.
2. May the station decide locally? Online: LocalPreAuthorize; offline: LocalAuthorizeOffline.
3. Local list (LocalAuthListCtrlr.Enabled): an entry found is the answer when Accepted (and its
   cacheExpiryDateTime not past); otherwise online -> Authorize, offline -> Unknown.
4. Cache (AuthCacheCtrlr.Enabled): an Accepted entry within its lifetime is the answer (and
   its lifetime restarts: AuthCacheCtrlr.LifeTime counts from the last use, capped by the
   entry's cacheExpiryDateTime); an expired entry is removed; another status is asked again.
5. Offline and AuthCtrlr.OfflineTxForUnknownIdEnabled -> Accepted.
6. Online -> Authorize; its idTokenInfo is the answer and goes to the cache. No answer (or
   offline) -> Unknown.
"Online" means connected and registered (BootNotification Accepted).

The group (C09): validate_token's ``parent_id_token`` is the idTokenInfo's groupIdToken, from
the CSMS, the local list or the cache alike; EVerest's Auth module lets a token of the same
group stop the transaction with it. A later idTokenInfo of the same token that says nothing
of the group (a TransactionEventResponse often does not) keeps the cached group, so a token
found in the cache still carries it. AuthCtrlr.MasterPassGroupId (C16) is handed to the Auth
module (``impls/auth.py``), which stops every transaction for a token of that group and
starts none; ``is_master_pass(group)`` lets the remote start refuse one too.

SendLocalList (D01): LocalAuthListCtrlr.Enabled false or versionNumber <= 0 -> Failed. Full:
the list is replaced (empty list: cleared); a duplicate idToken or an entry without
idTokenInfo -> Failed. Differential: versionNumber not above the current -> VersionMismatch;
no entries -> only the version changes; a duplicate -> Failed; an entry without idTokenInfo
removes that idToken. More entries than LocalAuthListCtrlr.Entries' maxLimit -> Failed.
LocalAuthListCtrlr.Entries holds the entry count.

Must never: start or stop transactions, or read a clock (``core.now`` only).
"""

from __future__ import annotations

import logging

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.auth_store import AuthStore, epoch
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.outcome import Failure
from ocpp_bridge.ocpp.v201.device_model import DeviceModel, VariableKey
from ocpp_bridge.ocpp.v201.dm_definitions import RO
from ocpp_bridge.ocpp.v201.variables import boolean, enabled, fixed, integer, string

log = logging.getLogger("ocpp_bridge.ocpp.v201.authorization")

AUTH_ENABLED = enabled("AuthCtrlr")
AUTHORIZE_REMOTE_START = boolean("AuthCtrlr", "AuthorizeRemoteStart", False)
LOCAL_AUTHORIZE_OFFLINE = boolean("AuthCtrlr", "LocalAuthorizeOffline", True)
LOCAL_PRE_AUTHORIZE = boolean("AuthCtrlr", "LocalPreAuthorize", False)
MASTER_PASS_GROUP_ID = string("AuthCtrlr", "MasterPassGroupId", "", max_limit=36)  # C16; empty: no master pass
OFFLINE_TX_FOR_UNKNOWN_ID_ENABLED = boolean("AuthCtrlr", "OfflineTxForUnknownIdEnabled", False)
AUTH_CACHE_ENABLED = enabled("AuthCacheCtrlr")
AUTH_CACHE_LIFE_TIME = integer("AuthCacheCtrlr", "LifeTime", 86400, unit="s")
LOCAL_AUTH_LIST_ENABLED = enabled("LocalAuthListCtrlr")
VARIABLES = (AUTH_ENABLED, AUTHORIZE_REMOTE_START, LOCAL_AUTHORIZE_OFFLINE, LOCAL_PRE_AUTHORIZE, MASTER_PASS_GROUP_ID,
             OFFLINE_TX_FOR_UNKNOWN_ID_ENABLED, AUTH_CACHE_ENABLED, AUTH_CACHE_LIFE_TIME,
             integer("AuthCacheCtrlr", "Storage", 0, mutability=RO, unit="B", max_limit=1048576),
             LOCAL_AUTH_LIST_ENABLED,
             integer("LocalAuthListCtrlr", "Entries", 0, mutability=RO, max_limit=1000),
             fixed("LocalAuthListCtrlr", "ItemsPerMessage", 100, min_limit=1),
             fixed("LocalAuthListCtrlr", "BytesPerMessage", 16384, min_limit=1))

AUTH, CACHE, LIST = "AuthCtrlr", "AuthCacheCtrlr", "LocalAuthListCtrlr"
MAX_LIST_ENTRIES = 1000  # LocalAuthListCtrlr.Entries maxLimit in the device model


def token_key(token: dict) -> str:
    """The auth store key of a 2.0.1 IdTokenType: type and value."""
    return f"{token['type']}:{token['idToken']}"


def answer_of(info: dict) -> dict:
    """An IdTokenInfoType as validate_token's result."""
    result = {"status": info.get("status", "Unknown")}
    if info.get("cacheExpiryDateTime"):
        result["expiry_time"] = info["cacheExpiryDateTime"]
    group = info.get("groupIdToken")
    if isinstance(group, dict) and group.get("idToken"):
        result["parent_id_token"] = group["idToken"]
    return result


class AuthorizationBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], store: AuthStore):
        self.core = ctx.core
        self.model = ctx.config
        self.store = store
        self.core.handle("ClearCache", self._on_clear_cache)
        self.core.handle("SendLocalList", self._on_send_local_list)
        self.core.handle("GetLocalListVersion", self._on_get_version)
        self._publish_entries()

    def _online(self) -> bool:
        return self.core.connected and self.core.running and self.core.registration == "Accepted"

    # ------------------------------------------------------------------ validate_token
    def validate_token(self, token: IdToken) -> Deferred:
        tok = {"idToken": token.value[:36], "type": token.type}
        if token.type in ("Central", "NoAuthorization") or not self.model.read(AUTH_ENABLED):
            return Deferred.resolved({"status": "Accepted"})
        online = self._online()
        local = self.model.read(LOCAL_PRE_AUTHORIZE) if online else self.model.read(LOCAL_AUTHORIZE_OFFLINE)
        key = token_key(tok)
        if local and self.model.read(LOCAL_AUTH_LIST_ENABLED):
            entry = self.store.list_get(key)
            if entry is not None:
                if entry.get("status") == "Accepted" and not self._past(entry.get("cacheExpiryDateTime")):
                    log.info("idToken %s: Accepted by the local list", tok["idToken"])
                    return Deferred.resolved(answer_of(entry))
                if not online:
                    return Deferred.resolved({"status": "Unknown"})
                return self._authorize(tok)
        if local and self.model.read(AUTH_CACHE_ENABLED):
            cached = self.store.cache_get(key)
            if cached is not None:
                if cached.expired(self.core.now):
                    log.info("idToken %s: cache entry expired", tok["idToken"])
                    self.store.cache_remove(key)
                elif cached.info.get("status") == "Accepted":
                    log.info("idToken %s: Accepted by the authorization cache", tok["idToken"])
                    self._cache_put(key, cached.info)  # the lifetime counts from the last use
                    return Deferred.resolved(answer_of(cached.info))
        if not online:
            accepted = self.model.read(OFFLINE_TX_FOR_UNKNOWN_ID_ENABLED)
            return Deferred.resolved({"status": "Accepted" if accepted else "Unknown"})
        return self._authorize(tok)

    def _past(self, text: str | None) -> bool:
        stamp = epoch(text)
        return stamp is not None and stamp <= self.core.now

    def _authorize(self, tok: dict) -> Deferred:
        answer = Deferred()

        def done(result: dict | None, error: Failure | None) -> None:
            if result is None or not self.core.check_response("Authorize", result):
                log.warning("Authorize %s failed (%s): Unknown", tok["idToken"], error.code if error else "invalid")
                answer.resolve({"status": "Unknown"})
                return
            info = result["idTokenInfo"]
            log.info("Authorize %s: %s", tok["idToken"], info.get("status"))
            self.update_cache(tok, info)
            answer.resolve(answer_of(info))

        self.core.call("Authorize", {"idToken": tok}, done)
        return answer

    # ------------------------------------------------------------------ cache
    def _cache_put(self, key: str, info: dict) -> None:
        lifetime = self.model.read(AUTH_CACHE_LIFE_TIME)
        expiries = [e for e in (epoch(info.get("cacheExpiryDateTime")),
                                self.core.now + lifetime if lifetime else None) if e is not None]
        self.store.cache_put(key, info, self.core.now, min(expiries) if expiries else None)

    def update_cache(self, token: dict, info: dict) -> None:
        """Keep the CSMS's idTokenInfo (Authorize, TransactionEvent) when the cache is enabled;
        without a groupIdToken the cached one stays (see the module rules)."""
        if not self.model.read(AUTH_CACHE_ENABLED) or token.get("type") in ("Central", "NoAuthorization"):
            return
        key = token_key(token)
        if "groupIdToken" not in info:
            cached = self.store.cache_get(key)
            group = cached.info.get("groupIdToken") if cached is not None else None
            if group:
                info = {**info, "groupIdToken": group}
        self._cache_put(key, info)

    def master_pass_group(self) -> str | None:
        """AuthCtrlr.MasterPassGroupId, None when not set (empty)."""
        return self.model.read(MASTER_PASS_GROUP_ID) or None

    def is_master_pass(self, group: dict | None) -> bool:
        """Is ``group`` (an IdTokenType) the Master Pass group (C16)?"""
        master = self.master_pass_group()
        return bool(master and group and (group.get("idToken") or "").lower() == master.lower())

    def _on_clear_cache(self, payload: dict) -> dict:
        if not self.model.read(AUTH_CACHE_ENABLED):
            return {"status": "Rejected"}
        self.store.cache_clear()
        log.info("authorization cache cleared")
        return {"status": "Accepted"}

    # ------------------------------------------------------------------ local list
    def _on_get_version(self, payload: dict) -> dict:
        return {"versionNumber": self.store.list_version() if self.model.read(LOCAL_AUTH_LIST_ENABLED) else 0}

    def _on_send_local_list(self, payload: dict) -> dict:
        status = self._apply_list(payload)
        log.info("SendLocalList %s v%s (%d entries): %s", payload["updateType"], payload["versionNumber"],
                 len(payload.get("localAuthorizationList") or []), status)
        if status == "Accepted":
            self._publish_entries()
        return {"status": status}

    def _apply_list(self, payload: dict) -> str:
        version = payload["versionNumber"]
        items = payload.get("localAuthorizationList") or []
        if not self.model.read(LOCAL_AUTH_LIST_ENABLED) or version <= 0:
            return "Failed"
        keys = [token_key(item["idToken"]).lower() for item in items]
        duplicate = len(set(keys)) != len(keys)
        entries = [(token_key(item["idToken"]), item.get("idTokenInfo")) for item in items]
        if payload["updateType"] == "Full":
            if duplicate or any(info is None for _, info in entries) or len(entries) > MAX_LIST_ENTRIES:
                return "Failed"
            self.store.list_replace(version, entries)
            return "Accepted"
        if version <= self.store.list_version():
            return "VersionMismatch"
        if duplicate or self.store.list_keys_after(entries) > MAX_LIST_ENTRIES:
            return "Failed"
        self.store.list_update(version, entries)
        return "Accepted"

    def _publish_entries(self) -> None:
        try:
            self.model.set_internal(VariableKey(LIST, "Entries"), str(self.store.list_size()))
        except (KeyError, ValueError) as exc:
            log.warning("cannot record LocalAuthListCtrlr.Entries: %s", exc)

    def close(self) -> None:
        self.store.close()
