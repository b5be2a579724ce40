"""ocpp-bridge: the OCPP module of an EVerest-style MQTT charger stack.

The package is split in two halves that never import each other:
``everest/`` (the MQTT framework side) and ``ocpp/`` (the CSMS side). ``engine``
joins them on one thread; ``impls/`` map EVerest commands and variables to OCPP.
"""

__version__ = "0.1.0"
