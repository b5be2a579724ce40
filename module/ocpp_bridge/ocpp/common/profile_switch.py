"""Switching the security profile with a fall-back, the same for both versions. PURE.

Owns the state of a switch of the connection's security profile (1.6 ``SecurityProfile`` key,
TC_083; 2.0.1 network profiles later): the profile dialled now (``active``), the last one a
connection came up with (``last_good``), and the failed dials of the new one. A switch is tried
with ``attempts`` dials; when none of them connects, the switch has failed: the active profile
goes back to ``last_good`` and the caller reports it (a security event), exactly once per failed
switch. A connection that comes up ends the switch: the new profile is the last good one.

``ProfileState`` is what persists (the caller stores it), together with the module option it
was derived from: an integrator who changes the option starts afresh from it.

Must never: dial, read files or the clock, or decide whether a profile may be asked for (the
version's configuration does: 1.6 never lowers it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ProfileState:
    option: int      # the module option SecurityProfile this state started from
    active: int      # the profile dialled now
    last_good: int   # the last profile a connection came up with (the option's until one did)

    @property
    def trying(self) -> bool:
        return self.active != self.last_good

    def to_json(self) -> dict[str, int]:
        return {"option": self.option, "active": self.active, "last_good": self.last_good}

    @classmethod
    def from_json(cls, data: Any, option: int) -> ProfileState:
        """The stored state, or the option's when none is stored, it is unusable, or the option
        changed since it was stored."""
        fresh = cls(option, option, option)
        if not isinstance(data, dict) or data.get("option") != option:
            return fresh
        active, last_good = data.get("active"), data.get("last_good")
        if not (isinstance(active, int) and isinstance(last_good, int)) or isinstance(active, bool) \
                or isinstance(last_good, bool) or not (0 <= active <= 3 and 0 <= last_good <= 3):
            return fresh
        return cls(option, active, last_good)


@dataclass(frozen=True)
class SwitchFailed:
    """The switch to ``tried`` failed after ``attempts`` dials; the active profile is ``back_to``."""
    tried: int
    back_to: int
    attempts: int


class ProfileSwitch:
    def __init__(self, state: ProfileState, attempts: int) -> None:
        if attempts < 1:
            raise ValueError("a profile is tried with at least one dial")
        self.state = state
        self.attempts = attempts
        self._failures = 0

    @property
    def active(self) -> int:
        return self.state.active

    @property
    def trying(self) -> bool:
        return self.state.trying

    def begin(self, profile: int) -> None:
        """Try ``profile`` from the next dial on (the last good one stays the fall-back)."""
        self.state.active = profile
        self._failures = 0

    def connected(self) -> bool:
        """A connection came up with the active profile; True when that ended a switch."""
        ended = self.state.trying
        self.state.last_good = self.state.active
        self._failures = 0
        return ended

    def dial_failed(self) -> SwitchFailed | None:
        """One dial with the active profile failed; a ``SwitchFailed`` when that was the last
        attempt of a switch (the state is back on the last good profile then)."""
        if not self.state.trying:
            return None
        self._failures += 1
        if self._failures < self.attempts:
            return None
        return self.give_up()

    def give_up(self) -> SwitchFailed | None:
        """End the switch now (the new profile cannot even be dialled): back to the last good one."""
        if not self.state.trying:
            return None
        failed = SwitchFailed(self.state.active, self.state.last_good, self._failures)
        self.state.active = self.state.last_good
        self._failures = 0
        return failed
