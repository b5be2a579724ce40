"""Which OCPP version(s) the module speaks, and where each version keeps its files.

Owns the meaning of the module options ``OcppVersion`` ("1.6", "2.0.1" or "auto") and
``AutoOcppVersions`` (with "auto": the versions offered in the websocket handshake, most
preferred first, e.g. "2.0.1,1.6"): the subprotocols to offer, the version a subprotocol
stands for, and each version's database folder. A fixed version keeps its files directly in
DatabasePath, as always; with "auto" each version has its own sub-folder (``ocpp1.6/``,
``ocpp2.0.1/``), so a CSMS that switches versions finds each one's configuration and queue
as it left them, and the file ``last-version`` says which version was spoken last (the station
built at start-up, before the CSMS has picked).

Must never: translate anything of one version into the other.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("ocpp_bridge.versions")

VERSIONS = ("1.6", "2.0.1")
AUTO = "auto"
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
LAST_VERSION_FILE = "last-version"


def parse_offered(text: str) -> list[str]:
    """``AutoOcppVersions`` -> versions in order; ValueError naming what is wrong."""
    offered = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [v for v in offered if v not in VERSIONS]
    if not offered or unknown or len(set(offered)) != len(offered):
        raise ValueError(f"AutoOcppVersions must list {' and/or '.join(VERSIONS)} once each, got {text!r}")
    return offered


def offered_versions(ocpp_version: str, auto_versions: str) -> list[str]:
    return parse_offered(auto_versions) if ocpp_version == AUTO else [ocpp_version]


def version_of(subprotocol: str) -> str:
    for version, name in SUBPROTOCOL.items():
        if name == subprotocol:
            return version
    raise ValueError(f"no OCPP version speaks subprotocol {subprotocol!r}")


def database_dir(database_path: str, ocpp_version: str, version: str) -> str:
    """Where ``version``'s files live."""
    return database_path if ocpp_version != AUTO else str(Path(database_path) / SUBPROTOCOL[version])


def first_version(database_path: str, ocpp_version: str, offered: list[str]) -> str:
    """The version to build at start-up: the fixed one, or with "auto" the one spoken last
    (when still offered), else the most preferred."""
    if ocpp_version != AUTO:
        return ocpp_version
    try:
        last = (Path(database_path) / LAST_VERSION_FILE).read_text(encoding="ascii").strip()
    except OSError:
        last = ""
    return last if last in offered else offered[0]


def remember_version(database_path: str, version: str) -> None:
    path = Path(database_path)
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / (LAST_VERSION_FILE + ".tmp")
    tmp.write_text(version + "\n", encoding="ascii")
    tmp.replace(path / LAST_VERSION_FILE)
