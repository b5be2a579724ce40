"""The log of every OCPP frame, both ways, with its secrets masked.

Owns the logger ``ocpp_bridge.frames`` (one line a frame, arrow ``<-`` in, ``->`` out) and, when
the module option MessageLogPath names a folder, the file ``<ChargePointId>.log`` there, each
line stamped with the engine's clock in UTC and flushed. Frames are masked by the ``Redactor``
(``ocpp/secrets.py``) before either sees them.

Must never: write a secret, or read the wall clock itself.
"""

from __future__ import annotations

import logging
import os
from typing import IO, Callable

from ocpp_bridge.ocpp.events import FrameLogged
from ocpp_bridge.ocpp.secrets import Redactor
from ocpp_bridge.ocpp.timefmt import iso

frames_log = logging.getLogger("ocpp_bridge.frames")


class FrameLog:
    def __init__(self, folder: str, charge_point_id: str, secrets: Redactor, clock: Callable[[], float]) -> None:
        """``folder``: MessageLogPath ("" = the logger only)."""
        self._folder = folder
        self._name = f"{charge_point_id}.log"
        self._secrets = secrets
        self._clock = clock
        self._file: IO[str] | None = None

    def write(self, frame: FrameLogged) -> None:
        arrow = "<-" if frame.direction == "in" else "->"
        shown = self._secrets.frame(frame.text)
        frames_log.info("%s %s", arrow, shown)
        if not self._folder:
            return
        if self._file is None:
            os.makedirs(self._folder, exist_ok=True)
            self._file = open(os.path.join(self._folder, self._name), "a", encoding="utf-8")
        self._file.write(f"{iso(self._clock())} {arrow} {shown}\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
