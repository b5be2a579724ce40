"""RFC 3339 ``date-time`` (section 5.6): the one check both sides use (the bus side's JSON
Schema ``format: date-time`` and the OCPP side's). PURE.

Owns the rule: ``YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)``, ASCII digits only, ``t``/``z`` in
either case, fields range-checked (a leap second 60 allowed, as the RFC does), nothing after it.

Must never: accept a time without an offset, or parse anything else.
"""

from __future__ import annotations

import re

_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"(?:[Zz]|([+-])(\d{2}):(\d{2}))\Z",
    re.ASCII,
)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_date_time(value: str) -> bool:
    """True when ``value`` is an RFC 3339 ``date-time``."""
    match = _DATE_TIME.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if not 1 <= month <= 12 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day > (29 if month == 2 and leap else _DAYS_IN_MONTH[month - 1]):
        return False
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second
        return False
    if match.group(8) is not None and (int(match.group(9)) > 23 or int(match.group(10)) > 59):
        return False
    return True
