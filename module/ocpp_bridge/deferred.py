"""A result that arrives later, on the engine thread. PURE (no threads, no waiting).

Owns one promise: a command handler that needs another party's answer (an Authorize.conf
from the CSMS, an evse_manager's reply) returns a ``Deferred`` and resolves it when the
answer is in; whoever waits registers ``then(fn)`` and is called exactly once with
``(value, None)`` or ``(None, error message)``.
"""

from __future__ import annotations

from typing import Any, Callable


class Deferred:
    __slots__ = ("_callbacks", "done", "value", "error")

    def __init__(self) -> None:
        self._callbacks: list[Callable[[Any, str | None], None]] = []
        self.done = False
        self.value: Any = None
        self.error: str | None = None

    @classmethod
    def resolved(cls, value: Any) -> Deferred:
        d = cls()
        d.resolve(value)
        return d

    def resolve(self, value: Any) -> None:
        self._finish(value, None)

    def fail(self, error: str) -> None:
        self._finish(None, error)

    def then(self, fn: Callable[[Any, str | None], None]) -> Deferred:
        if self.done:
            fn(self.value, self.error)
        else:
            self._callbacks.append(fn)
        return self

    def _finish(self, value: Any, error: str | None) -> None:
        if self.done:
            return  # first answer wins; a late second one is ignored
        self.done, self.value, self.error = True, value, error
        callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(value, error)


def mapped(result: Deferred, fn: Callable[[Any], Any]) -> Deferred:
    """A Deferred of ``fn(value)`` once ``result`` resolves (an error passes through as it is)."""
    answer = Deferred()
    result.then(lambda value, error: answer.fail(error) if error is not None else answer.resolve(fn(value)))
    return answer


def status_answer(status: Deferred) -> Deferred:
    """A Deferred OCPP status as the Deferred answer ``{"status": ...}``."""
    return mapped(status, lambda value: {"status": value})


def now_or_later(answer: Deferred) -> Any:
    """A CSMS CALL handler's return: the answer itself when it is already in (the other module
    answered at once), else the Deferred the core waits on."""
    return answer.value if answer.done and answer.error is None else answer
