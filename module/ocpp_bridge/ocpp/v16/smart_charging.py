"""OCPP 1.6 Smart Charging profile — the 1.6 adapter of ``ocpp/common/smart_charging.py``. PURE.

Owns the file ``charging_profiles16.db``, the mapping of a 1.6 ``csChargingProfiles`` onto the
version-neutral ``Profile`` (ChargePointMaxProfile is the station maximum; connector ids are
EVSE ids: one connector per EVSE, as everywhere in our 1.6 charge point), and what a running
1.6 transaction is to a TxProfile (its CSMS-given ``transactionId``).

Must never: keep profiles itself (the common core does), or read a clock.
"""

from __future__ import annotations

from typing import Any

from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.common.composite import Context, Profile, Purpose, Running, Schedule, SchedulePeriod
from ocpp_bridge.ocpp.common.smart_charging import MIGRATIONS, ProfileStore, SmartCharging, profile_time
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.transactions import Transactions16

DATABASE_NAME = "charging_profiles16"
PURPOSES: dict[str, Purpose] = {"ChargePointMaxProfile": "ChargingStationMaxProfile", "TxDefaultProfile": "TxDefaultProfile",
            "TxProfile": "TxProfile"}


def to_profile(wire: dict[str, Any], evse: int) -> Profile:
    """A 1.6 ``csChargingProfiles`` installed on connector ``evse``, version-neutral.
    Raises KeyError / ValueError for a profile that does not fit (the schema has checked it)."""
    schedule = wire["chargingSchedule"]
    transaction_id = wire.get("transactionId")
    return Profile(
        id=wire["chargingProfileId"], stack_level=wire["stackLevel"], purpose=PURPOSES[wire["chargingProfilePurpose"]],
        kind=wire["chargingProfileKind"], evse=evse, recurrency=wire.get("recurrencyKind"),
        valid_from=profile_time(wire.get("validFrom")), valid_to=profile_time(wire.get("validTo")),
        transaction_id=None if transaction_id is None else str(transaction_id),
        schedules=(Schedule(
            unit=schedule["chargingRateUnit"], start_schedule=profile_time(schedule.get("startSchedule")),
            duration=schedule.get("duration"), min_charging_rate=schedule.get("minChargingRate"),
            periods=tuple(SchedulePeriod(p["startPeriod"], float(p["limit"]), p.get("numberPhases"))
                          for p in schedule["chargingSchedulePeriod"])),),
    )


def build(ctx: BlockContext[ConfigurationKeys], transactions: Transactions16) -> SmartCharging:
    """The common core for a 1.6 charge point: its file, its mapping, its transactions."""

    def running_on(evse: int) -> Running | None:
        rec = transactions.active(evse)
        if rec is None:
            return None
        started = epoch(rec.started_at)
        return Running("" if rec.transaction_id is None else str(rec.transaction_id),
                       ctx.core.now if started is None else started)

    return SmartCharging(ctx.core.events, ProfileStore(ctx.databases.open(DATABASE_NAME, MIGRATIONS)), to_profile,
                         evses=tuple(range(1, ctx.evse_count + 1)), running_on=running_on,
                         context=lambda: Context(evses=()))
