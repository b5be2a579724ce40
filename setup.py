"""Build hook: the package carries the module's definition files.

Owns one step of ``build_py``: copying the top-level ``manifest.yaml``, ``module.py``,
``interfaces/``, ``types/`` and ``errors/`` (the single source; never moved or edited) into
``ocpp_bridge/definitions/`` of the build, so every wheel, and every wheel built from the
sdist (MANIFEST.in puts those files into it), holds byte-identical copies. An editable
install gets no copy: it runs from the checkout and finds the top-level files there.
Everything else (name, dependencies, entry points) is in setup.cfg.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DEFINITION_FILES = ("manifest.yaml", "module.py")
DEFINITION_DIRS = ("interfaces", "types", "errors")
PACKAGED = Path("ocpp_bridge") / "definitions"


def definition_files(root: Path) -> list[str]:
    """Paths (relative to ``root``) of every definition file, in a stable order."""
    files = list(DEFINITION_FILES)
    for folder in DEFINITION_DIRS:
        files += sorted(f"{folder}/{p.name}" for p in (root / folder).glob("*.yaml"))
    missing = [rel for rel in files if not (root / rel).is_file()]
    if missing or len(files) == len(DEFINITION_FILES):
        raise SystemExit(f"setup.py: definition files missing under {root}: {missing or list(DEFINITION_DIRS)}")
    return files


class BuildPyWithDefinitions(build_py):
    """``build_py`` plus the copy of the definition files into the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / PACKAGED
        for rel in definition_files(HERE):
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(HERE / rel), str(target / rel), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [str(Path(self.build_lib) / PACKAGED / rel) for rel in definition_files(HERE)]


setup(cmdclass={"build_py": BuildPyWithDefinitions})
