"""The tests' mosquitto: the same class the demo uses (``ocpp_bridge.demo.broker``).

One real mosquitto process on an ephemeral 127.0.0.1 port with the field-notes config
(anonymous, no persistence, TCP_NODELAY); ``restart()`` brings it back on the same port.
"""

from ocpp_bridge.demo.broker import Mosquitto, find_mosquitto

__all__ = ["Mosquitto", "find_mosquitto"]
