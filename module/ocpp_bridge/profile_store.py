"""The security-profile state on disk (``security_profile.json`` in DatabasePath).

Owns reading and writing ``ProfileState`` (ocpp/common/profile_switch.py): written atomically
(a temporary file, then rename) with mode 0600, read back at start-up. A missing or unreadable
file, or one stored for another value of the module option SecurityProfile, means the option's
profile (logged when the file was there but unusable).

Must never: decide anything about the profile (profile_switch does), or raise on a bad file.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ocpp_bridge.ocpp.common.profile_switch import ProfileState

log = logging.getLogger("ocpp_bridge.engine")

FILE = "security_profile.json"


def load(database_path: str, option: int) -> ProfileState:
    path = Path(database_path) / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ProfileState(option, option, option)
    except (OSError, ValueError) as exc:
        log.warning("%s unreadable (%s): starting from SecurityProfile %d", path, exc, option)
        return ProfileState(option, option, option)
    state = ProfileState.from_json(data, option)
    if state.active != option or state.last_good != option:
        log.info("security profile %d (last connected with %d), as stored in %s", state.active, state.last_good, path)
    return state


def save(database_path: str, state: ProfileState) -> None:
    folder = Path(database_path)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state.to_json(), f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(folder / FILE)
