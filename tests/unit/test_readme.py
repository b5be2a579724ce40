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
