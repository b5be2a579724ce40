"""``ocpp-bridge install-everest-module --prefix DIR``: lay the module out in an EVerest installation.

Owns the plan and its execution. An EVerest installation under ``DIR`` looks for modules in
``DIR/libexec/everest/modules/<Name>/`` (``manifest.yaml`` plus ``module.py``, run with
``<dir>/.venv/bin/python3`` when ``.venv`` exists, everest.md §5) and for definitions in
``DIR/share/everest/{interfaces,types,errors}/``. The module folder gets the same layout as
this repository (``manifest.yaml``, ``module.py``, ``interfaces/``, ``types/``, ``errors/``,
``module/ocpp_bridge/``), so ``module.py`` runs the copied code against the copied
definitions, and ``.venv`` is a link to the virtual environment this command runs in (or,
outside one, a new environment that sees this interpreter's packages); ``module.py`` runs
itself on that environment's interpreter whatever ``python3`` the manager starts it with.
The files come from the running installation: the code of this package and the definitions
``paths.module_root()`` finds (the package's own copy when installed from a wheel).
Definition files the stack lacks are added to ``share/everest``; the stack's own files are
never replaced (ours are EVerest's unchanged, so either serves).

Idempotent: every step compares before it writes, so a second run changes nothing.
``dry_run`` only reports. Never starts anything and never writes outside ``DIR``.
"""

from __future__ import annotations

import os
import shutil
import sys
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ocpp_bridge.config import MODULE_NAME
from ocpp_bridge.paths import PACKAGED_DEFINITIONS, module_root

DEFINITION_DIRS = ("interfaces", "types", "errors")
CHANGES = ("mkdir", "copy", "update", "remove", "link", "venv")


@dataclass(frozen=True)
class Step:
    """One thing to do (``action`` in CHANGES) or to leave alone (``same``, ``keep``)."""

    action: str
    path: Path
    source: Path | None = None
    note: str = ""

    def line(self) -> str:
        note = f"  ({self.note})" if self.note else ""
        src = f"  <- {self.source}" if self.source is not None and self.action in ("copy", "update", "link") else ""
        return f"{self.action:7} {self.path}{src}{note}"


def module_dir(prefix: Path) -> Path:
    return Path(prefix) / "libexec" / "everest" / "modules" / MODULE_NAME


def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def _module_files(root: Path) -> list[tuple[Path, str]]:
    """(source file, path inside the module folder) for everything the module folder holds."""
    files = [(root / "manifest.yaml", "manifest.yaml"), (root / "module.py", "module.py")]
    for folder in DEFINITION_DIRS:
        files += [(p, f"{folder}/{p.name}") for p in sorted((root / folder).glob("*.yaml"))]
    package = _package_dir()
    for p in sorted(package.rglob("*.py")):
        rel = p.relative_to(package)
        if "__pycache__" not in rel.parts and rel.parts[0] != PACKAGED_DEFINITIONS:
            files.append((p, f"module/ocpp_bridge/{rel.as_posix()}"))
    return files


def _file_step(source: Path, target: Path, *, replace: bool) -> Step:
    if not target.exists() and not target.is_symlink():
        return Step("copy", target, source)
    if target.is_file() and target.read_bytes() == source.read_bytes():
        return Step("same", target)
    if replace:
        return Step("update", target, source)
    return Step("keep", target, note="the stack's own file differs; left as it is")


def _venv_step(target: Path) -> Step:
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    if in_venv:
        want = Path(sys.prefix)
        if target.is_symlink():
            if Path(os.readlink(target)) == want:
                return Step("same", target)
            return Step("link", target, want, "was a link to another environment")
        if target.exists():
            return Step("keep", target, note="an environment is already there; left as it is")
        return Step("link", target, want)
    if (target / "bin" / "python3").exists():
        return Step("same", target)
    return Step("venv", target, Path(sys.executable), "sees this interpreter's packages")


def plan(prefix: Path, root: Path | None = None) -> list[Step]:
    """Every step of an install into ``prefix``, from the module folder ``root``."""
    root = Path(root or module_root())
    prefix = Path(prefix).resolve()
    mdir = module_dir(prefix)
    steps: list[Step] = []
    made: set[Path] = set()

    def mkdirs(path: Path) -> None:
        for d in reversed([path, *path.parents]):
            if d not in made and not d.exists():
                steps.append(Step("mkdir", d))
            made.add(d)

    wanted = _module_files(root)
    for source, rel in wanted:
        target = mdir / rel
        mkdirs(target.parent)
        steps.append(_file_step(source, target, replace=True))
    keep = {mdir / rel for _s, rel in wanted}
    package_copy = mdir / "module" / "ocpp_bridge"
    if package_copy.is_dir():
        for stale in sorted(package_copy.rglob("*.py")):
            if stale not in keep and "__pycache__" not in stale.parts:
                steps.append(Step("remove", stale, note="no longer part of the module"))
    steps.append(_venv_step(mdir / ".venv"))
    share = prefix / "share" / "everest"
    for folder in DEFINITION_DIRS:
        for source in sorted((root / folder).glob("*.yaml")):
            target = share / folder / source.name
            mkdirs(target.parent)
            steps.append(_file_step(source, target, replace=False))
    return steps


def _source_of(step: Step) -> Path:
    """The file or folder a ``copy``, ``update`` or ``link`` step takes its content from."""
    if step.source is None:
        raise ValueError(f"{step.action} {step.path}: the step names no source")
    return step.source


def apply(step: Step) -> None:
    if step.action == "mkdir":
        step.path.mkdir(exist_ok=True)
    elif step.action in ("copy", "update"):
        tmp = step.path.with_name(step.path.name + ".tmp")
        shutil.copyfile(_source_of(step), tmp)
        os.chmod(tmp, 0o755 if step.path.name == "module.py" else 0o644)
        os.replace(tmp, step.path)
    elif step.action == "remove":
        step.path.unlink()
    elif step.action == "link":
        if step.path.is_symlink():
            step.path.unlink()
        step.path.symlink_to(_source_of(step), target_is_directory=True)
    elif step.action == "venv":
        venv.EnvBuilder(system_site_packages=True, symlinks=True, with_pip=False).create(step.path)


def install(prefix: str | Path, *, dry_run: bool = False, out: Callable[[str], None] = print,
            root: Path | None = None) -> int:
    """Plan and (unless ``dry_run``) carry out an install, reporting every change and every
    file left alone on purpose; returns an exit status."""
    steps = plan(Path(prefix), root)
    target = module_dir(Path(prefix).resolve())
    out(f"{'plan for' if dry_run else 'installing'} {MODULE_NAME} into {target}")
    changes = 0
    for step in steps:
        if step.action in CHANGES:
            if not dry_run:
                apply(step)
            changes += 1
        if step.action != "same":
            out(step.line())
    unchanged = len(steps) - changes
    if dry_run:
        out(f"dry run: {changes} change(s) planned, {unchanged} already in place; nothing written")
    else:
        out(f"done: {changes} change(s), {unchanged} already in place")
    return 0
