"""What every functional block of one station is built from: a small frozen context of typed
ports. PURE.

Owns ``BlockContext`` (the station core — CALLs both ways, the durable outbox, timers, typed
events, the step's time — the version's configuration store, the EVSE side, the EVSE count,
the databases and the source of fresh ids), ``EvseSwitch`` (the EVSE port the blocks talk to; it forwards to whatever
the bus side plugs in, a port that fails every request until then), ``Databases`` (opens a
block's SQLite file in the station's database directory: the charge point opens them and hands
each block its store) and ``Later`` (a peer that is built after the block that asks for it:
the build list binds it, once, and says so).

Each version's ``blocks.py`` holds the one ordered list that builds its blocks from a context,
passing every peer a block needs as a constructor argument.

Must never: hold protocol state, or be changed after the blocks are built.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Generic, Protocol, TypeVar

from ocpp_bridge.ocpp.evse_events import Done, EvsePort, IdToken, NullEvsePort
from ocpp_bridge.ocpp.station import StationCore
from ocpp_bridge.store.database import open_database

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
C = TypeVar("C")


class Later(Generic[T]):
    """A peer built after the block that needs it: ``bind`` once in the build list, ``get``
    when used (never during construction)."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._value: T | None = None

    def bind(self, value: T) -> T:
        if self._value is not None:
            raise RuntimeError(f"{self._what} is bound twice")
        self._value = value
        return value

    def get(self) -> T:
        if self._value is None:
            raise RuntimeError(f"{self._what} is used before the build list bound it")
        return self._value

    def peek(self) -> T | None:
        """The peer, or None while it is not built yet (for questions asked during construction)."""
        return self._value


class Peer(Protocol[T_co]):
    """What a block may ask of a peer built after it (a ``Later``), read-only: the peer, or None
    while it is not built yet."""

    def peek(self) -> T_co | None: ...


class EvseSwitch:
    """The EVSE port of a station: every request goes to ``target`` (the bus side's EVSE link
    once the engine plugs it in; until then a port with no EVSEs behind it)."""

    def __init__(self) -> None:
        self.target: EvsePort = NullEvsePort()

    def enable_disable(self, evse: int, connector: int, enable: bool, done: Done | None = None) -> None:
        self.target.enable_disable(evse, connector, enable, done)

    def stop_transaction(self, evse: int, reason: str, done: Done | None = None) -> None:
        self.target.stop_transaction(evse, reason, done)

    def pause_charging(self, evse: int, done: Done | None = None) -> None:
        self.target.pause_charging(evse, done)

    def resume_charging(self, evse: int, done: Done | None = None) -> None:
        self.target.resume_charging(evse, done)

    def force_unlock(self, evse: int, connector: int, done: Done | None = None) -> None:
        self.target.force_unlock(evse, connector, done)

    def reserve(self, evse: int | None, reservation_id: int, done: Done | None = None, *, id_token: str = "",
                expiry_time: str = "", parent_id_token: str | None = None) -> None:
        self.target.reserve(evse, reservation_id, done, id_token=id_token, expiry_time=expiry_time,  # type: ignore[arg-type]
                            parent_id_token=parent_id_token)

    def cancel_reservation(self, evse: int | None, done: Done | None = None, *,
                           reservation_id: int | None = None) -> None:
        self.target.cancel_reservation(evse, done, reservation_id=reservation_id)  # type: ignore[arg-type]

    def provide_token(self, token: IdToken, evses: list[int], prevalidated: bool,
                      request_id: int | None = None) -> None:
        self.target.provide_token(token, evses, prevalidated, request_id)

    def authorization_withdrawn(self, evse: int) -> None:
        self.target.authorization_withdrawn(evse)

    def reset(self, kind: str, done: Done | None = None) -> None:
        self.target.reset(kind, done)

    def data_transfer(self, request: dict[str, Any], done: Callable[[dict[str, Any] | None], None]) -> None:
        self.target.data_transfer(request, done)

    def security_present(self) -> bool:
        return self.target.security_present()

    def security_call(self, cmd: str, args: dict[str, Any], done: Callable[[Any, str | None], None]) -> None:
        self.target.security_call(cmd, args, done)

    def system_present(self) -> bool:
        return self.target.system_present()

    def update_firmware(self, request: dict[str, Any], done: Callable[[str | None], None]) -> None:
        self.target.update_firmware(request, done)

    def allow_firmware_installation(self) -> None:
        self.target.allow_firmware_installation()

    def upload_logs(self, request: dict[str, Any], done: Callable[[dict[str, Any] | None], None]) -> None:
        self.target.upload_logs(request, done)


def new_uuid() -> str:
    """A fresh random id (uuid4) as text: the ids a block makes up (2.0.1 transactionIds)."""
    return str(uuid.uuid4())


class Databases:
    """Opens the station's SQLite files (``<directory>/<name>.db``); the charge point hands
    each block the store it needs."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def open(self, name: str, migrations: Sequence[str]) -> sqlite3.Connection:
        return open_database(self.directory, name, migrations)


@dataclass(frozen=True)
class BlockContext(Generic[C]):
    """The ports every block of one station gets. ``config``: the version's store
    (``ConfigurationKeys`` for 1.6, ``DeviceModel`` for 2.0.1); ``new_id``: makes a fresh id
    (tests pass a predictable one)."""

    core: StationCore
    config: C
    evse: EvseSwitch
    evse_count: int
    databases: Databases
    new_id: Callable[[], str] = new_uuid
