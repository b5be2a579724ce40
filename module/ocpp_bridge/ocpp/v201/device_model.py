"""OCPP 2.0.1 device model: components, variables, attributes and characteristics in SQLite.

Owns: the device model built from the definitions in ``dm_definitions.py`` (the standardized
components and variables, EVSE/Connector components made by ``ensure_evse``), the answers to
GetVariables/SetVariables, ReportData for GetBaseReport / GetReport, and
the tables ``dm_component``, ``dm_variable``, ``dm_attribute`` of the connection it is given
(normally ``open_database(DatabasePath, DATABASE_NAME, MIGRATIONS)``; the constructor applies
``MIGRATIONS`` itself). Definitions live in code; the tables mirror them so the file explains
itself, and every attribute value is written through.

Values: an attribute row remembers whether it holds the software default, an integrator
override, or a run-time change (CSMS or module). Default and override rows follow code and
override file on every start; a changed row is never touched by them again. A variable that is
not ``persistent`` (EVSE.Power, ChargingStation.Problem, ...) changes in memory only (its rows
keep the default or override: no disk write per meter reading) and starts from them again.

Overrides (JSON), e.g. ``{"OCPPCommCtrlr": {"HeartbeatInterval": "60",
"MessageTimeout[Default]": 45}, "EVSE@1": {"Power": {"MaxSet": "11000"}}}``.
Component: ``Name``, ``Name[instance]``, ``EVSE@<evse>`` or ``Connector@<evse>.<connector>``;
variable: ``Name`` or ``Name[instance]``; value: string/number/boolean (Actual) or an object
by attribute type. Unknown names or invalid values raise ValueError. EVSE/Connector overrides
apply when ``ensure_evse`` creates that EVSE. Vendor components come in through
``extra_components`` (code), never through overrides.

Rules: names and instances match case-insensitively (as 2.0.1 says) and are reported in
canonical case; WriteOnly values never reach the CSMS (``get`` answers Rejected, ``report``
omits them) but ``value`` gives them to the module (the transport needs BasicAuthPassword);
for list types and strings ``maxLimit`` bounds the length; ClockCtrlr.DateTime holds no value
here, the block answering GetVariables fills it in.

Must never: open sockets, start threads, read the clock, or hand a WriteOnly value to
``get``/``report``.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

from ocpp_bridge.ocpp.change_listeners import ChangeListeners
from ocpp_bridge.ocpp.settings import Setting
from ocpp_bridge.store.database import apply_migrations, transaction

log = logging.getLogger("ocpp_bridge.ocpp.v201.device_model")

T = TypeVar("T")

DATABASE_NAME = "device_model"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE dm_component (id INTEGER PRIMARY KEY, name TEXT NOT NULL, instance TEXT,
                               evse_id INTEGER, connector_id INTEGER);
    CREATE UNIQUE INDEX dm_component_key ON dm_component
        (name, IFNULL(instance, ''), IFNULL(evse_id, -1), IFNULL(connector_id, -1));
    CREATE TABLE dm_variable (
        id INTEGER PRIMARY KEY,
        component_id INTEGER NOT NULL REFERENCES dm_component (id) ON DELETE CASCADE,
        name TEXT NOT NULL, instance TEXT, data_type TEXT NOT NULL, unit TEXT,
        min_limit REAL, max_limit REAL, values_list TEXT, supports_monitoring INTEGER NOT NULL);
    CREATE UNIQUE INDEX dm_variable_key ON dm_variable (component_id, name, IFNULL(instance, ''));
    CREATE TABLE dm_attribute (
        variable_id INTEGER NOT NULL REFERENCES dm_variable (id) ON DELETE CASCADE,
        type TEXT NOT NULL CHECK (type IN ('Actual', 'Target', 'MinSet', 'MaxSet')),
        mutability TEXT NOT NULL CHECK (mutability IN ('ReadOnly', 'WriteOnly', 'ReadWrite')),
        value TEXT,
        source TEXT NOT NULL CHECK (source IN ('default', 'override', 'set')),
        PRIMARY KEY (variable_id, type));
    """,
]

from ocpp_bridge.ocpp.v201.dm_definitions import (  # noqa: E402 - the definitions this model is built from
    _LISTS,
    ATTRIBUTES,
    CONNECTOR_COMPONENT,
    DATA_TYPES,
    EVSE_COMPONENT,
    INT32,
    RO,
    RW,
    VALUE_MAX_CHARS,
    WO,
    AttributeDef,
    ComponentDef,
    VariableDef,
    VariableKey,
)
from ocpp_bridge.ocpp.v201.variables import Var  # noqa: E402

__all__ = ["DATABASE_NAME", "MIGRATIONS", "CONNECTOR_COMPONENT", "EVSE_COMPONENT", "AttributeDef", "ComponentDef",
           "DeviceModel", "VariableDef", "VariableKey", "check_value"]

_INT = re.compile(r"^[+-]?[0-9]+$")
_COMPONENT_KEY = re.compile(
    r"^(?P<name>[^\[\]@]+?)(?:\[(?P<inst>[^\]]+)\])?(?:@(?P<evse>[0-9]+)(?:\.(?P<conn>[0-9]+))?)?$"
)
_VARIABLE_KEY = re.compile(r"^(?P<name>[^\[\]]+?)(?:\[(?P<inst>[^\]]+)\])?$")

_CKey = tuple[str, str | None, int | None, int | None]
_VKey = tuple[str, str | None]


def _fold(text: str | None) -> str | None:
    return text.casefold() if text else None


@dataclass
class _Var:
    key: VariableKey  # canonical names
    definition: VariableDef
    row_id: int
    mutability: dict[str, str]
    values: dict[str, str | None]


def check_value(d: VariableDef, value: str) -> str | None:
    """``value`` as it will be stored, or None when the variable cannot take it."""
    if not isinstance(value, str) or len(value) > VALUE_MAX_CHARS:
        return None
    kind = d.data_type
    if kind in ("string", *_LISTS) and d.max_limit is not None and len(value) > d.max_limit:
        return None
    if kind == "string":
        return value if d.pattern is None or re.fullmatch(d.pattern, value) else None
    if kind == "boolean":
        lowered = value.strip().lower()
        return lowered if lowered in ("true", "false") else None
    if kind in ("integer", "decimal"):
        return _check_number(d, value.strip())
    if kind == "dateTime":
        try:
            datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return value.strip()
    allowed = d.values_list.split(",") if d.values_list else None
    if kind == "OptionList":
        return value if allowed is None or value in allowed else None
    items = [item.strip() for item in value.split(",")] if value.strip() else []
    allow_empty = d.allow_empty if d.allow_empty is not None else kind == "MemberList"
    if (not items and not allow_empty) or not all(items) or len(set(items)) != len(items):
        return None
    if allowed is not None and not all(item in allowed for item in items):
        return None
    if d.pattern is not None and not all(re.fullmatch(d.pattern, item) for item in items):
        return None
    return ",".join(items)


def _check_number(d: VariableDef, text: str) -> str | None:
    if d.data_type == "integer":
        if not _INT.match(text) or not INT32[0] <= int(text) <= INT32[1]:
            return None
        number: int | Decimal = int(text)
        text = str(number)
    else:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
    if d.min_limit is not None and number < Decimal(str(d.min_limit)):
        return None
    if d.max_limit is not None and number > Decimal(str(d.max_limit)):
        return None
    return text


def _text(value: Any, where: str) -> str:
    if isinstance(value, (int, float, str)):
        return str(value).lower() if isinstance(value, bool) else str(value)
    raise ValueError(f"device model override {where}: {value!r} is not a string, number or boolean")


class DeviceModel:
    """The 2.0.1 device model of one charging station, kept in SQLite."""

    def __init__(self, conn: sqlite3.Connection,
                 overrides: Mapping[str, Mapping[str, Any]] | None = None, *,
                 components: Sequence[ComponentDef], extra_components: Sequence[ComponentDef] = ()) -> None:
        """``components``: the standardized components the blocks declare
        (``component_table.STANDARD_COMPONENTS``); ``extra_components``: vendor ones."""
        self._conn = conn
        self._listeners = ChangeListeners()
        self._components: dict[_CKey, dict[_VKey, _Var]] = {}
        self._static: dict[tuple[str, str | None], ComponentDef] = {}
        for cdef in (EVSE_COMPONENT, CONNECTOR_COMPONENT):
            _check_definition(cdef)
        for cdef in (*components, *extra_components):
            _check_definition(cdef)
            key = (cdef.name.casefold(), _fold(cdef.instance))
            if key in self._static or key[0] in ("evse", "connector"):
                raise ValueError(f"component {cdef.name!r} is defined twice")
            self._static[key] = cdef
        self._overrides = self._parse_overrides(overrides or {})
        apply_migrations(conn, MIGRATIONS)
        for cdef in self._static.values():
            self._install(cdef, None, None)

    # ----------------------------------------------------------------- overrides

    def _template(self, text: str) -> tuple[ComponentDef | None, int | None, int | None]:
        m = _COMPONENT_KEY.match(text.strip())
        if m is None:
            return None, None, None
        name, inst = m["name"].casefold(), _fold(m["inst"])
        evse = int(m["evse"]) if m["evse"] else None
        conn_id = int(m["conn"]) if m["conn"] else None
        if name == "evse" and inst is None and evse is not None and conn_id is None:
            return EVSE_COMPONENT, evse, None
        if name == "connector" and inst is None and conn_id is not None:
            return CONNECTOR_COMPONENT, evse, conn_id
        return (self._static.get((name, inst)) if evse is None else None), None, None

    def _parse_overrides(self, overrides: Mapping[str, Mapping[str, Any]]
                         ) -> dict[_CKey, dict[_VKey, dict[str, str]]]:
        parsed: dict[_CKey, dict[_VKey, dict[str, str]]] = {}
        for comp_text, variables in overrides.items():
            cdef, evse, conn_id = self._template(str(comp_text))
            if cdef is None or not isinstance(variables, Mapping):
                raise ValueError(
                    f"device model override {comp_text!r}: unknown component or not an object "
                    "(forms: Name, Name[instance], EVSE@<evse>, Connector@<evse>.<connector>)"
                )
            ckey = (cdef.name.casefold(), _fold(cdef.instance), evse, conn_id)
            per_var = parsed.setdefault(ckey, {})
            for var_text, raw in variables.items():
                where = f"{comp_text}.{var_text}"
                m = _VARIABLE_KEY.match(str(var_text).strip())
                vkey = (m["name"].casefold(), _fold(m["inst"])) if m else None
                vdef = next((v for v in cdef.variables
                             if (v.name.casefold(), _fold(v.instance)) == vkey), None)
                if vdef is None:
                    raise ValueError(f"device model override names unknown variable {where!r}")
                known = {a.type for a in vdef.attributes}
                values: dict[str, str] = {}
                for attr, value in (raw.items() if isinstance(raw, Mapping) else [("Actual", raw)]):
                    normal = check_value(vdef, _text(value, where)) if attr in known else None
                    if normal is None:
                        raise ValueError(f"device model override {where}: attribute {attr!r} "
                                         f"cannot take {value!r}")
                    values[attr] = normal
                per_var[(vdef.name.casefold(), _fold(vdef.instance))] = values
        return parsed

    # ----------------------------------------------------------------- installing

    def ensure_evse(self, evse_id: int, connector_ids: Sequence[int]) -> None:
        """Create (or reload) EVSE ``evse_id`` and its connectors; values persist across runs."""
        if evse_id < 1 or any(c < 1 for c in connector_ids):
            raise ValueError("EVSE and connector ids start at 1")
        self._install(EVSE_COMPONENT, evse_id, None)
        for connector_id in connector_ids:
            self._install(CONNECTOR_COMPONENT, evse_id, connector_id)

    def _row_id(self, select: str, insert: str, key: tuple[Any, ...], *more: Any) -> int:
        row = self._conn.execute(select, key).fetchone()
        return int(row[0]) if row else int(self._conn.execute(insert, (*key, *more)).lastrowid or 0)

    def _install(self, cdef: ComponentDef, evse: int | None, connector: int | None) -> None:
        ckey: _CKey = (cdef.name.casefold(), _fold(cdef.instance), evse, connector)
        overrides = self._overrides.get(ckey, {})
        variables: dict[_VKey, _Var] = {}
        db = self._conn
        with transaction(db):
            comp_id = self._row_id(
                "SELECT id FROM dm_component WHERE name = ? AND instance IS ? AND evse_id IS ? "
                "AND connector_id IS ?",
                "INSERT INTO dm_component (name, instance, evse_id, connector_id) VALUES (?,?,?,?)",
                (cdef.name, cdef.instance, evse, connector))
            for d in cdef.variables:
                var_id = self._row_id(
                    "SELECT id FROM dm_variable WHERE component_id = ? AND name = ? "
                    "AND instance IS ?",
                    "INSERT INTO dm_variable (component_id, name, instance, data_type, "
                    "supports_monitoring) VALUES (?, ?, ?, ?, 1)",
                    (comp_id, d.name, d.instance), d.data_type)
                db.execute("UPDATE dm_variable SET data_type = ?, unit = ?, min_limit = ?, "
                           "max_limit = ?, values_list = ?, supports_monitoring = ? WHERE id = ?",
                           (d.data_type, d.unit, d.min_limit, d.max_limit, d.values_list,
                            int(d.supports_monitoring), var_id))
                var = _Var(VariableKey(cdef.name, d.name, cdef.instance, d.instance, evse,
                                       connector), d, var_id, {}, {})
                wanted = overrides.get((d.name.casefold(), _fold(d.instance)), {})
                for a in d.attributes:
                    var.mutability[a.type] = a.mutability
                    var.values[a.type] = self._sync_attribute(var_id, a, wanted.get(a.type), d.persistent)
                variables[(d.name.casefold(), _fold(d.instance))] = var
        self._components[ckey] = variables

    def _sync_attribute(self, var_id: int, a: AttributeDef, override: str | None, persistent: bool) -> str | None:
        value, source = (override, "override") if override is not None else (a.default, "default")
        row = self._conn.execute("SELECT value, source FROM dm_attribute WHERE variable_id = ? "
                                 "AND type = ?", (var_id, a.type)).fetchone()
        if row is not None and row[1] == "set" and persistent:
            value, source = row
        self._conn.execute(
            "INSERT INTO dm_attribute (variable_id, type, mutability, value, source) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (variable_id, type) DO UPDATE SET "
            "mutability = excluded.mutability, value = excluded.value, source = excluded.source",
            (var_id, a.type, a.mutability, value, source))
        return value

    # ----------------------------------------------------------------- lookups

    def _find(self, key: VariableKey, attribute: str) -> tuple[str, _Var | None]:
        comp = self._components.get(
            (key.component.casefold(), _fold(key.component_instance), key.evse, key.connector))
        if comp is None:
            return "UnknownComponent", None
        var = comp.get((key.variable.casefold(), _fold(key.variable_instance)))
        if var is None:
            return "UnknownVariable", None
        if attribute not in var.values:
            return "NotSupportedAttributeType", None
        return "Accepted", var

    def get(self, key: VariableKey, attribute: str = "Actual") -> tuple[str, str | None]:
        """GetVariables for one entry: (GetVariableStatus, value)."""
        status, var = self._find(key, attribute)
        if var is None:
            return status, None
        if var.mutability[attribute] == WO:
            return "Rejected", None
        return "Accepted", var.values[attribute]

    def describe(self, key: VariableKey) -> tuple[str, VariableKey | None, VariableDef | None]:
        """(GetVariableStatus-like status, the canonical key, the definition) of a variable, for
        monitors: UnknownComponent / UnknownVariable, or Accepted."""
        status, var = self._find(key, "Actual")
        if var is None and status == "NotSupportedAttributeType":
            return "UnknownVariable", None, None
        return (status, var.key, var.definition) if var is not None else (status, None, None)

    def value(self, component: str, variable: str, *, component_instance: str | None = None,
              variable_instance: str | None = None, evse: int | None = None,
              connector: int | None = None, attribute: str = "Actual") -> str | None:
        """The stored value for the module itself (WriteOnly included); KeyError when unknown."""
        key = VariableKey(component, variable, component_instance, variable_instance, evse,
                          connector)
        status, var = self._find(key, attribute)
        if var is None:
            raise KeyError(f"{status}: {key} attribute {attribute}")
        return var.values[attribute]

    def read(self, var: Setting[T], *, evse: int | None = None, connector: int | None = None) -> T:
        """A declared variable's value as its type (``variables.Var``), of the station's
        component or (with ``evse``/``connector``) of that EVSE's or connector's. The model only
        holds valid text; should a value not read as one anyway, the declared default serves."""
        if not isinstance(var, Var):
            raise TypeError(f"not a device-model variable: {var!r}")
        raw = self.value(var.component, var.name, component_instance=var.component_instance,
                         variable_instance=var.definition.instance, evse=evse, connector=connector,
                         attribute=var.attribute)
        try:
            return cast(T, var.decode(raw))
        except ValueError:
            log.error("%s holds %r, not a valid value; using %r", var.label, raw, var.fallback)
            return cast(T, var.fallback)

    def on_change(self, var: Setting[object], fn: Callable[[], None]) -> None:
        """``fn()`` after every change of ``var``'s value (the variable's "takes effect" hook)."""
        if not isinstance(var, Var):
            raise TypeError(f"not a device-model variable: {var!r}")
        name, instance = var.name.casefold(), _fold(var.definition.instance)

        def heard(key: VariableKey, attribute: str, value: str) -> None:
            if (key.component.casefold() == var.component.casefold() and key.variable.casefold() == name
                    and _fold(key.variable_instance) == instance and attribute == var.attribute):
                fn()
        self.add_listener(heard)

    def int_value(self, component: str, variable: str, **kw: Any) -> int:
        raw = self.value(component, variable, **kw)
        if raw is None or not _INT.match(raw):
            raise ValueError(f"{component}.{variable} holds {raw!r}, not an integer")
        return int(raw)

    def bool_value(self, component: str, variable: str, **kw: Any) -> bool:
        raw = self.value(component, variable, **kw)
        if raw not in ("true", "false"):
            raise ValueError(f"{component}.{variable} holds {raw!r}, not a boolean")
        return raw == "true"

    # ----------------------------------------------------------------- changes

    def add_listener(self, fn: Callable[[VariableKey, str, str], None]) -> None:
        """``fn(key, attribute, new_value)`` runs after every change that altered a value; an
        exception it raises is logged, never passed on (the change stays stored and reported)."""
        self._listeners.add(fn)

    def set(self, key: VariableKey, value: str, attribute: str = "Actual", *,
            by_csms: bool) -> str:
        """SetVariables for one entry (``by_csms``) or a change by the module: SetVariableStatus."""
        status, var = self._find(key, attribute)
        if var is None:
            return status
        if by_csms and var.mutability[attribute] == RO:
            return "Rejected"
        normal = check_value(var.definition, value)
        if normal is None:
            return "Rejected"
        self._store(var, attribute, normal)
        return "RebootRequired" if var.definition.reboot_required else "Accepted"

    def set_internal(self, key: VariableKey, value: str, attribute: str = "Actual") -> None:
        """A change by the module (ReadOnly too); KeyError when unknown, ValueError when invalid."""
        status, var = self._find(key, attribute)
        if var is None:
            raise KeyError(f"{status}: {key} attribute {attribute}")
        normal = check_value(var.definition, value)
        if normal is None:
            raise ValueError(f"{value!r} is not a valid value for {key} attribute {attribute}")
        self._store(var, attribute, normal)

    def _store(self, var: _Var, attribute: str, value: str) -> None:
        if var.values[attribute] == value:
            return
        if var.definition.persistent:
            with transaction(self._conn):
                self._conn.execute("UPDATE dm_attribute SET value = ?, source = 'set' "
                                   "WHERE variable_id = ? AND type = ?", (value, var.row_id, attribute))
        var.values[attribute] = value
        self._listeners.notify(f"{var.key.component}.{var.key.variable} ({attribute})", var.key, attribute, value)

    # ----------------------------------------------------------------- reporting

    def report(self) -> list[dict[str, Any]]:
        """Every variable as a 2.0.1 ReportDataType (camelCase), components in creation order."""
        return [_report_data(var) for comp in self._components.values() for var in comp.values()]

    def entries(self) -> list[tuple[VariableKey, dict[str, Any]]]:
        """``report()`` with each entry's key (canonical names), for selecting a custom report."""
        return [(var.key, _report_data(var)) for comp in self._components.values() for var in comp.values()]


def _some(**fields: Any) -> dict[str, Any]:
    return {name: item for name, item in fields.items() if item is not None}


def _report_data(var: _Var) -> dict[str, Any]:
    k, d = var.key, var.definition
    evse = _some(id=k.evse, connectorId=k.connector) if k.evse is not None else None
    attributes = [
        _some(type=type_, value=None if mutability == WO else var.values[type_],
              mutability=mutability, persistent=d.persistent, constant=d.constant)
        for type_, mutability in var.mutability.items()
    ]
    return {
        "component": _some(name=k.component, instance=k.component_instance, evse=evse),
        "variable": _some(name=k.variable, instance=k.variable_instance),
        "variableAttribute": attributes,
        "variableCharacteristics": _some(
            unit=d.unit, dataType=d.data_type, minLimit=d.min_limit, maxLimit=d.max_limit,
            valuesList=d.values_list, supportsMonitoring=d.supports_monitoring),
    }


def _check_definition(cdef: ComponentDef) -> None:
    for d in cdef.variables:
        types = [a.type for a in d.attributes]
        if (d.data_type not in DATA_TYPES or len(set(types)) != len(types)
                or any(t not in ATTRIBUTES for t in types)
                or any(a.mutability not in (RO, WO, RW) for a in d.attributes)):
            raise ValueError(f"variable {cdef.name}.{d.name}: bad data type or attributes")
        for a in d.attributes:
            if a.default is not None and check_value(d, a.default) != a.default:
                raise ValueError(f"variable {cdef.name}.{d.name}: default {a.default!r} invalid")
