"""What a user installs is what the tests run, and it is complete (contract.md "What is installed").

Covers: the test process imports the installed wheel, not the tree; the installed package is
exactly the checkout as built (so a stale install cannot hide a change); an sdist built from
a copy of the repository, and a wheel built from that sdist, carry every definition file
byte-identical to the top-level copy; the installed ``python -m ocpp_bridge`` works from an
empty folder; ``OCPP_BRIDGE_HOME`` overrides the packaged definitions; missing or broken
definitions, or an interface command without a handler, end the start with one log line
naming the path (exit status 2, no traceback).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

import ocpp_bridge
from support.bridge_process import run_installed, user_env

ROOT = Path(__file__).resolve().parents[2]
SOURCE_PACKAGE = ROOT / "module" / "ocpp_bridge"
INSTALLED_PACKAGE = Path(ocpp_bridge.__file__).resolve().parent
DEFINITION_DIRS = ("interfaces", "types", "errors")


def definition_files() -> dict[str, bytes]:
    """Top-level definition files (and module.py) of the checkout: relative path -> content."""
    files = {name: (ROOT / name).read_bytes() for name in ("manifest.yaml", "module.py")}
    for folder in DEFINITION_DIRS:
        files.update({f"{folder}/{p.name}": p.read_bytes() for p in (ROOT / folder).glob("*.yaml")})
    return files


def code_files(package: Path) -> dict[str, bytes]:
    """Every ``.py`` of a package folder but its definitions copy: relative path -> content."""
    return {p.relative_to(package).as_posix(): p.read_bytes() for p in package.rglob("*.py")
            if "__pycache__" not in p.parts and p.relative_to(package).parts[0] != "definitions"}


def installed_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


# --------------------------------------------------------------------------- the installed package
def test_the_tests_import_the_installed_package_not_the_checkout():
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert site_packages in INSTALLED_PACKAGE.parents, f"{INSTALLED_PACKAGE} is not under {site_packages}"
    assert INSTALLED_PACKAGE != SOURCE_PACKAGE.resolve()
    assert str(ROOT / "module") not in sys.path


def test_the_installed_package_is_the_checkout_as_built():
    """Code and definitions, file by file: what make test runs is what the tree holds now."""
    assert code_files(INSTALLED_PACKAGE) == code_files(SOURCE_PACKAGE)
    assert installed_files(INSTALLED_PACKAGE / "definitions") == definition_files()


# --------------------------------------------------------------------------- the artifacts
@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> tuple[Path, Path]:
    """(sdist, wheel built from that sdist) of a copy of the repository, with the build
    tools the test venv has (as ``make test`` builds them)."""
    base = tmp_path_factory.mktemp("artifacts")
    tree = base / "repository"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        ".git", ".venv", "dist", "build", "*.egg-info", "__pycache__", ".pytest_cache", "node_modules"))
    out = base / "dist"
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
                          capture_output=True, text=True, timeout=300, cwd=base, env=user_env())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,), (wheel,) = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    return sdist, wheel


def test_the_sdist_carries_the_definition_files(artifacts):
    sdist, _wheel = artifacts
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        got = {name[len(top) + 1:]: tar.extractfile(name).read() for name in tar.getnames()
               if tar.getmember(name).isfile()}
    want = definition_files()
    assert {rel: got.get(rel) for rel in want} == want
    assert {rel for rel in got if rel.split("/")[0] in DEFINITION_DIRS} == {
        rel for rel in want if "/" in rel}
    assert "setup.py" in got and "setup.cfg" in got


def test_the_wheel_from_the_sdist_carries_code_and_definitions(artifacts):
    _sdist, wheel = artifacts
    prefix = "ocpp_bridge/definitions/"
    with zipfile.ZipFile(wheel) as whl:
        got = {name: whl.read(name) for name in whl.namelist() if not name.endswith("/")}
    definitions = {name[len(prefix):]: data for name, data in got.items() if name.startswith(prefix)}
    assert definitions == definition_files()
    code = {name[len("ocpp_bridge/"):]: data for name, data in got.items()
            if name.startswith("ocpp_bridge/") and name.endswith(".py") and not name.startswith(prefix)}
    assert code == code_files(SOURCE_PACKAGE)
    entry_points = next(data for name, data in got.items() if name.endswith(".dist-info/entry_points.txt"))
    assert b"ocpp-bridge = ocpp_bridge.cli:main" in entry_points


# --------------------------------------------------------------------------- running what is installed
def test_python_dash_m_runs_from_an_empty_folder(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ocpp_bridge", "install-everest-module", "--prefix",
                           str(tmp_path / "everest"), "--dry-run"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=user_env())
    assert done.returncode == 0, done.stderr
    assert "dry run:" in done.stdout and "manifest.yaml" in done.stdout


def definitions_copy(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    for folder in DEFINITION_DIRS:
        shutil.copytree(ROOT / folder, home / folder)
    shutil.copy(ROOT / "manifest.yaml", home / "manifest.yaml")
    return home


def run_config(tmp_path: Path) -> Path:
    path = tmp_path / "run-config.yaml"
    path.write_text(yaml.safe_dump({"active_modules": {
        "ocpp": {"module": "OcppBridge", "config_module": {"DatabasePath": str(tmp_path / "db")},
                 "connections": {"evse_manager": [{"module_id": "evse_manager_1", "implementation_id": "evse"}]}},
        "evse_manager_1": {"module": "EvseManager"}}}))
    return path


def assert_one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if "ERROR" in line]
    assert len(lines) == 1, text
    for needle in needles:
        assert needle in lines[0], text


def test_an_empty_ocpp_bridge_home_is_one_clear_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_installed(["run", "--config", str(run_config(tmp_path))], cwd=tmp_path,
                         env={"OCPP_BRIDGE_HOME": str(empty)})
    assert_one_line_error(done, "OCPP_BRIDGE_HOME", f"no manifest.yaml in {empty}")


def test_a_broken_definition_file_is_one_clear_line(tmp_path):
    home = definitions_copy(tmp_path)
    (home / "interfaces" / "ocpp.yaml").write_text("cmds: [unclosed\n")
    done = run_installed(["run", "--config", str(run_config(tmp_path))], cwd=tmp_path,
                         env={"OCPP_BRIDGE_HOME": str(home)})
    assert_one_line_error(done, str(home / "interfaces" / "ocpp.yaml"), "not valid YAML")


def test_a_command_without_a_handler_refuses_the_start(tmp_path):
    """As EVerest's init_done: every command of a provided interface must be served."""
    home = definitions_copy(tmp_path)
    path = home / "interfaces" / "ocpp.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["cmds"]["reboot_the_moon"] = {"description": "a command no code serves"}
    path.write_text(yaml.safe_dump(doc))
    done = run_installed(["run", "--config", str(run_config(tmp_path))], cwd=tmp_path,
                         env={"OCPP_BRIDGE_HOME": str(home)})
    assert_one_line_error(done, "ocpp_generic (ocpp): no handler for ['reboot_the_moon']")
