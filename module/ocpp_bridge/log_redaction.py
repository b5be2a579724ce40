"""Keeps secrets out of every log line: a filter on the process's log handlers.

Owns ``RedactingFilter`` (a ``logging.Filter`` that passes each record's message and
traceback through ``Redactor.redact``) and ``install`` / the returned ``uninstall``, which
put it on, and take it off, every handler of the root logger (so records of any logger,
paho's and websocket-client's too, are covered). The engine installs it for the time it runs.

Must never: drop a record, or raise from ``filter`` (a log line must never break its caller).
"""

from __future__ import annotations

import logging
from typing import Callable

from ocpp_bridge.ocpp.secrets import Redactor

_TRACEBACKS = logging.Formatter()


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
            clean = self.redactor.redact(message)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info and not record.exc_text:
                record.exc_text = self.redactor.redact(_TRACEBACKS.formatException(record.exc_info))
            elif record.exc_text:
                record.exc_text = self.redactor.redact(record.exc_text)
        except Exception:  # a record that cannot be formatted is the handler's to report
            pass
        return True


def install(redactor: Redactor) -> Callable[[], None]:
    """Filter every root handler's records through ``redactor``; returns the undo."""
    log_filter = RedactingFilter(redactor)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(log_filter)

    def uninstall() -> None:
        for handler in handlers:
            handler.removeFilter(log_filter)

    return uninstall
