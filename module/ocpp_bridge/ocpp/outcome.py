"""How one of our CALLs ended when the CSMS did not answer it: local failures, kept apart from
the CSMS's CALLERRORs. PURE.

Owns ``LocalFailure`` (our side gave up: no answer in time, the connection went, the call was
dropped from the queue, OCPP was stopped) and the ``Done`` callback shape every caller of
``StationCore.call`` receives: ``done(result, failure)`` with exactly one of them set, where
``failure`` is either the CSMS's ``CallError`` (it answered, and said no) or a ``LocalFailure``
(it never answered). Callers ask ``failure.undelivered`` instead of comparing strings.

Must never: be put on the wire (a LocalFailure is not a CALLERROR), or carry protocol logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Union

from ocpp_bridge.ocpp.rpc import CallError

Reason = Literal["timeout", "disconnected", "dropped", "stopped"]


@dataclass(frozen=True)
class LocalFailure:
    """Our call ended without an answer from the CSMS.

    ``timeout``: sent, no answer within the message timeout (the CSMS may have it);
    ``disconnected``: sent or about to be, the connection went down first;
    ``dropped``: never sent (offline without QueueAllMessages, or thrown out of a full queue);
    ``stopped``: never sent, OCPP is stopped (the ``stop`` command).
    """

    reason: Reason
    detail: str = ""
    unique_id: str = ""

    @property
    def code(self) -> str:
        """For log lines only (the shape of a CallError's): the reason."""
        return self.reason

    @property
    def description(self) -> str:
        return self.detail

    @property
    def maybe_received(self) -> bool:
        """The CSMS may have got the message (it went out, the answer did not come back)."""
        return self.reason in ("timeout", "disconnected")


def answered_with_error(failure: Failure | None) -> bool:
    """The CSMS answered the call, with a CALLERROR."""
    return isinstance(failure, CallError)


def undelivered(failure: Failure | None) -> bool:
    """The call ended without any answer from the CSMS."""
    return isinstance(failure, LocalFailure)


Failure = Union[CallError, LocalFailure]
# done(result payload, None) or done(None, failure)
Done = Callable[[Union[dict[str, Any], None], Union[Failure, None]], None]


def ignore(result: dict[str, Any] | None, failure: Failure | None) -> None:
    """A ``Done`` for calls whose answer nobody needs."""
    return None
