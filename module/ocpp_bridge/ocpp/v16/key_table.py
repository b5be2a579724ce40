"""Every OCPP 1.6 configuration key this charge point has, assembled from the blocks'
declarations. PURE data.

Owns one list, ``STANDARD_KEYS``: the keys each functional block declares next to its code
(``KEYS`` of ``status``, ``authorization``, ``transactions``, ``meter_values``, ``reservation``,
``remote_control``, ``provisioning``, ``smart_charging``, ``certificates``) and the station's own
(``core_keys``), in the order GetConfiguration reports them (``keys.in_report_order``). A block that declares a new key is
heard here through its ``KEYS``; nothing else is listed by hand.

Must never: define a key itself.
"""

from __future__ import annotations

from ocpp_bridge.ocpp.v16 import (
                                  authorization,
                                  certificates,
                                  core_keys,
                                  meter_values,
                                  provisioning,
                                  remote_control,
                                  reservation,
                                  smart_charging,
                                  status,
                                  transactions,
)
from ocpp_bridge.ocpp.v16.keys import KeyDef, in_report_order

_DECLARING = (core_keys, provisioning, status, authorization, transactions, meter_values, reservation,
              remote_control, smart_charging, certificates)

STANDARD_KEYS: tuple[KeyDef, ...] = in_report_order(
    [key.definition for module in _DECLARING for key in module.KEYS])
