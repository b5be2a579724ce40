"""The engine writes an outgoing frame's log line just after handing the frame to the
transport (the frame leaves first), and the lines of a step keep their order: the CALL in,
then our answer out."""

from __future__ import annotations

from pathlib import Path

from ocpp_bridge.config import Settings, build_settings
from ocpp_bridge.engine import Engine
from ocpp_bridge.everest.definitions import Definitions
from ocpp_bridge.ocpp.transport import TextReceived
from ocpp_bridge.paths import module_root

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_the_answer_is_queued_before_its_line_is_written_and_lines_keep_their_order(tmp_path: Path):
    definitions = Definitions.load(module_root())
    given = {"ChargePointId": "CP1", "CentralSystemURI": "ws://127.0.0.1:1/ocpp", "OcppVersion": "1.6",
             "DatabasePath": str(tmp_path / "db"), "MessageLogPath": str(tmp_path / "frames")}
    settings = build_settings(Settings("ocpp", broker_port=1), options=given,
                              connections={"evse_manager": [{"module_id": "evse_manager_1",
                                                             "implementation_id": "evse"}]},
                              declared=definitions.config_options(), requires=definitions.requires())
    engine = Engine(settings, definitions, clock=lambda: T0)
    log_file = tmp_path / "frames" / "CP1.log"

    def lines() -> list[str]:
        return log_file.read_text(encoding="utf-8").splitlines() if log_file.exists() else []

    seen_at_send: list[list[str]] = []
    sent: list[str] = []

    def send(text: str) -> bool:
        seen_at_send.append(lines())
        sent.append(text)
        return True

    engine.csms.send = send  # type: ignore[method-assign]
    try:
        engine._step(TextReceived('[2,"u1","GetConfiguration",{"key":["HeartbeatInterval"]}]'))
        assert len(sent) == 1 and sent[0].startswith('[3,"u1",')
        assert [line.split(" ", 2)[1] for line in seen_at_send[0]] == ["<-"]
        assert [line.split(" ", 2)[1] for line in lines()] == ["<-", "->"]
        assert lines()[1].endswith(sent[0])
    finally:
        engine.station.close()
        engine.frame_log.close()
