"""Where the module's definition files live.

Owns one question: which folder holds ``manifest.yaml``, ``interfaces/`` and ``types/``.
The repository (or an installed EVerest module folder) is that folder; ``OCPP_BRIDGE_HOME``
overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path


def module_root() -> Path:
    """The folder with ``manifest.yaml``, ``interfaces/`` and ``types/``."""
    env = os.environ.get("OCPP_BRIDGE_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "manifest.yaml").is_file() and (parent / "interfaces").is_dir():
            return parent
    raise FileNotFoundError(
        "cannot find manifest.yaml beside the ocpp_bridge package; set OCPP_BRIDGE_HOME"
    )
