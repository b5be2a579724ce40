"""OCPP 2.0.1 authorization (functional blocks C and D) — the 2.0.1 adapter of
``ocpp/common/authorization.py``. PURE.

Owns the AuthCtrlr / AuthCacheCtrlr / LocalAuthListCtrlr variables (declared here), the
decision on an idToken (``validate_token``, called by the bus side's auth validator), the
cache updates of the transaction answers (``update_cache``), and the CSMS calls ClearCache,
SendLocalList and GetLocalListVersion. The store key of an IdTokenType is its type and value
(``token_key``). The decision itself is the common policy's (its module docstring has the
rules); what is 2.0.1's own:

- Tokens of type Central or NoAuthorization, and any token while AuthCtrlr.Enabled is false,
  are Accepted without a look-up (C03.FR.01, C05.FR.01, as libocpp); they never enter the cache.
- ``RULES``: a refused token is Unknown; offline, a listed token that is not Accepted (or past
  its cacheExpiryDateTime) is refused even with OfflineTxForUnknownIdEnabled (as libocpp
  does), a cached one that is not Accepted counts as unknown, and an expired cache entry is
  removed; Authorize without an answer -> Unknown; 2.0.1 has no LocalListConflict report.
- The cache lifetime, AuthCacheCtrlr.LifeTime, counts from the last use, capped by the entry's
  cacheExpiryDateTime (TC_C_46).
- The group (C09): ``parent_id_token`` is the idTokenInfo's groupIdToken; EVerest's Auth
  module lets a token of the same group stop the transaction with it. AuthCtrlr.MasterPassGroupId
  (C16) is handed to the Auth module (``impls/auth.py``), which stops every transaction for a
  token of that group and starts none; ``is_master_pass(group)`` lets the remote start refuse one.
- SendLocalList (D01): LocalAuthListCtrlr.Enabled false or versionNumber <= 0 -> Failed; at most
  LocalAuthListCtrlr.ItemsPerMessage entries a message and the Entries maxLimit in the list;
  LocalAuthListCtrlr.Entries holds the entry count. GetLocalListVersion: 0 while disabled.

Must never: start or stop transactions, or read a clock (``core.now`` only).
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.auth_store import AuthStore, Info
from ocpp_bridge.ocpp.common.authorization import AuthorizationPolicy, AuthSettings, InfoShape, VersionRules
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.dm_definitions import RO, VariableKey
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
ITEMS_PER_MESSAGE = fixed("LocalAuthListCtrlr", "ItemsPerMessage", 100, min_limit=1)
VARIABLES = (AUTH_ENABLED, AUTHORIZE_REMOTE_START, LOCAL_AUTHORIZE_OFFLINE, LOCAL_PRE_AUTHORIZE, MASTER_PASS_GROUP_ID,
             OFFLINE_TX_FOR_UNKNOWN_ID_ENABLED, AUTH_CACHE_ENABLED, AUTH_CACHE_LIFE_TIME,
             integer("AuthCacheCtrlr", "Storage", 0, mutability=RO, unit="B", max_limit=1048576),
             LOCAL_AUTH_LIST_ENABLED,
             integer("LocalAuthListCtrlr", "Entries", 0, mutability=RO, max_limit=1000),
             ITEMS_PER_MESSAGE,
             fixed("LocalAuthListCtrlr", "BytesPerMessage", 16384, min_limit=1))

LIST = "LocalAuthListCtrlr"
MAX_LIST_ENTRIES = 1000  # LocalAuthListCtrlr.Entries maxLimit in the device model
LOCALLY_ACCEPTED = ("Central", "NoAuthorization")  # token types never sent to the CSMS (C03.FR.01, C05.FR.01)

SETTINGS = AuthSettings(local_pre_authorize=LOCAL_PRE_AUTHORIZE, local_authorize_offline=LOCAL_AUTHORIZE_OFFLINE,
                        offline_unknown_accepted=OFFLINE_TX_FOR_UNKNOWN_ID_ENABLED, cache_enabled=AUTH_CACHE_ENABLED,
                        list_enabled=LOCAL_AUTH_LIST_ENABLED, cache_lifetime=AUTH_CACHE_LIFE_TIME)
RULES = VersionRules(refused="Unknown", offline_known_status=False, offline_rules_without_answer=False,
                     list_excludes_cache=False)


def group_id_token(value: Any) -> str | None:
    """IdTokenInfo.groupIdToken (an IdTokenType) as the group's identifier."""
    return value.get("idToken") or None if isinstance(value, dict) else None


SHAPE = InfoShape(answer_field="idTokenInfo", expiry_field="cacheExpiryDateTime", group_field="groupIdToken",
                  group_value=group_id_token)


def token_key(token: dict[str, Any]) -> str:
    """The auth store key of a 2.0.1 IdTokenType: type and value."""
    return f"{token['type']}:{token['idToken']}"


class AuthorizationBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], store: AuthStore) -> None:
        self.model = ctx.config
        self.store = store
        self.policy = AuthorizationPolicy(ctx.core, ctx.config, store, settings=SETTINGS, shape=SHAPE, rules=RULES)
        ctx.core.handle("ClearCache", self._on_clear_cache)
        ctx.core.handle("SendLocalList", self._on_send_local_list)
        ctx.core.handle("GetLocalListVersion", self._on_get_version)
        self._publish_entries()

    # ------------------------------------------------------------------ validate_token
    def validate_token(self, token: IdToken) -> Deferred:
        tok = {"idToken": token.value[:36], "type": token.type}
        if token.type in LOCALLY_ACCEPTED or not self.model.read(AUTH_ENABLED):
            return Deferred.resolved({"status": "Accepted"})
        return self.policy.validate(token_key(tok), tok["idToken"], {"idToken": tok})

    def update_cache(self, token: dict[str, Any], info: Info) -> None:
        """Keep the CSMS's idTokenInfo (TransactionEventResponse): see the common rules."""
        if token.get("type") not in LOCALLY_ACCEPTED:
            self.policy.remember(token_key(token), info)

    def known_group(self, token: IdToken) -> tuple[bool, str | None]:
        """(known, groupIdToken value) of ``token``, as the CSMS, the local list or the cache last gave it."""
        return self.policy.known_group(token_key({"idToken": token.value[:36], "type": token.type}))

    def master_pass_group(self) -> str | None:
        """AuthCtrlr.MasterPassGroupId, None when not set (empty)."""
        return self.model.read(MASTER_PASS_GROUP_ID) or None

    def is_master_pass(self, group: dict[str, Any] | None) -> bool:
        """Is ``group`` (an IdTokenType) the Master Pass group (C16)?"""
        master = self.master_pass_group()
        return bool(master and group and (group.get("idToken") or "").lower() == master.lower())

    # ------------------------------------------------------------------ CSMS requests
    def _on_clear_cache(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"status": self.policy.clear_cache()}

    def _on_get_version(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"versionNumber": self.store.list_version() if self.model.read(LOCAL_AUTH_LIST_ENABLED) else 0}

    def _on_send_local_list(self, payload: dict[str, Any]) -> dict[str, Any]:
        version, items = payload["versionNumber"], payload.get("localAuthorizationList") or []
        if not self.model.read(LOCAL_AUTH_LIST_ENABLED) or version <= 0:
            status = "Failed"
        else:
            entries = [(token_key(item["idToken"]), item.get("idTokenInfo")) for item in items]
            status = self.policy.update_list(payload["updateType"], version, entries,
                                             per_message=self.model.read(ITEMS_PER_MESSAGE), capacity=MAX_LIST_ENTRIES)
        log.info("SendLocalList %s v%s (%d entries): %s", payload["updateType"], version, len(items), status)
        if status == "Accepted":
            self._publish_entries()
        return {"status": status}

    def _publish_entries(self) -> None:
        try:
            self.model.set_internal(VariableKey(LIST, "Entries"), str(self.store.list_size()))
        except (KeyError, ValueError) as exc:
            log.warning("cannot record LocalAuthListCtrlr.Entries: %s", exc)

    def close(self) -> None:
        self.store.close()
