"""The engine's own rules, on a real ``Engine`` that never connects (no broker, no CSMS) and a
fake clock: one time per step (H1), a shutdown that takes no lock (H10), the frame log stamped
with the engine's clock in UTC and free of secrets (H11, §3c), and the Basic-auth password the
CSMS stored winning over the module option across a restart (TC_073 / A01)."""

from __future__ import annotations

import base64
import sys
import threading
from pathlib import Path

import pytest

from ocpp_bridge.config import Settings, build_settings
from ocpp_bridge.engine import Engine
from ocpp_bridge.everest.definitions import Definitions
from ocpp_bridge.ocpp.events import FrameLogged
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v201.device_model import VariableKey

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SECRET = "n3w-Secret-passw0rd"


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_engine(tmp_path):
    definitions = Definitions.load(ROOT)
    made = []

    def make(clock=None, **options) -> Engine:
        given = {"ChargePointId": "CP1", "CentralSystemURI": "ws://127.0.0.1:1/ocpp",
                 "DatabasePath": str(tmp_path / "db"), **options}
        settings = build_settings(Settings("ocpp", broker_port=1), options=given,
                                  connections={"evse_manager": [{"module_id": "evse_manager_1",
                                                                 "implementation_id": "evse"}]},
                                  declared=definitions.config_options(), requires=definitions.requires())
        engine = Engine(settings, definitions, clock=clock or Clock())
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.station.close()
        engine.frame_log.close()


def test_h1_a_command_timeout_callback_sees_the_time_of_its_step(make_engine):
    clock = Clock()
    engine = make_engine(clock)
    seen = []
    engine.call_required("evse_manager", 0, "force_unlock", {"connector_id": 1},
                         lambda retval, error: seen.append((error[0], iso(engine.station.core.now))), timeout_s=10)
    clock.now = T0 + 300
    engine._tick(clock())
    assert seen == [("CmdTimeout", iso(T0 + 300))], "the timeout's callback stamps with the step's time"


def test_h10_shutdown_takes_no_lock_and_stops_the_loop(make_engine):
    engine = make_engine()
    locks = []

    def profile(frame, event, arg):
        if event == "c_call" and type(getattr(arg, "__self__", None)).__name__ in ("lock", "RLock"):
            locks.append(arg)

    sys.setprofile(profile)
    try:
        engine.shutdown()
    finally:
        sys.setprofile(None)
    assert locks == [], f"shutdown acquired {locks}"
    done = threading.Event()
    runner = threading.Thread(target=lambda: (engine._loop(), done.set()), daemon=True)
    runner.start()
    assert done.wait(10), "the loop ends on the shutdown request"


def test_h11_frame_log_is_stamped_with_the_engine_clock_in_utc_and_masks_secrets(make_engine, tmp_path, caplog):
    clock = Clock(T0 + 12.345)
    engine = make_engine(clock, MessageLogPath=str(tmp_path / "frames"))
    caplog.set_level("INFO", logger="ocpp_bridge.frames")
    frame = f'[2,"u1","ChangeConfiguration",{{"key":"AuthorizationKey","value":"{SECRET}"}}]'
    engine.frame_log.write(FrameLogged("in", frame))
    engine.frame_log.write(FrameLogged("out", '[3,"u1",{"status":"Accepted"}]'))
    lines = (tmp_path / "frames" / "CP1.log").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("2026-01-01T00:00:12.345Z <- [2,")
    assert lines[1] == '2026-01-01T00:00:12.345Z -> [3,"u1",{"status":"Accepted"}]'
    assert SECRET not in "\n".join(lines) and "********" in lines[0]
    assert SECRET not in caplog.text and "********" in caplog.text


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_the_password_the_csms_stored_wins_over_the_module_option_after_a_restart(make_engine, version):
    def authorization(engine):
        header = engine.transport._authorization
        return base64.b64decode(header.split("Basic ", 1)[1]).decode()

    options = {"OcppVersion": version, "SecurityProfile": 1, "BasicAuthPassword": "module-option-pass"}
    first = make_engine(**options)
    assert authorization(first) == "CP1:module-option-pass"
    if version == "1.6":
        assert first.station.keys.set("AuthorizationKey", SECRET, by_csms=True) == "Accepted"
    else:
        key = VariableKey("SecurityCtrlr", "BasicAuthPassword")
        assert first.station.model.set(key, SECRET, by_csms=True) == "Accepted"
    first.station.close()
    second = make_engine(**options)
    assert authorization(second) == f"CP1:{SECRET}"
