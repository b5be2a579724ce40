"""The decision on an identification token, for both OCPP versions: the local list, the
authorization cache, Authorize, and what the CSMS's answers leave behind. PURE.

Owns ``AuthorizationPolicy``, built by each version's authorization block (a thin adapter)
with the version's settings (``AuthSettings``: its 1.6 keys or 2.0.1 variables), the way it
spells a token's info (``InfoShape``) and the few rules where the two specifications differ
(``VersionRules``). Identifiers are the adapter's store keys (1.6: the idTag; 2.0.1: type and
value), kept by ``ocpp/auth_store.py``.

Theory of operation (``validate``):
- Online means connected, running and registered (BootNotification Accepted).
- Online, Authorize decides, unless LocalPreAuthorize lets the station decide first: the local
  list (when enabled) and then the cache (when enabled); an entry found there that is Accepted
  and not past its expiry is the answer at once. A cache hit restarts a lifetime counted from
  the last use, where the version has one (2.0.1 AuthCacheCtrlr.LifeTime). Any other entry:
  Authorize decides.
- Offline, with LocalAuthorizeOffline, the same look-up; an entry that is not usable is answered
  by the version's rule (``VersionRules.offline_known_status``). An identifier known nowhere
  (or any, without LocalAuthorizeOffline): Accepted when offline transactions for unknown ids
  are allowed, else the version's ``refused`` status.
- Authorize: its info is the answer and is remembered (below); no usable answer is answered by
  the version's rule (``offline_rules_without_answer``).

What an answer leaves behind (``remember``: Authorize, and the transaction answers the
adapters pass on): the cache gets the info while the cache is enabled. An answer that says
nothing of the token's group (1.6 parentIdTag, 2.0.1 groupIdToken) keeps the group known
before: a StartTransaction.conf or TransactionEventResponse often leaves it out. The latest
group the CSMS gave per identifier is also kept in memory (``known_group``: the reservation
blocks ask who may use a reservation).

SendLocalList (``update_list``, after the adapter's own gate): more entries than one message
may carry, a duplicate identifier, or a Full entry without info -> Failed; Differential with a
version not above the current one -> VersionMismatch; a list that would grow past its capacity
-> Failed; else the list is replaced (Full) or updated (Differential: an entry without info
removes that identifier) and Accepted. ClearCache: Rejected while the cache is disabled.

Must never: read a clock (``now`` comes from the station core), open a file, or know either
version's message or field names beyond what the adapter hands in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Literal, Protocol, TypedDict

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.auth_store import AuthStore, Info, epoch
from ocpp_bridge.ocpp.outcome import Done, Failure
from ocpp_bridge.ocpp.settings import Config, Setting

log = logging.getLogger("ocpp_bridge.ocpp.common.authorization")

GROUPS_REMEMBERED = 256  # the latest CSMS answers whose group is kept in memory
ListStatus = Literal["Accepted", "Failed", "VersionMismatch"]  # the same names in both versions
CacheStatus = Literal["Accepted", "Rejected"]  # ClearCache: the same names in both versions


class _Decided(TypedDict):
    status: str


class Validation(_Decided, total=False):
    """``validate``'s answer (the bus side maps it to EVerest's ValidationResult).
    ``evse_ids``: the only EVSEs the token may use (1.6 reservations narrow it)."""

    expiry_time: str
    parent_id_token: str
    evse_ids: list[int]


class CsmsLink(Protocol):
    """What the decision needs of the station core."""

    @property
    def connected(self) -> bool: ...

    @property
    def running(self) -> bool: ...

    @property
    def registration(self) -> str: ...

    @property
    def now(self) -> float: ...

    def call(self, action: str, payload: dict[str, Any], on_done: Done | None = None, *,
             front: bool = False) -> object: ...

    def check_response(self, action: str, payload: dict[str, Any]) -> bool: ...


@dataclass(frozen=True)
class AuthSettings:
    """The version's configuration items the decision reads."""

    local_pre_authorize: Setting[bool]
    local_authorize_offline: Setting[bool]
    offline_unknown_accepted: Setting[bool]  # 1.6 AllowOfflineTxForUnknownId, 2.0.1 OfflineTxForUnknownIdEnabled
    cache_enabled: Setting[bool]
    list_enabled: Setting[bool]
    cache_lifetime: Setting[int] | None = None  # 2.0.1 AuthCacheCtrlr.LifeTime (0: none); 1.6 has no such key


@dataclass(frozen=True)
class InfoShape:
    """How the version spells what the decision reads of a token's info."""

    answer_field: str  # where Authorize's answer holds the info (idTagInfo / idTokenInfo)
    expiry_field: str  # expiryDate / cacheExpiryDateTime
    group_field: str  # parentIdTag / groupIdToken
    group_value: Callable[[Any], str | None]  # the group's identifier, from that field's value


@dataclass(frozen=True)
class VersionRules:
    """Where OCPP 1.6 and 2.0.1 decide differently (each adapter cites its specification)."""

    refused: str  # the status of a token no rule accepts (1.6 Invalid, 2.0.1 Unknown)
    # Offline, a listed or cached token that is not usable: True answers with its own status
    # (Expired once its date passed); False refuses a listed one and treats a cached one as
    # unknown, and an expired cache entry is removed when found.
    offline_known_status: bool
    offline_rules_without_answer: bool  # Authorize without a usable answer: the offline rules, else refused
    list_excludes_cache: bool  # listed identifiers never enter the cache; an answer contradicting the list is a conflict


@dataclass(frozen=True)
class Known:
    """An identifier found in the local list or the cache."""

    info: Info
    source: Literal["local list", "cache"]
    expired: bool

    @property
    def usable(self) -> bool:
        return self.info.get("status") == "Accepted" and not self.expired


class AuthorizationPolicy:
    def __init__(self, csms: CsmsLink, config: Config, store: AuthStore, *, settings: AuthSettings,
                 shape: InfoShape, rules: VersionRules, on_list_conflict: Callable[[str], None] | None = None) -> None:
        """``on_list_conflict(key)``: a CSMS answer contradicts the local list (1.6 reports it)."""
        self.csms = csms
        self.config = config
        self.store = store
        self.settings = settings
        self.shape = shape
        self.rules = rules
        self.on_list_conflict = on_list_conflict
        self._groups: dict[str, str | None] = {}  # key (lower case) -> the group the CSMS last gave

    def online(self) -> bool:
        return self.csms.connected and self.csms.running and self.csms.registration == "Accepted"

    def _on(self, setting: Setting[bool]) -> bool:
        return self.config.read(setting)

    # ------------------------------------------------------------------ the decision
    def validate(self, key: str, label: str, request: dict[str, Any]) -> Deferred:
        """Resolves to a ``Validation`` for the identifier ``key`` (``label`` for log lines;
        ``request``: the version's Authorize payload)."""
        if not self.online():
            return Deferred.resolved(self._offline(key, label))
        if self._on(self.settings.local_pre_authorize):
            known = self._known(key)
            if known is not None and known.usable:
                return Deferred.resolved(self._hit(key, label, known))
        return self._authorize(key, label, request)

    def _offline(self, key: str, label: str) -> Validation:
        if self._on(self.settings.local_authorize_offline):
            known = self._known(key)
            if known is not None:
                return self._hit(key, label, known) if known.usable else self._offline_known(known)
        return self._unknown()

    def _offline_known(self, known: Known) -> Validation:
        if self.rules.offline_known_status:
            expired = known.expired and known.info.get("status") == "Accepted"
            return self.validation(known.info, "Expired" if expired else None)
        if known.source == "local list":
            return {"status": self.rules.refused}
        return self._unknown()

    def _unknown(self) -> Validation:
        return {"status": "Accepted" if self._on(self.settings.offline_unknown_accepted) else self.rules.refused}

    def _hit(self, key: str, label: str, known: Known) -> Validation:
        log.info("%s: Accepted by the %s", label, known.source)
        if known.source == "cache" and self.settings.cache_lifetime is not None:
            self._cache_put(key, known.info)  # the lifetime counts from the last use
        return self.validation(known.info)

    def _known(self, key: str) -> Known | None:
        """The local list's entry (first) or the cache's, with whether it is past its expiry."""
        now = self.csms.now
        if self._on(self.settings.list_enabled):
            info = self.store.list_get(key)
            if info is not None:
                expires_at = epoch(info.get(self.shape.expiry_field))
                return Known(info, "local list", expires_at is not None and expires_at <= now)
        if self._on(self.settings.cache_enabled):
            entry = self.store.cache_get(key, now)
            if entry is not None:
                if entry.expired(now) and not self.rules.offline_known_status:
                    log.info("%s: cache entry expired, removed", key)
                    self.store.cache_remove(key)
                    return None
                return Known(entry.info, "cache", entry.expired(now))
        return None

    def _authorize(self, key: str, label: str, request: dict[str, Any]) -> Deferred:
        answer = Deferred()

        def done(result: dict[str, Any] | None, failure: Failure | None) -> None:
            if result is None or not self.csms.check_response("Authorize", result):
                why = failure.code if failure is not None else "an answer that breaks the schema"
                if self.rules.offline_rules_without_answer:
                    log.info("Authorize %s got no answer (%s): offline rules apply", label, why)
                    answer.resolve(self._offline(key, label))
                else:
                    log.warning("Authorize %s got no answer (%s): %s", label, why, self.rules.refused)
                    answer.resolve({"status": self.rules.refused})
                return
            info = result[self.shape.answer_field]
            log.info("Authorize %s: %s", label, info.get("status"))
            self.remember(key, info)
            answer.resolve(self.validation(info))

        self.csms.call("Authorize", request, done)
        return answer

    def validation(self, info: Info, status: str | None = None) -> Validation:
        """A token's info as ``validate``'s answer (``status`` overrides the info's)."""
        result: Validation = {"status": status or str(info.get("status") or self.rules.refused)}
        expiry = info.get(self.shape.expiry_field)
        if expiry:
            result["expiry_time"] = str(expiry)
        group = self.shape.group_value(info.get(self.shape.group_field))
        if group:
            result["parent_id_token"] = group
        return result

    # ------------------------------------------------------------------ what answers leave behind
    def remember(self, key: str, info: Info) -> None:
        """An info from the CSMS about ``key``: its group into memory, the info into the cache
        (see the module rules)."""
        if not key or not info:
            return
        group_field = self.shape.group_field
        if group_field in info:
            group = self.shape.group_value(info[group_field])
        else:
            group = self.known_group(key)[1]
            cached = self.store.cache_get(key)
            if cached is not None and cached.info.get(group_field):
                info = {**info, group_field: cached.info[group_field]}
        self._note_group(key, group)
        if self.rules.list_excludes_cache:
            listed = self.store.list_get(key)
            if listed is not None:
                if listed.get("status") != info.get("status") and self._on(self.settings.list_enabled):
                    log.warning("%s: CSMS says %s, local list says %s", key, info.get("status"), listed.get("status"))
                    if self.on_list_conflict is not None:
                        self.on_list_conflict(key)
                return
        if self._on(self.settings.cache_enabled):
            self._cache_put(key, info)

    def _cache_put(self, key: str, info: Info) -> None:
        now = self.csms.now
        lifetime = self.config.read(self.settings.cache_lifetime) if self.settings.cache_lifetime is not None else 0
        expiries = [e for e in (epoch(info.get(self.shape.expiry_field)), now + lifetime if lifetime else None)
                    if e is not None]
        self.store.cache_put(key, info, now, min(expiries) if expiries else None)

    def _note_group(self, key: str, group: str | None) -> None:
        lower = key.lower()
        self._groups.pop(lower, None)
        self._groups[lower] = group or None
        while len(self._groups) > GROUPS_REMEMBERED:
            del self._groups[next(iter(self._groups))]

    def known_group(self, key: str) -> tuple[bool, str | None]:
        """(known, group) of ``key``: from the CSMS's latest answer about it, else the local list
        (when enabled), else the cache (when enabled); known is False when none holds it."""
        if key.lower() in self._groups:
            return True, self._groups[key.lower()]
        if self._on(self.settings.list_enabled):
            info = self.store.list_get(key)
            if info is not None:
                return True, self.shape.group_value(info.get(self.shape.group_field))
        if self._on(self.settings.cache_enabled):
            entry = self.store.cache_get(key)
            if entry is not None:
                return True, self.shape.group_value(entry.info.get(self.shape.group_field))
        return False, None

    # ------------------------------------------------------------------ CSMS requests
    def update_list(self, update_type: str, version: int, entries: list[tuple[str, Info | None]], *,
                    per_message: int, capacity: int) -> ListStatus:
        """SendLocalList once the adapter let it through: ``entries`` are (key, info or None);
        ``per_message``: how many one message may carry; ``capacity``: how many the list holds."""
        keys = [key.lower() for key, _ in entries]
        if len(entries) > per_message or len(set(keys)) != len(keys):
            return "Failed"
        if update_type == "Full":
            full = [(key, info) for key, info in entries if info is not None]
            if len(full) != len(entries) or len(full) > capacity:
                return "Failed"
            self.store.list_replace(version, full)
        else:
            if version <= self.store.list_version():
                return "VersionMismatch"
            if self.store.list_keys_after(entries) > capacity:
                return "Failed"
            self.store.list_update(version, entries)
        if self.rules.list_excludes_cache:
            for key, _ in entries:
                self.store.cache_remove(key)
        log.info("local list %s update to version %d (%d entries)", update_type, version, len(entries))
        return "Accepted"

    def clear_cache(self) -> CacheStatus:
        if not self._on(self.settings.cache_enabled):
            return "Rejected"
        self.store.cache_clear()
        log.info("authorization cache cleared")
        return "Accepted"
