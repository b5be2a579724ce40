"""A CSMS whose every frame, both ways, is checked by a validator this project did not write:
npm's ocpp-rpc with ``strictMode: true`` (ajv with formats, additionalProperties refused),
run by node (``server.js`` beside this file) and driven over its stdin/stdout.

``StrictCsms`` has the API of ``ocpp_bridge.demo.csms.Csms`` (it is one: the ledger, frame
record, station bookkeeping, default answers and ``set_response`` overrides are that class's),
so a test or fixture takes either peer. Only the wire is different: node owns the websocket and
the validation, and asks this side for handshake decisions and for the answer to each CALL of
the station. What the strict peer refused is collected in ``problems()``; ``assert_clean()``
fails a test that caused any. The node process also writes every event (each CALL received,
each answer, each strict-mode failure and bad message, each frame) as JSON lines to
``log_path``.

It never validates anything itself and never imports the bridge: ocpp-rpc is the judge.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import subprocess
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError, OCPPError

from ocpp_bridge.demo.csms import CallErrorReceived, Csms, InvalidResponse

LOG = logging.getLogger("tests.strict_csms")
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SERVER_JS = HERE / "server.js"
INSTALL_SCRIPT = REPO / "scripts" / "install-strict-csms.sh"
# CALLERROR codes that say "your CALL is not valid": the station must never send one to a
# CALL that ocpp-rpc found schema-valid.
VALIDATION_CODES = frozenset({
    "FormatViolation", "FormationViolation", "PropertyConstraintViolation",
    "OccurrenceConstraintViolation", "OccurenceConstraintViolation", "TypeConstraintViolation",
    "ProtocolError", "RpcFrameworkError"})
_install_lock = threading.Lock()
_installed: list[Path] = []


class InvalidRequest(ValueError):
    """ocpp-rpc refused to send a CSMS CALL: its payload is not schema-valid."""


def install_dir() -> Path:
    return Path(os.environ.get("OCPP_BRIDGE_STRICT_CSMS_DIR", REPO / ".cache" / "strict-csms"))


def node_modules() -> Path:
    """The installed ocpp-rpc's node_modules (running the idempotent install script once)."""
    with _install_lock:
        if not _installed:
            done = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"{INSTALL_SCRIPT} failed ({done.returncode}):\n"
                                   f"{done.stdout}\n{done.stderr}")
            _installed.append(install_dir().resolve() / "node_modules")
        return _installed[0]


class StrictCsms(Csms):
    """``StrictCsms("2.0.1").start()``; stations connect to ``url + "/" + cp_id``."""

    def __init__(self, version: str, *, log_dir: str | os.PathLike | None = None,
                 **kwargs: Any) -> None:
        super().__init__(version, **kwargs)
        folder = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="strict-csms-"))
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / f"strict-csms-{self.subprotocol}-{uuid.uuid4().hex[:6]}.jsonl"
        self.stderr_path = self.log_path.with_suffix(".stderr")
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._answers: ThreadPoolExecutor | None = None
        self._write_lock = threading.Lock()
        self._requests = itertools.count(1)
        self._replies: dict[int, dict] = {}
        self._problems: list[dict] = []
        self._events: list[dict] = []
        self._listening = False
        self._exited = False

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> StrictCsms:
        env = dict(os.environ, NODE_PATH=str(node_modules()))
        command = ["node", str(SERVER_JS), "--subprotocol", self.subprotocol,
                   "--host", self.host, "--port", str(self.port), "--log", str(self.log_path)]
        with open(self.stderr_path, "ab") as stderr:
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=stderr, env=env, encoding="utf-8",
                                          errors="replace", bufsize=1)
        self._answers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strict-csms-answer")
        self._reader = threading.Thread(target=self._read_events, name="strict-csms", daemon=True)
        self._reader.start()
        self._wait(lambda: self._listening or self._exited, 20, "node to listen")
        if not self._listening:
            raise RuntimeError(f"the strict CSMS did not start: {self._tail()}")
        return self

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        if proc.poll() is None:
            try:
                self._request({"op": "stop"}, 10, proc=proc)
            except (TimeoutError, ConnectionError, OSError):
                pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(10)
        if self._answers is not None:
            self._answers.shutdown(wait=True)
        with self._cv:
            self._stations.clear()
            self._cv.notify_all()

    # -- what the strict peer refused ------------------------------------------------
    def problems(self) -> list[dict]:
        """Strict-mode validation failures (either sender), bad messages, and CALLERRORs
        claiming a schema violation in a CALL ocpp-rpc had found valid."""
        with self._cv:
            return [dict(p) for p in self._problems]

    def events(self, kind: str | None = None) -> list[dict]:
        """Every event node reported (``kind``: e.g. "strict_failure", "answered")."""
        with self._cv:
            return [dict(e) for e in self._events if kind is None or e.get("event") == kind]

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, (f"the strict CSMS ({self.subprotocol}) refused {len(problems)} "
                              f"frame(s); log {self.log_path}:\n"
                              + "\n".join(json.dumps(p)[:2000] for p in problems))

    # -- CSMS -> station -------------------------------------------------------------
    def call(self, cp_id: str, action: str, payload: dict, timeout: float = 10, *,
             validate: bool = True) -> dict:
        """Send a CALL through ocpp-rpc (which refuses an invalid one: InvalidRequest, and
        checks the reply: InvalidResponse) and return the CALLRESULT payload. Raises
        CallErrorReceived or TimeoutError. ``validate=False`` sends the frame raw."""
        self._require(cp_id)
        if not validate:
            reply = json.loads(self.send_raw(cp_id, json.dumps([2, str(uuid.uuid4()), action, payload]),
                                             timeout))
            if reply[0] == 4:
                raise CallErrorReceived(reply[2], reply[3] if len(reply) > 3 else "",
                                        reply[4] if len(reply) > 4 else None)
            return reply[2]
        reply = self._request({"op": "call", "cp_id": cp_id, "action": action, "payload": payload,
                               "timeout_ms": int(timeout * 1000)}, timeout + 5)
        if "result" in reply:
            return reply["result"]
        error = reply["error"]
        kind = error["kind"]
        if kind == "call_error":
            if error["code"] in VALIDATION_CODES:
                self._problem({"event": "station_refused_valid_call", "cp_id": cp_id, "action": action,
                               "payload": payload, "code": error["code"],
                               "description": error.get("description")})
            raise CallErrorReceived(error["code"], error.get("description") or "", error.get("details"))
        if kind == "strict" and error.get("sender") == "station":
            data = (error.get("details") or {}).get("data")
            raise InvalidResponse(action, data, ValueError(error["message"]))
        if kind == "strict":
            raise InvalidRequest(f"ocpp-rpc refuses {action} {payload!r}: {error['message']}")
        if kind == "timeout":
            raise TimeoutError(f"{cp_id}: {error['message']}")
        raise ConnectionError(f"{cp_id}: {action} failed: {error.get('message')}")

    def send_raw(self, cp_id: str, text: str, timeout: float = 10, *,
                 expect_reply: bool = True) -> str | None:
        """Send any text frame; return the next CALLRESULT/CALLERROR the station sends that
        answers no CALL of this CSMS in flight."""
        self._require(cp_id)
        reply = self._request({"op": "send_raw", "cp_id": cp_id, "text": text,
                               "expect_reply": expect_reply, "timeout_ms": int(timeout * 1000)},
                              timeout + 5)
        if "result" in reply:
            return reply["result"]
        if reply["error"]["kind"] == "timeout":
            raise TimeoutError(f"{cp_id}: {reply['error']['message']}")
        raise ConnectionError(f"{cp_id}: send_raw failed: {reply['error'].get('message')}")

    def disconnect(self, cp_id: str, code: int = 1000, timeout: float = 10, *,
                   abort: bool = False) -> None:
        """Close the station's websocket (``abort``: drop it without a closing handshake) and
        wait until that connection is gone."""
        connection = self._require(cp_id)
        self._request({"op": "disconnect", "cp_id": cp_id, "code": code, "abort": abort}, timeout)
        self._wait(lambda: self._stations.get(cp_id) != connection, timeout,
                   f"connection #{connection} of {cp_id} to close")

    # -- internals -------------------------------------------------------------------
    def _require(self, cp_id: str) -> int:
        with self._cv:
            connection = self._stations.get(cp_id)
        if connection is None:
            raise ConnectionError(f"station {cp_id!r} is not connected to the strict CSMS")
        return connection

    def _send(self, op: dict, proc: subprocess.Popen | None = None) -> None:
        proc = proc or self._proc
        if proc is None or proc.stdin is None:
            raise ConnectionError("the strict CSMS is not running")
        line = json.dumps(op) + "\n"          # ASCII: lone surrogates travel as escapes
        with self._write_lock:
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
            except (BrokenPipeError, ValueError) as e:
                raise ConnectionError(f"the strict CSMS went away: {e}") from None

    def _request(self, op: dict, timeout: float, proc: subprocess.Popen | None = None) -> dict:
        req = next(self._requests)
        self._send({**op, "req": req}, proc)
        try:
            self._wait(lambda: req in self._replies or self._exited, timeout,
                       f"the strict CSMS to do {op['op']}")
        except TimeoutError:
            raise TimeoutError(f"strict CSMS: no reply to {op['op']} within {timeout} s") from None
        with self._cv:
            reply = self._replies.pop(req, None)
        if reply is None:
            raise ConnectionError(f"the strict CSMS exited: {self._tail()}")
        return reply

    def _problem(self, event: dict) -> None:
        with self._cv:
            self._problems.append(event)
            self._cv.notify_all()

    def _tail(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def _read_events(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                LOG.warning("strict CSMS printed %r", line)
                continue
            try:
                self._on_event(event)
            except Exception:  # noqa: BLE001 - one bad event must not stop the reader
                LOG.exception("strict CSMS event %r", event)
        with self._cv:
            self._exited = True
            self._stations.clear()
            self._cv.notify_all()

    def _on_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind != "frame":
            with self._cv:
                self._events.append(event)
        if kind == "frame":
            self._record(event["cp_id"], event["direction"], event["text"])
        elif kind == "ask":
            assert self._answers is not None
            self._answers.submit(self._answer, event)
        elif kind == "answered":
            if "response" in event:
                self._annotate(event["cp_id"], event["unique_id"], response=event["response"])
            else:
                self._annotate(event["cp_id"], event["unique_id"], error=event["error"])
        elif kind == "auth":
            self._send({"op": "auth_answer", "ask": event["ask"], **self._authorize(event)})
        elif kind == "connected":
            self._connected(event)
        elif kind == "disconnected":
            with self._cv:
                if self._stations.get(event["cp_id"]) == event["connection"]:
                    del self._stations[event["cp_id"]]
                self._cv.notify_all()
        elif kind in ("strict_failure", "bad_message"):
            self._problem(event)
        elif kind == "reply":
            with self._cv:
                self._replies[event["req"]] = event
                self._cv.notify_all()
        elif kind == "listening":
            with self._cv:
                self.port = event["port"]
                self._listening = True
                self._cv.notify_all()
        elif kind == "log":
            LOG.warning("strict CSMS: %s", event.get("message"))

    def _connected(self, event: dict) -> None:
        cp_id = event["cp_id"]
        with self._cv:
            self._stations[cp_id] = event["connection"]
            self._conn_count[cp_id] = self._conn_count.get(cp_id, 0) + 1
            self._handshakes[cp_id] = {"path": event["path"], "headers": event["headers"],
                                       "subprotocol": event["subprotocol"]}
            self._cv.notify_all()

    def _authorize(self, event: dict) -> dict:
        """The same door as the other CSMS: ``/ocpp/<cp_id>``, Basic auth when a password is set."""
        cp_id, endpoint = event["cp_id"], event["endpoint"]
        status, text = 0, ""
        if not cp_id or endpoint.rstrip("/") != "/ocpp":
            status, text = 404, "unknown path"
        elif self.basic_auth_password is not None:
            expected = base64.b64encode(f"{cp_id}:{self.basic_auth_password}".encode()).decode()
            if event["authorization"] != f"Basic {expected}":
                status, text = 401, "bad credentials"
        if not status:
            return {"accept": True}
        with self._cv:
            self.rejected.append({"path": f"{endpoint.rstrip('/')}/{cp_id}", "status": status})
            self._cv.notify_all()
        return {"accept": False, "status": status, "text": text}

    def _answer(self, event: dict) -> None:
        """Decide the answer to a CALL of the station, as the other CSMS would."""
        cp_id, action, payload = event["cp_id"], event["action"], event["payload"]
        try:
            if action not in self._defaults:
                known = action in {a.value for a in self._station_cls._actions}
                raise (OcppNotImplemented if known else NotSupportedError)(
                    details={"cause": f"{action} is not handled by this CSMS"})
            result, _ = self._respond(cp_id, action, payload)
            answer: dict = {"result": result}
        except OCPPError as e:
            answer = {"error": {"code": e.code, "description": e.description, "details": e.details or {}}}
        except Exception as e:  # noqa: BLE001 - a bug here must not leave the station waiting
            LOG.exception("strict CSMS answer to %s failed", action)
            answer = {"error": {"code": "InternalError", "description": repr(e), "details": {}}}
        try:
            self._send({"op": "answer", "ask": event["ask"], **answer})
        except ConnectionError:
            pass            # stopped meanwhile

    def __repr__(self) -> str:
        return f"StrictCsms({self.version!r}, url={self.url!r})"

