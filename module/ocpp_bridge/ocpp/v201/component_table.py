"""Every standardized OCPP 2.0.1 component and variable this station has, assembled from the
blocks' declarations. PURE data.

Owns one list, ``STANDARD_COMPONENTS``: the variables each functional block declares next to
its code (``VARIABLES`` of ``provisioning``, ``status``, ``authorization``, ``transactions``,
``meter_values``, ``reservation``, ``remote_control``, ``smart_charging``, ``certificates``,
``monitoring``) and the station's own
(``core_variables``), grouped into components in the order GetBaseReport reports them
(``variables.REPORT_ORDER``). The per-EVSE and per-connector components are templates in
``dm_definitions``.

Must never: define a variable itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ocpp_bridge.ocpp.v201 import (
    authorization,
    certificates,
    core_variables,
    meter_values,
    monitoring,
    provisioning,
    remote_control,
    reservation,
    smart_charging,
    status,
    transactions,
)
from ocpp_bridge.ocpp.v201.dm_definitions import ComponentDef, VariableDef
from ocpp_bridge.ocpp.v201.variables import REPORT_ORDER, Var

_DECLARING = (core_variables, provisioning, status, authorization, transactions, meter_values, reservation,
              remote_control, smart_charging, certificates, monitoring)


def _label(d: VariableDef) -> str:
    return f"{d.name}[{d.instance}]" if d.instance else d.name


def assemble(variables: Sequence[Var[Any]]) -> tuple[ComponentDef, ...]:
    """Components (with their variables) in report order; ValueError for a variable declared twice."""
    grouped: dict[tuple[str, str | None], list[VariableDef]] = {}
    for var in variables:
        defs = grouped.setdefault((var.component, var.component_instance), [])
        if any(_label(d) == _label(var.definition) for d in defs):
            raise ValueError(f"variable {var.label} is declared twice")
        defs.append(var.definition)
    components = {name: i for i, (name, _) in enumerate(REPORT_ORDER)}
    order = {name: {label: i for i, label in enumerate(labels)} for name, labels in REPORT_ORDER}

    def component_rank(item: tuple[int, tuple[str, str | None]]) -> tuple[int, int]:
        return components.get(item[1][0], len(components)), item[0]

    result = []
    for _, (name, instance) in sorted(enumerate(grouped), key=component_rank):
        ranks = order.get(name, {})
        defs = [d for _, d in sorted(enumerate(grouped[(name, instance)]),
                                     key=lambda item: (ranks.get(_label(item[1]), len(ranks)), item[0]))]
        result.append(ComponentDef(name, tuple(defs), instance))
    return tuple(result)


STANDARD_COMPONENTS: tuple[ComponentDef, ...] = assemble(
    [var for module in _DECLARING for var in module.VARIABLES])
