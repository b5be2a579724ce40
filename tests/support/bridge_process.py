"""The bridge as a real process, started the way users start it (contract.md "How it is
started"): an EVerest run-config YAML written to a temporary directory, then the installed
console script ``ocpp-bridge run --config FILE --module ID``.

Owns that config file, the process and its combined stdout/stderr log file, and how any test
starts what a user installs: the ``ocpp-bridge`` console script that pip put next to the test
interpreter (``make test`` installs the wheel there, not editable), run with its working
directory in a temporary folder outside the checkout and an environment without the source
tree on ``PYTHONPATH`` and without ``OCPP_BRIDGE_HOME``. It never imports ``ocpp_bridge``:
tests see the module only through MQTT, OCPP and its log.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

CHECKOUT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).parent / "ocpp-bridge"
_SCRUB = ("MQTT_SERVER_ADDRESS", "MQTT_SERVER_PORT", "PYTHONPATH", "OCPP_BRIDGE_HOME")


def console_script() -> str:
    """The installed ``ocpp-bridge`` of the test venv."""
    if not CONSOLE_SCRIPT.is_file():
        raise RuntimeError(f"{CONSOLE_SCRIPT} is missing: install the wheel first (make test runs "
                           f"scripts/bootstrap.sh, which does)")
    return str(CONSOLE_SCRIPT)


def user_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A user's environment: none of a manager's ``EV_*``, no broker override, no source tree."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.startswith("EV_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def outside_checkout(folder: Path) -> Path:
    """``folder``, after checking it is not inside the checkout (where a run could find the tree)."""
    resolved = Path(folder).resolve()
    if resolved == CHECKOUT or CHECKOUT in resolved.parents:
        raise ValueError(f"{folder} is inside the checkout {CHECKOUT}: run the installed module elsewhere")
    return resolved


def run_installed(args: list[str], *, cwd: Path, env: dict[str, str] | None = None,
                  timeout: float = 120) -> subprocess.CompletedProcess:
    """``ocpp-bridge ARGS`` to completion, from ``cwd`` (outside the checkout); text output."""
    return subprocess.run([console_script(), *args], cwd=outside_checkout(cwd), env=user_env(env),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class BridgeProcess:
    """One bridge process. ``start()`` may be called again after ``stop()``/``kill()``
    (same config, same database directory: restart tests); the log is appended."""

    def __init__(self, config: dict, *, broker_port: int, module_id: str = "ocpp",
                 prefix: str = "everest", broker_host: str = "127.0.0.1",
                 evse_managers: list[tuple[str, str]] | None = None,
                 connections: dict[str, list[tuple[str, str]]] | None = None,
                 peers: dict[str, str] | None = None,
                 mappings: dict[str, dict] | None = None,
                 config_implementation: dict | None = None,
                 workdir: str | os.PathLike | None = None,
                 env: dict[str, str] | None = None,
                 settings: dict | None = None) -> None:
        """``config``: the ``config_module`` dict (ChargePointId, CentralSystemURI, ...).
        ``evse_managers``: [(module_id, implementation_id)] for ``evse_manager`` (default
        one, ``evse_manager_1``/``evse``); ``connections``: other requirements the same way.
        ``peers``: module id -> module name for the peers' entries (default ProbeModule).
        ``mappings``: module id -> the ``mapping`` of that peer's entry (its EVSE).
        ``settings``: extra/override keys of the run config's ``settings``."""
        self.config = dict(config)
        self.module_id = module_id
        self.broker_host, self.broker_port = broker_host, broker_port
        self.prefix = prefix
        self.connections: dict[str, list[tuple[str, str]]] = {
            "evse_manager": list(evse_managers if evse_managers is not None
                                 else [("evse_manager_1", "evse")])}
        self.connections.update(connections or {})
        self.peers = dict(peers or {})
        self.mappings = dict(mappings or {})
        self.config_implementation = config_implementation
        self.settings = dict(settings or {})
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="bridge-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / f"run-config-{module_id}.yaml"
        self.log_path = self.dir / f"bridge-{module_id}.log"
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    # -- config ----------------------------------------------------------------------
    def run_config(self) -> dict:
        """The EVerest run config as a dict (written to ``config_path`` by ``start``)."""
        settings = {"mqtt_broker_host": self.broker_host, "mqtt_broker_port": self.broker_port,
                    "mqtt_everest_prefix": self.prefix}
        settings.update(self.settings)
        ours: dict[str, Any] = {
            "module": "OcppBridge",
            "config_module": self.config,
            "connections": {
                req: [{"module_id": m, "implementation_id": i} for m, i in conns]
                for req, conns in self.connections.items()},
        }
        if self.config_implementation:
            ours["config_implementation"] = self.config_implementation
        modules: dict[str, Any] = {self.module_id: ours}
        for conns in self.connections.values():
            for peer_id, _impl in conns:
                modules.setdefault(peer_id, {"module": self.peers.get(peer_id, "ProbeModule")})
        for peer_id, name in self.peers.items():
            modules.setdefault(peer_id, {"module": name})
        for peer_id, mapping in self.mappings.items():
            modules[peer_id]["mapping"] = mapping
        return {"settings": settings, "active_modules": modules}

    def write_config(self) -> Path:
        with open(self.config_path, "w", encoding="utf-8") as f:
            yaml.safe_dump(self.run_config(), f, sort_keys=False)
        return self.config_path

    def command(self) -> list[str]:
        return [console_script(), "run", "--config", str(self.config_path), "--module", self.module_id]

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> BridgeProcess:
        if self.alive:
            raise RuntimeError("bridge already running")
        self.write_config()
        env = user_env(self.extra_env)
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"--- harness: start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), cwd=outside_checkout(self.dir), env=env,
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5) -> int | None:
        """Send ``sig`` and wait; SIGKILL after ``timeout``. Returns the exit code
        (negative = killed by that signal; -9 means it did not stop in time)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._note(f"did not exit within {timeout} s of signal {sig}: SIGKILL")
                proc.kill()
                proc.wait()
        self._note(f"exited with {proc.returncode}")
        return proc.returncode

    def kill(self) -> int | None:
        return self.stop(signal.SIGKILL, timeout=5)

    def wait_exit(self, timeout: float = 10) -> int:
        """Wait for the process to exit by itself; return its exit code."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"bridge still running after {timeout} s") from None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    # -- log -------------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_size(self) -> int:
        """Current log length in characters, for ``wait_log(..., after=...)``."""
        return len(self.log_text())

    def wait_log(self, regex: str, timeout: float = 10, after: int = 0) -> re.Match:
        """Wait until the log (from character ``after``) matches ``regex`` (MULTILINE)."""
        pattern = re.compile(regex, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            alive = self.alive          # read before the log: if it had exited, the log is final
            text = self.log_text()
            m = pattern.search(text, after)
            if m:
                return m
            if not alive:
                raise AssertionError(f"bridge exited ({self.returncode}) without logging "
                                     f"{regex!r}; log tail:\n{text[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {regex!r} in the bridge log within {timeout} s; "
                                   f"log tail:\n{text[-3000:]}")
            time.sleep(0.05)

    def _note(self, text: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(f"--- harness: {text}\n")

    def __enter__(self) -> BridgeProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
