"""The implementations this module provides, one file each (like EVerest's impl folders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocpp_bridge.engine import Engine
    from ocpp_bridge.impls.auth import AuthModuleLink
    from ocpp_bridge.impls.evse_link import EvseLink
    from ocpp_bridge.impls.system_link import SystemLink


class Implementation:
    """What the engine expects of a provided implementation: its interface, its command
    handlers, the previous generation's command names, and hooks for when a station is built
    (``attach``: at start-up, and again when OcppVersion "auto" switches versions) and for when
    OCPP starts. ``station`` is always the engine's current one."""

    interface = ""
    impl_id = ""
    aliases: dict[str, str] = {}
    commands: dict = {}
    engine: Any

    @property
    def station(self) -> Any:
        return self.engine.station

    def attach(self, station: Any) -> None:
        """Subscribe to ``station``'s events (its predecessor's subscriptions went with it)."""
        return None

    def on_ocpp_started(self) -> None:
        return None


@dataclass(frozen=True)
class BusSide:
    """The engine's side of the bus: the implementations it provides (by implementation id)
    and its links to the modules it requires."""

    impls: dict[str, Implementation]
    auth_link: AuthModuleLink
    system_link: SystemLink
    evse_link: EvseLink


def build_impls(engine: Engine) -> BusSide:
    """Every provided implementation and the links to the required modules; DefinitionError
    when the manifest or an interface file asks for an implementation, or for a command, that
    the code does not serve (EVerest's init_done rule)."""
    from ocpp_bridge.everest.definitions import DefinitionError
    from ocpp_bridge.impls.auth import AuthModuleLink, AuthProviderImpl, AuthValidatorImpl
    from ocpp_bridge.impls.data_transfer import DataTransferImpl
    from ocpp_bridge.impls.evse_link import EvseLink
    from ocpp_bridge.impls.main import MainImpl
    from ocpp_bridge.impls.ocpp_generic import OcppGenericImpl
    from ocpp_bridge.impls.system_link import SystemLink

    auth_provider = AuthProviderImpl(engine)
    data_transfer = DataTransferImpl(engine)
    impls: dict[str, Implementation] = {
        "ocpp_generic": OcppGenericImpl(engine),
        "main": MainImpl(engine),
        "auth_validator": AuthValidatorImpl(engine),
        "auth_provider": auth_provider,
        "data_transfer": data_transfer,
    }
    bus_side = BusSide(impls, auth_link=AuthModuleLink(engine), system_link=SystemLink(engine),
                       evse_link=EvseLink(engine, token_sink=auth_provider.provide, data_transfer=data_transfer.forward))
    declared = engine.definitions.provides()
    missing = set(declared) - set(impls)
    if missing:
        raise DefinitionError(f"manifest provides {sorted(missing)} but no implementation exists")
    for impl_id, impl in impls.items():
        unhandled = set(engine.definitions.commands(impl.interface)) - set(impl.commands)
        if unhandled:
            raise DefinitionError(f"{impl_id} ({impl.interface}): no handler for {sorted(unhandled)}")
    return bus_side
