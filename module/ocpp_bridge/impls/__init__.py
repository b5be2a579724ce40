"""The implementations this module provides, one file each (like EVerest's impl folders)."""

from __future__ import annotations


def build_impls(engine) -> dict:
    from ocpp_bridge.impls.main import MainImpl
    from ocpp_bridge.impls.ocpp_generic import OcppGenericImpl

    impls = {"ocpp_generic": OcppGenericImpl(engine), "main": MainImpl(engine)}
    declared = engine.definitions.provides()
    missing = set(declared) - set(impls)
    if missing:
        raise RuntimeError(f"manifest provides {sorted(missing)} but no implementation exists")
    for impl_id, impl in impls.items():
        unhandled = set(engine.definitions.commands(impl.interface)) - set(impl.commands)
        if unhandled:
            raise RuntimeError(f"{impl_id}: no handler for {sorted(unhandled)}")
    return impls
