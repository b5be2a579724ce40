"""OCPP 1.6 FirmwareManagement and the security extension's firmware / log messages, end to end:
the bridge as a real process on a real mosquitto, the real `ocpp` CSMS, a simulated EVSE
manager and the simulated System module (ocpp_bridge.demo.system_simulator) doing the
"download", "install" and "upload". Named after OCTT 1.6 cases (ids only) where the test
covers the case."""

import pytest

from ocpp_bridge.demo.csms import CallErrorReceived
from support import firmware_flows
from support.firmware_flows import LOG_URL, PAST, statuses
from support.station import CP_ID

FW_URL = "https://firmware.example/cp-2.0.bin"
SIGNED = {"requestId": 42, "retries": 2, "retryInterval": 10,
          "firmware": {"location": FW_URL, "retrieveDateTime": PAST, "signingCertificate": "-----BEGIN CERT-----",
                       "signature": "c2lnbmF0dXJl"}}


def booted(charging_station, system_module, **kwargs):
    return firmware_flows.booted("1.6", charging_station, system_module, **kwargs)


def test_tc_044_1_firmware_update_download_and_install(charging_station, system_module):
    st, sim = booted(charging_station, system_module)
    assert "FirmwareManagement" in st.csms.call(CP_ID, "GetConfiguration", {"key": ["SupportedFeatureProfiles"]})[
        "configurationKey"][0]["value"].split(",")
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", {"location": FW_URL, "retrieveDate": PAST, "retries": 3,
                                                  "retryInterval": 30}) == {}
    seen = statuses(st, "FirmwareStatusNotification", mark, {"Installed", "InstallationFailed", "DownloadFailed"})
    assert [p["status"] for p in seen] == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert sim.requests[0] == ("update_firmware", {"location": FW_URL, "request_id": -1, "retrieve_timestamp": PAST,
                                                   "retries": 3, "retry_interval_s": 30})
    assert ("allow_firmware_installation", {}) in sim.requests
    mark = st.csms.mark()  # done: a triggered FirmwareStatusNotification says Idle
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == {
        "status": "Accepted"}
    assert st.csms.wait_for("FirmwareStatusNotification", after_index=mark)["payload"] == {"status": "Idle"}


def test_tc_044_2_firmware_update_download_failed(charging_station, system_module):
    st, _ = booted(charging_station, system_module, fail_at="download")
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", {"location": FW_URL, "retrieveDate": PAST}) == {}
    seen = statuses(st, "FirmwareStatusNotification", mark, {"DownloadFailed", "Installed"})
    assert [p["status"] for p in seen] == ["Downloading", "DownloadFailed"]


def test_tc_044_3_firmware_update_installation_failed(charging_station, system_module):
    st, _ = booted(charging_station, system_module, fail_at="install")
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", {"location": FW_URL, "retrieveDate": PAST}) == {}
    seen = statuses(st, "FirmwareStatusNotification", mark, {"InstallationFailed", "Installed"})
    assert [p["status"] for p in seen] == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]


def test_installation_waits_for_the_transaction_and_trigger_reports_the_current_status(charging_station,
                                                                                      system_module):
    st, sim = booted(charging_station, system_module)
    ev = st.evse(1)
    mark = st.csms.mark()
    ev.plug_in()
    ev.start_transaction("TAG1", meter_wh=0)
    st.csms.wait_for("StartTransaction", after_index=mark)
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", {"location": FW_URL, "retrieveDate": PAST}) == {}
    st.csms.wait_for(lambda e: e["action"] == "FirmwareStatusNotification" and e["payload"]["status"] == "Downloaded",
                     after_index=mark, timeout=20)
    trig = st.csms.mark()  # the download is done; the installation waits for the transaction
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == {
        "status": "Accepted"}
    assert st.csms.wait_for("FirmwareStatusNotification", after_index=trig)["payload"] == {"status": "Downloaded"}
    assert ("allow_firmware_installation", {}) not in sim.requests
    ev.stop_transaction("Local", "TAG1")
    seen = statuses(st, "FirmwareStatusNotification", mark, {"Installed", "InstallationFailed"})
    assert [p["status"] for p in seen] == ["Downloading", "Downloaded", "Downloaded", "Installing", "Installed"]
    stop = st.csms.wait_for("StopTransaction", after_index=mark)
    installing = next(e for e in st.csms.entries("FirmwareStatusNotification", cp_id=CP_ID)
                      if e["index"] >= mark and e["payload"]["status"] == "Installing")
    assert stop["index"] < installing["index"]


def test_tc_045_1_get_diagnostics(charging_station, system_module):
    st, sim = booted(charging_station, system_module)
    mark = st.csms.mark()
    answer = st.csms.call(CP_ID, "GetDiagnostics", {"location": LOG_URL, "startTime": PAST,
                                                    "stopTime": "2020-01-02T00:00:00Z", "retries": 1})
    assert answer["fileName"].startswith("DiagnosticsLog-")
    seen = statuses(st, "DiagnosticsStatusNotification", mark, {"Uploaded", "UploadFailed"})
    assert [p["status"] for p in seen] == ["Uploading", "Uploaded"]
    assert sim.requests[0] == ("upload_logs", {"location": LOG_URL, "request_id": -1, "type": "DiagnosticsLog",
                                               "oldest_timestamp": PAST, "latest_timestamp": "2020-01-02T00:00:00Z",
                                               "retries": 1})
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"}) == {
        "status": "Accepted"}
    assert st.csms.wait_for("DiagnosticsStatusNotification", after_index=mark)["payload"] == {"status": "Idle"}


def test_tc_045_2_get_diagnostics_upload_failed(charging_station, system_module):
    st, _ = booted(charging_station, system_module, fail_at="upload")
    mark = st.csms.mark()
    assert "fileName" in st.csms.call(CP_ID, "GetDiagnostics", {"location": LOG_URL})
    seen = statuses(st, "DiagnosticsStatusNotification", mark, {"Uploaded", "UploadFailed"})
    assert [p["status"] for p in seen] == ["Uploading", "UploadFailed"]


def test_tc_079_get_security_log(charging_station, system_module):
    st, sim = booted(charging_station, system_module)
    mark = st.csms.mark()
    answer = st.csms.call(CP_ID, "GetLog", {"logType": "SecurityLog", "requestId": 5, "log": {
        "remoteLocation": LOG_URL, "oldestTimestamp": PAST}})
    assert answer["status"] == "Accepted" and answer["filename"].startswith("SecurityLog-")
    seen = statuses(st, "LogStatusNotification", mark, {"Uploaded", "UploadFailure"})
    assert seen == [{"status": "Uploading", "requestId": 5}, {"status": "Uploaded", "requestId": 5}]
    assert sim.requests[0] == ("upload_logs", {"location": LOG_URL, "request_id": 5, "type": "SecurityLog",
                                               "oldest_timestamp": PAST})
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "ExtendedTriggerMessage", {"requestedMessage": "LogStatusNotification"}) == {
        "status": "Accepted"}
    assert st.csms.wait_for("LogStatusNotification", after_index=mark)["payload"] == {"status": "Idle"}


def test_signed_firmware_update_installs(charging_station, system_module):
    st, sim = booted(charging_station, system_module)
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "SignedUpdateFirmware", SIGNED) == {"status": "Accepted"}
    seen = statuses(st, "SignedFirmwareStatusNotification", mark, {"Installed", "InstallationFailed", "InvalidSignature"})
    assert seen == [{"status": s, "requestId": 42} for s in
                    ("Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed")]
    request = sim.requests[0][1]
    assert (request["signature"], request["signing_certificate"], request["request_id"]) == (
        "c2lnbmF0dXJl", "-----BEGIN CERT-----", 42)
    assert st.csms.entries("FirmwareStatusNotification", cp_id=CP_ID) == []  # signed: only the signed message
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "ExtendedTriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == {
        "status": "Accepted"}
    assert st.csms.wait_for("SignedFirmwareStatusNotification", after_index=mark)["payload"] == {"status": "Idle"}


def test_tc_080_secure_firmware_update_invalid_signature(charging_station, system_module):
    st, sim = booted(charging_station, system_module, fail_at="signature")
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "SignedUpdateFirmware", SIGNED) == {"status": "Accepted"}
    seen = statuses(st, "SignedFirmwareStatusNotification", mark, {"InvalidSignature", "Installed"})
    assert seen == [{"status": s, "requestId": 42} for s in ("Downloading", "Downloaded", "InvalidSignature")]
    assert ("allow_firmware_installation", {}) not in sim.requests


def test_signed_update_answer_is_the_system_modules(charging_station, system_module):
    st, _ = booted(charging_station, system_module, answer="InvalidCertificate")
    assert st.csms.call(CP_ID, "SignedUpdateFirmware", SIGNED) == {"status": "InvalidCertificate"}


def test_without_a_system_module_nothing_is_taken(charging_station, system_module):
    st, _ = booted(charging_station, system_module, system=False)
    for action, payload in (("UpdateFirmware", {"location": FW_URL, "retrieveDate": PAST}),
                            ("GetDiagnostics", {"location": LOG_URL})):
        with pytest.raises(CallErrorReceived) as err:
            st.csms.call(CP_ID, action, payload)
        assert err.value.code == "NotSupported"
    assert st.csms.call(CP_ID, "SignedUpdateFirmware", SIGNED) == {"status": "Rejected"}
    assert st.csms.call(CP_ID, "GetLog", {"logType": "DiagnosticsLog", "requestId": 1,
                                          "log": {"remoteLocation": LOG_URL}}) == {"status": "Rejected"}


def test_a_silent_system_module_yields_the_failure_status(charging_station, system_module):
    st, sim = booted(charging_station, system_module, silent=True, config={"CsmsAnswerTimeoutS": 2})
    mark = st.csms.mark()
    assert st.csms.call(CP_ID, "UpdateFirmware", {"location": FW_URL, "retrieveDate": PAST}) == {}
    assert st.csms.wait_for("FirmwareStatusNotification", after_index=mark, timeout=20)["payload"] == {
        "status": "DownloadFailed"}
    assert st.csms.call(CP_ID, "SignedUpdateFirmware", SIGNED) == {"status": "Rejected"}
    assert st.csms.call(CP_ID, "GetDiagnostics", {"location": LOG_URL}) == {}
    assert st.csms.wait_for("DiagnosticsStatusNotification", after_index=mark, timeout=20)["payload"] == {
        "status": "UploadFailed"}
    st.heartbeat_sentinel()  # the bridge still answers


def test_a_status_outside_the_system_types_is_dropped(charging_station, system_module):
    st, sim = booted(charging_station, system_module)
    mark = st.csms.mark()
    sim.bus.publish_var("main", "firmware_update_status", {"firmware_update_status": "Installed", "request_id": "x"})
    sim.bus.publish_var("main", "log_status", {"log_status": "Uploading"})          # request_id missing
    sim.bus.publish_var("main", "firmware_update_status", {"firmware_update_status": "Downloading", "request_id": -1})
    assert st.csms.wait_for("FirmwareStatusNotification", after_index=mark)["payload"] == {"status": "Downloading"}
    st.heartbeat_sentinel()
    assert [e["payload"] for e in st.csms.entries(cp_id=CP_ID)[mark:]
            if e["action"] in ("FirmwareStatusNotification", "DiagnosticsStatusNotification")] == [
        {"status": "Downloading"}]
    assert st.bridge.alive
