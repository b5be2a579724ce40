"""EVerest's generic variable commands on an OCPP 1.6 charge point (configuration keys).

Owns the mapping EVerest's own 1.6 module uses (spec/everest.md §3): only
``variable.name`` matters and is the key; results carry ``component: {"name": ""}``;
NotSupported from the key store reads as UnknownVariable. Other modules are outside
parties like the CSMS (``by_csms=True``): a read-only key stays read-only for them too.
"""

from __future__ import annotations

from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys

_SET_STATUS = {"Accepted": "Accepted", "RebootRequired": "RebootRequired", "Rejected": "Rejected",
               "NotSupported": "UnknownVariable"}


def _cv(request_cv: dict) -> dict:
    return {"component": {"name": ""}, "variable": request_cv["variable"]}


class Variables16:
    def __init__(self, keys: ConfigurationKeys):
        self.keys = keys

    def get(self, requests: list[dict]) -> list[dict]:
        results = []
        for req in requests:
            name = req["component_variable"]["variable"]["name"]
            known, _unknown = self.keys.get([name])
            cv = _cv(req["component_variable"])
            if known and known[0].value is not None:
                results.append({"status": "Accepted", "component_variable": cv, "attribute_type": "Actual",
                                "value": known[0].value})
            else:
                results.append({"status": "UnknownVariable", "component_variable": cv})
        return results

    def set(self, requests: list[dict]) -> list[dict]:
        results = []
        for req in requests:
            name = req["component_variable"]["variable"]["name"]
            status = self.keys.set(name, req["value"], by_csms=True)
            results.append({"status": _SET_STATUS.get(status, "Rejected"),
                            "component_variable": req["component_variable"], "attribute_type": "Actual"})
        return results

    def monitor_key(self, component_variable: dict) -> str:
        return component_variable["variable"]["name"]

    def current(self, monitor_key: str) -> str | None:
        known, _unknown = self.keys.get([monitor_key])  # as a reader sees it: no write-only value
        return known[0].value if known else None
