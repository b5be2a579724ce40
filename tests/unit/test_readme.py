"""The README keeps its two set-up commands and the options table generated from the manifest."""

from pathlib import Path

from ocpp_bridge.readme_options import options_table

ROOT = Path(__file__).resolve().parents[2]


def test_options_table_matches_manifest():
    assert options_table() in (ROOT / "README.md").read_text()


def test_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_the_test_command_builds_and_installs_the_wheel_not_editable():
    make = (ROOT / "Makefile").read_text()
    test_target = make.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "./scripts/bootstrap.sh" in test_target and ".venv/bin/python -m pytest" in test_target
    steps = [line.strip() for line in test_target.splitlines()[1:]]
    assert steps.index(".venv/bin/ruff check .") < steps.index(".venv/bin/mypy") < len(steps) - 1  # before pytest
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert "python -m build" in bootstrap
    assert "--force-reinstall --no-deps" in bootstrap       # every run: a stale install cannot hide a change
    assert " -e " not in bootstrap and "--editable" not in bootstrap
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#") and line.split()[0] not in ("set", "cd")]
    assert ci == ["make test"]
