"""Test harness parts shared by every test layer: a real mosquitto broker, an EVerest
module emulator speaking the framework's MQTT protocol from ``everest.md`` (never the
module's own protocol code), and a launcher for the bridge as a real process."""
