"""Small EVerest value shapes shared by the implementations (snake_case, as in types/ocpp.yaml)."""

from __future__ import annotations


def security_event_value(event_type: str, info: str | None) -> dict:
    """SecurityEvent as EVerest's module publishes it: ``{type, info}``."""
    value = {"type": event_type}
    if info:
        value["info"] = info
    return value


def key_value(kv) -> dict:
    """A 1.6 configuration key (``KeyValue`` of the key store) as EVerest's KeyValue."""
    value = {"key": kv.key, "read_only": kv.read_only}
    if kv.value is not None:
        value["value"] = kv.value
    return value
