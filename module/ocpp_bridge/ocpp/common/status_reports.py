"""What the CSMS knows of each connector's status, the same for both versions. PURE.

Owns the bookkeeping behind one rule both versions follow: a status counts as reported only
when the CSMS answered its StatusNotification with a CALLRESULT. One dropped offline, cut by
a disconnect, timed out or refused with a CALLERROR is not; it is sent again at the next
change or reconnect. While a notification waits for its answer, what it carries counts as
known (so a status still queued is not queued twice). When it fails, what the CSMS had
before counts again if the CSMS cannot have it (a CALLERROR, never sent); if it may have it
(no answer in time, the connection went while it was out), what the CSMS has is unknown and
any status is sent at the next change. (1.6 used to forget what the CSMS had on every
failure, 2.0.1 to keep it on every failure; this is the rule both now follow.)

``reconnected(now, offline_threshold)`` says whether everything is to be sent again after a
reconnect (without a new boot): 1.6 has no OfflineThreshold and sends every connector on
every reconnect (``offline_threshold`` None; MicroOcpp #178); 2.0.1 only after an outage
longer than OCPPCommCtrlr.OfflineThreshold (B04), else just what the CSMS lacks.

What stays per version: the key of a connector (1.6 connectorId, 2.0.1 (evseId,
connectorId)), what a report is (1.6 status and error code, 2.0.1 ConnectorStatus), how it
is computed, and when a block may send.

Must never: send anything, or read a clock (``now`` comes in).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Generic, Hashable, TypeVar

from ocpp_bridge.ocpp.outcome import Done, Failure, LocalFailure, answered_with_error

log = logging.getLogger("ocpp_bridge.ocpp.common.status_reports")

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


@dataclass
class _Known(Generic[R]):
    reported: R | None = None  # the last report the CSMS acknowledged
    queued: R | None = None    # the report of the last notification not answered yet
    sends: int = 0             # numbers the sends (which one is the last)


class StatusReports(Generic[K, R]):
    def __init__(self) -> None:
        self._known: dict[K, _Known[R]] = {}
        self._offline_since: float | None = None

    def known(self, key: K) -> R | None:
        """What the CSMS has, or will have once the notification on its way is answered."""
        slot = self._known.get(key)
        if slot is None:
            return None
        return slot.queued if slot.queued is not None else slot.reported

    def lacks(self, key: K, report: R) -> bool:
        return self.known(key) != report

    def sending(self, key: K, report: R, label: str) -> Done:
        """A notification of ``report`` is being queued: the callback for its answer
        (``label`` names it in the log line of a failure)."""
        slot = self._known.setdefault(key, _Known())
        slot.sends += 1
        slot.queued, send = report, slot.sends

        def done(result: dict[str, object] | None, failure: Failure | None) -> None:
            if slot.sends == send:
                slot.queued = None
            if result is not None:
                slot.reported = report
                return
            if isinstance(failure, LocalFailure) and failure.maybe_received:
                slot.reported = None  # the CSMS may or may not have it
            refused = answered_with_error(failure)
            log.log(logging.WARNING if refused else logging.INFO,
                    "StatusNotification %s %s (%s): sent again at the next change or reconnect", label,
                    "refused" if refused else "not delivered", failure.code if failure is not None else "no answer")

        return done

    # ------------------------------------------------------------------ the connection
    def went_offline(self, now: float) -> None:
        if self._offline_since is None:
            self._offline_since = now

    def reconnected(self, now: float, offline_threshold: float | None) -> bool:
        """Is every connector to be sent again? Always without a threshold (1.6), else when the
        outage lasted longer than it (2.0.1)."""
        since, self._offline_since = self._offline_since, None
        if offline_threshold is None:
            return True
        outage = now - since if since is not None else 0.0
        if outage > offline_threshold:
            log.info("offline for %.0fs (more than OfflineThreshold %.0fs): every connector's status goes again",
                     outage, offline_threshold)
            return True
        return False
