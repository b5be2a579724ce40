#!/usr/bin/env python3
"""EVerest's entry point for this module: ``python3 <module dir>/module.py``.

An EVerest manager starts a Python module by running the ``module.py`` beside its
``manifest.yaml`` (with ``<module dir>/.venv/bin/python3`` when ``.venv`` exists) and tells
it who it is through the environment (``EV_MODULE``, ``EV_MQTT_EVEREST_PREFIX``, the
broker, ...). This file only makes that folder's code and definitions the ones in use and
hands over to ``ocpp-bridge``'s manager mode; it must never hold any logic of its own.
It serves this repository and an installed copy (``ocpp-bridge install-everest-module``),
which have the same layout.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "module")

if os.path.isdir(os.path.join(SOURCE, "ocpp_bridge")):
    sys.path.insert(0, SOURCE)
os.environ.setdefault("OCPP_BRIDGE_HOME", HERE)

from ocpp_bridge.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
