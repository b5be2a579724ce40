"""Our interface, type and error files are EVerest's, unchanged (contract.md "What is installed").

Owns the file-by-file comparison with EVerest's reference files in ``shared/everest-reference``
(or ``$OCPP_BRIDGE_SHARED/everest-reference``; EVerest/everest-core commit 23c9dac): every file
we ship that the reference folder has must be byte-identical to it, we ship every type file
(interfaces reach most of them transitively), and we ship exactly the interfaces our manifest
provides or requires. Three files EVerest has but the reference folder lacks
(``interfaces/auth.yaml``, ``errors/generic.yaml``, ``errors/system.yaml``) are pinned by
their SHA-256 as taken from EVerest's repository, so an edit cannot slip in.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("OCPP_BRIDGE_SHARED") or ROOT.parent / "shared")
REFERENCE = SHARED / "everest-reference"
FOLDERS = ("interfaces", "types", "errors")

# EVerest/EVerest be126b3 (the same generation as the reference: auth.yaml's withdraw_authorization
# returns /authorization#/WithdrawAuthorizationResult, which the reference types declare);
# errors/generic.yaml from EVerest/EVerest 4a7449c, the newest copy found.
NOT_IN_REFERENCE = {
    "interfaces/auth.yaml": "835403f7b562ba79d9d9795e4e9279b005af023939294fcb3b6d50afb95fd606",
    "errors/generic.yaml": "25888787e9ce77831d2f18e1e324487f68c97bc3ef429eaaa34574673dba7506",
    "errors/system.yaml": "3000224c4e41ada73714037bd3f7b7072c7c904f090abdea32729ada13af4154",
}


def _ours() -> list[str]:
    return sorted(f"{folder}/{p.name}" for folder in FOLDERS for p in (ROOT / folder).glob("*.yaml"))


def test_reference_files_are_present():
    assert REFERENCE.is_dir(), f"EVerest reference files not found at {REFERENCE} (set OCPP_BRIDGE_SHARED)"


@pytest.mark.parametrize("rel", _ours())
def test_every_definition_file_is_everests_unchanged(rel):
    ours = (ROOT / rel).read_bytes()
    theirs = REFERENCE / rel
    if theirs.is_file():
        assert ours == theirs.read_bytes(), f"{rel} differs from EVerest's {theirs}"
    else:
        assert rel in NOT_IN_REFERENCE, f"{rel} is neither in the reference folder nor a pinned EVerest file"
        assert hashlib.sha256(ours).hexdigest() == NOT_IN_REFERENCE[rel], f"{rel} is not EVerest's file"


def test_every_pinned_file_is_shipped():
    assert set(NOT_IN_REFERENCE) <= set(_ours())


def test_every_type_file_of_everest_is_shipped():
    theirs = sorted(p.name for p in (REFERENCE / "types").glob("*.yaml"))
    assert theirs and sorted(p.name for p in (ROOT / "types").glob("*.yaml")) == theirs


def test_the_interfaces_shipped_are_the_ones_the_manifest_uses():
    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    used = {d["interface"] for section in ("provides", "requires") for d in manifest[section].values()}
    assert {p.stem for p in (ROOT / "interfaces").glob("*.yaml")} == used


def test_the_error_files_shipped_are_the_ones_the_interfaces_reference():
    referenced = set()
    for path in (ROOT / "interfaces").glob("*.yaml"):
        for entry in yaml.safe_load(path.read_text()).get("errors") or []:
            referenced.add(entry["reference"].removeprefix("/errors/").partition("#/")[0])
    assert {p.stem for p in (ROOT / "errors").glob("*.yaml")} == referenced
