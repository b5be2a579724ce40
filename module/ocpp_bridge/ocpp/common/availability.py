"""The operative / scheduled model of ChangeAvailability, the same for both versions. PURE.

Owns, per scope the version names (1.6: a connector id, 0 the charge point; 2.0.1: the
station, an EVSE or a connector), the operational status in force (Operative unless set) and
the change Scheduled until the scope's transaction ends, with these rules:
- A change is applied at once (Accepted; a change scheduled earlier for the scope is
  forgotten) when the scope is already in the requested state or nothing makes it wait;
  otherwise it is Scheduled. What makes a change wait is the version's (``waits``): 1.6
  (§5.2) schedules a change to Inoperative of a connector with a transaction; 2.0.1 (G03/G04,
  as libocpp) any change of a scope with a transaction but the whole station made Operative.
- ``apply_due(busy)`` applies every scheduled change whose scope no longer has a
  transaction (the adapter calls it when one ended).
- Both the status in force and the scheduled changes are kept by the version's store
  (``AvailabilityStore``: each version keeps its own file), written once per change, so a
  restart finds them.

Also owns ``EvseEnables``: what each connector's EVSE was last told (``enable_disable``), so an
EVSE hears of a change of its effective status once, and again after it reports ready.

What stays in the adapters: the scopes and how a request names them, what is "busy", how
scopes combine into a connector's effective status (1.6 connector 0 is one more connector
a change of it is broadcast to, 2.0.1's station and EVSE contain what is below them), and
what the status block is told.

Must never: stop a transaction (a change waits for it), send anything to the CSMS, or do
I/O but through the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from ocpp_bridge.ocpp.evse_events import EvsePort

log = logging.getLogger("ocpp_bridge.ocpp.common.availability")

S = TypeVar("S", bound=Hashable)

Connector = tuple[int, int]  # (evse, connector)


class AvailabilityStore(Protocol[S]):
    """A version's file of operational statuses."""

    def load(self) -> tuple[dict[S, bool], dict[S, bool]]:
        """(status in force, scheduled changes) per scope, as last written."""
        ...

    def write(self, applied: Mapping[S, bool], scheduled: Mapping[S, bool]) -> None:
        """One change, all or nothing: ``applied`` scopes take their status (and lose a
        scheduled change), ``scheduled`` ones get one."""
        ...


@dataclass(frozen=True)
class Change(Generic[S]):
    status: str  # Accepted | Scheduled
    applied: dict[S, bool] = field(default_factory=dict)
    scheduled: dict[S, bool] = field(default_factory=dict)


class OperativeStates(Generic[S]):
    def __init__(self, store: AvailabilityStore[S]) -> None:
        self.store = store
        self._operative, self._scheduled = store.load()

    def operative(self, scope: S) -> bool:
        """The operational status in force for ``scope``."""
        return self._operative.get(scope, True)

    def scheduled_for(self, scope: S) -> bool | None:
        return self._scheduled.get(scope)

    def wanted(self, scope: S) -> bool:
        """What was asked last for ``scope``: its scheduled change, else the status in force."""
        scheduled = self._scheduled.get(scope)
        return self.operative(scope) if scheduled is None else scheduled

    def scheduled(self) -> dict[S, bool]:
        return dict(self._scheduled)

    def change(self, scopes: Iterable[S], operative: bool, waits: Callable[[S], bool]) -> Change[S]:
        """Make ``scopes`` Operative (or not); ``waits(scope)``: a transaction makes this change
        of ``scope`` wait. Scheduled when any of them waits, else Accepted."""
        applied: dict[S, bool] = {}
        scheduled: dict[S, bool] = {}
        for scope in scopes:
            if self.operative(scope) == operative or not waits(scope):
                applied[scope] = operative
            else:
                scheduled[scope] = operative
        self.store.write(applied, scheduled)
        self._take(applied)
        self._scheduled.update(scheduled)
        return Change("Scheduled" if scheduled else "Accepted", applied, scheduled)

    def apply_due(self, busy: Callable[[S], bool]) -> dict[S, bool]:
        """Apply the scheduled changes of the scopes ``busy`` says are free now; returns them."""
        due = {scope: operative for scope, operative in self._scheduled.items() if not busy(scope)}
        if due:
            self.store.write(due, {})
            self._take(due)
        return due

    def _take(self, applied: Mapping[S, bool]) -> None:
        for scope, operative in applied.items():
            self._scheduled.pop(scope, None)
            self._operative[scope] = operative


class EvseEnables:
    """Tells each connector's EVSE its effective status (``enable_disable``) when it changes."""

    def __init__(self, evse: EvsePort) -> None:
        self.evse = evse
        self._told: dict[Connector, bool] = {}

    def assume(self, states: Mapping[Connector, bool]) -> None:
        """What the EVSEs are taken to know already (they hear it when they report ready)."""
        self._told.update(states)

    def forget(self, evse: int) -> None:
        """The EVSE (re)started: it knows nothing; the next ``tell`` tells it everything."""
        self._told = {key: value for key, value in self._told.items() if key[0] != evse}

    def tell(self, states: Mapping[Connector, bool], *, again: bool = False) -> None:
        """Tell the EVSEs the states that changed (all of ``states`` with ``again``), in order."""
        for (evse, connector), enable in sorted(states.items()):
            if again or self._told.get((evse, connector)) != enable:
                self._told[(evse, connector)] = enable
                self.evse.enable_disable(evse, connector, enable, _logged(evse, connector, enable))


def _logged(evse: int, connector: int, enable: bool) -> Callable[[bool], None]:
    def done(ok: bool) -> None:
        if not ok:
            log.warning("EVSE %d connector %d did not accept %s", evse, connector, "enable" if enable else "disable")
    return done
