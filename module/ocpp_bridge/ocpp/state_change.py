"""All-or-nothing state changes of a block whose records live in the outbox's file. PURE.

Owns the rule the transaction blocks of both versions follow for each change of their state
(one EVSE event, one CSMS answer, one request of another block): the transactional messages
it queues and the records it writes commit together (``StationCore.atomic``). If anything
raises, the file and the outbox are rolled back, the block's memory is put back as it was
(the attributes named at construction: dicts of records and sets), the bus events it meant
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
from contextlib import contextmanager
from typing import Any

_Saved = tuple[Any, list[tuple[Any, dict[str, Any]]]]


class StateChanges:
    def __init__(self, core, block: object, attributes: tuple[str, ...]):
        """``attributes``: the block's in-memory state, each a dict (of records or values) or a set."""
        self.core = core
        self._block = block
        self._attributes = attributes
        self._events: list[list[object]] = []  # one list per open change

    @contextmanager
    def change(self) -> Iterator[None]:
        saved = {name: _snapshot(getattr(self._block, name)) for name in self._attributes}
        self._events.append([])
        try:
            with self.core.atomic():
                yield
        except BaseException:
            self._events.pop()
            for name, value in saved.items():
                setattr(self._block, name, _restored(value))
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


def _snapshot(value: Any) -> _Saved:
    if isinstance(value, dict):
        records = [(v, dict(vars(v))) for v in value.values()
                   if dataclasses.is_dataclass(v) and not type(v).__dataclass_params__.frozen]
        return dict(value), records
    return set(value), []


def _restored(saved: _Saved) -> Any:
    container, records = saved
    for record, fields in records:
        vars(record).update(fields)
    return container
