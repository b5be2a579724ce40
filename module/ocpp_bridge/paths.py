"""Where the module's definition files live.

Owns one question: which folder holds ``manifest.yaml``, ``interfaces/``, ``types/`` and
``errors/``. In order:

1. ``OCPP_BRIDGE_HOME``, when set (an installed EVerest module folder's ``module.py`` sets it
   to that folder);
2. the copy inside the installed package, ``ocpp_bridge/definitions/`` (every wheel has it);
3. the top-level files of the checkout, when the package runs from one
   (``<checkout>/module/ocpp_bridge/``: an editable install or ``PYTHONPATH``).

The folder chosen must hold ``manifest.yaml``; otherwise ``DefinitionsNotFound`` names every
folder looked at. Never reads the files themselves (``everest/definitions.py`` does).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

PACKAGE_DIR = Path(__file__).resolve().parent
HOME_VARIABLE = "OCPP_BRIDGE_HOME"
PACKAGED_DEFINITIONS = "definitions"  # the folder inside the package a wheel's build fills (setup.py)


class DefinitionsProblem(Exception):
    """Base of every error about the definition files: missing, unreadable or broken. The
    message names the file or folder; the command line shows it as one line."""


class DefinitionsNotFound(DefinitionsProblem, FileNotFoundError):
    """No usable definitions folder; the message names the folder(s) looked at."""


def _usable(folder: Path) -> bool:
    return (folder / "manifest.yaml").is_file()


def find_root(env: Mapping[str, str], package_dir: Path) -> Path:
    """The definitions folder for a package at ``package_dir`` with environment ``env``."""
    home = env.get(HOME_VARIABLE)
    if home:
        folder = Path(home).resolve()
        if not _usable(folder):
            raise DefinitionsNotFound(f"{HOME_VARIABLE}={home}: no manifest.yaml in {folder}")
        return folder
    packaged = package_dir / PACKAGED_DEFINITIONS
    if packaged.exists():
        if not _usable(packaged):
            raise DefinitionsNotFound(f"the package's definitions folder {packaged} has no manifest.yaml "
                                      f"(a broken install: reinstall ocpp-bridge)")
        return packaged
    checkout = package_dir.parent.parent
    if package_dir.parent.name == "module" and _usable(checkout):
        return checkout
    raise DefinitionsNotFound(f"no definitions: neither {packaged} nor {checkout / 'manifest.yaml'} exists "
                              f"(a broken install: reinstall ocpp-bridge, or set {HOME_VARIABLE})")


def module_root() -> Path:
    """The folder with ``manifest.yaml``, ``interfaces/``, ``types/`` and ``errors/``."""
    return find_root(os.environ, PACKAGE_DIR)
