"""OCPP 1.6 security extension's ExtendedTriggerMessage. PURE.

Owns the answer to ExtendedTriggerMessage: its own registry (``common/remote_control.py``'s
``TriggerMessages``, so the same rules hold: after the CALLRESULT, while Pending too, only
BootNotification while Rejected), to which a block adds what it can send
(``add(requestedMessage, send)``; the firmware block adds FirmwareStatusNotification, sent as a
SignedFirmwareStatusNotification, and LogStatusNotification). BootNotification, Heartbeat,
MeterValues and StatusNotification are sent the way TriggerMessage sends them (the remote
control block's registry); the certificates block adds SignChargePointCertificate. A kind
nobody added -> NotImplemented; a connectorId beyond the connectors -> Rejected.

Must never: build the triggered messages itself.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ocpp_bridge.ocpp.common.remote_control import TriggerMessages
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.remote_control import RemoteControl16

log = logging.getLogger("ocpp_bridge.ocpp.v16.extended_trigger")

AS_TRIGGER_MESSAGE = ("BootNotification", "Heartbeat", "MeterValues", "StatusNotification")


class ExtendedTrigger16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], remote_control: RemoteControl16) -> None:
        self.core = ctx.core
        self.count = ctx.evse_count
        self.triggers: TriggerMessages[int | None] = TriggerMessages(self.core)
        for kind in AS_TRIGGER_MESSAGE:
            self.triggers.add(kind, self._as_trigger_message(remote_control, kind))
        self.core.handle("ExtendedTriggerMessage", self._on_trigger)

    @staticmethod
    def _as_trigger_message(remote_control: RemoteControl16, kind: str) -> Callable[[int | None], str]:
        return lambda connector: remote_control.triggers.answer(kind, connector)

    def add(self, requested_message: str, send: Callable[[int | None], str]) -> None:
        self.triggers.add(requested_message, send)

    def _on_trigger(self, payload: dict[str, Any]) -> dict[str, Any]:
        what, connector = payload["requestedMessage"], payload.get("connectorId")
        if connector is not None and not 0 <= connector <= self.count:
            return {"status": "Rejected"}
        status = self.triggers.answer(what, connector)
        log.info("ExtendedTriggerMessage %s (connector %s): %s", what, connector, status)
        return {"status": status}
