"""OCPP 1.6 Smart Charging profile: SetChargingProfile, ClearChargingProfile,
GetCompositeSchedule and RemoteStartTransaction's profile — the 1.6 adapter of
``ocpp/common/smart_charging.py``. PURE.

Owns the file ``charging_profiles16.db``, the mapping of a 1.6 ``csChargingProfiles`` onto the
version-neutral ``Profile`` (ChargePointMaxProfile is the station maximum; connector ids are
EVSE ids: one connector per EVSE, as everywhere in our 1.6 charge point), what a running
1.6 transaction is to a TxProfile (its CSMS-given ``transactionId``), the §9.4 keys
(``KEYS``) and the 1.6 rules of a request:

SetChargingProfile is Rejected for a connector beyond NumberOfConnectors, a ChargePointMaxProfile
not on connector 0, a TxProfile on connector 0, on a connector without a running transaction or
naming another transactionId, a stackLevel above ChargeProfileMaxStackLevel, a chargingRateUnit
not in ChargingScheduleAllowedChargingRateUnit, more periods than ChargingScheduleMaxPeriods, or
a profile that would make more than MaxChargingProfilesInstalled (the ones it replaces do not
count); else Accepted. A new profile replaces the one with its chargingProfileId and the one
with its stackLevel and purpose on its connector (§3.13.2). A TxDefaultProfile may go on 0 (every
connector) or one connector.

ClearChargingProfile: by id alone when given, else by every criterion given (connectorId,
chargingProfilePurpose, stackLevel; none: all); Accepted when one went, else Unknown.

GetCompositeSchedule: connector 0 (the station) or one connector, from ``core.now`` for
``duration``; without chargingRateUnit, in the first unit of
ChargingScheduleAllowedChargingRateUnit. Limits are rounded to one decimal (schema).

What the composite assumes: SupplyVoltage, CompositeScheduleDefaultNumberPhases and
CompositeScheduleDefaultLimitAmps / ...Watts (the limit where no profile applies), and the
purposes IgnoredProfilePurposesOffline leaves out while offline — libocpp's keys, names and
defaults (230 V, 3, 48 A, 33120 W, none), read at each computation.

RemoteStartTransaction's chargingProfile (``RemoteStartProfile``; remote_control.py has checked
it is a TxProfile) becomes the TxProfile of the next transaction started on its connector (any,
when the request named none), §5.16; it is checked as SetChargingProfile checks, held in memory
only, and ends with that transaction.

Must never: keep profiles itself (the common core does), or read a clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.common.composite import (
    CompositeSchedule,
    Context,
    Profile,
    Purpose,
    Running,
    Schedule,
    SchedulePeriod,
    Unit,
)
from ocpp_bridge.ocpp.common.smart_charging import MIGRATIONS, Installed, ProfileStore, SmartCharging, profile_time
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import RemoteStartProfile, TxStarted
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.keys import RW, R, choices, integer, limit
from ocpp_bridge.ocpp.v16.transactions import Transactions16

log = logging.getLogger("ocpp_bridge.ocpp.v16.smart_charging")

CHARGE_PROFILE_MAX_STACK_LEVEL = limit("ChargeProfileMaxStackLevel", 8)
ALLOWED_CHARGING_RATE_UNITS = choices("ChargingScheduleAllowedChargingRateUnit", "rate_units", "Current,Power", access=R)
CHARGING_SCHEDULE_MAX_PERIODS = limit("ChargingScheduleMaxPeriods", 24)
MAX_CHARGING_PROFILES_INSTALLED = limit("MaxChargingProfilesInstalled", 10)
# libocpp's keys for what the composite assumes (its "Internal" section, its defaults)
DEFAULT_LIMIT_AMPS = integer("CompositeScheduleDefaultLimitAmps", 48)
DEFAULT_LIMIT_WATTS = integer("CompositeScheduleDefaultLimitWatts", 33120)
DEFAULT_NUMBER_PHASES = integer("CompositeScheduleDefaultNumberPhases", 3, minimum=1, maximum=3)
SUPPLY_VOLTAGE = integer("SupplyVoltage", 230, minimum=1)
IGNORED_PROFILE_PURPOSES_OFFLINE = choices("IgnoredProfilePurposesOffline", "purposes", "", access=RW)
KEYS = (CHARGE_PROFILE_MAX_STACK_LEVEL, ALLOWED_CHARGING_RATE_UNITS, CHARGING_SCHEDULE_MAX_PERIODS,
        MAX_CHARGING_PROFILES_INSTALLED, DEFAULT_LIMIT_AMPS, DEFAULT_LIMIT_WATTS, DEFAULT_NUMBER_PHASES,
        SUPPLY_VOLTAGE, IGNORED_PROFILE_PURPOSES_OFFLINE)
UNITS: dict[str, Unit] = {"Current": "A", "Power": "W"}  # ChargingScheduleAllowedChargingRateUnit item -> unit
UNIT_NAMES = {unit: name for name, unit in UNITS.items()}

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

    def context() -> Context:
        keys = ctx.config
        return Context(evses=(), supply_voltage=float(keys.read(SUPPLY_VOLTAGE)),
                       default_phases=keys.read(DEFAULT_NUMBER_PHASES),
                       default_limit_amps=float(keys.read(DEFAULT_LIMIT_AMPS)),
                       default_limit_watts=float(keys.read(DEFAULT_LIMIT_WATTS)))

    def ignored_offline() -> frozenset[Purpose]:
        return frozenset(PURPOSES[name] for name in ctx.config.read(IGNORED_PROFILE_PURPOSES_OFFLINE) if name in PURPOSES)

    return SmartCharging(ctx.core.events, ProfileStore(ctx.databases.open(DATABASE_NAME, MIGRATIONS)), to_profile,
                         evses=tuple(range(1, ctx.evse_count + 1)), running_on=running_on, context=context,
                         ignored_offline=ignored_offline)


class SmartCharging16:
    """The 1.6 Smart Charging messages over the common core (``profiles``)."""

    def __init__(self, ctx: BlockContext[ConfigurationKeys], transactions: Transactions16) -> None:
        self.core = ctx.core
        self.keys = ctx.config
        self.count = ctx.evse_count
        self.tx = transactions
        self.profiles = build(ctx, transactions)
        self._remote: dict[int | None, dict[str, Any]] = {}  # connector (None: any) -> RemoteStart's profile
        for action, fn in (("SetChargingProfile", self._set), ("ClearChargingProfile", self._clear),
                           ("GetCompositeSchedule", self._composite)):
            self.core.handle(action, fn)
        self.core.events.subscribe(RemoteStartProfile, self._remote_start_profile)
        self.core.events.subscribe(TxStarted, lambda started: self._transaction_started(started.evse))

    # ------------------------------------------------------------------ SetChargingProfile
    def _set(self, payload: dict[str, Any]) -> dict[str, Any]:
        connector, wire = payload["connectorId"], payload["csChargingProfiles"]
        return {"status": "Accepted" if self._install(connector, wire) else "Rejected"}

    def _install(self, connector: int, wire: dict[str, Any]) -> bool:
        refusal = self._refusal(connector, wire)
        if refusal is None:
            try:
                self.profiles.install(wire, connector, replaces=lambda i: replaces(i, connector, wire))
                return True
            except (KeyError, TypeError, ValueError) as exc:
                refusal = f"does not map: {exc}"
        log.info("charging profile %s on connector %d rejected: %s", wire.get("chargingProfileId"), connector, refusal)
        return False

    def _refusal(self, connector: int, wire: dict[str, Any]) -> str | None:
        """Why ``wire`` may not be installed on ``connector`` (None: it may)."""
        purpose, schedule = wire["chargingProfilePurpose"], wire["chargingSchedule"]
        if not 0 <= connector <= self.count:
            return "no such connector"
        if purpose == "ChargePointMaxProfile" and connector != 0:
            return "a ChargePointMaxProfile belongs on connector 0"
        if purpose == "TxProfile":
            if connector == 0:
                return "a TxProfile belongs on a connector"
            rec = self.tx.active(connector)
            if rec is None:
                return "no transaction runs there"
            if wire.get("transactionId") is not None and wire["transactionId"] != rec.transaction_id:
                return f"not for the running transaction {rec.transaction_id}"
        if wire["stackLevel"] > self.keys.read(CHARGE_PROFILE_MAX_STACK_LEVEL):
            return "stackLevel above ChargeProfileMaxStackLevel"
        if UNIT_NAMES.get(schedule["chargingRateUnit"]) not in self.keys.read(ALLOWED_CHARGING_RATE_UNITS):
            return "chargingRateUnit not in ChargingScheduleAllowedChargingRateUnit"
        if len(schedule["chargingSchedulePeriod"]) > self.keys.read(CHARGING_SCHEDULE_MAX_PERIODS):
            return "more periods than ChargingScheduleMaxPeriods"
        gone = self.profiles.installed(lambda i: i.id == wire["chargingProfileId"] or replaces(i, connector, wire))
        if len(self.profiles.installed()) - len(gone) + 1 > self.keys.read(MAX_CHARGING_PROFILES_INSTALLED):
            return "MaxChargingProfilesInstalled reached"
        return None

    # ------------------------------------------------------------------ ClearChargingProfile
    def _clear(self, payload: dict[str, Any]) -> dict[str, Any]:
        gone = self.profiles.clear(clear_match(payload))
        return {"status": "Accepted" if gone else "Unknown"}

    # ------------------------------------------------------------------ GetCompositeSchedule
    def _composite(self, payload: dict[str, Any]) -> dict[str, Any]:
        connector, duration = payload["connectorId"], payload["duration"]
        if not 0 <= connector <= self.count:
            return {"status": "Rejected"}
        first: Unit = next((UNITS[name] for name in self.keys.read(ALLOWED_CHARGING_RATE_UNITS) if name in UNITS), "A")
        unit: Unit = payload.get("chargingRateUnit") or first
        now = self.core.now
        return composite_answer(self.profiles.schedule(connector, now, duration, unit), iso(now))

    # ------------------------------------------------------------------ RemoteStartTransaction's profile
    def _remote_start_profile(self, event: RemoteStartProfile) -> None:
        self._remote[event.evse] = event.profile

    def _transaction_started(self, evse: int) -> None:
        """1.6 §5.16: the RemoteStartTransaction's profile is the started transaction's TxProfile
        (without transactionId: the CSMS did not know it; it lives as long as the transaction)."""
        wire = self._remote.pop(evse, None) or self._remote.pop(None, None)
        if wire is not None:
            self._install(evse, {k: v for k, v in wire.items() if k != "transactionId"})

    def close(self) -> None:
        self.profiles.close()


def replaces(installed: Installed, connector: int, wire: dict[str, Any]) -> bool:
    """1.6 §3.13.2: a new profile replaces the one with its stackLevel and purpose on its connector
    (the one with its id is replaced anyway)."""
    return (installed.evse == connector and installed.wire["stackLevel"] == wire["stackLevel"]
            and installed.wire["chargingProfilePurpose"] == wire["chargingProfilePurpose"])


def clear_match(payload: dict[str, Any]) -> Callable[[Installed], bool]:
    """The installed profiles a ClearChargingProfile.req names: by ``id`` alone when it has one (the
    other fields are then ignored), else every one matching all the criteria given (none: all)."""
    if payload.get("id") is not None:
        return lambda i: i.id == payload["id"]
    criteria = [(field, payload[key]) for key, field in (("connectorId", "evse"), ("chargingProfilePurpose", "purpose"),
                                                         ("stackLevel", "stackLevel")) if payload.get(key) is not None]

    def match(i: Installed) -> bool:
        values = {"evse": i.evse, "purpose": i.wire["chargingProfilePurpose"], "stackLevel": i.wire["stackLevel"]}
        return all(values[field] == wanted for field, wanted in criteria)

    return match


def composite_answer(schedule: CompositeSchedule, start: str) -> dict[str, Any]:
    """GetCompositeSchedule.conf for ``schedule`` starting at ``start`` (its dateTime); limits and
    the minimum rate to one decimal (the schema's ``multipleOf: 0.1``)."""
    answer: dict[str, Any] = {
        "duration": schedule.duration, "startSchedule": start, "chargingRateUnit": schedule.unit,
        "chargingSchedulePeriod": [{"startPeriod": p.start_period, "limit": round(p.limit, 1),
                                    "numberPhases": p.number_phases} for p in schedule.periods]}
    if schedule.min_charging_rate is not None:
        answer["minChargingRate"] = round(schedule.min_charging_rate, 1)
    return {"status": "Accepted", "connectorId": schedule.evse, "scheduleStart": start, "chargingSchedule": answer}
