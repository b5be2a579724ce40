"""Which 2.0.1 variable monitors a GetMonitoringReport (N02) selects, as MonitoringDataType. PURE.

Owns the selection: ``componentVariable`` matches as GetReport's does (``report_query``: an
omitted instance, EVSE or variable means every one, N02.FR.15-17); ``monitoringCriteria``
ThresholdMonitoring -> UpperThreshold / LowerThreshold, DeltaMonitoring -> Delta,
PeriodicMonitoring -> Periodic / PeriodicClockAligned (N02.FR.12-14); both given: both must hold.
The result has one entry a variable, with its monitors in id order, and the wire forms of a
monitor's component and variable that NotifyEvent uses too.

Must never: store, send or decide anything about events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ocpp_bridge.ocpp.v201 import report_query
from ocpp_bridge.ocpp.v201.dm_definitions import VariableKey
from ocpp_bridge.ocpp.v201.monitor_rules import PERIODIC, THRESHOLDS
from ocpp_bridge.ocpp.v201.monitor_store import Monitor

CRITERIA_TYPES = {"ThresholdMonitoring": THRESHOLDS, "DeltaMonitoring": ("Delta",), "PeriodicMonitoring": PERIODIC}


def wire_component(key: VariableKey) -> dict[str, Any]:
    component: dict[str, Any] = {"name": key.component}
    if key.component_instance is not None:
        component["instance"] = key.component_instance
    if key.evse is not None:
        component["evse"] = {"id": key.evse, **({"connectorId": key.connector} if key.connector is not None else {})}
    return component


def wire_variable(key: VariableKey) -> dict[str, Any]:
    return {"name": key.variable, **({"instance": key.variable_instance} if key.variable_instance else {})}


def select(monitors: Sequence[Monitor], wanted: Sequence[dict[str, Any]],
           criteria: Sequence[str]) -> list[dict[str, Any]]:
    """MonitoringDataType entries (camelCase) of the monitors the request selects."""
    types = {t for c in criteria for t in CRITERIA_TYPES.get(c, ())}
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for m in sorted(monitors, key=lambda m: m.id):
        if criteria and m.type not in types:
            continue
        if wanted and not report_query.select([(m.key, {})], wanted, None):
            continue
        group = grouped.setdefault(
            (report_query.component_of(m.key), m.key.variable.casefold(), (m.key.variable_instance or "").casefold()),
            {"component": wire_component(m.key), "variable": wire_variable(m.key), "variableMonitoring": []})
        group["variableMonitoring"].append({"id": m.id, "transaction": m.transaction, "value": m.value,
                                            "type": m.type, "severity": m.severity})
    return list(grouped.values())
