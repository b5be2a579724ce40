"""``auth_validator`` and ``auth_provider``: OCPP's part in EVerest's authorization.

Owns the two token interfaces: ``validate_token`` (the Auth module asks whether a token may
charge; the station answers from its local list, its cache or Authorize.req) and the
``provided_token`` variable (tokens of the CSMS's remote starts, for the Auth module).
Explicit maps between EVerest's snake_case types and the station's neutral ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.impls import Implementation
from ocpp_bridge.impls.evse_link import id_token
from ocpp_bridge.ocpp.evse_events import IdToken

if TYPE_CHECKING:
    from ocpp_bridge.engine import Engine


def validation_result(result: dict[str, Any]) -> dict[str, Any]:
    """The station's ``{"status", "expiry_time"?, "parent_id_token"?, "evse_ids"?}`` -> EVerest
    ValidationResult (``evse_ids``: the only EVSEs the token may use, e.g. when others are
    reserved for another token; the Auth module refuses it elsewhere)."""
    value: dict[str, Any] = {"authorization_status": result["status"], "tariff_messages": []}
    if result.get("expiry_time"):
        value["expiry_time"] = result["expiry_time"]
    if result.get("parent_id_token"):
        value["parent_id_token"] = {"value": result["parent_id_token"], "type": "Central"}
    if result.get("evse_ids") is not None:
        value["evse_ids"] = list(result["evse_ids"])
    return value


class AuthValidatorImpl(Implementation):
    interface = "auth_token_validator"
    impl_id = "auth_validator"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.commands = {"validate_token": self.validate_token}

    def validate_token(self, provided_token: dict[str, Any]) -> Deferred:
        answer = Deferred()
        token = id_token(provided_token)
        if token is None:
            answer.fail("provided_token holds no id_token")
            return answer
        self.station.validate_token(token).then(
            lambda result, error: answer.fail(error) if error else answer.resolve(validation_result(result)))
        return answer


class AuthProviderImpl(Implementation):
    interface = "auth_token_provider"
    impl_id = "auth_provider"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def provide(self, token: IdToken, evses: list[int], prevalidated: bool, request_id: int | None = None) -> None:
        value: dict[str, Any] = {"id_token": {"value": token.value, "type": token.type}, "authorization_type": "OCPP",
                 "connectors": list(evses), "prevalidated": bool(prevalidated)}
        if request_id is not None:
            value["request_id"] = request_id
        self.engine.publish_var(self.impl_id, "provided_token", value)


class AuthModuleLink:
    """Keeps the required ``auth`` module's connection timeout equal to OCPP's
    (1.6 ConnectionTimeOut, 2.0.1 TxCtrlr.EVConnectionTimeOut) and, for 2.0.1, its master pass
    group equal to AuthCtrlr.MasterPassGroupId (C16: the Auth module stops every transaction
    for a token of that group and starts none), at OCPP start and on every change, as
    EVerest's OCPP module does."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def station(self) -> Any:
        return self.engine.station

    def attach(self, station: Any) -> None:
        config = station.config
        config.on_change(station.connection_timeout_setting, self.push_timeout)
        if station.master_pass_group_setting is not None:
            config.on_change(station.master_pass_group_setting, self.push_master_pass)

    def timeout_s(self) -> int:
        return int(self.station.config.read(self.station.connection_timeout_setting))

    def master_pass_group_id(self) -> str | None:
        """2.0.1 AuthCtrlr.MasterPassGroupId ("" when unset); None for 1.6 (no such setting)."""
        setting = self.station.master_pass_group_setting
        return None if setting is None else (self.station.config.read(setting) or "")

    def push(self) -> None:
        """At OCPP start: everything the auth module takes from OCPP."""
        self.push_timeout()
        if self.master_pass_group_id():
            self.push_master_pass()

    def push_timeout(self) -> None:
        self._call("set_connection_timeout", {"connection_timeout": self.timeout_s()})

    def push_master_pass(self) -> None:
        group = self.master_pass_group_id()
        if group is not None:
            self._call("set_master_pass_group_id", {"master_pass_group_id": group})

    def _call(self, cmd: str, args: dict[str, Any]) -> None:
        if not self.engine.settings.connections.get("auth"):
            return
        self.engine.call_required("auth", 0, cmd, args, lambda retval, error: None)
