"""Which device-model variables a 2.0.1 GetReport (B08) selects. PURE: no I/O, no state.

Owns the selection rules of a custom report, applied to the model's ReportData entries:

- ``componentVariable`` (B08.FR.04-06, TC_B_54..56): a component name matches case-insensitively;
  an omitted component instance, EVSE or connector id matches every one (``EVSE`` without an evse
  reports every EVSE's); an omitted variable selects all the component's variables, an omitted
  variable instance every instance of that name.
- ``componentCriteria`` (any one of them suffices): Active, Available, Enabled (B08.FR.07-09): the
  component's variable of that name (no instance, Actual) is ``true``, or the component has none;
  Problem (B08.FR.10): the component has a ``Problem`` variable that is ``true``.
- Both given: the variables the list selects, of the components the criteria select.

Must never: read or change values itself (the model hands it the entries), or send anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ocpp_bridge.ocpp.v201.dm_definitions import VariableKey

CRITERIA = ("Active", "Available", "Enabled", "Problem")

Entry = tuple[VariableKey, dict[str, Any]]
ComponentKey = tuple[str, str | None, int | None, int | None]


def _fold(text: str | None) -> str | None:
    return text.casefold() if text is not None else None


def component_of(key: VariableKey) -> ComponentKey:
    return key.component.casefold(), _fold(key.component_instance), key.evse, key.connector


def _matches(wanted: dict[str, Any], key: VariableKey) -> bool:
    component = wanted["component"]
    if component["name"].casefold() != key.component.casefold():
        return False
    if "instance" in component and _fold(component["instance"]) != _fold(key.component_instance):
        return False
    evse = component.get("evse")
    if evse is not None:
        if evse["id"] != key.evse:
            return False
        if "connectorId" in evse and evse["connectorId"] != key.connector:
            return False
    variable = wanted.get("variable")
    if variable is None:
        return True
    if variable["name"].casefold() != key.variable.casefold():
        return False
    return "instance" not in variable or _fold(variable["instance"]) == _fold(key.variable_instance)


def _actual(data: dict[str, Any]) -> str | None:
    for attribute in data.get("variableAttribute", []):
        if attribute.get("type", "Actual") == "Actual":
            value = attribute.get("value")
            return value if isinstance(value, str) else None
    return None


def criteria_filter(entries: Sequence[Entry], criteria: Sequence[str]) -> Callable[[VariableKey], bool]:
    """Whether a variable's component meets at least one of ``criteria``."""
    flags: dict[ComponentKey, dict[str, str | None]] = {}
    for key, data in entries:
        if key.variable_instance is None and key.variable in CRITERIA:
            flags.setdefault(component_of(key), {})[key.variable] = _actual(data)
    wanted = set(criteria)

    def met(key: VariableKey) -> bool:
        own = flags.get(component_of(key), {})
        for criterion in wanted:
            if criterion not in own:
                if criterion != "Problem":
                    return True
            elif (own[criterion] or "").lower() == "true":
                return True
        return False
    return met


def select(entries: Sequence[Entry], component_variables: Sequence[dict[str, Any]] | None,
           criteria: Sequence[str] | None) -> list[dict[str, Any]]:
    """The ReportData of the entries the request selects, in the model's order."""
    meets = criteria_filter(entries, criteria) if criteria else (lambda _key: True)
    return [data for key, data in entries
            if (not component_variables or any(_matches(w, key) for w in component_variables)) and meets(key)]
