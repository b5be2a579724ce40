"""OCPP 1.6 firmware / diagnostics / logs adapter and ExtendedTriggerMessage: pure charge point,
scripted CSMS, fake system port (support/cp16.py), fake clock."""

from ocpp_bridge.ocpp.evse_events import FirmwareStatusChanged, LogStatusChanged
from support.cp16 import Rig

PAST = "2020-01-01T00:00:00Z"
NOTIFICATIONS = ("FirmwareStatusNotification", "SignedFirmwareStatusNotification", "DiagnosticsStatusNotification",
                 "LogStatusNotification")


def booted(tmp_path) -> Rig:
    rig = Rig(tmp_path)
    rig.answers.update({action: {} for action in NOTIFICATIONS})  # the CSMS confirms each notification
    return rig.boot()


def test_unsigned_statuses_go_in_1_6_enums_and_signed_ones_with_their_request_id(tmp_path):
    rig = booted(tmp_path)
    for status in ("DownloadScheduled", "Downloading", "InvalidSignature"):
        rig.event(FirmwareStatusChanged(status, -1))
    rig.event(FirmwareStatusChanged("SignatureVerified", 9))
    assert rig.calls("FirmwareStatusNotification") == [{"status": "Downloading"}, {"status": "InstallationFailed"}]
    assert rig.calls("SignedFirmwareStatusNotification") == [{"status": "SignatureVerified", "requestId": 9}]


def test_log_statuses_by_request_id(tmp_path):
    rig = booted(tmp_path)
    rig.event(LogStatusChanged("PermissionDenied", -1))
    rig.event(LogStatusChanged("AcceptedCanceled", 4))   # the 1.6 enum lacks it: not sent
    rig.event(LogStatusChanged("Uploaded", 4))
    assert rig.calls("DiagnosticsStatusNotification") == [{"status": "UploadFailed"}]
    assert rig.calls("LogStatusNotification") == [{"status": "Uploaded", "requestId": 4}]


def test_update_firmware_passes_every_field_and_a_refusal_is_download_failed(tmp_path):
    rig = booted(tmp_path)
    assert rig.request("UpdateFirmware", {"location": "ftp://x/fw", "retrieveDate": PAST, "retries": 2,
                                          "retryInterval": 5}) == {}
    assert rig.port.calls[-1] == ("update_firmware", {"location": "ftp://x/fw", "request_id": -1,
                                                      "retrieve_timestamp": PAST, "retries": 2,
                                                      "retry_interval_s": 5})
    assert rig.calls("FirmwareStatusNotification") == []
    rig.port.system = False  # the system module went away: NotSupported now
    reply = rig.request("UpdateFirmware", {"location": "ftp://x/fw", "retrieveDate": PAST})
    assert reply[0] == 4 and reply[2] == "NotSupported"


def test_downloaded_allows_the_installation_only_without_a_transaction(tmp_path):
    rig = booted(tmp_path)
    session = rig.plug_in(1)
    rig.start_tx(1, session)
    rig.event(FirmwareStatusChanged("Downloaded", -1))
    rig.advance(10)
    assert ("allow_firmware_installation",) not in rig.port.calls
    rig.stop_tx(1, session)
    rig.unplug(1, session)
    rig.advance(10)
    assert ("allow_firmware_installation",) in rig.port.calls


def test_get_diagnostics_and_get_log_answers(tmp_path):
    rig = booted(tmp_path)
    assert rig.request("GetDiagnostics", {"location": "ftp://x/"}) == {"fileName": "log.tar.gz"}
    assert rig.request("GetLog", {"logType": "SecurityLog", "requestId": 3,
                                  "log": {"remoteLocation": "ftp://x/"}}) == {"status": "Accepted",
                                                                               "filename": "log.tar.gz"}
    rig.port.system = False
    assert rig.request("GetLog", {"logType": "SecurityLog", "requestId": 4,
                                  "log": {"remoteLocation": "ftp://x/"}}) == {"status": "Rejected"}


def test_extended_trigger_message(tmp_path):
    rig = booted(tmp_path)
    mark = len(rig.sent)
    assert rig.request("ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"}) == {"status": "Accepted"}
    assert rig.request("ExtendedTriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}) == {
        "status": "Accepted"}
    assert rig.request("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}) == {
        "status": "Rejected"}  # no security module
    assert rig.request("ExtendedTriggerMessage", {"requestedMessage": "Heartbeat", "connectorId": 9}) == {
        "status": "Rejected"}
    rig.event(FirmwareStatusChanged("Downloading", 6))
    assert rig.request("ExtendedTriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == {
        "status": "Accepted"}
    assert rig.request("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == {"status": "Accepted"}
    assert rig.actions(mark).count("Heartbeat") == 1 and rig.actions(mark).count("StatusNotification") == 1
    assert rig.calls("SignedFirmwareStatusNotification")[-1] == {"status": "Downloading", "requestId": 6}
    assert rig.calls("FirmwareStatusNotification")[-1] == {"status": "Idle"}  # no unsigned update runs
