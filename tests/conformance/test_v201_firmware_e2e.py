"""OCPP 2.0.1 firmware update (L01) and log upload (N01) end to end: the bridge as a real
process on a real mosquitto, the real `ocpp` CSMS, a simulated EVSE manager and the simulated
System module (ocpp_bridge.demo.system_simulator). Named after OCA 2.0.1 test cases (ids only)
where the id is known, else after the use case."""

from datetime import datetime, timedelta, timezone

from support import firmware_flows
from support.firmware_flows import LOG_URL, PAST, statuses
from support.station import CP_ID

V = "2.0.1"
FW_URL = "https://firmware.example/cs-2.0.bin"


def update(request_id: int = 7, **firmware) -> dict:
    return {"requestId": request_id, "retries": 2, "retryInterval": 10,
            "firmware": {"location": FW_URL, "retrieveDateTime": PAST, "signingCertificate": "-----BEGIN CERT-----",
                         "signature": "c2lnbmF0dXJl", **firmware}}


def booted(charging_station, system_module, **kwargs):
    return firmware_flows.booted(V, charging_station, system_module, **kwargs)


def soon(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_tc_l_01_secure_firmware_update_installation_successful(charging_station, system_module, tmp_path):
    version_file = tmp_path / "firmware-version"
    version_file.write_text("1.0.0\n")
    st, sim = booted(charging_station, system_module, reboot=True, config={"FirmwareVersionPath": str(version_file)},
                     version_file=str(version_file), installs_version="2.0.0")
    first_boot = st.csms.entries("BootNotification", cp_id=CP_ID)[-1]["payload"]
    assert first_boot["chargingStation"]["firmwareVersion"] == "1.0.0"
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", update()) == {"status": "Accepted"}
    seen = statuses(st, "FirmwareStatusNotification", mark, {"InstallRebooting", "InstallationFailed"})
    assert seen == [{"status": s, "requestId": 7} for s in
                    ("Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting")]
    assert sim.requests[0] == ("update_firmware", {
        "location": FW_URL, "request_id": 7, "retrieve_timestamp": PAST, "retries": 2, "retry_interval_s": 10,
        "signing_certificate": "-----BEGIN CERT-----", "signature": "c2lnbmF0dXJl"})
    mark = st.csms.mark()
    st.restart_bridge()  # the reboot the system module announced
    boot = st.csms.wait_for("BootNotification", after_index=mark, timeout=30)
    assert boot["payload"]["reason"] == "FirmwareUpdate"
    assert boot["payload"]["chargingStation"]["firmwareVersion"] == "2.0.0"  # the running one now
    installed = st.csms.wait_for("FirmwareStatusNotification", after_index=mark, timeout=30)
    assert installed["payload"] == {"status": "Installed", "requestId": 7}
    assert installed["index"] > boot["index"]
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == {
        "status": "Accepted"}
    assert st.csms.wait_for("FirmwareStatusNotification", after_index=mark)["payload"] == {"status": "Idle"}


def test_tc_l_06_secure_firmware_update_invalid_signature(charging_station, system_module):
    st, sim = booted(charging_station, system_module, fail_at="signature")
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", update(8)) == {"status": "Accepted"}
    seen = statuses(st, "FirmwareStatusNotification", mark, {"InvalidSignature", "Installed"})
    assert seen == [{"status": s, "requestId": 8} for s in ("Downloading", "Downloaded", "InvalidSignature")]
    assert ("allow_firmware_installation", {}) not in sim.requests


def test_l02_non_secure_firmware_update(charging_station, system_module):
    st, sim = booted(charging_station, system_module)
    mark = st.csms.mark()
    request = {"requestId": 12, "firmware": {"location": FW_URL, "retrieveDateTime": PAST}}
    assert st.csms.call(CP_ID, "UpdateFirmware", request) == {"status": "Accepted"}
    seen = statuses(st, "FirmwareStatusNotification", mark, {"Installed", "InstallationFailed"})
    assert seen == [{"status": s, "requestId": 12} for s in ("Downloading", "Downloaded", "Installing", "Installed")]
    assert sim.requests[0] == ("update_firmware", {"location": FW_URL, "request_id": 12, "retrieve_timestamp": PAST})


def test_l01_download_failed(charging_station, system_module):
    st, _ = booted(charging_station, system_module, fail_at="download")
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", update(9)) == {"status": "Accepted"}
    seen = statuses(st, "FirmwareStatusNotification", mark, {"DownloadFailed", "Installed"})
    assert seen == [{"status": "Downloading", "requestId": 9}, {"status": "DownloadFailed", "requestId": 9}]


def test_l01_scheduled_download_and_installation(charging_station, system_module):
    st, sim = booted(charging_station, system_module)
    retrieve, install = soon(2), soon(4)
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", update(10, retrieveDateTime=retrieve, installDateTime=install)) == {
        "status": "Accepted"}
    seen = statuses(st, "FirmwareStatusNotification", mark, {"Installed", "InstallationFailed"})
    assert [p["status"] for p in seen] == ["DownloadScheduled", "Downloading", "Downloaded", "SignatureVerified",
                                           "InstallScheduled", "Installing", "Installed"]
    request = sim.requests[0][1]
    assert (request["retrieve_timestamp"], request["install_timestamp"]) == (retrieve, install)


def test_l01_trigger_reports_the_status_while_a_transaction_holds_the_installation(charging_station,
                                                                                   system_module):
    st, sim = booted(charging_station, system_module)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1", meter_wh=0)
    st.csms.wait_for(lambda e: e["action"] == "TransactionEvent" and e["payload"]["eventType"] == "Started",
                     after_index=mark)
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", update(11)) == {"status": "Accepted"}
    st.csms.wait_for(lambda e: e["action"] == "FirmwareStatusNotification"
                     and e["payload"]["status"] == "SignatureVerified", after_index=mark, timeout=20)
    trig = st.csms.mark()
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == {
        "status": "Accepted"}
    assert st.csms.wait_for("FirmwareStatusNotification", after_index=trig)["payload"] == {
        "status": "SignatureVerified", "requestId": 11}
    assert ("allow_firmware_installation", {}) not in sim.requests
    ev.stop_transaction("Local", "TAG1")
    ev.unplug()
    seen = statuses(st, "FirmwareStatusNotification", mark, {"Installed", "InstallationFailed"})
    assert [p["status"] for p in seen][-2:] == ["Installing", "Installed"]
    # AllowNewSessionsPendingFirmwareUpdate is false: the EVSE is Unavailable from its transaction's
    # end through the installation, and Available again after it
    installing = next(e["index"] for e in st.csms.entries("FirmwareStatusNotification", cp_id=CP_ID)
                      if e["index"] >= mark and e["payload"]["status"] == "Installing")
    unavailable = st.csms.wait_for(lambda e: e["action"] == "StatusNotification"
                                   and e["payload"]["connectorStatus"] == "Unavailable", after_index=mark)
    assert unavailable["index"] < installing
    installed = next(e["index"] for e in st.csms.entries("FirmwareStatusNotification", cp_id=CP_ID)
                     if e["index"] >= mark and e["payload"]["status"] == "Installed")
    st.csms.wait_for(lambda e: e["action"] == "StatusNotification" and e["payload"]["connectorStatus"] == "Available",
                     after_index=installed, timeout=10)


def test_l01_a_new_update_cancels_the_waiting_one(charging_station, system_module):
    st, sim = booted(charging_station, system_module)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1", meter_wh=0)
    st.csms.wait_for(lambda e: e["action"] == "TransactionEvent" and e["payload"]["eventType"] == "Started",
                     after_index=mark)
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", update(13)) == {"status": "Accepted"}
    st.csms.wait_for(lambda e: e["action"] == "FirmwareStatusNotification"
                     and e["payload"]["status"] == "SignatureVerified", after_index=mark, timeout=20)
    assert st.csms.call(CP_ID, "UpdateFirmware", update(14)) == {"status": "AcceptedCanceled"}
    ev.stop_transaction("Local", "TAG1")
    seen = statuses(st, "FirmwareStatusNotification", mark, {"Installed", "InstallationFailed"})
    assert seen[-1] == {"status": "Installed", "requestId": 14}
    assert {"status": "Installing", "requestId": 13} not in seen


def test_n01_get_log_with_request_id(charging_station, system_module):
    st, sim = booted(charging_station, system_module)
    mark = st.csms.mark()
    answer = st.csms.call(CP_ID, "GetLog", {"logType": "DiagnosticsLog", "requestId": 21, "retries": 1,
                                            "log": {"remoteLocation": LOG_URL, "latestTimestamp": PAST}})
    assert answer["status"] == "Accepted" and answer["filename"].startswith("DiagnosticsLog-")
    seen = statuses(st, "LogStatusNotification", mark, {"Uploaded", "UploadFailure"})
    assert seen == [{"status": "Uploading", "requestId": 21}, {"status": "Uploaded", "requestId": 21}]
    assert sim.requests[0] == ("upload_logs", {"location": LOG_URL, "request_id": 21, "type": "DiagnosticsLog",
                                               "latest_timestamp": PAST, "retries": 1})
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "LogStatusNotification"}) == {
        "status": "Accepted"}
    assert st.csms.wait_for("LogStatusNotification", after_index=mark)["payload"] == {"status": "Idle"}


def test_n01_log_upload_fails(charging_station, system_module):
    st, _ = booted(charging_station, system_module, fail_at="upload")
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "GetLog", {"logType": "SecurityLog", "requestId": 22,
                                          "log": {"remoteLocation": LOG_URL}})["status"] == "Accepted"
    seen = statuses(st, "LogStatusNotification", mark, {"Uploaded", "UploadFailure"})
    assert seen == [{"status": "Uploading", "requestId": 22}, {"status": "UploadFailure", "requestId": 22}]


def test_without_a_system_module_requests_are_rejected(charging_station, system_module):
    st, _ = booted(charging_station, system_module, system=False)
    assert st.csms.call(CP_ID, "UpdateFirmware", update()) == {"status": "Rejected"}
    assert st.csms.call(CP_ID, "GetLog", {"logType": "DiagnosticsLog", "requestId": 1,
                                          "log": {"remoteLocation": LOG_URL}}) == {"status": "Rejected"}


def test_a_silent_system_module_yields_rejected(charging_station, system_module):
    st, _ = booted(charging_station, system_module, silent=True, config={"CsmsAnswerTimeoutS": 2})
    assert st.csms.call(CP_ID, "UpdateFirmware", update()) == {"status": "Rejected"}
    assert st.csms.call(CP_ID, "GetLog", {"logType": "DiagnosticsLog", "requestId": 1,
                                          "log": {"remoteLocation": LOG_URL}}) == {"status": "Rejected"}
    st.heartbeat_sentinel()
