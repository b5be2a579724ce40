"""EVerest's generic variable commands on an OCPP 2.0.1 station (the device model).

Owns the translation between EVerest's ComponentVariable (snake_case, ``evse.connector_id``)
and the device model's ``VariableKey``; statuses pass through unchanged. Other modules are
outside parties like the CSMS (``by_csms=True``): ReadOnly variables stay read-only for them.
"""

from __future__ import annotations

from ocpp_bridge.ocpp.v201.device_model import DeviceModel, VariableKey


def key_of(cv: dict) -> VariableKey:
    component, variable = cv["component"], cv["variable"]
    evse = component.get("evse") or {}
    return VariableKey(
        component=component["name"], variable=variable["name"],
        component_instance=component.get("instance"), variable_instance=variable.get("instance"),
        evse=evse.get("id"), connector=evse.get("connector_id"),
    )


class Variables201:
    def __init__(self, model: DeviceModel):
        self.model = model

    def get(self, requests: list[dict]) -> list[dict]:
        results = []
        for req in requests:
            attribute = req.get("attribute_type", "Actual")
            status, value = self.model.get(key_of(req["component_variable"]), attribute)
            result = {"status": status, "component_variable": req["component_variable"], "attribute_type": attribute}
            if status == "Accepted" and value is not None:
                result["value"] = value[:2500]
            results.append(result)
        return results

    def set(self, requests: list[dict]) -> list[dict]:
        results = []
        for req in requests:
            attribute = req.get("attribute_type", "Actual")
            status = self.model.set(key_of(req["component_variable"]), req["value"], attribute, by_csms=True)
            results.append({"status": status, "component_variable": req["component_variable"],
                            "attribute_type": attribute})
        return results

    def monitor_key(self, component_variable: dict) -> VariableKey:
        return key_of(component_variable)

    def current(self, monitor_key: VariableKey) -> str | None:
        status, value = self.model.get(monitor_key, "Actual")
        return value if status == "Accepted" else None
