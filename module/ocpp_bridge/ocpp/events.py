"""Typed events between the parts of one station, and the bus that carries them. PURE.

Owns the vocabulary the functional blocks (and the bus side, through the charge point) use to
tell each other what happened, as frozen dataclasses, and ``EventBus``: ``subscribe(Type, fn)``
and ``publish(event)``. Delivery is synchronous, on the caller's (the engine's) thread, to the
subscribers of the event's exact type in the order they subscribed — which is the order the
blocks are built in, so "status hears it before transactions" is a property of the block list.
The EVSE events of ``evse_events.py`` travel on the same bus.

A subscriber that raises is logged and the others still hear the event: a block's bug must not
stop the core. Blocks keep their own state all-or-nothing; the bus does not roll anything back.

Must never: carry wire payloads of either version's messages (each field is typed and named
here), know MQTT, or queue events for later.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

log = logging.getLogger("ocpp_bridge.ocpp.events")

E = TypeVar("E")


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, kind: type[E], fn: Callable[[E], None]) -> None:
        """``fn(event)`` for every published event of exactly this type."""
        self._subscribers[kind].append(fn)

    def subscribe_many(self, kinds: tuple[type, ...], fn: Callable[[Any], None]) -> None:
        """``fn(event)`` for every event of any of these types (e.g. all EVSE events)."""
        for kind in kinds:
            self.subscribe(kind, fn)

    def publish(self, event: object) -> None:
        for fn in list(self._subscribers.get(type(event), ())):
            try:
                fn(event)
            except Exception:  # a subscriber must never break the protocol core
                log.exception("subscriber of %s failed", type(event).__name__)


# --------------------------------------------------------------------------- connection
@dataclass(frozen=True)
class ConnectionChanged:
    """The websocket to the CSMS came up (or went down)."""

    up: bool


@dataclass(frozen=True)
class BootAnswered:
    """The CSMS answered BootNotification with a valid CALLRESULT. ``status_info``: 2.0.1's
    StatusInfoType as received (camelCase), when present."""

    status: str
    current_time: str
    interval: int
    status_info: dict[str, str] | None = None


@dataclass(frozen=True)
class PasswordChanged:
    """The CSMS stored a new Basic-auth password (after our answer went out): reconnect with it."""


@dataclass(frozen=True)
class LeafCertificateChanged:
    """The security module installed a new certificate of the station (CertificateSigned):
    the connection at security profile 3 is made again with it."""


@dataclass(frozen=True)
class Registered:
    """BootNotification was Accepted: the station may send everything."""


@dataclass(frozen=True)
class CsmsTime:
    """The CSMS's current time, from a Heartbeat (or boot) answer."""

    current_time: str


@dataclass(frozen=True)
class FrameLogged:
    """A frame went out or came in (for the frame log; secrets are masked by the log)."""

    direction: str  # "in" | "out"
    text: str


# --------------------------------------------------------------------------- transactions
@dataclass(frozen=True)
class TxStarted:
    """An OCPP transaction started on ``evse`` (its start message is queued)."""

    evse: int
    connector: int
    session_id: str
    transaction_id: str | None = None  # 1.6: None until StartTransaction.conf


@dataclass(frozen=True)
class TxUpdated:
    """A transaction went on: 1.6, the CSMS gave it its transactionId (StartTransaction.conf);
    2.0.1, a TransactionEvent(Updated) is queued."""

    evse: int
    connector: int
    session_id: str
    transaction_id: str


@dataclass(frozen=True)
class TxEnded:
    """An OCPP transaction ended on ``evse`` (its stop message is queued)."""

    evse: int
    connector: int
    session_id: str
    transaction_id: str | None = None


@dataclass(frozen=True)
class TxAnswered:
    """The CSMS answered a transaction message; what the bus side passes on
    (``ocpp_transaction_event_response``)."""

    event_type: str  # "Started" | "Updated" | "Ended": the answered message's
    evse: int
    connector: int
    session_id: str
    transaction_id: str | None
    total_cost: float | None = None
    charging_priority: int | None = None
    personal_message: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TxResumed:
    """After a restart, the EVSE resumed a session whose transaction is still open here."""

    evse: int
    connector: int
    session_id: str


# --------------------------------------------------------------------------- station state
@dataclass(frozen=True)
class ConnectorStatusChanged:
    """A connector's status as the station now computes it (2.0.1 ConnectorStatusEnumType or
    1.6 ChargePointStatus)."""

    evse: int
    connector: int
    status: str


@dataclass(frozen=True)
class SecurityEventRaised:
    """A security event happened (sent to the CSMS when critical; published on the bus)."""

    event_type: str
    info: str | None = None


@dataclass(frozen=True)
class ConfigurationChanged:
    """The CSMS changed a configuration value: a 1.6 key name, or a 2.0.1 ``VariableKey``
    (then ``attribute`` is its attribute type)."""

    key: Any
    attribute: str = "Actual"


@dataclass(frozen=True)
class ChargingProfilesChanged:
    """The installed charging profiles changed (set, replaced, cleared, or a TxProfile removed
    at its transaction's end): every composite schedule may have changed. ``evses``: the EVSEs
    whose profiles changed (0: the station, which touches every EVSE)."""

    evses: frozenset[int]


@dataclass(frozen=True)
class RemoteStartProfile:
    """A RemoteStart / RequestStartTransaction came with a charging profile for ``evse``
    (None: the EVSE the transaction will start on)."""

    evse: int | None
    profile: dict[str, Any]
    remote_start_id: int | None = None
