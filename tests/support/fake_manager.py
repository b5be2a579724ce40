"""A fake EVerest manager over paho-mqtt, for tests of the module under a real manager's rules.

Written from spec/everest.md §1.5 and §5 for both generations ("2025.12" = G3 with the
``msg_type`` envelope, "2024.11" = G2c without it); it never imports ``ocpp_bridge``.

It does what a manager does for a module: publishes the retained definition topics
(``interfaces``, ``interface_definitions/<if>``, ``types``, ``type_definitions/<file>``,
``settings``, ``module_names``, ``manifests/<Name>``); answers ``<p>config/request`` on
``<p>modules/<id>/response`` with a real-shaped ``Module`` response built from a run config
and the module's manifest (defaults merged, connections with their requirement index);
launches a module the way the manager of its generation does (§5: "2025.12" runs
``<dir>/.venv/bin/python3 <dir>/module.py`` when ``.venv`` exists; "2024.11", framework
<= 0.24, always runs ``python3 <dir>/module.py`` from PATH) with the ``EV_*`` environment, or,
for a module marked standalone, does not launch it and waits; counts module ``ready``
messages and, when every active module is ready, sends the global ``ready`` once and clears
the retained topics. It also records the errors modules raise and clear (§1.2/§1.3/§1.6).

``install_everest_module`` lays a module folder out the way a user does, with the installed
``ocpp-bridge install-everest-module``; the tests launch that folder, never the checkout.

Requests that break the spec are recorded in ``protocol_errors`` and get no answer, as a
real manager cannot parse them either.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable

import paho.mqtt.client as mqtt
import yaml

from support.bridge_process import BridgeProcess, console_script, run_installed

G3 = "2025.12"
G2C = "2024.11"
ROOT = Path(__file__).resolve().parents[2]
DATATYPES = {"boolean": "bool", "integer": "integer", "number": "number", "string": "string"}
_BAD = object()
ERROR_KEYS = {"type", "sub_type", "message", "description", "vendor_id", "origin", "severity",
              "timestamp", "uuid", "state"}


class ModuleProcess(BridgeProcess):
    """A module process with a given command line and environment, no run-config file
    (its configuration comes over MQTT). Log, wait_log and stop as for BridgeProcess."""

    def __init__(self, argv: list[str], *, module_id: str, env: dict[str, str], workdir: Path) -> None:
        super().__init__({}, broker_port=0, module_id=module_id, workdir=workdir, env=env)
        self.argv = list(argv)

    def command(self) -> list[str]:
        return list(self.argv)

    def write_config(self) -> Path:
        return self.config_path  # nothing is written: the manager delivers the configuration


def manager_command(module_dir: Path, generation: str = G3) -> list[str]:
    """How the manager of ``generation`` runs a Python module (everest.md §5): only managers
    since framework 0.25 ("2025.12") use the folder's ``.venv``."""
    module_dir = Path(module_dir).resolve()
    python = module_dir / ".venv" / "bin" / "python3"
    use_venv = generation == G3 and (module_dir / ".venv").exists()
    return [str(python) if use_venv else "python3", str(module_dir / "module.py")]


def module_folder(prefix: Path) -> Path:
    """Where an EVerest installation under ``prefix`` keeps our module (everest.md §5)."""
    return Path(prefix) / "libexec" / "everest" / "modules" / "OcppBridge"


def install_everest_module(prefix: Path, *extra: str) -> subprocess.CompletedProcess:
    """``ocpp-bridge install-everest-module --prefix PREFIX [EXTRA]`` as a user runs it."""
    return run_installed(["install-everest-module", "--prefix", str(prefix), *extra], cwd=Path(prefix).parent)


class FakeManager:
    def __init__(self, broker_port: int, *, prefix: str, generation: str, run_config: dict,
                 standalone: tuple[str, ...] = (), definitions: Path = ROOT, answer: bool = True,
                 retain_topics: bool = False, validate_schema: bool = False, host: str = "127.0.0.1",
                 install_prefix: Path | None = None) -> None:
        self.port, self.host = broker_port, host
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.generation = generation
        self.run_config = run_config
        self.modules: dict[str, dict] = dict(run_config["active_modules"])
        self.standalone = set(standalone)
        self.definitions = Path(definitions)
        self.answer = answer
        self.retain_topics = retain_topics
        self.validate_schema = validate_schema
        self.install_prefix = Path(install_prefix) if install_prefix else self.definitions
        self.protocol_errors: list[str] = []
        self.requests: list[Any] = []          # every config request received (decoded JSON)
        self.answered: list[str] = []          # module ids we sent a configuration to
        self.ready: dict[str, int] = {}
        self.global_ready_sent = 0
        self.errors: list[dict] = []           # {"module","impl","raised","error","topic"}
        self.processes: list[ModuleProcess] = []
        self._retained: list[str] = []
        self._cv = threading.Condition()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self._client.on_message = self._on_message
        self._connected = threading.Event()
        self._client.on_connect = lambda *a: self._connected.set()
        self._acked: set[int] = set()
        self._client.on_subscribe = self._on_subscribe

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeManager:
        self._client.connect(self.host, self.port, keepalive=20)
        self._client.loop_start()
        if not self._connected.wait(10):
            raise TimeoutError("fake manager: no MQTT connection")
        for topic, value in self._definitions():
            self._publish(topic, self._wrap(value), retain=True).wait_for_publish(10)
            self._retained.append(topic)
        self._subscribe([f"{self.prefix}config/request", f"{self.prefix}modules/+/ready"])
        return self

    def stop(self) -> list[int | None]:
        """Stop the modules we launched (SIGTERM, as a manager does), then leave the broker.
        The wait is generous (a loaded machine): the module's own SIGALRM watchdog, not this
        harness, bounds a stuck shutdown (exit code -14 then; -9 only if even that failed)."""
        codes = [p.stop(timeout=30) for p in self.processes]
        self._clear_retained()
        self._client.disconnect()
        self._client.loop_stop()
        return codes

    # -- launching (§5) ----------------------------------------------------------------
    def module_env(self, module_id: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("EV_", "MQTT_SERVER_", "OCPP_BRIDGE_")) and k != "PYTHONPATH"}
        env.update({
            "EV_MODULE": module_id,
            "EV_PREFIX": str(self.install_prefix),
            "EV_LOG_CONF_FILE": str(self.install_prefix / "etc" / "everest" / "default_logging.cfg"),
            "EV_MQTT_EVEREST_PREFIX": self.prefix,
            "EV_MQTT_EXTERNAL_PREFIX": "",
            "EV_MQTT_BROKER_HOST": self.host,
            "EV_MQTT_BROKER_PORT": str(self.port),
            "PYTHONPATH": str(self.install_prefix / "lib" / "everest" / "everestpy"),
            "PYTHONUNBUFFERED": "1",
        })
        if self.validate_schema:
            env["EV_VALIDATE_SCHEMA"] = "1"
        return env

    def launch(self, module_id: str, module_dir: Path, workdir: Path,
               extra_env: dict[str, str] | None = None) -> ModuleProcess:
        """Start ``module_id`` from ``module_dir`` the way the manager does."""
        if module_id in self.standalone:
            raise ValueError(f"{module_id} is standalone: the manager does not launch it")
        env = self.module_env(module_id)
        env.update(extra_env or {})
        proc = ModuleProcess(manager_command(module_dir, self.generation), module_id=module_id, env=env,
                             workdir=workdir)
        self.processes.append(proc)
        return proc.start()

    def start_by_hand(self, module_id: str, workdir: Path, *, extra_args: tuple[str, ...] = (),
                      env: dict[str, str] | None = None) -> ModuleProcess:
        """A module marked standalone, started by a user or a systemd unit (the manager only
        waits for it): ``ocpp-bridge run --standalone --module ID`` with broker flags."""
        if module_id not in self.standalone:
            raise ValueError(f"{module_id} is not standalone: the manager launches it")
        argv = standalone_command(module_id, port=self.port, prefix=self.prefix, extra=list(extra_args))
        proc = ModuleProcess(argv, module_id=module_id, env=dict(env or {}), workdir=workdir)
        self.processes.append(proc)
        return proc.start()

    # -- waiting -----------------------------------------------------------------------
    def wait_global_ready(self, timeout: float = 20) -> None:
        self._wait(lambda: self.global_ready_sent > 0, timeout, "every module to be ready")

    def wait_requests(self, count: int, timeout: float = 20) -> None:
        self._wait(lambda: len(self.requests) >= count, timeout, f"{count} config request(s)")

    def watch_errors(self, module_id: str, impl: str) -> None:
        root = f"{self.prefix}modules/{module_id}/impl/{impl}/error"
        self._subscribe([f"{root}/#" if self.generation == G3 else root])

    def wait_error(self, predicate: Callable[[dict], bool], timeout: float = 20) -> dict:
        found: list[dict] = []

        def check() -> bool:
            found[:] = [e for e in self.errors if predicate(e)][:1]
            return bool(found)
        self._wait(check, timeout, "an error message")
        return found[0]

    # -- what a manager publishes ------------------------------------------------------
    def _yaml(self, path: Path) -> Any:
        return yaml.safe_load(path.read_text(encoding="utf-8"))

    def _manifest(self, name: str) -> dict:
        path = self.definitions / "manifest.yaml"
        return self._yaml(path) if name == "OcppBridge" else {"provides": {}, "config": {}}

    def _definitions(self) -> list[tuple[str, Any]]:
        p, out = self.prefix, []
        interfaces = sorted(f.stem for f in (self.definitions / "interfaces").glob("*.yaml"))
        out.append((f"{p}interfaces", interfaces))
        out += [(f"{p}interface_definitions/{i}", self._yaml(self.definitions / "interfaces" / f"{i}.yaml"))
                for i in interfaces]
        types = sorted(f.stem for f in (self.definitions / "types").glob("*.yaml"))
        out.append((f"{p}types", [f"/{t}" for t in types]))
        out += [(f"{p}type_definitions/{t}", self._yaml(self.definitions / "types" / f"{t}.yaml").get("types", {}))
                for t in types]
        out.append((f"{p}settings", {
            "prefix": str(self.install_prefix), "etc_dir": str(self.install_prefix / "etc" / "everest"),
            "data_dir": str(self.install_prefix / "share" / "everest"),
            "modules_dir": str(self.install_prefix / "libexec" / "everest" / "modules"),
            "telemetry_prefix": "everest-telemetry/", "telemetry_enabled": False,
            "validate_schema": self.validate_schema, "forward_exceptions": False}))
        out.append((f"{p}module_names", {mid: m["module"] for mid, m in self.modules.items()}))
        for name in sorted({m["module"] for m in self.modules.values()}):
            manifest = {k: v for k, v in self._manifest(name).items() if k != "config"}
            out.append((f"{p}manifests/{name}", manifest))
        return out

    def module_config(self, module_id: str) -> dict:
        """The ``module_config`` of §1.5 for one active module, defaults merged."""
        entry = self.modules[module_id]
        manifest = self._manifest(entry["module"])

        def params(declared: dict, given: dict) -> list[dict]:
            return [{"name": name, "value": given.get(name, spec.get("default")),
                     "characteristics": {"datatype": DATATYPES[spec["type"]],
                                         "mutability": spec.get("mutability", "ReadOnly")}}
                    for name, spec in declared.items() if name in given or "default" in spec]
        parameters = {"!module": params(manifest.get("config") or {}, entry.get("config_module") or {})}
        for impl, spec in (manifest.get("provides") or {}).items():
            parameters[impl] = params(spec.get("config") or {},
                                      (entry.get("config_implementation") or {}).get(impl) or {})
        connections = {req: [{"module_id": c["module_id"], "implementation_id": c["implementation_id"],
                              "requirement": {"id": req, "index": i}} for i, c in enumerate(conns)]
                       for req, conns in (entry.get("connections") or {}).items()}
        return {"standalone": module_id in self.standalone, "module_name": entry["module"],
                "module_id": module_id, "telemetry_enabled": False, "mapping": {"implementations": {}},
                "access": {}, "configuration_parameters": parameters, "connections": connections}

    def _response(self, module_id: str) -> dict:
        body = {"status": "Ok", "type": "Get", "response": {"type": "Module", "data": {
            "module_config": self.module_config(module_id),
            "mappings": {mid: {"implementations": {}} for mid in self.modules}}}}
        if self.generation == G3:
            return {"msg_type": "GetConfigResponse", "data": {"status_info": "", **body}}
        return body

    def _wrap(self, value: Any) -> Any:
        return {"msg_type": "GetConfigResponse", "data": value} if self.generation == G3 else value

    # -- incoming ----------------------------------------------------------------------
    def _on_message(self, client, userdata, msg) -> None:
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            with self._cv:
                self.protocol_errors.append(f"{msg.topic}: not JSON: {msg.payload[:200]!r}")
            return
        rest = msg.topic[len(self.prefix):].split("/")
        with self._cv:
            if rest == ["config", "request"]:
                self._on_request(payload)
            elif len(rest) == 3 and rest[0] == "modules" and rest[2] == "ready":
                self._on_ready(rest[1], payload)
            elif len(rest) >= 5 and rest[0] == "modules" and rest[4] == "error":
                self._on_error(msg.topic, rest[1], rest[3], payload)
            self._cv.notify_all()

    def _unwrap(self, payload: Any, msg_types: tuple[str, ...], what: str) -> tuple[str | None, Any]:
        """G3: (msg_type, data) of an envelope of one of ``msg_types``, or (None, _BAD) with a
        protocol error. G2c: (None, payload), there is no envelope."""
        if self.generation != G3:
            return None, payload
        if isinstance(payload, dict) and payload.get("msg_type") in msg_types and "data" in payload:
            return payload["msg_type"], payload["data"]
        self.protocol_errors.append(f"{what} is not a {'/'.join(msg_types)} envelope: {payload!r}")
        return None, _BAD

    def _on_request(self, payload: Any) -> None:
        self.requests.append(payload)
        _kind, body = self._unwrap(payload, ("GetConfig",), "config request")
        if body is _BAD:
            return
        if not isinstance(body, dict) or body.get("type") != "Get" or body.get("request") != {"type": "Module"} \
                or not isinstance(body.get("origin"), str) or set(body) != {"type", "origin", "request"}:
            self.protocol_errors.append(f"config request is not a Get/Module request: {payload!r}")
            return
        origin = body["origin"]
        if origin not in self.modules:
            self.protocol_errors.append(f"config request from unknown module {origin!r}")
            return
        if self.answer:
            self.answered.append(origin)
            self._publish(f"{self.prefix}modules/{origin}/response", self._response(origin))

    def _on_ready(self, module_id: str, payload: Any) -> None:
        _kind, value = self._unwrap(payload, ("ModuleReady",), f"ready of {module_id}")
        if value is _BAD:
            return
        if value is not True:
            self.protocol_errors.append(f"ready of {module_id} is not true: {payload!r}")
            return
        self.ready[module_id] = self.ready.get(module_id, 0) + 1
        if self.global_ready_sent == 0 and all(m in self.ready for m in self.modules):
            self.global_ready_sent += 1
            self._publish(f"{self.prefix}ready",
                          {"msg_type": "GlobalReady", "data": True} if self.generation == G3 else True)
            if not self.retain_topics:
                self._clear_retained()

    def _on_error(self, topic: str, module_id: str, impl: str, payload: Any) -> None:
        kind, error = self._unwrap(payload, ("RaiseError", "ClearError"), topic)
        if error is _BAD:
            return
        raised = None if kind is None else kind == "RaiseError"
        problems = []
        if not isinstance(error, dict) or not ERROR_KEYS <= set(error):
            problems.append(f"not an error object of §1.6: {error!r}")
        else:
            if error.get("origin", {}).get("module_id") != module_id or \
                    error.get("origin", {}).get("implementation_id") != impl:
                problems.append(f"origin {error.get('origin')!r} is not {module_id}/{impl}")
            if self.generation == G3 and topic.split("/error/", 1)[-1] != error.get("type"):
                problems.append(f"topic does not end in the type {error.get('type')!r}")
            if self.generation == G2C and not topic.endswith("/error"):
                problems.append("G2c errors go to PI/error")
            state = error.get("state")
            if raised is None:
                raised = state == "Active"
            if state != ("Active" if raised else "ClearedByModule"):
                problems.append(f"state {state!r} for a {'raise' if raised else 'clear'}")
        self.protocol_errors += [f"{topic}: {p}" for p in problems]
        self.errors.append({"module": module_id, "impl": impl, "raised": raised, "error": error, "topic": topic})

    # -- internals ---------------------------------------------------------------------
    def _subscribe(self, topics: list[str]) -> None:
        _rc, mid = self._client.subscribe([(t, 2) for t in topics])
        self._wait(lambda: mid in self._acked, 10, f"SUBACK for {topics}")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._cv:
            self._acked.add(mid)
            self._cv.notify_all()

    def _publish(self, topic: str, value: Any, retain: bool = False):
        return self._client.publish(topic, json.dumps(value), qos=2, retain=retain)

    def _clear_retained(self) -> None:
        for topic in self._retained:
            self._client.publish(topic, b"", qos=2, retain=True)
        self._retained = []

    def _wait(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        with self._cv:
            if not self._cv.wait_for(cond, timeout):
                raise TimeoutError(f"fake manager: timed out waiting for {what}; "
                                   f"protocol errors: {self.protocol_errors}")


def standalone_command(module_id: str, *, port: int, prefix: str, extra: list[str] = ()) -> list[str]:
    """``ocpp-bridge run --standalone`` as a user (or a systemd unit) starts it."""
    return [console_script(), "run", "--standalone", "--module", module_id,
            "--mqtt-host", "127.0.0.1", "--mqtt-port", str(port), "--prefix", prefix.rstrip("/"), *extra]


def free_port() -> int:
    """A TCP port nothing listens on right now (for a CSMS that is started later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bridge_run_config(config_module: dict, *, module_id: str = "ocpp",
                      evse_managers: tuple[tuple[str, str], ...] = (("evse_manager_1", "evse"),)) -> dict:
    """A manager's run config with our module and its evse_manager peers (ProbeModule)."""
    modules: dict[str, Any] = {module_id: {
        "module": "OcppBridge", "config_module": dict(config_module),
        "connections": {"evse_manager": [{"module_id": m, "implementation_id": i} for m, i in evse_managers]}}}
    for m, _i in evse_managers:
        modules[m] = {"module": "ProbeModule"}
    return {"settings": {}, "active_modules": modules}


def manager_factory(broker, prefix, request):
    """Fixture body: ``manager(generation, run_config, **FakeManager kwargs)`` → a started
    FakeManager on the session broker and this test's prefix; stopped at teardown, with the
    logs of the modules it started printed when the test failed."""
    made: list[FakeManager] = []

    def make(generation: str, run_config: dict, **kwargs) -> FakeManager:
        m = FakeManager(broker.port, prefix=prefix, generation=generation, run_config=run_config, **kwargs)
        made.append(m.start())
        return m
    yield make
    failed = any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
    for m in made:
        codes = m.stop()
        if failed:
            print(f"\n===== fake manager protocol errors: {m.protocol_errors}")
            for proc, code in zip(m.processes, codes, strict=True):
                print(f"===== module {proc.module_id} log ({proc.log_path}, exit {code}) =====")
                print(proc.log_text())
