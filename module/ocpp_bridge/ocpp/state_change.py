"""All-or-nothing state changes of a block whose records live in the outbox's file. PURE.

Owns the rule the transaction blocks of both versions follow for each change of their state
(one EVSE event, one CSMS answer, one request of another block): the transactional messages
it queues and the records it writes commit together (``StationCore.atomic``). If anything
raises, the file and the outbox are rolled back, the block's memory is put back as it was
(the attributes named at construction: dicts of records and sets, of the block itself and of
the helpers it keeps its state in, e.g. ``ocpp/common/recovery.py``), the bus events it meant
to publish are not published, and the exception propagates (the core logs it). So a message and
its record exist both or neither, on disk and in memory. Events (``publish``) go out after the
outermost commit, in order; a nested change is a savepoint of the outer one.

Records are restored field by field (a shallow copy): a block must replace a record's dict
or list fields, never change them in place.

Must never: know what a block's records mean, or swallow an exception.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from ocpp_bridge.ocpp.events import EventBus

_Saved = tuple[Any, list[tuple[Any, dict[str, Any]]]]


class AtomicCore(Protocol):
    """What a state change needs of the station core."""

    @property
    def events(self) -> EventBus: ...

    def atomic(self) -> AbstractContextManager[None]: ...


class StateChanges:
    def __init__(self, core: AtomicCore, *holders: tuple[object, tuple[str, ...]]) -> None:
        """``holders``: (object, attribute names) pairs naming the in-memory state of the block,
        each attribute a dict (of records or values) or a set."""
        self.core = core
        self._holders = holders
        self._events: list[list[object]] = []  # one list per open change

    @contextmanager
    def change(self) -> Iterator[None]:
        saved = [(holder, name, _snapshot(getattr(holder, name)))
                 for holder, names in self._holders for name in names]
        self._events.append([])
        try:
            with self.core.atomic():
                yield
        except BaseException:
            self._events.pop()
            for holder, name, value in saved:
                setattr(holder, name, _restored(value))
            raise
        events = self._events.pop()
        if self._events:
            self._events[-1].extend(events)  # the outer change emits them after its commit
            return
        for event in events:
            self.core.events.publish(event)

    def publish(self, event: object) -> None:
        """A typed event of this block (``events.py``): after the commit when inside a change,
        else at once."""
        if self._events:
            self._events[-1].append(event)
        else:
            self.core.events.publish(event)


def _mutable_record(value: object) -> bool:
    """A record whose fields a change may alter (a dataclass instance that is not frozen)."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return False
    return not value.__dataclass_params__.frozen  # type: ignore[attr-defined]


def _snapshot(value: Any) -> _Saved:
    if isinstance(value, dict):
        records = [(v, dict(v.__dict__)) for v in value.values() if _mutable_record(v)]
        return dict(value), records
    return set(value), []


def _restored(saved: _Saved) -> Any:
    container, records = saved
    for record, fields in records:
        record.__dict__.update(fields)
    return container
