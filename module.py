#!/usr/bin/env python3
"""EVerest's entry point for this module: ``python3 <module dir>/module.py``.

An EVerest manager starts a Python module by running the ``module.py`` beside its
``manifest.yaml`` and tells it who it is through the environment (``EV_MODULE``,
``EV_MQTT_EVEREST_PREFIX``, the broker, ...). Managers since framework 0.25 run it with
``<module dir>/.venv/bin/python3`` when ``.venv`` exists; older ones (EVerest <= 2025.10) run
whatever ``python3`` is on PATH, which lacks our dependencies. So this file first makes sure
it runs on the folder's own interpreter: when ``.venv/bin/python3`` exists and is not the
running one, it replaces the process with it (``os.execv``; once: the environment marks
the re-exec, so a venv that still is not ours cannot loop). Then it makes that folder's code
and definitions the ones in use and hands over to ``ocpp-bridge``'s manager mode; it must
never hold any logic of its own. It serves this repository and an installed copy
(``ocpp-bridge install-everest-module``), which have the same layout. Keep it runnable by
any Python 3 (no newer syntax): the manager's ``python3`` may be old.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "module")
VENV = os.path.join(HERE, ".venv")
REEXEC_MARK = "OCPP_BRIDGE_MODULE_REEXEC"


def _run_on_own_interpreter():
    """Re-exec with ``<dir>/.venv/bin/python3`` unless that is already the interpreter."""
    reexeced = os.environ.pop(REEXEC_MARK, None) is not None
    python = os.path.join(VENV, "bin", "python3")
    if reexeced or not os.path.exists(python):
        return
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    os.environ[REEXEC_MARK] = "1"
    try:
        os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])
    except OSError as exc:
        del os.environ[REEXEC_MARK]
        sys.stderr.write(f"module.py: cannot run {python} ({exc}); staying on {sys.executable}\n")


if __name__ == "__main__":
    _run_on_own_interpreter()

if os.path.isdir(os.path.join(SOURCE, "ocpp_bridge")):
    sys.path.insert(0, SOURCE)
os.environ.setdefault("OCPP_BRIDGE_HOME", HERE)

from ocpp_bridge.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
