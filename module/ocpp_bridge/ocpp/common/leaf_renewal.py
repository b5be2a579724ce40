"""Renewing the station's own certificate before it expires (1.6 security whitepaper, 2.0.1
A03), for both versions. PURE.

Owns when the station looks at its certificate: ``FIRST_CHECK_S`` after it starts, then every
``CHECK_INTERVAL_S``, it asks the security module how many days its certificate (leaf type CSMS)
has left (``get_leaf_expiry_days_count``) — at security profile 3 only, where that certificate
is the connection's. ``RENEW_DAYS`` or fewer (0: none installed, an error: nothing) makes the
version's block sign a new request (SignCertificate), as a CSMS trigger would. Like EVerest's
libocpp, which checks its client certificate on a timer with the same kind of threshold.

Must never: read a clock (the core's ``now`` and timers), or send anything itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ocpp_bridge.ocpp.common.certificates import LEAF, SecurityModule
from ocpp_bridge.ocpp.station import StationCore

log = logging.getLogger("ocpp_bridge.ocpp.certificates")

FIRST_CHECK_S = 60.0
CHECK_INTERVAL_S = 12 * 3600.0
RENEW_DAYS = 30
TIMER = "leaf-certificate-expiry"


class LeafRenewal:
    def __init__(self, core: StationCore, module: SecurityModule, security_profile: Callable[[], int],
                 sign: Callable[[], None]) -> None:
        self.core = core
        self.module = module
        self.security_profile = security_profile
        self.sign = sign
        core.timers.set(TIMER, core.now + FIRST_CHECK_S, self.check)

    def check(self) -> None:
        self.core.timers.set(TIMER, self.core.now + CHECK_INTERVAL_S, self.check)
        if self.security_profile() != 3 or not self.module.security_present():
            return
        self.module.security_call("get_leaf_expiry_days_count", {"certificate_type": LEAF}, self._days_left)

    def _days_left(self, days: Any, error: str | None) -> None:
        if error is not None or not isinstance(days, int) or isinstance(days, bool):
            log.warning("the security module did not say when the station certificate expires: %s", error or days)
            return
        if days <= RENEW_DAYS:
            log.info("the station certificate expires in %d day(s): asking the CSMS for a new one", days)
            self.sign()
