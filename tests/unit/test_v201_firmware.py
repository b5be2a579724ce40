"""OCPP 2.0.1 firmware / log adapter on the pure core (tests/unit/v201_harness.py): the
notifications with their requestId, the answers, and the reboot of an installation."""

from v201_harness import Sim, full_session_start, tx_finished, unplug

from ocpp_bridge.ocpp.evse_events import EvseReady, FirmwareStatusChanged, LogStatusChanged

UPDATE = {"requestId": 3, "firmware": {"location": "https://fw/x.bin", "retrieveDateTime": "2020-01-01T00:00:00Z"}}


def test_update_and_log_answers_and_notifications(tmp_path):
    sim = Sim(tmp_path)
    assert sim.request("UpdateFirmware", UPDATE) == {"status": "Accepted"}
    assert sim.port.of("update_firmware")[-1][0] == {"location": "https://fw/x.bin", "request_id": 3,
                                                     "retrieve_timestamp": "2020-01-01T00:00:00Z"}
    assert sim.request("GetLog", {"logType": "DiagnosticsLog", "requestId": 5,
                                  "log": {"remoteLocation": "https://logs/"}}) == {"status": "Accepted",
                                                                                "filename": "log.tar.gz"}
    sim.ev(FirmwareStatusChanged("DownloadScheduled", 3), LogStatusChanged("AcceptedCanceled", 5))
    assert sim.payloads("FirmwareStatusNotification") == [{"status": "DownloadScheduled", "requestId": 3}]
    assert sim.payloads("LogStatusNotification") == [{"status": "AcceptedCanceled", "requestId": 5}]
    sim.port.system = False
    assert sim.request("UpdateFirmware", UPDATE) == {"status": "Rejected"}


def test_the_reboot_of_an_installation_boots_with_firmware_update_then_reports_installed(tmp_path):
    sim = Sim(tmp_path)
    sim.ev(FirmwareStatusChanged("InstallRebooting", 3))
    sim.restart()
    sim.connect()
    boot = sim.payloads("BootNotification")
    assert boot[-1]["reason"] == "FirmwareUpdate"
    assert sim.payloads("FirmwareStatusNotification") == [{"status": "Installed", "requestId": 3}]
    assert sim.actions().index("BootNotification") < sim.actions().index("FirmwareStatusNotification")
    sim.restart()  # reported once: the next start is an ordinary one
    sim.connect()
    assert sim.payloads("BootNotification")[-1]["reason"] == "PowerUp"
    assert sim.payloads("FirmwareStatusNotification") == []


def test_an_outcome_the_system_reports_itself_after_the_reboot_wins(tmp_path):
    sim = Sim(tmp_path)
    sim.ev(FirmwareStatusChanged("InstallRebooting", 3))
    sim.restart()
    sim.ev(FirmwareStatusChanged("InstallationFailed", 3))  # before the CSMS accepted the boot
    sim.connect()
    assert sim.payloads("FirmwareStatusNotification") == [{"status": "InstallationFailed", "requestId": 3}]


def connector_statuses(sim, evse: int) -> list[str]:
    return [p["connectorStatus"] for p in sim.payloads("StatusNotification") if p["evseId"] == evse]


def waiting_installation(tmp_path, allow_new_sessions: bool):
    sim = Sim(tmp_path)
    if allow_new_sessions:
        sim.set("ChargingStation", "AllowNewSessionsPendingFirmwareUpdate", "true")
    sim.ev(EvseReady(1), EvseReady(2))
    full_session_start(sim, 1, "s1")
    sim.ev(FirmwareStatusChanged("Downloaded", 3))   # EVSE 1 charges: the installation waits
    return sim


def test_while_the_installation_waits_idle_evses_are_unavailable_until_it_ends(tmp_path):
    sim = waiting_installation(tmp_path, allow_new_sessions=False)
    assert connector_statuses(sim, 2)[-1] == "Unavailable"
    assert sim.port.calls[-1] == ("enable_disable", 2, 1, False)
    assert connector_statuses(sim, 1)[-1] == "Occupied"
    assert ("allow_firmware_installation",) not in sim.port.calls
    sim.ev(tx_finished(1, "s1"), unplug(1, "s1"))
    assert connector_statuses(sim, 1)[-1] == "Unavailable"
    sim.tick(5)
    assert ("allow_firmware_installation",) in sim.port.calls
    sim.ev(FirmwareStatusChanged("Installing", 3))
    assert connector_statuses(sim, 1)[-1] == "Unavailable"   # still off while it installs
    sim.ev(FirmwareStatusChanged("InstallationFailed", 3))
    assert (connector_statuses(sim, 1)[-1], connector_statuses(sim, 2)[-1]) == ("Available", "Available")


def test_allow_new_sessions_pending_firmware_update_keeps_idle_evses_available(tmp_path):
    sim = waiting_installation(tmp_path, allow_new_sessions=True)
    assert "Unavailable" not in connector_statuses(sim, 2)
