"""The charging profiles a station has installed, for both OCPP versions: kept, replaced,
cleared, persisted, and turned into composite schedules. No clock (``now`` is an argument or
the core's step time), no network.

Owns:
- ``ProfileStore``: the table ``charging_profiles`` in the file it is handed (one row per
  profile: its id, EVSE, and the profile exactly as the CSMS sent it, as JSON). A profile and
  the ones it replaces change in one SQLite transaction, so a crash never leaves both or
  neither.
- ``SmartCharging``: the installed profiles in the order they were installed (each as the
  CSMS's ``wire`` dict and the version-neutral ``Profile`` its adapter maps it to), ``install``
  (replacing the same id and whatever else the version's rule names), ``clear`` by any
  criteria, TxProfiles removed when their transaction ends (``TxEnded``: both versions publish
  it), and ``schedule``: the composite of one EVSE (0: the station) through
  ``common/composite.py``, with the transactions running now. Every change publishes
  ``ChargingProfilesChanged``.
- Offline (K06; libocpp's ``IgnoredProfilePurposesOffline``): while the CSMS is not connected
  the profiles of the purposes ``ignored_offline()`` names leave the composite; by default none
  does, so a station keeps charging by its profiles offline. Connecting or disconnecting then
  counts as a change of every EVSE's profiles (``ChargingProfilesChanged``).

Each version's adapter validates a request (its rules and answers differ), maps its wire
profile onto ``Profile`` (``to_profile``), says which installed profiles a new one replaces,
and builds the answer from the ``CompositeSchedule``.

Must never: decide whether a profile is valid, know a version's field names, or send an
OCPP message.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from ocpp_bridge.ocpp.auth_store import epoch
from ocpp_bridge.ocpp.common.composite import CompositeSchedule, Context, Profile, Purpose, Running, Unit, composite
from ocpp_bridge.ocpp.events import ChargingProfilesChanged, ConnectionChanged, EventBus, TxEnded
from ocpp_bridge.store.database import transaction

log = logging.getLogger("ocpp_bridge.ocpp.common.smart_charging")

MIGRATIONS = [
    """
    CREATE TABLE charging_profiles (
        id INTEGER NOT NULL UNIQUE,  -- not the rowid: rowid keeps the order of installation
        evse INTEGER NOT NULL,
        wire TEXT NOT NULL
    );
    """,
]


@dataclass(frozen=True)
class Installed:
    """One installed profile: as the CSMS sent it (``wire``) and as the composite reads it."""

    wire: dict[str, Any]
    profile: Profile

    @property
    def id(self) -> int:
        return self.profile.id

    @property
    def evse(self) -> int:
        return self.profile.evse


ToProfile = Callable[[dict[str, Any], int], Profile]  # (wire profile, EVSE) -> Profile
RunningOn = Callable[[int], "Running | None"]          # EVSE -> the transaction running there


def profile_time(text: str | None) -> float | None:
    """A profile's optional dateTime (validFrom, startSchedule, ...) in epoch seconds; ValueError
    for one that is not a dateTime (the adapters' ``to_profile`` refuse such a profile)."""
    if text is None:
        return None
    value = epoch(text)
    if value is None:
        raise ValueError(f"not a dateTime: {text!r}")
    return value


class ProfileStore:
    """The installed profiles' file (``MIGRATIONS``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def load(self) -> list[tuple[int, dict[str, Any]]]:
        """(EVSE, wire profile) of every stored profile, oldest first."""
        rows = self.db.execute("SELECT evse, wire FROM charging_profiles ORDER BY rowid").fetchall()
        return [(int(evse), json.loads(wire)) for evse, wire in rows]

    def replace(self, removed: Iterable[int], added: Installed | None = None) -> None:
        """Delete the profiles ``removed`` and store ``added``, in one transaction."""
        with transaction(self.db):
            self.db.executemany("DELETE FROM charging_profiles WHERE id = ?", [(i,) for i in removed])
            if added is not None:
                self.db.execute("INSERT INTO charging_profiles (id, evse, wire) VALUES (?, ?, ?)",
                                (added.id, added.evse, json.dumps(added.wire, separators=(",", ":"))))

    def close(self) -> None:
        self.db.close()


class SmartCharging:
    def __init__(self, events: EventBus, store: ProfileStore, to_profile: ToProfile, *, evses: tuple[int, ...],
                 running_on: RunningOn, context: Callable[[], Context] = lambda: Context(evses=()),
                 ignored_offline: Callable[[], frozenset[Purpose]] = frozenset) -> None:
        """``to_profile``: the adapter's mapping of a wire profile; ``running_on(evse)``: the
        transaction running there (id as the profiles name it, start time); ``context()``: the
        station's composite settings (supply voltage, phases, default limits) as configured
        now; its ``evses`` and ``transactions`` are filled in here; ``ignored_offline()``: the
        purposes left out while offline, as configured now."""
        self.events = events
        self.store = store
        self.to_profile = to_profile
        self.evses = evses
        self.running_on = running_on
        self.context = context
        self.ignored_offline = ignored_offline
        self.online = False
        self._installed: list[Installed] = []
        for evse, wire in store.load():
            try:
                self._installed.append(Installed(wire, to_profile(wire, evse)))
            except (KeyError, TypeError, ValueError) as exc:  # written by a version that mapped it differently
                log.warning("dropping stored charging profile %s on EVSE %d: %s", wire.get("id", wire.get(
                    "chargingProfileId")), evse, exc)
        events.subscribe(TxEnded, lambda ended: self._transaction_ended(ended.evse, ended.transaction_id))
        events.subscribe(ConnectionChanged, self._connection_changed)

    # ------------------------------------------------------------------ questions
    def installed(self, match: Callable[[Installed], bool] = lambda i: True) -> list[Installed]:
        return [i for i in self._installed if match(i)]

    def schedule(self, evse: int, start: float, duration: int, unit: Unit) -> CompositeSchedule:
        """The composite schedule of ``evse`` (0: the station) for ``[start, start + duration)``."""
        transactions = {e: r for e in self.evses if (r := self.running_on(e)) is not None}
        context = replace(self.context(), evses=self.evses, transactions=transactions)
        ignored = frozenset() if self.online else self.ignored_offline()
        return composite([i.profile for i in self._installed if i.profile.purpose not in ignored], evse, start,
                         duration, unit, context)

    # ------------------------------------------------------------------ changes
    def install(self, wire: dict[str, Any], evse: int, *, replaces: Callable[[Installed], bool] = lambda i: False
                ) -> Installed:
        """Install ``wire`` on ``evse``; it replaces the profile with its id and every profile
        ``replaces`` names (the version's rule). Raises what ``to_profile`` raises."""
        new = Installed(wire, self.to_profile(wire, evse))
        gone = [i for i in self._installed if i.id == new.id or replaces(i)]
        self.store.replace([i.id for i in gone], new)
        self._installed = [i for i in self._installed if i not in gone] + [new]
        log.info("charging profile %d installed on EVSE %d (%s, stack level %d)%s", new.id, evse,
                 new.profile.purpose, new.profile.stack_level,
                 f"; replaced {[i.id for i in gone]}" if gone else "")
        self._changed({evse, *(i.evse for i in gone)})
        return new

    def clear(self, match: Callable[[Installed], bool]) -> list[Installed]:
        """Remove every installed profile ``match`` accepts; the ones removed."""
        gone = [i for i in self._installed if match(i)]
        if gone:
            self.store.replace([i.id for i in gone])
            self._installed = [i for i in self._installed if i not in gone]
            log.info("charging profile(s) %s cleared", [i.id for i in gone])
            self._changed({i.evse for i in gone})
        return gone

    def _transaction_ended(self, evse: int, transaction_id: str | None) -> None:
        """A TxProfile lives as long as its transaction (1.6 §3.13.3, 2.0.1 K01.FR.03 note)."""
        self.clear(lambda i: i.profile.purpose == "TxProfile" and i.evse == evse
                   and (i.profile.transaction_id is None or transaction_id is None
                        or i.profile.transaction_id == transaction_id))

    def _connection_changed(self, event: ConnectionChanged) -> None:
        self.online = event.up
        if self.ignored_offline():
            self._changed({0, *self.evses})

    def _changed(self, evses: set[int]) -> None:
        self.events.publish(ChargingProfilesChanged(frozenset(evses)))

    def close(self) -> None:
        self.store.close()
