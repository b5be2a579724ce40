"""Reconnect delays in the style of OCPP 2.0.1 part 4 §5.3 (RetryBackOff*).

Owns: the sequence of waits before each re-dial. The first re-dial waits
``wait_minimum_s`` plus a random part in [0, ``random_range_s``]; each further
failed attempt doubles the base, at most ``repeat_times`` doublings, after which
the base stays where it is. A new random part is drawn for every re-dial, the
last ones included (OCA TC_B_49; libocpp #1175 shows what happens otherwise).
``reset()`` after a connection came up starts again from the minimum.

Must never: sleep, read the clock, or use the global random generator (the
caller passes a ``random.Random``, so tests can seed it). Used for both OCPP
versions: 1.6 defines no back-off of its own.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, wait_minimum_s: float, random_range_s: float, repeat_times: int,
                 rng: random.Random) -> None:
        if wait_minimum_s < 0 or random_range_s < 0:
            raise ValueError("back-off times must not be negative")
        if isinstance(repeat_times, bool) or not isinstance(repeat_times, int) or repeat_times < 0:
            raise ValueError("repeat_times must be a non-negative integer")
        self.wait_minimum_s = float(wait_minimum_s)
        self.random_range_s = float(random_range_s)
        self.repeat_times = repeat_times
        self._rng = rng
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """Re-dials handed out since the last ``reset()``."""
        return self._attempts

    def base_delay(self) -> float:
        """The doubled minimum the next ``next_delay()`` starts from (no random part)."""
        return float(self.wait_minimum_s * (2 ** min(self._attempts, self.repeat_times)))

    def next_delay(self) -> float:
        """Seconds to wait before the next re-dial."""
        delay = self.base_delay() + self._rng.uniform(0.0, self.random_range_s)
        self._attempts += 1
        return delay

    def reset(self) -> None:
        """A connection came up: the next outage starts from the minimum again."""
        self._attempts = 0
