"""The README's first command: the installed ``ocpp-bridge demo``, run from an empty folder,
brings everything up by itself and shows the OCPP frames, the MQTT variables and the
commands; it stops cleanly."""

import re

import pytest

from support.bridge_process import run_installed


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_demo_runs_a_whole_conversation_and_stops(version, tmp_path):
    out = run_installed(["demo", "--ocpp-version", version, "--seconds", "2"], cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert re.search(r"\[ocpp \] CS->CSMS \[2,\"[^\"]+\",\"BootNotification\"", text), text
    assert re.search(r"\[ocpp \] CSMS->CS \[3,.*\"status\":\"Accepted\"", text), text
    assert "[var  ] ocpp_generic/is_connected = true" in text
    assert re.search(r"\[var  \] ocpp_generic/event_data = .*\"actual_value\": \"12\"", text), text
    assert re.search(r"\[cmd  \] ocpp_generic.get_variables\(.*-> \[\{\"status\": \"Accepted\"", text), text
    assert "SecurityEventNotification" in text
    # the charging session, end to end
    assert "[auth ] validate_token(DEMO-TAG-1) -> {\"authorization_status\": \"Accepted\"" in text, text
    assert re.search(r"\[evse \] var session_event .*\"TransactionStarted\"", text), text
    if version == "1.6":
        for action in ("StartTransaction", "MeterValues", "StopTransaction"):
            assert re.search(rf"CS->CSMS \[2,\"[^\"]+\",\"{action}\"", text), action
    else:
        for kind in ("Started", "Updated", "Ended"):
            assert re.search(rf"CS->CSMS \[2,\"[^\"]+\",\"TransactionEvent\",\{{[^\n]*\"eventType\":\"{kind}\"", text), kind
    assert re.search(r"ocpp_generic/ocpp_transaction_event = \{\"transaction_event\": \"Ended\"", text), text
    # the CSMS's profile reaches the EVSE's energy node, and the power drawn follows it
    assert re.search(r"CSMS->CS \[2,\"[^\"]+\",\"SetChargingProfile\"", text), text
    drawn = [int(w) for w in re.findall(r"\[evse \] drawing (\d+) W", text)]
    assert drawn[:3] == [11000] * 3 and drawn[3:] == [6900] * 5, drawn  # 10 A x 230 V x 3 phases
    assert re.search(r"\[evse \] cmd set_external_limits .*\"ac_max_current_A\": \{\"value\": 10", text), text
    # the firmware update, through the simulated System module
    assert "[sys  ] cmd update_firmware" in text, text
    for status in ("Downloading", "Downloaded", "Installing", "Installed"):
        assert re.search(rf"CS->CSMS \[2,\"[^\"]+\",\"FirmwareStatusNotification\",\{{\"status\":\"{status}\"", text), status
    assert text.rstrip().endswith("[demo ] stopped")


@pytest.mark.parametrize("profile", [2, 3])
def test_demo_over_tls_with_certificates_made_for_the_run(profile, tmp_path):
    out = run_installed(["demo", "--ocpp-version", "2.0.1", "--security-profile", str(profile), "--seconds", "2"],
                        cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert re.search(r"listening on wss://127\.0\.0\.1:\d+/ocpp", text), text
    assert re.search(r"\[ocpp \] CS->CSMS \[2,\"[^\"]+\",\"BootNotification\"", text), text
    if profile == 2:
        assert re.search(r"security profile 2: TLSv1\.[23], station certificate None, Basic auth sent", text), text
    else:
        assert re.search(r"security profile 3: TLSv1\.[23], station certificate \{[^}]*'commonName': 'DEMO-CP-1'\}, "
                         r"Basic auth not sent", text), text
    assert "[var  ] ocpp_generic/is_connected = true" in text
    assert text.rstrip().endswith("[demo ] stopped")
