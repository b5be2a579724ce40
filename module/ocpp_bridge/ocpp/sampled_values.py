"""A power-meter reading as OCPP SampledValues, for either version. PURE.

Owns one translation: a ``MeterSample`` (what the EVSE's meter said, in base units) plus the
measurands a configuration asks for plus a reading context -> the list of SampledValue
objects of a MeterValue, shaped for "1.6" (value as a string, ``unit``) or "2.0.1" (value as
a number, ``unitOfMeasure``). Both versions' meter-value blocks call ``sampled_values``.

Measurand items are the configuration's: a measurand name, optionally with a phase suffix
("Voltage.L1", "Current.Import.N", as OCPP 1.6 section 9.1 and 2.0.1 SampledDataCtrlr allow).
- With a suffix, only that phase is reported (voltage phases are line-to-neutral, so "L1"
  and "L1-N" both select the meter's L1 voltage).
- Without one, the total is reported when the meter has it; for current and voltage on AC
  (no total) every phase the meter reports is, each with its ``phase``.
- A measurand the sample has no value for is left out (never a made-up zero).

Must never: read a clock, keep state, know which configuration key the measurands came from,
or send anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ocpp_bridge.ocpp.evse_events import MeterSample

V16, V201 = "1.6", "2.0.1"

_PHASES = ("L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1", "L1", "L2", "L3", "N")

# measurand -> (MeterSample total field, MeterSample phase-dict field, unit 1.6, unit 2.0.1, location)
_Source = tuple[str | None, str | None, str | None, str, str | None]
_SOURCES: dict[str, _Source] = {
    "Energy.Active.Import.Register": ("energy_import_wh", "energy_import_wh_phases", "Wh", "Wh", None),
    "Energy.Active.Export.Register": ("energy_export_wh", None, "Wh", "Wh", None),
    "Power.Active.Import": ("power_w", "power_w_phases", "W", "W", None),
    "Power.Reactive.Import": ("reactive_power_var", None, "var", "var", None),
    "Current.Import": (None, "current_a", "A", "A", None),
    "Voltage": (None, "voltage_v", "V", "V", None),
    "Frequency": ("frequency_hz", None, None, "Hz", None),
    "SoC": ("soc_percent", None, "Percent", "Percent", "EV"),
    "Temperature": ("temperature_c", None, "Celsius", "Celsius", "Body"),
}
# 2.0.1's MeasurandEnumType has no Temperature.
_NOT_IN_201 = frozenset({"Temperature"})


def split_measurand(item: str) -> tuple[str, str | None]:
    """"Current.Import.L2" -> ("Current.Import", "L2"); "Voltage" -> ("Voltage", None)."""
    base, _, suffix = item.rpartition(".")
    if base and suffix in _PHASES:
        return base, suffix
    return item, None


def measurand_list(text: str | None) -> list[str]:
    """A comma-separated configuration value as a list of measurand items."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def sampled_values(sample: MeterSample, measurands: Sequence[str], context: str, version: str) -> list[dict[str, Any]]:
    """SampledValue objects of ``sample`` for ``measurands`` (see the module docstring)."""
    out: list[dict[str, Any]] = []
    for item in measurands:
        measurand, phase = split_measurand(item)
        source = _SOURCES.get(measurand)
        if source is None or (version == V201 and measurand in _NOT_IN_201):
            continue
        for value, value_phase in _readings(sample, measurand, source, phase):
            out.append(_shape(value, value_phase, measurand, context, source, version))
    return out


def _readings(sample: MeterSample, measurand: str, source: _Source, phase: str | None) -> list[tuple[float, str | None]]:
    total_field, phase_field, *_ = source
    phases = dict(getattr(sample, phase_field)) if phase_field else {}
    dc = phases.pop("DC", None)
    if phase is not None:
        key = phase[:2] if measurand == "Voltage" and phase.endswith("-N") else phase
        value = phases.get(key)
        return [] if value is None else [(value, _phase_name(measurand, key))]
    total = getattr(sample, total_field) if total_field else None
    if total is None:
        total = dc
    if total is not None:
        return [(total, None)]
    return [(phases[k], _phase_name(measurand, k)) for k in ("L1", "L2", "L3", "N") if phases.get(k) is not None]


def _phase_name(measurand: str, key: str) -> str:
    if measurand == "Voltage" and key in ("L1", "L2", "L3"):
        return f"{key}-N"
    return key


def _shape(value: float, phase: str | None, measurand: str, context: str, source: _Source, version: str) -> dict[str, Any]:
    _, _, unit16, unit201, location = source
    if version == V16:
        sv: dict[str, Any] = {"value": _text(value), "context": context, "measurand": measurand}
        if unit16 is not None:
            sv["unit"] = unit16
    else:
        sv = {"value": _number(value), "context": context, "measurand": measurand,
              "unitOfMeasure": {"unit": unit201}}
    if phase is not None:
        sv["phase"] = phase
    if location is not None:
        sv["location"] = location
    return sv


def _number(value: float) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else round(number, 3)


def _text(value: float) -> str:
    number = _number(value)
    return str(number) if isinstance(number, int) else f"{number:.3f}".rstrip("0").rstrip(".")
