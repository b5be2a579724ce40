"""OCPP 2.0.1: telling the CSMS that a running transaction's charging limit changed
(TransactionEvent Updated, triggerReason ChargingRateChanged). PURE.

Owns the limit each running transaction was last reported under and the rule of
SmartChargingCtrlr.LimitChangeSignificance (2.0.1 part 2, its description: a change smaller
than that percentage need not be reported): when the limit in force on an EVSE with a
transaction (its composite schedule now, in A) differs from the one last reported by more than
LimitChangeSignificance percent of it (from 0: any change), an Updated event with
ChargingRateChanged goes and the new limit becomes the reference; a smaller change is not
reported and leaves the reference where it was, so a slow drift is reported once it adds up.
The limit is checked whenever the installed profiles change (``ChargingProfilesChanged``, which
connecting or disconnecting also publishes when IgnoredProfilePurposesOffline names a purpose)
and at the next period boundary of any running transaction's composite (one timer). A
transaction's first reference is the limit in force when it starts (its Started event needs no
second message).

Must never: change a limit, read a clock (the core's ``now``), or send anything but through
the transaction block.
"""

from __future__ import annotations

import logging

from ocpp_bridge.ocpp.common.smart_charging import SmartCharging
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.events import ChargingProfilesChanged, TxEnded, TxStarted
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock
from ocpp_bridge.ocpp.v201.variables import Var

log = logging.getLogger("ocpp_bridge.ocpp.v201.charging_rate")

TIMER = "charging-rate-boundary"
LOOKAHEAD_S = 86400  # how far ahead the next period boundary is looked for
TRIGGER = "ChargingRateChanged"


def significant(old: float, new: float, percent: float) -> bool:
    """``new`` differs from ``old`` by more than ``percent`` of ``old`` (from 0: at all)."""
    if old == 0:
        return new != 0
    return abs(new - old) * 100 > percent * abs(old)


class ChargingRateReports:
    def __init__(self, ctx: BlockContext[DeviceModel], profiles: SmartCharging, transactions: TransactionBlock,
                 significance: Var[float]) -> None:
        self.core = ctx.core
        self.model = ctx.config
        self.profiles = profiles
        self.transactions = transactions
        self.significance = significance
        self._reported: dict[int, float] = {}  # EVSE -> the limit its transaction was last reported under
        self.core.events.subscribe(ChargingProfilesChanged, lambda changed: self._check())
        self.core.events.subscribe(TxStarted, self._started)
        self.core.events.subscribe(TxEnded, lambda ended: self._ended(ended.evse))

    def _limit(self, evse: int, now: float) -> float:
        return self.profiles.schedule(evse, now, 1, "A").periods[0].limit

    def _started(self, event: TxStarted) -> None:
        self._reported[event.evse] = self._limit(event.evse, self.core.now)
        self._arm()

    def _ended(self, evse: int) -> None:
        self._reported.pop(evse, None)
        self._arm()

    def _check(self) -> None:
        now, percent = self.core.now, self.model.read(self.significance)
        for evse in sorted(self.transactions.active_evses()):
            new = self._limit(evse, now)
            old = self._reported.setdefault(evse, new)
            if significant(old, new, percent):
                log.info("EVSE %d: charging limit %g A -> %g A (more than %g %%)", evse, old, new, percent)
                self._reported[evse] = new
                self.transactions.send_meter_update(evse, TRIGGER, [])
        self._arm()

    def _arm(self) -> None:
        """The timer at the next period boundary of any running transaction's composite."""
        now = self.core.now
        boundaries = [now + periods[1].start_period for evse in self.transactions.active_evses()
                      if len(periods := self.profiles.schedule(evse, now, LOOKAHEAD_S, "A").periods) > 1]
        if boundaries:
            self.core.timers.set(TIMER, min(boundaries), self._check)
        else:
            self.core.timers.cancel(TIMER)
