"""The unit tests of the version-neutral core (``ocpp/common``) also drive both versions'
charge points: the 2.0.1 harness (``tests/unit/v201_harness.py``) is importable from here."""

import sys
from pathlib import Path

UNIT_DIR = Path(__file__).resolve().parent.parent
if str(UNIT_DIR) not in sys.path:
    sys.path.insert(0, str(UNIT_DIR))
