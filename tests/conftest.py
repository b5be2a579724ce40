"""Fixtures shared by every test layer.

Owns the wiring of the harness (tests/support) into pytest: one mosquitto per session, a
fresh topic prefix per test (like everest-testing's ``everest_<uuid>``), factories for the
CSMS, EVerest peers and bridge processes that clean up after each test, and printing of
the bridge's log when a test fails. No protocol logic lives here.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))           # makes ``support`` importable
# ``ocpp_bridge`` (the CSMS lives in ocpp_bridge.demo) is the installed wheel, never the tree.

from support.bridge_process import BridgeProcess  # noqa: E402
from support.broker import Mosquitto  # noqa: E402
from support.everest_peer import EverestPeer  # noqa: E402
from support.secrets_used import leaks  # noqa: E402


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _test_failed(request) -> bool:
    return any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
               for when in ("setup", "call"))


# -- secrets -----------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_bridge_log(tmp_path_factory):
    """After the last test: no secret a test used (support/secrets_used.py) is in any log the
    bridge wrote during the run. A leak fails the run at this teardown, naming file and secret."""
    yield
    from support.station import CP_ID

    found = leaks(tmp_path_factory.getbasetemp(), (CP_ID,))
    assert not found, "secrets in the bridge's logs:\n" + "\n".join(found[:20])


# -- MQTT --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def broker():
    """One mosquitto for the whole session (tests isolate themselves by ``prefix``)."""
    b = Mosquitto().start()
    yield b
    b.cleanup()


@pytest.fixture
def fresh_broker():
    """A mosquitto of this test's own, for tests that stop or restart the broker."""
    b = Mosquitto().start()
    yield b
    b.cleanup()


@pytest.fixture
def prefix() -> str:
    """A topic prefix unique to this test, with the trailing slash."""
    return f"everest_{uuid.uuid4().hex[:10]}/"


@pytest.fixture
def peer(broker, prefix):
    """``peer(module_id="probe", generation="2025.12", *, broker=None, prefix=None)`` →
    a started EverestPeer on the session broker and this test's prefix."""
    made: list[EverestPeer] = []
    default_broker, default_prefix = broker, prefix

    def make(module_id: str = "probe", generation: str = "2025.12", *,
             broker: Mosquitto | None = None, prefix: str | None = None) -> EverestPeer:
        port = (broker or default_broker).port
        p = EverestPeer(port, prefix=prefix or default_prefix, module_id=module_id,
                        generation=generation).start()
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


# -- OCPP --------------------------------------------------------------------------------
def _csms_factory(version: str):
    from ocpp_bridge.demo.csms import Csms

    made: list = []

    def make(**kwargs) -> Csms:
        c = Csms(version, **kwargs).start()
        made.append(c)
        return c
    return make, made


@pytest.fixture
def csms16():
    """``csms16(**Csms kwargs)`` → a started OCPP 1.6 Csms, stopped at teardown."""
    make, made = _csms_factory("1.6")
    yield make
    for c in made:
        c.stop()


@pytest.fixture
def csms201():
    """``csms201(**Csms kwargs)`` → a started OCPP 2.0.1 Csms, stopped at teardown."""
    make, made = _csms_factory("2.0.1")
    yield make
    for c in made:
        c.stop()


@pytest.fixture
def csms():
    """``csms(version, **kwargs)`` for tests parametrized over the OCPP version."""
    factories = {v: _csms_factory(v) for v in ("1.6", "2.0.1")}
    yield lambda version, **kw: factories[version][0](**kw)
    for _make, made in factories.values():
        for c in made:
            c.stop()


# -- the bridge --------------------------------------------------------------------------
@pytest.fixture
def tmp_db(tmp_path) -> str:
    """A fresh directory for the bridge's ``DatabasePath``."""
    d = tmp_path / "db"
    d.mkdir()
    return str(d)


@pytest.fixture
def bridge(broker, prefix, tmp_path, request):
    """``bridge(config_module: dict, *, start=True, **BridgeProcess kwargs)`` → a bridge
    process on the session broker with this test's prefix (given without its trailing
    slash, as users write it). ``DatabasePath`` defaults to a fresh temporary directory.
    Processes are stopped at teardown; their logs are printed if the test failed."""
    made: list[BridgeProcess] = []

    def make(config: dict, *, start: bool = True, **kwargs) -> BridgeProcess:
        config = dict(config)
        n = len(made) + 1
        if "DatabasePath" not in config:
            db = tmp_path / f"bridge-db-{n}"
            db.mkdir(exist_ok=True)
            config["DatabasePath"] = str(db)
        kwargs.setdefault("broker_port", broker.port)
        kwargs.setdefault("prefix", prefix.rstrip("/"))
        kwargs.setdefault("workdir", tmp_path / f"bridge-{n}")
        b = BridgeProcess(config, **kwargs)
        made.append(b)
        return b.start() if start else b

    yield make
    codes = [b.stop() for b in made]
    if _test_failed(request):
        for b, code in zip(made, codes, strict=True):
            print(f"\n===== bridge {b.module_id} log ({b.log_path}, exit {code}) =====")
            print(b.log_text())


# -- the module inside an EVerest installation -------------------------------------------
@pytest.fixture(scope="session")
def everest_module(tmp_path_factory) -> Path:
    """Our module folder in a temporary EVerest prefix, laid out once per session by the
    installed ``ocpp-bridge install-everest-module`` (what a manager launches)."""
    from support.fake_manager import install_everest_module, module_folder

    prefix = tmp_path_factory.mktemp("everest-install") / "everest"
    done = install_everest_module(prefix)
    assert done.returncode == 0, done.stdout + done.stderr
    return module_folder(prefix)


# -- a whole station ---------------------------------------------------------------------
@pytest.fixture
def station(csms, peer, bridge):
    """``station(version="1.6", generation="2025.12", boot_status=..., interval=..., config={...})``
    → a booted Station (support/station.py): CSMS + bridge process + EVerest peer."""
    from support.station import start_station

    def make(**kwargs):
        return start_station(csms, peer, bridge, **kwargs)
    return make


@pytest.fixture
def simulators(broker, prefix):
    """``simulators(module_id=..., evse_id=..., generation=...)`` → a started EvseSimulator on
    the session broker and this test's prefix; stopped at teardown."""
    from ocpp_bridge.demo.evse_simulator import EvseSimulator

    made = []

    def make(**kwargs):
        kwargs.setdefault("prefix", prefix)
        sim = EvseSimulator(broker.port, **kwargs).start()
        made.append(sim)
        return sim
    yield make
    for sim in made:
        sim.stop()


@pytest.fixture
def system_module(peer):
    """``system_module(**options)`` → a simulated EVerest System module
    (``ocpp_bridge.demo.system_simulator.SystemSimulator``, module id ``system_module``, impl
    ``main``) on this test's bus; the bridge reaches it with ``{"connections": {"system": [("system_module", "main")]}}`` in
    ``bridge_kwargs``."""
    from ocpp_bridge.demo.system_simulator import SystemSimulator
    from support.everest_peer import NO_REPLY

    def make(**kwargs):
        return SystemSimulator(peer(module_id="system_module"), no_reply=NO_REPLY, **kwargs)
    return make


@pytest.fixture
def charging_station(csms, peer, bridge, simulators):
    """``charging_station(evses=1, version=..., generation=..., config=...)`` → a booted
    ChargingStation (support/station.py) with N simulated EVSE managers."""
    from support.station import start_charging_station

    def make(**kwargs):
        return start_charging_station(csms, peer, bridge, simulators, **kwargs)
    return make
