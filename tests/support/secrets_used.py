"""The secrets the tests hand the bridge (Basic-auth passwords, AuthorizationKey values, key
passwords), gathered in one place as the test modules are imported: ``secret("...")`` adds one
and returns it. At the end of the run ``tests/conftest.py`` looks for every one of them, as it
is and as the Basic-auth credentials made of it, in every log the bridge wrote during the run
(its process log and its frame logs): none may be there (issue 11, "Secrets").

Logs of the CSMS peers are not looked at: the CSMS sends the secret, its log is not ours.
"""

from __future__ import annotations

import base64
from pathlib import Path

SECRETS: set[str] = set()
NOT_OURS = ("strict-csms",)  # folders holding other programs' logs


def secret(value: str) -> str:
    SECRETS.add(value)
    return value


def forms(value: str, station_ids: tuple[str, ...]) -> list[str]:
    """The secret and the Basic credentials ``base64(id:secret)`` for each station id."""
    return [value, *(base64.b64encode(f"{cp}:{value}".encode()).decode() for cp in station_ids)]


def leaks(folder: Path, station_ids: tuple[str, ...]) -> list[str]:
    """``<log file>: <secret>`` for every secret found in a log under ``folder``."""
    found = []
    for path in sorted(folder.rglob("*.log")):
        if any(part in NOT_OURS for part in path.relative_to(folder).parts):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path}: {value!r}" for value in sorted(SECRETS)
                  for form in forms(value, station_ids) if form in text]
    return found
