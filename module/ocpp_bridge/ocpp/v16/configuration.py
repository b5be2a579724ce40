"""OCPP 1.6 configuration keys: definitions, validation, persistence, change listeners.

Owns: the keys a Core+ charge point exposes (Core, LocalAuthListManagement, Reservation,
SmartCharging, RemoteTrigger profiles plus the security whitepaper's AuthorizationKey and
SecurityProfile), their R/RW/W access, value types and defaults; the answers to
GetConfiguration and ChangeConfiguration; the table ``config16_key`` in the connection it is
given (normally ``open_database(DatabasePath, DATABASE_NAME, MIGRATIONS)``; the constructor
applies ``MIGRATIONS`` itself, so an in-memory connection works too).

Values and where they come from:
- each key's row remembers whether its value is the software default, an integrator
  override, or a change made at run time (by the CSMS or the module). Default and override
  rows follow the code and the override file on every start; a changed row is never
  touched again by either. So overrides take effect on first start, and later edits of the
  override file still reach keys nobody changed, but never clobber a CSMS change.
- ``overrides`` must name known keys (case-insensitive) with valid values, else ValueError.
  Vendor keys are not added through overrides (a typo must fail loudly); code adds them
  with ``extra_keys``.

Rules worth knowing:
- key names are CiString: matched case-insensitively, reported with their canonical case.
- booleans take "true"/"false" in any case and are stored lower-case; integers are plain
  decimal within their range (no interval is negative); lists are comma-separated, items
  trimmed, no duplicates, at most the count held by the matching ``...MaxLength`` key.
- a measurand list item may carry a phase suffix (``Voltage.L1``, ``Current.Import.L2-N``),
  as 1.6 section 9.1 allows for the four measurand keys.
- AuthorizationKey is write-only: GetConfiguration lists it with no value, ever. It takes
  16 to 40 printable characters, used verbatim as the basic-auth password.
- SecurityProfile (0..3) is never lowered by the CSMS, and profile 1 or 2 needs an
  AuthorizationKey first. Certificate checks for profiles 2/3 belong to the security block.
- GetConfigurationMaxKeys is published here; refusing longer requests is the handler's job.

Must never: open sockets, start threads, read the clock, or return AuthorizationKey's value
from ``get``.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, Union

from ocpp_bridge.ocpp.change_listeners import ChangeListeners
from ocpp_bridge.ocpp.settings import Setting
from ocpp_bridge.ocpp.v16.keys import (
    FEATURE_PROFILES,
    MEASURANDS,
    PHASE_ROTATIONS,
    PHASES,
    PROFILE_PURPOSES,
    RATE_UNITS,
    RW,
    KeyDef,
    R,
    W,
    in_report_order,
)
from ocpp_bridge.store.database import apply_migrations, transaction

log = logging.getLogger("ocpp_bridge.ocpp.v16.configuration")

T = TypeVar("T")

DATABASE_NAME = "config16"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE config16_key (
        key    TEXT PRIMARY KEY,
        value  TEXT,
        source TEXT NOT NULL CHECK (source IN ('default', 'override', 'set'))
    );
    """,
]

VALUE_MAX_CHARS = 500  # ChangeConfiguration.req value is CiString500

Status = str  # "Accepted" | "Rejected" | "RebootRequired" | "NotSupported"
OverrideValue = Union[str, int, float, bool]


@dataclass(frozen=True)
class KeyValue:
    """One entry of GetConfiguration.conf ``configurationKey``."""

    key: str
    read_only: bool
    value: str | None


_INT = re.compile(r"^[+-]?[0-9]+$")
_PRINTABLE = re.compile(r"^[\x21-\x7e]*$")
_LIST_CHOICES = {"profiles": FEATURE_PROFILES, "rate_units": RATE_UNITS, "purposes": PROFILE_PURPOSES}
_KINDS = frozenset({"bool", "int", "string", "measurands", "phase_rotation", *_LIST_CHOICES})


def _text(value: OverrideValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise ValueError(f"value {value!r} is not a string, number or boolean")


class ConfigurationKeys:
    """The 1.6 configuration keys of one charge point, kept in SQLite."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        overrides: Mapping[str, OverrideValue] | None = None,
        *,
        definitions: Sequence[KeyDef],
        extra_keys: Sequence[KeyDef] = (),
    ) -> None:
        """``definitions``: every key the blocks declare (``key_table.STANDARD_KEYS``);
        ``extra_keys``: vendor keys, listed after them."""
        self._conn = conn
        self._defs: dict[str, KeyDef] = {}
        for d in (*in_report_order(list(definitions)), *extra_keys):
            if d.name.lower() in self._defs:
                raise ValueError(f"configuration key {d.name!r} is defined twice")
            if d.access not in (R, RW, W) or d.kind not in _KINDS:
                raise ValueError(f"key {d.name!r}: bad access {d.access!r} or kind {d.kind!r}")
            self._defs[d.name.lower()] = d
        self._listeners = ChangeListeners()
        apply_migrations(conn, MIGRATIONS)
        self._values: dict[str, str | None] = {}
        self._load(dict(overrides or {}))

    # ----------------------------------------------------------------- start-up

    def _load(self, overrides: dict[str, OverrideValue]) -> None:
        rows = {
            key: (value, source)
            for key, value, source in self._conn.execute(
                "SELECT key, value, source FROM config16_key"
            )
        }
        wanted: dict[str, tuple[str | None, str]] = {}
        for d in self._defs.values():
            wanted[d.name] = (d.default, "default")
        for raw_key, raw_value in overrides.items():
            found = self._defs.get(str(raw_key).lower())
            if found is None:
                raise ValueError(
                    f"configuration override names unknown OCPP 1.6 key {raw_key!r}; "
                    "known keys are listed in ocpp_bridge.ocpp.v16.key_table.STANDARD_KEYS"
                )
            wanted[found.name] = (_text(raw_value), "override")
        # the final value of every key, so a list override is checked against the limit
        # that will really be in force (itself possibly overridden)
        final: dict[str, str | None] = {}
        for name, (value, _source) in wanted.items():
            row = rows.get(name)
            final[name] = row[0] if row is not None and row[1] == "set" else value
        self._values = final
        for name, (value, source) in wanted.items():
            if source != "override":
                continue
            normal = self._normalise(self._defs[name.lower()], value or "")
            if normal is None:
                raise ValueError(
                    f"configuration override {name}={value!r} is not a valid value for this key"
                )
            wanted[name] = (normal, source)
            if final[name] == value:
                final[name] = normal
        with transaction(self._conn):
            for name, (value, source) in wanted.items():
                row = rows.get(name)
                if row is None:
                    self._conn.execute(
                        "INSERT INTO config16_key (key, value, source) VALUES (?, ?, ?)",
                        (name, value, source),
                    )
                elif row[1] != "set" and row != (value, source):
                    self._conn.execute(
                        "UPDATE config16_key SET value = ?, source = ? WHERE key = ?",
                        (value, source, name),
                    )

    # ----------------------------------------------------------------- reading

    def get(self, keys: Sequence[str]) -> tuple[list[KeyValue], list[str]]:
        """GetConfiguration: (known keys, unknown keys). An empty list asks for every key."""
        if not keys:
            return [self._key_value(d) for d in self._defs.values()], []
        known: list[KeyValue] = []
        unknown: list[str] = []
        seen: set[str] = set()
        for key in keys:
            d = self._defs.get(key.lower())
            if d is None:
                if key not in unknown:
                    unknown.append(key)
            elif d.name not in seen:
                seen.add(d.name)
                known.append(self._key_value(d))
        return known, unknown

    def _key_value(self, d: KeyDef) -> KeyValue:
        value = None if d.access == W else self._values[d.name]
        return KeyValue(d.name, d.access == R, value)

    def definition(self, key: str) -> KeyDef:
        """The definition of ``key`` (case-insensitive); KeyError when unknown."""
        d = self._defs.get(key.lower())
        if d is None:
            raise KeyError(f"unknown OCPP 1.6 configuration key {key!r}")
        return d

    def value(self, key: str) -> str | None:
        """The stored value, for the module itself (write-only keys included)."""
        return self._values[self.definition(key).name]

    def read(self, key: Setting[T]) -> T:
        """A declared key's value as its type (``keys.Key``). The store only ever holds valid
        text; should a row not read as one anyway, the declared default serves, with a log line."""
        raw = self.value(key.label)
        try:
            return key.decode(raw)
        except ValueError:
            log.error("configuration key %s holds %r, not a valid value; using %r", key.label, raw, key.fallback)
            return key.fallback

    def on_change(self, key: Setting[object], fn: Callable[[], None]) -> None:
        """``fn()`` after every change of ``key``'s value (the key's "takes effect" hook)."""
        name = self.definition(key.label).name
        self.add_listener(lambda changed, _value: fn() if changed == name else None)

    # ----------------------------------------------------------------- writing

    def add_listener(self, fn: Callable[[str, str], None]) -> None:
        """``fn(key, new_value)`` runs after every change that altered a stored value; an
        exception it raises is logged, never passed on (the change stays stored and reported)."""
        self._listeners.add(fn)

    def set(self, key: str, value: str, *, by_csms: bool) -> Status:
        """ChangeConfiguration (``by_csms``) or a change by the module; returns the status."""
        d = self._defs.get(key.lower())
        if d is None:
            return "NotSupported"
        if by_csms and d.access == R:
            return "Rejected"
        normal = self._normalise(d, value)
        if normal is None:
            return "Rejected"
        if by_csms and d.name == "SecurityProfile" and not self._profile_change_ok(int(normal)):
            return "Rejected"
        self._store(d, normal)
        return "RebootRequired" if d.reboot_required else "Accepted"

    def set_internal(self, key: str, value: str) -> None:
        """A change made by the module (read-only keys too); KeyError/ValueError when refused."""
        d = self.definition(key)
        normal = self._normalise(d, value)
        if normal is None:
            raise ValueError(f"{value!r} is not a valid value for configuration key {d.name}")
        self._store(d, normal)

    def _store(self, d: KeyDef, value: str) -> None:
        if self._values[d.name] == value:
            return
        with transaction(self._conn):
            self._conn.execute(
                "UPDATE config16_key SET value = ?, source = 'set' WHERE key = ?", (value, d.name)
            )
        self._values[d.name] = value
        self._listeners.notify(f"configuration key {d.name}", d.name, value)

    def _profile_change_ok(self, new: int) -> bool:
        current = self.value("SecurityProfile")
        if current is not None and _INT.match(current) and new < int(current):
            return False
        return not (new in (1, 2) and not self.value("AuthorizationKey"))

    # ----------------------------------------------------------------- validation

    def _normalise(self, d: KeyDef, value: str) -> str | None:
        """The value as it will be stored, or None when the key cannot take it."""
        if not isinstance(value, str) or len(value) > VALUE_MAX_CHARS:
            return None
        if d.kind == "bool":
            lowered = value.strip().lower()
            return lowered if lowered in ("true", "false") else None
        if d.kind == "int":
            text = value.strip()
            if not _INT.match(text):
                return None
            number = int(text)
            return str(number) if d.minimum <= number <= d.maximum else None
        if d.kind == "string":
            if not d.minimum <= len(value) <= d.maximum or not _PRINTABLE.match(value):
                return None
            return value
        items = [item.strip() for item in value.split(",")] if value.strip() else []
        if len(set(items)) != len(items) or not all(items):
            return None
        if d.max_length_key is not None:
            limit = self._values.get(self._defs[d.max_length_key.lower()].name)
            if limit is not None and _INT.match(limit) and len(items) > int(limit):
                return None
        if d.kind == "measurands":
            ok = all(_is_measurand(item) for item in items)
        elif d.kind == "phase_rotation":
            ok = all(_is_phase_rotation(item) for item in items)
        else:
            ok = all(item in _LIST_CHOICES[d.kind] for item in items)
        return ",".join(items) if ok else None


def _is_measurand(item: str) -> bool:
    if item in MEASURANDS:
        return True
    base, _, phase = item.rpartition(".")
    return base in MEASURANDS and phase in PHASES


def _is_phase_rotation(item: str) -> bool:
    connector, _, rotation = item.partition(".")
    return connector.isdigit() and rotation in PHASE_ROTATIONS
