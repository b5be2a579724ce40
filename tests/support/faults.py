"""Faults to inject between the bridge and the CSMS in integration tests.

Owns: taking the CSMS down and bringing a new one up on the same port, cutting a station's
TCP connection at the moment a CALL of a given action arrives (before it is answered),
holding the CSMS's answer to a CALL until the test releases it (so the bridge can be killed
while the message is sent but unacknowledged), and waiting for ledger entries by payload.
It uses the demo Csms only through its public API, except for ``cut_before_answer``, which
aborts the station's transport from inside the CSMS's own event loop (the only moment at
which "received but not answered" exists).

Must never: import the bridge, or sleep for a fixed time to let something happen.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable


def csms_back_on_same_port(make_csms: Callable[..., Any], old: Any, **kwargs) -> Any:
    """A new CSMS of ``old``'s version on ``old``'s port (``old`` must be stopped). The port may
    linger for a moment after the stop; retry binding for a few seconds."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return make_csms(old.version, port=old.port, **kwargs)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def cut_before_answer(csms: Any, cp_id: str, action: str, times: int = 1) -> threading.Event:
    """The next ``times`` CALLs of ``action`` from ``cp_id`` are received (ledger) but the TCP
    connection is aborted before any answer; later ones get the default answer. Returns an
    event set after the last cut."""
    left = [times]
    done = threading.Event()

    def respond(payload: dict) -> dict:
        if left[0] > 0:
            left[0] -= 1
            csms._station(cp_id)._tap.ws.transport.abort()   # on the CSMS loop: immediate
            if left[0] == 0:
                csms.set_response(action, None)
                done.set()
        return csms.default_response(action, payload)

    csms.set_response(action, respond)
    return done


def hold_answer(csms: Any, action: str, match: Callable[[dict], bool] = lambda p: True,
                limit_s: float = 60) -> tuple[threading.Event, threading.Event]:
    """The first CALL of ``action`` whose payload matches is received (ledger) and its answer
    held until the test sets ``release`` (at most ``limit_s``); then the default answer goes
    out, to whoever is still listening. Returns (``arrived``, ``release``). The answer is
    held on the CSMS's own loop, so the CSMS does nothing else meanwhile: release it before
    anything else must reach the CSMS (e.g. before restarting a killed bridge)."""
    arrived, release = threading.Event(), threading.Event()

    def respond(payload: dict) -> dict:
        if not arrived.is_set() and match(payload):
            arrived.set()
            release.wait(limit_s)
            csms.set_response(action, None)
        return csms.default_response(action, payload)

    csms.set_response(action, respond)
    return arrived, release


def wait_entries(csms: Any, match: Callable[[dict], bool], count: int, timeout: float = 30) -> list[dict]:
    """Wait until at least ``count`` ledger entries match; return all that match."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in csms.entries() if match(e)]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            seen = [(e["action"], e["payload"]) for e in csms.entries()]
            raise TimeoutError(f"{len(found)} of {count} matching CALLs after {timeout}s; ledger: {seen}")
        time.sleep(0.05)


def security_event_info(entry: dict) -> str | None:
    """The techInfo of a SecurityEventNotification ledger entry (None for other actions)."""
    if entry["action"] != "SecurityEventNotification":
        return None
    return entry["payload"].get("techInfo")
