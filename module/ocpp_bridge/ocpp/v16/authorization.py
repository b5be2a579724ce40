"""OCPP 1.6 authorization: Authorize, the authorization cache and the local list. PURE.

Owns the answer to "may this idTag charge?" (``validate_token``, asked by EVerest's Auth
module through ``auth_validator``) and the CSMS's LocalAuthListManagement / cache messages
(SendLocalList, GetLocalListVersion, ClearCache). Identifiers live in ``AuthStore``
(``auth.db``); the idTag is the token value cut to 1.6's 20 characters.

Rules (OCPP 1.6 sections 3.5 and 5.10-5.13, as libocpp applies them):
- Online (connected and registered): with LocalPreAuthorize, an identifier Accepted (and not
  expired) in the local list (LocalAuthListEnabled) or the cache (AuthorizationCacheEnabled)
  is accepted at once; otherwise Authorize.req decides. No answer (offline, timeout,
  CALLERROR) -> the offline rules.
- Offline: with LocalAuthorizeOffline, a known identifier gets its local status (Expired once
  its expiryDate passed); an unknown one (or any, without LocalAuthorizeOffline) is
  Accepted only with AllowOfflineTxForUnknownId, else Invalid.
- Every idTagInfo from the CSMS (Authorize, StartTransaction, StopTransaction .conf) updates
  the cache while AuthorizationCacheEnabled, except for identifiers of the local list; a
  CSMS answer contradicting the local list is reported as LocalListConflict (connector 0).
- SendLocalList: NotSupported unless the LocalAuthListManagement profile is supported and
  LocalAuthListEnabled; Failed when longer than SendLocalListMaxLength, when the list would
  exceed LocalAuthListMaxLength, on a duplicate idTag, or a Full entry without idTagInfo;
  Differential with a version not above the current one -> VersionMismatch.
- GetLocalListVersion: -1 when the profile is not supported, else the stored version.
- ClearCache: Accepted (cache emptied) while AuthorizationCacheEnabled, else Rejected.
- ``known_parent(idTag)``: the parentIdTag the CSMS last gave for an idTag (Authorize,
  StartTransaction), else the local list's or the cache's; the reservation block matches a
  reservation's parentIdTag with it (1.6 §5.13).

Must never: start or stop transactions, or talk to the EVSEs.
"""

from __future__ import annotations

import logging

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.auth_store import AuthStore, epoch
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.core_keys import SUPPORTED_FEATURE_PROFILES
from ocpp_bridge.ocpp.v16.keys import flag, limit
from ocpp_bridge.ocpp.v16.status import Status16

log = logging.getLogger("ocpp_bridge.ocpp.v16.authorization")

ALLOW_OFFLINE_TX_FOR_UNKNOWN_ID = flag("AllowOfflineTxForUnknownId", False)
AUTHORIZATION_CACHE_ENABLED = flag("AuthorizationCacheEnabled", True)
LOCAL_AUTHORIZE_OFFLINE = flag("LocalAuthorizeOffline", True)
LOCAL_PRE_AUTHORIZE = flag("LocalPreAuthorize", False)
LOCAL_AUTH_LIST_ENABLED = flag("LocalAuthListEnabled", True)
LOCAL_AUTH_LIST_MAX_LENGTH = limit("LocalAuthListMaxLength", 1000)
SEND_LOCAL_LIST_MAX_LENGTH = limit("SendLocalListMaxLength", 100)
KEYS = (ALLOW_OFFLINE_TX_FOR_UNKNOWN_ID, AUTHORIZATION_CACHE_ENABLED, LOCAL_AUTHORIZE_OFFLINE, LOCAL_PRE_AUTHORIZE,
        LOCAL_AUTH_LIST_ENABLED, LOCAL_AUTH_LIST_MAX_LENGTH, SEND_LOCAL_LIST_MAX_LENGTH)

PARENTS_REMEMBERED = 256  # the latest CSMS answers whose parentIdTag is kept in memory


class Authorization16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], status: Status16, store: AuthStore):
        self.core = ctx.core
        self.keys = ctx.config
        self.status = status
        self.store = store
        self._parents: dict[str, str | None] = {}  # idTag (lower case) -> parentIdTag the CSMS gave
        self.core.handle("SendLocalList", self._send_local_list)
        self.core.handle("GetLocalListVersion", self._get_local_list_version)
        self.core.handle("ClearCache", self._clear_cache)

    # ------------------------------------------------------------------ validate
    def validate_token(self, token: IdToken) -> Deferred:
        """Resolves to ``{"status", "expiry_time"?, "parent_id_token"?}`` (1.6 AuthorizationStatus)."""
        answer = Deferred()
        id_tag = (token.value or "")[:20]
        if not (self.core.connected and self.core.registration == "Accepted"):
            answer.resolve(self._offline(id_tag))
            return answer
        if self.keys.read(LOCAL_PRE_AUTHORIZE):
            known = self._known(id_tag)
            if known is not None and known["status"] == "Accepted":
                log.info("idTag %s accepted locally (LocalPreAuthorize)", id_tag)
                answer.resolve(_result(known))
                return answer

        def done(result, error) -> None:
            if result is None or not self.core.check_response("Authorize", result):
                why = error.code if error is not None else "invalid answer"
                log.info("Authorize %s got no answer (%s): offline rules apply", id_tag, why)
                answer.resolve(self._offline(id_tag))
                return
            info = result["idTagInfo"]
            self.remember(id_tag, info)
            answer.resolve(_result(info))

        self.core.call("Authorize", {"idTag": id_tag}, done)
        return answer

    def _offline(self, id_tag: str) -> dict:
        if self.keys.read(LOCAL_AUTHORIZE_OFFLINE):
            known = self._known(id_tag)
            if known is not None:
                return _result(known)
        if self.keys.read(ALLOW_OFFLINE_TX_FOR_UNKNOWN_ID):
            return {"status": "Accepted"}
        return {"status": "Invalid"}

    def _known(self, id_tag: str) -> dict | None:
        """The local list's (first) or the cache's idTagInfo, with status Expired once past its date."""
        now = self.core.now
        if self.keys.read(LOCAL_AUTH_LIST_ENABLED):
            info = self.store.list_get(id_tag)
            if info is not None:
                return _expire(info, epoch(info.get("expiryDate")), now)
        if self.keys.read(AUTHORIZATION_CACHE_ENABLED):
            entry = self.store.cache_get(id_tag, now)
            if entry is not None:
                return _expire(entry.info, entry.expires_at, now)
        return None

    def remember(self, id_tag: str, info: dict) -> None:
        """An idTagInfo from the CSMS: into the cache (see the module rules)."""
        if not id_tag or not info:
            return
        self._note_parent(id_tag, info.get("parentIdTag"))
        listed = self.store.list_get(id_tag)
        if listed is not None:
            if listed.get("status") != info.get("status") and self.keys.read(LOCAL_AUTH_LIST_ENABLED):
                log.warning("idTag %s: CSMS says %s, local list says %s", id_tag, info.get("status"),
                            listed.get("status"))
                self.status.report_local_list_conflict()
            return
        if self.keys.read(AUTHORIZATION_CACHE_ENABLED):
            self.store.cache_put(id_tag, info, self.core.now, epoch(info.get("expiryDate")))

    def _note_parent(self, id_tag: str, parent: str | None) -> None:
        key = id_tag.lower()
        self._parents.pop(key, None)
        self._parents[key] = parent or None
        while len(self._parents) > PARENTS_REMEMBERED:
            del self._parents[next(iter(self._parents))]

    def known_parent(self, id_tag: str) -> tuple[bool, str | None]:
        """(known, parentIdTag) of ``id_tag``: from the CSMS's latest answer about it, else the
        local list (LocalAuthListEnabled), else the cache (AuthorizationCacheEnabled); known is
        False when none of them holds the idTag."""
        key = (id_tag or "")[:20]
        if key.lower() in self._parents:
            return True, self._parents[key.lower()]
        if self.keys.read(LOCAL_AUTH_LIST_ENABLED):
            info = self.store.list_get(key)
            if info is not None:
                return True, info.get("parentIdTag") or None
        if self.keys.read(AUTHORIZATION_CACHE_ENABLED):
            entry = self.store.cache_get(key)
            if entry is not None:
                return True, entry.info.get("parentIdTag") or None
        return False, None

    # ------------------------------------------------------------------ CSMS requests
    def _profile_supported(self) -> bool:
        return "LocalAuthListManagement" in self.keys.read(SUPPORTED_FEATURE_PROFILES)

    def _send_local_list(self, payload: dict) -> dict:
        if not (self._profile_supported() and self.keys.read(LOCAL_AUTH_LIST_ENABLED)):
            return {"status": "NotSupported"}
        version = payload["listVersion"]
        items = payload.get("localAuthorizationList") or []
        entries = [(item["idTag"], item.get("idTagInfo")) for item in items]
        if len(entries) > self.keys.read(SEND_LOCAL_LIST_MAX_LENGTH) or len({k.lower() for k, _ in entries}) != len(entries):
            return {"status": "Failed"}
        limit = self.keys.read(LOCAL_AUTH_LIST_MAX_LENGTH)
        if payload["updateType"] == "Full":
            if any(info is None for _, info in entries) or len(entries) > limit:
                return {"status": "Failed"}
            self.store.list_replace(version, entries)
        else:
            if version <= self.store.list_version():
                return {"status": "VersionMismatch"}
            if self.store.list_keys_after(entries) > limit:
                return {"status": "Failed"}
            self.store.list_update(version, entries)
        for key, _ in entries:  # the local list and the cache never hold the same identifier
            self.store.cache_remove(key)
        log.info("local list %s update to version %d (%d entries)", payload["updateType"], version, len(entries))
        return {"status": "Accepted"}

    def _get_local_list_version(self, payload: dict) -> dict:
        return {"listVersion": self.store.list_version() if self._profile_supported() else -1}

    def _clear_cache(self, payload: dict) -> dict:
        if not self.keys.read(AUTHORIZATION_CACHE_ENABLED):
            return {"status": "Rejected"}
        self.store.cache_clear()
        return {"status": "Accepted"}

    def close(self) -> None:
        self.store.close()


def _expire(info: dict, expires_at: float | None, now: float) -> dict:
    if info.get("status") == "Accepted" and expires_at is not None and expires_at <= now:
        return {**info, "status": "Expired"}
    return info


def _result(info: dict) -> dict:
    result = {"status": info["status"]}
    if info.get("expiryDate"):
        result["expiry_time"] = info["expiryDate"]
    if info.get("parentIdTag"):
        result["parent_id_token"] = info["parentIdTag"]
    return result
