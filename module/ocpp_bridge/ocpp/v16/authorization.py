"""OCPP 1.6 authorization: Authorize, the authorization cache and the local list — the 1.6
adapter of ``ocpp/common/authorization.py``. PURE.

Owns the 1.6 keys of LocalAuthListManagement and authorization (declared here), the answer to
"may this idTag charge?" (``validate_token``, asked by EVerest's Auth module through
``auth_validator``), and the CSMS's SendLocalList, GetLocalListVersion and ClearCache. The
idTag is the token value cut to 1.6's 20 characters; it is the store key. The decision itself
is the common policy's (its module docstring has the rules); what is 1.6's own:

- ``RULES``: a refused token is Invalid (1.6 AuthorizationStatus has no Unknown); offline, a
  known identifier gets its local status, Expired once its expiryDate passed (1.6 §3.5,
  LocalAuthorizeOffline); Authorize without an answer (offline, timeout, CALLERROR) -> the
  offline rules; identifiers of the local list never enter the cache, and a CSMS answer
  contradicting the list is reported as LocalListConflict on connector 0 (1.6 §3.5.3).
- SendLocalList: NotSupported unless the LocalAuthListManagement profile is supported and
  LocalAuthListEnabled; at most SendLocalListMaxLength entries a message, a list of at most
  LocalAuthListMaxLength.
- GetLocalListVersion: -1 when the profile is not supported, else the stored version.
- ``known_parent(idTag)``: the parentIdTag the CSMS last gave for an idTag, else the local
  list's or the cache's; the reservation block matches a reservation's parentIdTag with it
  (1.6 §5.13).

Must never: start or stop transactions, or talk to the EVSEs.
"""

from __future__ import annotations

from typing import Any

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.auth_store import AuthStore, Info
from ocpp_bridge.ocpp.common.authorization import AuthorizationPolicy, AuthSettings, InfoShape, VersionRules
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.core_keys import SUPPORTED_FEATURE_PROFILES
from ocpp_bridge.ocpp.v16.keys import flag, limit
from ocpp_bridge.ocpp.v16.status import Status16

ALLOW_OFFLINE_TX_FOR_UNKNOWN_ID = flag("AllowOfflineTxForUnknownId", False)
AUTHORIZATION_CACHE_ENABLED = flag("AuthorizationCacheEnabled", True)
LOCAL_AUTHORIZE_OFFLINE = flag("LocalAuthorizeOffline", True)
LOCAL_PRE_AUTHORIZE = flag("LocalPreAuthorize", False)
LOCAL_AUTH_LIST_ENABLED = flag("LocalAuthListEnabled", True)
LOCAL_AUTH_LIST_MAX_LENGTH = limit("LocalAuthListMaxLength", 1000)
SEND_LOCAL_LIST_MAX_LENGTH = limit("SendLocalListMaxLength", 100)
KEYS = (ALLOW_OFFLINE_TX_FOR_UNKNOWN_ID, AUTHORIZATION_CACHE_ENABLED, LOCAL_AUTHORIZE_OFFLINE, LOCAL_PRE_AUTHORIZE,
        LOCAL_AUTH_LIST_ENABLED, LOCAL_AUTH_LIST_MAX_LENGTH, SEND_LOCAL_LIST_MAX_LENGTH)

SETTINGS = AuthSettings(local_pre_authorize=LOCAL_PRE_AUTHORIZE, local_authorize_offline=LOCAL_AUTHORIZE_OFFLINE,
                        offline_unknown_accepted=ALLOW_OFFLINE_TX_FOR_UNKNOWN_ID,
                        cache_enabled=AUTHORIZATION_CACHE_ENABLED, list_enabled=LOCAL_AUTH_LIST_ENABLED)
RULES = VersionRules(refused="Invalid", offline_known_status=True, offline_rules_without_answer=True,
                     list_excludes_cache=True)


def parent_id_tag(value: Any) -> str | None:
    """idTagInfo.parentIdTag (an IdToken string) as the group's identifier."""
    return value if isinstance(value, str) and value else None


SHAPE = InfoShape(answer_field="idTagInfo", expiry_field="expiryDate", group_field="parentIdTag",
                  group_value=parent_id_tag)


def id_tag_of(value: str | None) -> str:
    """The 1.6 idTag of a token value: CiString20."""
    return (value or "")[:20]


class Authorization16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], status: Status16, store: AuthStore) -> None:
        self.keys = ctx.config
        self.store = store
        self.policy = AuthorizationPolicy(ctx.core, ctx.config, store, settings=SETTINGS, shape=SHAPE, rules=RULES,
                                          on_list_conflict=lambda key: status.report_local_list_conflict())
        ctx.core.handle("SendLocalList", self._send_local_list)
        ctx.core.handle("GetLocalListVersion", self._get_local_list_version)
        ctx.core.handle("ClearCache", self._clear_cache)

    def validate_token(self, token: IdToken) -> Deferred:
        """Resolves to a ``Validation``: ``{"status", "expiry_time"?, "parent_id_token"?}``
        (1.6 AuthorizationStatus)."""
        id_tag = id_tag_of(token.value)
        return self.policy.validate(id_tag, id_tag, {"idTag": id_tag})

    def remember(self, id_tag: str, info: Info) -> None:
        """An idTagInfo from the CSMS (Start/StopTransaction.conf): see the common rules."""
        self.policy.remember(id_tag, info)

    def known_parent(self, id_tag: str) -> tuple[bool, str | None]:
        """(known, parentIdTag) of ``id_tag``; known is False when nothing holds the idTag."""
        return self.policy.known_group(id_tag_of(id_tag))

    # ------------------------------------------------------------------ CSMS requests
    def _profile_supported(self) -> bool:
        return "LocalAuthListManagement" in self.keys.read(SUPPORTED_FEATURE_PROFILES)

    def _send_local_list(self, payload: dict[str, Any]) -> dict[str, Any]:
        if not (self._profile_supported() and self.keys.read(LOCAL_AUTH_LIST_ENABLED)):
            return {"status": "NotSupported"}
        entries = [(item["idTag"], item.get("idTagInfo")) for item in payload.get("localAuthorizationList") or []]
        return {"status": self.policy.update_list(payload["updateType"], payload["listVersion"], entries,
                                                  per_message=self.keys.read(SEND_LOCAL_LIST_MAX_LENGTH),
                                                  capacity=self.keys.read(LOCAL_AUTH_LIST_MAX_LENGTH))}

    def _get_local_list_version(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"listVersion": self.store.list_version() if self._profile_supported() else -1}

    def _clear_cache(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"status": self.policy.clear_cache()}

    def close(self) -> None:
        self.store.close()
