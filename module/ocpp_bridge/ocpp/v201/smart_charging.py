"""OCPP 2.0.1 functional block K (Smart Charging) — the 2.0.1 adapter of
``ocpp/common/smart_charging.py``. PURE.

Owns the file ``charging_profiles201.db``, the mapping of a 2.0.1 ``ChargingProfileType`` onto
the version-neutral ``Profile`` (its one to three ``chargingSchedule`` entries kept in order),
what a running 2.0.1 transaction is to a TxProfile (its ``transactionId`` and the time of its
Started event), the SmartChargingCtrlr variables (declared here) and the CSMS's messages of
block K: SetChargingProfile (K01), GetCompositeSchedule (K08), GetChargingProfiles (K09, with
its ReportChargingProfiles messages) and ClearChargingProfile (K10), and the profile of a
RequestStartTransaction (K05, checked here for remote_control.py).

Rules (2.0.1 part 2; statusInfo.reasonCode from its reason-code table):
- SmartChargingCtrlr.Available false: every K message answers CALLERROR NotSupported (as
  libocpp does). Enabled false: SetChargingProfile Rejected (NotEnabled); the other messages
  still answer from what is installed.
- SetChargingProfile is Rejected when: the evseId is not an EVSE of the station
  (UnknownEvse); the purpose is ChargingStationExternalConstraints (the CSMS shall not set it,
  K01.FR.22: InvalidValue); a ChargingStationMaxProfile is not on evseId 0 or is Relative
  (K01.FR.38; InvalidValue); a TxProfile is on evseId 0 (K01.FR.16), has no transactionId
  (InvalidValue) or names a transaction that is not the one running on its EVSE (TxNotFound);
  the stackLevel is above SmartChargingCtrlr.ProfileStackLevel (InvalidStackLevel); a
  schedule's chargingRateUnit is not in SmartChargingCtrlr.RateUnit (UnsupportedRateUnit); a
  schedule has more periods than SmartChargingCtrlr.PeriodsPerSchedule (TooManyElements); its
  first period does not start at 0 or its periods are not in increasing startPeriod, an
  Absolute/Recurring schedule has no startSchedule, a Relative one has one, a Recurring
  profile has no recurrencyKind, or a period has phaseToUse (with numberPhases other than 1
  it is invalid; with 1 the station cannot switch phases) (InvalidSchedule); another
  profile with the same purpose and stackLevel on the same EVSE and an overlapping
  validFrom..validTo exists (K01.FR.06; for TxProfiles: the same transaction,
  DuplicateProfile); or installing it would exceed the Entries maxLimit (OutOfStorage).
  A profile with the id of an installed one replaces it (K01.FR.05).
- RequestStartTransaction's chargingProfile (K05, F01.FR.08-11): ignored when smart charging
  is not Available and Enabled; else not a TxProfile, or with a transactionId: the request is
  Rejected (InvalidProfile); a profile K01 would refuse (but for its transaction, which has
  not started) too, with K01's reasonCode. An accepted one becomes the TxProfile of the
  transaction that carries the request's remoteStartId, with its transactionId, once it runs
  (at once when a transaction is already there, F02); it is held in memory until then.
- ClearChargingProfile: a chargingProfileId clears that profile; else the criteria (evseId,
  purpose, stackLevel; each optional) clear every profile matching all of them. Accepted when
  something was cleared, else Unknown. ChargingStationExternalConstraints are never cleared.
- GetCompositeSchedule: evseId 0 (the station) or an EVSE, else Rejected (UnknownEvse); a
  chargingRateUnit not in RateUnit: Rejected (UnsupportedRateUnit); no unit: the first of
  RateUnit. The schedule starts now and lasts ``duration``.
- GetChargingProfiles: the profiles matching evseId (omitted: all) and every criterion
  given; none: NoProfiles, else Accepted and one ReportChargingProfiles per EVSE (source CSO,
  ``tbc`` on all but the last).
- What the composite assumes (libocpp's custom SmartChargingCtrlr variables, read at each
  computation): SupplyVoltage, CompositeScheduleDefaultNumberPhases,
  CompositeScheduleDefaultLimitAmps / ...Watts (where no profile applies), and
  IgnoredProfilePurposesOffline (K06: the purposes left out while offline; default none).
- SmartChargingCtrlr.Entries[ChargingProfiles] holds the number of installed profiles.
  LimitChangeSignificance: ``charging_rate.py`` reports a running transaction's limit changes.
  ACPhaseSwitchingSupported is false (constant): a period with phaseToUse is refused.

Must never: keep profiles itself (the common core does), or read a clock.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from ocpp_bridge.ocpp.common.composite import Context, Profile, Purpose, Running, Schedule, SchedulePeriod
from ocpp_bridge.ocpp.common.composite import Unit as RateUnit
from ocpp_bridge.ocpp.common.smart_charging import (
    MIGRATIONS,
    Installed,
    ProfileStore,
    SmartCharging,
    profile_time,
)
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.errors import NotSupportedAction
from ocpp_bridge.ocpp.events import ChargingProfilesChanged, RemoteStartProfile, TxStarted, TxUpdated
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v201.charging_rate import ChargingRateReports
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.dm_definitions import RO, VariableKey
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock
from ocpp_bridge.ocpp.v201.variables import boolean, decimal, enabled, fixed, integer, member_list

log = logging.getLogger("ocpp_bridge.ocpp.v201.smart_charging")

DATABASE_NAME = "charging_profiles201"
SMART = "SmartChargingCtrlr"
MAX_PROFILES = 20  # the Entries[ChargingProfiles] maxLimit
EXTERNAL = "ChargingStationExternalConstraints"

SMART_CHARGING_ENABLED = enabled(SMART)
SMART_CHARGING_AVAILABLE = boolean(SMART, "Available", True, mutability=RO)
ENTRIES = integer(SMART, "Entries", 0, mutability=RO, instance="ChargingProfiles", max_limit=MAX_PROFILES)
PERIODS_PER_SCHEDULE = fixed(SMART, "PeriodsPerSchedule", 24, min_limit=1)
PROFILE_STACK_LEVEL = fixed(SMART, "ProfileStackLevel", 8)
RATE_UNIT = member_list(SMART, "RateUnit", "A,W", values_list="A,W", mutability=RO, constant=True)
# libocpp's custom SmartChargingCtrlr variables for what the composite assumes, its defaults
DEFAULT_LIMIT_AMPS = integer(SMART, "CompositeScheduleDefaultLimitAmps", 48, unit="A")
DEFAULT_LIMIT_WATTS = integer(SMART, "CompositeScheduleDefaultLimitWatts", 33120, unit="W")
DEFAULT_NUMBER_PHASES = integer(SMART, "CompositeScheduleDefaultNumberPhases", 3, min_limit=1, max_limit=3)
SUPPLY_VOLTAGE = integer(SMART, "SupplyVoltage", 230, min_limit=1, unit="V")
IGNORED_PROFILE_PURPOSES_OFFLINE = member_list(
    SMART, "IgnoredProfilePurposesOffline", "", values_list="ChargingStationMaxProfile,TxDefaultProfile,TxProfile")
LIMIT_CHANGE_SIGNIFICANCE = decimal(SMART, "LimitChangeSignificance", 1.0, unit="Percent")
AC_PHASE_SWITCHING_SUPPORTED = boolean(SMART, "ACPhaseSwitchingSupported", False, mutability=RO, constant=True)
VARIABLES = (
    SMART_CHARGING_ENABLED,
    ENTRIES,
    boolean(SMART, "ExternalControlSignalsEnabled", False),
    PERIODS_PER_SCHEDULE,
    PROFILE_STACK_LEVEL,
    RATE_UNIT,
    SMART_CHARGING_AVAILABLE,
    LIMIT_CHANGE_SIGNIFICANCE,
    AC_PHASE_SWITCHING_SUPPORTED,
    DEFAULT_LIMIT_AMPS,
    DEFAULT_LIMIT_WATTS,
    DEFAULT_NUMBER_PHASES,
    SUPPLY_VOLTAGE,
    IGNORED_PROFILE_PURPOSES_OFFLINE,
)
_ENTRIES_KEY = VariableKey(SMART, "Entries", variable_instance="ChargingProfiles")


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
        return Running(tx.transaction_id, tx.started_at if tx.started_at is not None else ctx.core.now)

    def context() -> Context:
        model = ctx.config
        return Context(evses=(), supply_voltage=float(model.read(SUPPLY_VOLTAGE)),
                       default_phases=model.read(DEFAULT_NUMBER_PHASES),
                       default_limit_amps=float(model.read(DEFAULT_LIMIT_AMPS)),
                       default_limit_watts=float(model.read(DEFAULT_LIMIT_WATTS)))

    def ignored_offline() -> frozenset[Purpose]:
        return frozenset(cast(Purpose, name) for name in ctx.config.read(IGNORED_PROFILE_PURPOSES_OFFLINE))

    return SmartCharging(ctx.core.events, ProfileStore(ctx.databases.open(DATABASE_NAME, MIGRATIONS)), to_profile,
                         evses=tuple(range(1, ctx.evse_count + 1)), running_on=running_on, context=context,
                         ignored_offline=ignored_offline)


def status_answer(status: str, reason: str | None = None, info: str | None = None) -> dict[str, Any]:
    """An answer's ``status`` and, with a ``reason``, its ``statusInfo``."""
    answer: dict[str, Any] = {"status": status}
    if reason is not None:
        answer["statusInfo"] = {"reasonCode": reason, **({"additionalInfo": info[:512]} if info else {})}
    return answer


def _overlap(a: Profile, b: Profile) -> bool:
    inf = float("inf")
    a_from, a_to = a.valid_from if a.valid_from is not None else -inf, a.valid_to if a.valid_to is not None else inf
    b_from, b_to = b.valid_from if b.valid_from is not None else -inf, b.valid_to if b.valid_to is not None else inf
    return a_from < b_to and b_from < a_to


class SmartChargingBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], transactions: TransactionBlock) -> None:
        self.core = ctx.core
        self.model = ctx.config
        self.evse_count = ctx.evse_count
        self.transactions = transactions
        self.profiles = build(ctx, transactions)
        self.rate_reports = ChargingRateReports(ctx, self.profiles, transactions, LIMIT_CHANGE_SIGNIFICANCE)
        self.core.handle("SetChargingProfile", self._on_set)
        self.core.handle("ClearChargingProfile", self._on_clear)
        self.core.handle("GetCompositeSchedule", self._on_get_composite)
        self.core.handle("GetChargingProfiles", self._on_get_profiles)
        self._remote: dict[int, tuple[dict[str, Any], int | None]] = {}  # EVSE -> (profile, remoteStartId)
        self.core.events.subscribe(ChargingProfilesChanged, lambda changed: self._count())
        self.core.events.subscribe(RemoteStartProfile, self._on_remote_start_profile)
        self.core.events.subscribe(TxStarted, lambda started: self._install_remote_start_profile(started.evse))
        self.core.events.subscribe(TxUpdated, lambda updated: self._install_remote_start_profile(updated.evse))
        self._count()

    def _available(self) -> None:
        if not self.model.read(SMART_CHARGING_AVAILABLE):
            raise NotSupportedAction("smart charging is not available (SmartChargingCtrlr.Available is false)")

    def _count(self) -> None:
        try:
            self.model.set_internal(_ENTRIES_KEY, str(len(self.profiles.installed())))
        except (KeyError, ValueError) as exc:
            log.warning("cannot record SmartChargingCtrlr.Entries: %s", exc)

    # ------------------------------------------------------------------ K01
    def _on_set(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._available()
        evse, wire = payload["evseId"], payload["chargingProfile"]
        refusal = self._refusal(evse, wire)
        if refusal is not None:
            log.info("SetChargingProfile %s on EVSE %d rejected: %s (%s)", wire["id"], evse, *refusal)
            return status_answer("Rejected", *refusal)
        self.profiles.install(wire, evse)
        return status_answer("Accepted")

    # ------------------------------------------------------------------ K05 (RequestStartTransaction's profile)
    def takes_profiles(self) -> bool:
        """Smart charging is Available and Enabled: a RequestStartTransaction's profile is used
        (else it is ignored, as a 1.6 charge point ignores one it does not support)."""
        return bool(self.model.read(SMART_CHARGING_AVAILABLE) and self.model.read(SMART_CHARGING_ENABLED))

    def remote_start_refusal(self, evse: int, wire: dict[str, Any]) -> tuple[str, str] | None:
        """(reasonCode, additionalInfo) of a RequestStartTransaction profile that makes the request
        Rejected; None: it is used. It must be a TxProfile (F01.FR.09) without a transactionId
        (F01.FR.11), and pass K01's rules but the running transaction's."""
        if wire.get("chargingProfilePurpose") != "TxProfile":
            return "InvalidProfile", "a RequestStartTransaction profile must be a TxProfile (F01.FR.09)"
        if wire.get("transactionId") is not None:
            return "InvalidProfile", "a RequestStartTransaction profile has no transactionId (F01.FR.11)"
        return self._refusal(evse, wire, remote_start=True)

    def _on_remote_start_profile(self, event: RemoteStartProfile) -> None:
        if event.evse is not None:
            self._remote[event.evse] = (event.profile, event.remote_start_id)
            self._install_remote_start_profile(event.evse)

    def _install_remote_start_profile(self, evse: int) -> None:
        """Once the transaction of the RequestStartTransaction runs on ``evse`` (it carries its
        remoteStartId: started by it, or authorized by it, F02), the profile is that
        transaction's TxProfile, with its transactionId."""
        pending, tx = self._remote.get(evse), self.transactions.on_evse(evse)
        if pending is None or tx is None or tx.remote_start_id != pending[1]:
            return
        del self._remote[evse]
        wire = {**pending[0], "transactionId": tx.transaction_id}
        refusal = self._refusal(evse, wire)
        if refusal is not None:  # the profiles changed since the request was accepted
            log.warning("RequestStartTransaction %s's profile %s not installed: %s (%s)", pending[1], wire.get("id"),
                        *refusal)
            return
        self.profiles.install(wire, evse)

    def _refusal(self, evse: int, wire: dict[str, Any], *, remote_start: bool = False) -> tuple[str, str] | None:
        """(reasonCode, additionalInfo) of a profile the station does not take; None: it does.
        ``remote_start``: a RequestStartTransaction's, whose transaction has not started."""
        if not self.model.read(SMART_CHARGING_ENABLED):
            return "NotEnabled", "SmartChargingCtrlr.Enabled is false"
        if not 0 <= evse <= self.evse_count:
            return "UnknownEvse", f"no EVSE {evse}"
        try:
            new = to_profile(wire, evse)
        except (KeyError, TypeError, ValueError) as exc:
            return "InvalidValue", f"unusable profile: {exc}"
        if new.purpose == EXTERNAL:
            return "InvalidValue", "the CSMS may not set ChargingStationExternalConstraints (K01.FR.22)"
        if new.purpose == "ChargingStationMaxProfile":
            if evse != 0:
                return "InvalidValue", "a ChargingStationMaxProfile belongs on evseId 0"
            if new.kind == "Relative":
                return "InvalidValue", "a ChargingStationMaxProfile cannot be Relative (K01.FR.38)"
        if new.purpose == "TxProfile" and not remote_start:
            if evse == 0:
                return "InvalidValue", "a TxProfile needs an EVSE (K01.FR.16)"
            if new.transaction_id is None:
                return "InvalidValue", "a TxProfile needs a transactionId"
            running = self.transactions.on_evse(evse)
            if running is None or running.transaction_id != new.transaction_id:
                return "TxNotFound", f"transaction {new.transaction_id} is not running on EVSE {evse}"
        if new.stack_level > self.model.read(PROFILE_STACK_LEVEL):
            return "InvalidStackLevel", f"stackLevel above {self.model.read(PROFILE_STACK_LEVEL)}"
        if new.kind == "Recurring" and new.recurrency is None:
            return "InvalidSchedule", "a Recurring profile needs a recurrencyKind"
        for raw, schedule in zip(wire["chargingSchedule"], new.schedules, strict=True):
            refused = self._schedule_refusal(raw, schedule, new.kind)
            if refused is not None:
                return refused
        clash = next((i for i in self.profiles.installed() if self._clashes(i.profile, new)), None)
        if clash is not None:
            return "DuplicateProfile", f"profile {clash.id} has the same purpose and stackLevel (K01.FR.06)"
        kept = sum(1 for i in self.profiles.installed() if i.id != new.id)
        if kept + 1 > MAX_PROFILES:
            return "OutOfStorage", f"at most {MAX_PROFILES} charging profiles"
        return None

    def _schedule_refusal(self, raw: dict[str, Any], schedule: Schedule, kind: str) -> tuple[str, str] | None:
        if schedule.unit not in self.model.read(RATE_UNIT):
            return "UnsupportedRateUnit", f"chargingRateUnit {schedule.unit} is not supported"
        if len(schedule.periods) > self.model.read(PERIODS_PER_SCHEDULE):
            return "TooManyElements", f"more than {self.model.read(PERIODS_PER_SCHEDULE)} periods"
        starts = [p.start_period for p in schedule.periods]
        if starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
            return "InvalidSchedule", "periods must start at 0 and increase"
        if kind in ("Absolute", "Recurring") and schedule.start_schedule is None:
            return "InvalidSchedule", f"an {kind} schedule needs a startSchedule"
        if kind == "Relative" and schedule.start_schedule is not None:
            return "InvalidSchedule", "a Relative schedule has no startSchedule"
        for period in raw["chargingSchedulePeriod"]:
            if "phaseToUse" in period:
                if period.get("numberPhases") != 1:
                    return "InvalidSchedule", "phaseToUse needs numberPhases 1"
                return "InvalidSchedule", "this station cannot switch phases (phaseToUse)"
        return None

    @staticmethod
    def _clashes(old: Profile, new: Profile) -> bool:
        """K01.FR.06: same EVSE, purpose and stackLevel, another id, overlapping validity (a
        TxProfile only clashes with one of its own transaction)."""
        if old.id == new.id or old.evse != new.evse or old.purpose != new.purpose or old.stack_level != new.stack_level:
            return False
        if new.purpose == "TxProfile" and old.transaction_id != new.transaction_id:
            return False
        return _overlap(old, new)

    # ------------------------------------------------------------------ K10
    def _on_clear(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._available()
        profile_id = payload.get("chargingProfileId")
        criteria = payload.get("chargingProfileCriteria") or {}

        def match(i: Installed) -> bool:
            if i.profile.purpose == EXTERNAL:
                return False
            if profile_id is not None:
                return bool(i.id == profile_id)
            return (criteria.get("evseId") in (None, i.evse)
                    and criteria.get("chargingProfilePurpose") in (None, i.profile.purpose)
                    and criteria.get("stackLevel") in (None, i.profile.stack_level))

        return status_answer("Accepted" if self.profiles.clear(match) else "Unknown")

    # ------------------------------------------------------------------ K08
    def _on_get_composite(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._available()
        evse, duration = payload["evseId"], payload["duration"]
        units = self.model.read(RATE_UNIT)
        unit = payload.get("chargingRateUnit") or (units[0] if units else "A")
        if not 0 <= evse <= self.evse_count:
            return status_answer("Rejected", "UnknownEvse", f"no EVSE {evse}")
        if unit not in units:
            return status_answer("Rejected", "UnsupportedRateUnit", f"chargingRateUnit {unit} is not supported")
        now = self.core.now
        composite = self.profiles.schedule(evse, now, duration, cast(RateUnit, unit))
        periods = [{"startPeriod": p.start_period, "limit": round(p.limit, 1), "numberPhases": p.number_phases}
                   for p in composite.periods]
        return {"status": "Accepted", "schedule": {
            "evseId": evse, "duration": duration, "scheduleStart": iso(now), "chargingRateUnit": unit,
            "chargingSchedulePeriod": periods}}

    # ------------------------------------------------------------------ K09
    def _on_get_profiles(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._available()
        evse = payload.get("evseId")
        criterion = payload["chargingProfile"]
        ids, sources = criterion.get("chargingProfileId"), criterion.get("chargingLimitSource")

        def match(i: Installed) -> bool:
            return (evse in (None, i.evse)
                    and criterion.get("chargingProfilePurpose") in (None, i.profile.purpose)
                    and criterion.get("stackLevel") in (None, i.profile.stack_level)
                    and (not ids or i.id in ids) and (not sources or "CSO" in sources))

        found = self.profiles.installed(match)
        if not found:
            return status_answer("NoProfiles")
        by_evse: dict[int, list[dict[str, Any]]] = {}
        for i in found:
            by_evse.setdefault(i.evse, []).append(i.wire)
        evses = sorted(by_evse)
        for n, e in enumerate(evses):
            report: dict[str, Any] = {"requestId": payload["requestId"], "chargingLimitSource": "CSO",
                                      "evseId": e, "chargingProfile": by_evse[e]}
            if n < len(evses) - 1:
                report["tbc"] = True
            self.core.call("ReportChargingProfiles", report)
        return status_answer("Accepted")

    def close(self) -> None:
        self.profiles.close()
