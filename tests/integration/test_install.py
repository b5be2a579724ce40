"""``ocpp-bridge install-everest-module --prefix DIR`` into a temporary EVerest prefix: the
layout a manager looks for (everest.md §5), idempotence, ``--dry-run``, the stack's own files
left alone, and the installed ``module.py`` started by a (fake) manager with the EV_* env."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.fake_manager import G3, bridge_run_config, manager_factory

ROOT = Path(__file__).resolve().parents[2]
MODULE_SRC = ROOT / "module"
CHANGES = ("mkdir", "copy", "update", "remove", "link", "venv")

manager = pytest.fixture(name="manager")(manager_factory)


def install(prefix: Path, *extra: str, python: str = sys.executable) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EV_", "OCPP_BRIDGE_"))}
    env["PYTHONPATH"] = str(MODULE_SRC)
    return subprocess.run([python, "-m", "ocpp_bridge", "install-everest-module", "--prefix", str(prefix), *extra],
                          capture_output=True, text=True, env=env, timeout=120, cwd=prefix.parent)


def actions(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0] in CHANGES]


def snapshot(root: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*")
            if p.is_file() and ".venv" not in p.parts and "__pycache__" not in p.parts}


def test_install_lays_out_the_module_and_is_idempotent(tmp_path):
    prefix = tmp_path / "everest"
    first = install(prefix)
    assert first.returncode == 0, first.stderr
    mdir = prefix / "libexec" / "everest" / "modules" / "OcppBridge"
    assert (mdir / "manifest.yaml").read_bytes() == (ROOT / "manifest.yaml").read_bytes()
    assert (mdir / "module.py").read_bytes() == (ROOT / "module.py").read_bytes()
    assert os.access(mdir / "module.py", os.X_OK)
    for folder in ("interfaces", "types", "errors"):
        for src in (ROOT / folder).glob("*.yaml"):
            assert (mdir / folder / src.name).read_bytes() == src.read_bytes()
            assert (prefix / "share" / "everest" / folder / src.name).read_bytes() == src.read_bytes()
    assert (mdir / "module" / "ocpp_bridge" / "engine.py").read_bytes() == \
        (MODULE_SRC / "ocpp_bridge" / "engine.py").read_bytes()
    assert not list(mdir.rglob("__pycache__"))
    venv = mdir / ".venv"
    assert venv.is_symlink() and venv.resolve() == Path(sys.prefix).resolve()
    assert "copy" in actions(first.stdout) and "link" in actions(first.stdout)
    before = snapshot(prefix)
    second = install(prefix)
    assert second.returncode == 0, second.stderr
    assert actions(second.stdout) == [], second.stdout
    assert "done: 0 change(s)" in second.stdout
    assert snapshot(prefix) == before


def test_dry_run_writes_nothing_and_the_stacks_files_are_kept(tmp_path):
    prefix = tmp_path / "everest"
    dry = install(prefix, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert not prefix.exists()
    assert "copy" in actions(dry.stdout) and "dry run" in dry.stdout
    theirs = prefix / "share" / "everest" / "interfaces" / "ocpp.yaml"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("description: the stack's own ocpp interface\n")
    done = install(prefix)
    assert done.returncode == 0, done.stderr
    assert theirs.read_text() == "description: the stack's own ocpp interface\n"
    assert any(line.startswith("keep") and str(theirs) in line for line in done.stdout.splitlines())
    # a file removed from the package disappears from the module folder on the next install
    stale = prefix / "libexec" / "everest" / "modules" / "OcppBridge" / "module" / "ocpp_bridge" / "gone.py"
    stale.write_text("")
    again = install(prefix)
    assert actions(again.stdout) == ["remove"] and not stale.exists()


def test_install_outside_a_virtual_environment_makes_one(tmp_path):
    system_python = "/usr/bin/python3"
    prefix = tmp_path / "everest"
    done = install(prefix, python=system_python)
    assert done.returncode == 0, done.stderr
    venv = prefix / "libexec" / "everest" / "modules" / "OcppBridge" / ".venv"
    assert "venv" in actions(done.stdout) and not venv.is_symlink()
    probe = subprocess.run([str(venv / "bin" / "python3"), "-c", "import sys, yaml; print(sys.prefix)"],
                           capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]})
    assert probe.returncode == 0, probe.stderr  # sees the interpreter's packages (yaml)
    assert Path(probe.stdout.strip()) == venv
    assert actions(install(prefix, python=system_python).stdout) == []


def test_installed_module_py_is_started_by_the_manager(manager, peer, csms, tmp_path):
    prefix = tmp_path / "everest"
    assert install(prefix).returncode == 0
    mdir = prefix / "libexec" / "everest" / "modules" / "OcppBridge"
    server = csms("1.6")
    cfg = {"ChargePointId": "CP1", "CentralSystemURI": server.url, "DatabasePath": str(tmp_path / "db")}
    mgr = manager(G3, bridge_run_config(cfg), definitions=mdir, install_prefix=prefix)
    probe = peer("evse_manager_1", G3)
    proc = mgr.launch("ocpp", mdir, tmp_path / "run")
    assert proc.command() == [str(mdir / ".venv" / "bin" / "python3"), str(mdir / "module.py")]
    probe.wait_module_ready("ocpp", timeout=20)
    probe.send_module_ready()
    mgr.wait_global_ready()
    server.wait_for("BootNotification", timeout=20)
    assert probe.call("ocpp", "main", "get_configuration_key", {"keys": ["HeartbeatInterval"]})["configuration_keys"]
    proc.wait_log(rf"code in {mdir}/module/ocpp_bridge, definitions in {mdir}$")
    assert mgr.stop() == [0]


def test_module_py_without_a_manager_says_what_it_needs(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EV_")}
    done = subprocess.run([sys.executable, str(ROOT / "module.py")], capture_output=True, text=True,
                          env=env, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert "EV_MODULE" in done.stderr
