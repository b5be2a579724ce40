"""OCPP 2.0.1 functional block K (Smart Charging) — the 2.0.1 adapter of
``ocpp/common/smart_charging.py``. PURE.

Owns the file ``charging_profiles201.db``, the mapping of a 2.0.1 ``ChargingProfileType`` onto
the version-neutral ``Profile`` (its one to three ``chargingSchedule`` entries kept in order),
and what a running 2.0.1 transaction is to a TxProfile (its ``transactionId``).

Must never: keep profiles itself (the common core does), or read a clock.
"""

from __future__ import annotations

from typing import Any

from ocpp_bridge.ocpp.common.composite import Context, Profile, Running, Schedule, SchedulePeriod
from ocpp_bridge.ocpp.common.smart_charging import MIGRATIONS, ProfileStore, SmartCharging, profile_time
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock

DATABASE_NAME = "charging_profiles201"


def to_profile(wire: dict[str, Any], evse: int) -> Profile:
    """A 2.0.1 ``ChargingProfileType`` installed on EVSE ``evse``, version-neutral.
    Raises KeyError / ValueError for a profile that does not fit (the schema has checked it)."""
    return Profile(
        id=wire["id"], stack_level=wire["stackLevel"], purpose=wire["chargingProfilePurpose"],
        kind=wire["chargingProfileKind"], evse=evse, recurrency=wire.get("recurrencyKind"),
        valid_from=profile_time(wire.get("validFrom")), valid_to=profile_time(wire.get("validTo")),
        transaction_id=wire.get("transactionId"),
        schedules=tuple(Schedule(
            unit=s["chargingRateUnit"], start_schedule=profile_time(s.get("startSchedule")),
            duration=s.get("duration"), min_charging_rate=s.get("minChargingRate"),
            periods=tuple(SchedulePeriod(p["startPeriod"], float(p["limit"]), p.get("numberPhases"))
                          for p in s["chargingSchedulePeriod"])) for s in wire["chargingSchedule"]),
    )


def build(ctx: BlockContext[DeviceModel], transactions: TransactionBlock) -> SmartCharging:
    """The common core for a 2.0.1 station: its file, its mapping, its transactions."""

    def running_on(evse: int) -> Running | None:
        tx = transactions.on_evse(evse)
        if tx is None or not tx.started:
            return None
        return Running(tx.transaction_id, ctx.core.now)  # TODO(smart charging 2.0.1): the tx's start time

    return SmartCharging(ctx.core.events, ProfileStore(ctx.databases.open(DATABASE_NAME, MIGRATIONS)), to_profile,
                         evses=tuple(range(1, ctx.evse_count + 1)), running_on=running_on,
                         context=lambda: Context(evses=()))
