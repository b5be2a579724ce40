"""``ocpp-bridge install-everest-module --prefix DIR`` (the installed console script) into a
temporary EVerest prefix: the layout a manager looks for (everest.md §5), idempotence,
``--dry-run``, the stack's own files left alone, and the installed ``module.py`` started by a
(fake) manager of either generation with the EV_* env, also by a ``python3`` that lacks our
dependencies (managers of framework <= 0.24 ignore the folder's ``.venv``)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ocpp_bridge
from support.bridge_process import user_env
from support.fake_manager import G2C, G3, bridge_run_config, install_everest_module, manager_factory, module_folder

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(ocpp_bridge.__file__).resolve().parent   # the installed package, not module/ of the tree
CHANGES = ("mkdir", "copy", "update", "remove", "link", "venv")

manager = pytest.fixture(name="manager")(manager_factory)
install = install_everest_module


def install_with(python: str, prefix: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """The install run by ``python`` outside any virtual environment, importing only the
    installed package (a folder holding a link to it, on PYTHONPATH)."""
    only_ours = tmp_path / "only-ocpp-bridge"
    only_ours.mkdir(exist_ok=True)
    if not (only_ours / "ocpp_bridge").exists():
        (only_ours / "ocpp_bridge").symlink_to(PACKAGE, target_is_directory=True)
    return subprocess.run([python, "-m", "ocpp_bridge", "install-everest-module", "--prefix", str(prefix)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env=user_env({"PYTHONPATH": str(only_ours)}))


def bare_python(tmp_path: Path) -> Path:
    """A ``python3`` without our dependencies, as found on a manager's PATH."""
    bare = tmp_path / "bare-python"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    python = bare / "bin" / "python3"
    lacks = subprocess.run([str(python), "-c", "import jsonschema"], capture_output=True, timeout=60)
    assert lacks.returncode != 0, "the bare interpreter must lack jsonschema"
    return python


def actions(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0] in CHANGES]


def snapshot(root: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*")
            if p.is_file() and ".venv" not in p.parts and "__pycache__" not in p.parts}


def test_install_lays_out_the_module_and_is_idempotent(tmp_path):
    prefix = tmp_path / "everest"
    first = install(prefix)
    assert first.returncode == 0, first.stderr
    mdir = module_folder(prefix)
    assert (mdir / "manifest.yaml").read_bytes() == (ROOT / "manifest.yaml").read_bytes()
    assert (mdir / "module.py").read_bytes() == (ROOT / "module.py").read_bytes()
    assert os.access(mdir / "module.py", os.X_OK)
    for folder in ("interfaces", "types", "errors"):
        for src in (ROOT / folder).glob("*.yaml"):
            assert (mdir / folder / src.name).read_bytes() == src.read_bytes()
            assert (prefix / "share" / "everest" / folder / src.name).read_bytes() == src.read_bytes()
    for src in PACKAGE.rglob("*.py"):
        rel = src.relative_to(PACKAGE)
        copied = mdir / "module" / "ocpp_bridge" / rel
        if rel.parts[0] == "definitions":
            assert not copied.exists(), rel  # the wheel's definitions are the folder's top-level files
        elif "__pycache__" not in rel.parts:
            assert copied.read_bytes() == src.read_bytes(), rel
    assert (mdir / "module" / "ocpp_bridge" / "engine.py").is_file()
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
    done = install_with(system_python, prefix, tmp_path)
    assert done.returncode == 0, done.stderr
    venv = module_folder(prefix) / ".venv"
    assert "venv" in actions(done.stdout) and not venv.is_symlink()
    probe = subprocess.run([str(venv / "bin" / "python3"), "-c", "import sys, yaml; print(sys.prefix)"],
                           capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]})
    assert probe.returncode == 0, probe.stderr  # sees the interpreter's packages (yaml)
    assert Path(probe.stdout.strip()) == venv
    assert actions(install_with(system_python, prefix, tmp_path).stdout) == []


@pytest.mark.parametrize("generation", [G3, G2C])
def test_installed_module_py_is_started_by_the_manager(manager, peer, csms, tmp_path, generation):
    """Framework 0.25 runs ``<dir>/.venv/bin/python3 module.py``; framework <= 0.24 runs the
    ``python3`` on PATH (here one without jsonschema), and module.py moves onto its .venv."""
    prefix = tmp_path / "everest"
    assert install(prefix).returncode == 0
    mdir = module_folder(prefix)
    server = csms("1.6")
    cfg = {"ChargePointId": "CP1", "CentralSystemURI": server.url, "DatabasePath": str(tmp_path / "db")}
    mgr = manager(generation, bridge_run_config(cfg), definitions=mdir, install_prefix=prefix)
    probe = peer("evse_manager_1", generation)
    path = f"{bare_python(tmp_path).parent}{os.pathsep}{os.environ['PATH']}"
    proc = mgr.launch("ocpp", mdir, tmp_path / "run", extra_env={"PATH": path})
    python = str(mdir / ".venv" / "bin" / "python3") if generation == G3 else "python3"
    assert proc.command() == [python, str(mdir / "module.py")]
    mgr.wait_requests(1)  # the manager's config request came from the module's own interpreter
    probe.wait_module_ready("ocpp", timeout=20)
    probe.send_module_ready()
    mgr.wait_global_ready()
    server.wait_for("BootNotification", timeout=20)
    assert probe.call("ocpp", "main", "get_configuration_key", {"keys": ["HeartbeatInterval"]})["configuration_keys"]
    proc.wait_log(rf"code in {mdir}/module/ocpp_bridge, definitions in {mdir}$")
    assert mgr.stop() == [0]


def test_module_py_without_a_manager_says_what_it_needs(everest_module, tmp_path):
    done = subprocess.run([str(bare_python(tmp_path)), str(everest_module / "module.py")], capture_output=True,
                          text=True, env=user_env(), timeout=60, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "EV_MODULE" in done.stderr
