"""MQTT brokers started on this machine: mosquitto (tests, demo) or embedded amqtt (demo).

``Mosquitto`` owns the broker's temporary config and log file and the process's lifetime; ``restart()``
brings it back on the SAME port (for reconnect tests). Never touches a broker it did not
start. Config follows field-notes.md: anonymous, no persistence, TCP_NODELAY, log to stderr.
``EmbeddedBroker`` runs amqtt (pure Python, MQTT 3.1.1) in a thread, for a demo on a machine
without mosquitto. ``start_broker`` picks one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

_FALLBACK = "/usr/sbin/mosquitto"


def find_mosquitto() -> str:
    """Path of the mosquitto binary (PATH first, then Debian's /usr/sbin)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    if os.access(_FALLBACK, os.X_OK):
        return _FALLBACK
    raise FileNotFoundError("mosquitto not found on PATH nor at /usr/sbin/mosquitto "
                            "(apt-get install -y mosquitto)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """``Mosquitto().start()`` → ``.port``; ``.stop()``; ``.restart()`` on the same port."""

    def __init__(self, port: int | None = None, *, extra_config: str = "") -> None:
        self.binary = find_mosquitto()
        self.port = port or 0
        self.extra_config = extra_config
        # mosquitto drops privileges to user "mosquitto" when run as root: the directory and
        # the config must be readable by it (mkdtemp makes 0700 directories).
        self.dir = tempfile.mkdtemp(prefix="mosquitto-")
        os.chmod(self.dir, 0o755)
        self.conf_path = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        self._proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> Mosquitto:
        """Start and wait until the port accepts TCP connections."""
        fixed = bool(self.port)
        for _attempt in range(5):
            if not fixed:
                self.port = _free_port()
            self._write_config()
            self._launch()
            if self._wait_listening(timeout):
                return self
            self._terminate()
            if fixed:
                # The same port may still be held by a closing socket: try again.
                time.sleep(0.2)
        raise RuntimeError(f"mosquitto did not start on port {self.port}:\n{self.log_text()}")

    def stop(self) -> None:
        self._terminate()

    def restart(self, timeout: float = 10.0) -> None:
        """Stop and start again on the same port (clients must reconnect)."""
        self._terminate()
        fixed_port = self.port
        self.port = fixed_port
        self._write_config()
        deadline = time.monotonic() + timeout
        while True:
            self._launch()
            if self._wait_listening(max(0.5, deadline - time.monotonic())):
                return
            self._terminate()
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not restart on {self.port}:\n{self.log_text()}")
            time.sleep(0.1)

    def cleanup(self) -> None:
        self._terminate()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()

    # -- internals -------------------------------------------------------------------
    def _write_config(self) -> None:
        text = (
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "set_tcp_nodelay true\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            f"{self.extra_config}\n"
        )
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(self.conf_path, 0o644)

    def _launch(self) -> None:
        self._log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(
            [self.binary, "-c", self.conf_path],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def _wait_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


    def describe(self) -> str:
        return f"mosquitto ({self.binary}) on 127.0.0.1:{self.port}"


class EmbeddedBroker:
    """amqtt in a background thread on 127.0.0.1:``port``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None  # amqtt's Broker (amqtt has no type annotations)
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        import asyncio

        from amqtt.broker import Broker

        started = threading.Event()
        config = {"listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
                  "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
                  "topic-check": {"enabled": False}}

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            broker = self._broker = Broker(config, loop=loop)
            loop.run_until_complete(broker.start())
            started.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="amqtt", daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise RuntimeError("embedded MQTT broker did not start")
        return self

    def stop(self) -> None:
        import asyncio

        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._broker.shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._loop = None

    def describe(self) -> str:
        return f"embedded amqtt on 127.0.0.1:{self.port} (mosquitto not installed)"


def start_broker(port: int, folder=None):
    """mosquitto when installed (faster, what EVerest uses), else the embedded amqtt broker."""
    try:
        find_mosquitto()
    except FileNotFoundError:
        return EmbeddedBroker(port).start()
    return Mosquitto(port).start()
