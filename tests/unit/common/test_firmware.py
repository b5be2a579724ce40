"""The version-neutral firmware / log core (ocpp/common/firmware.py): requests mapped to
EVerest's system types field by field, the system's answers mapped to OCPP's, the status a
TriggerMessage reports, installation held back while a transaction runs, and the 1.6 maps."""

from ocpp_bridge.ocpp.common import firmware as F
from ocpp_bridge.ocpp.evse_events import FirmwareStatusChanged, LogStatusChanged
from support.core_fakes import FakeCore


class System:
    """A system port that records requests and answers when told."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.pending: list = []
        self.allowed = 0

    def update_firmware(self, request, done):
        self.requests.append(("update_firmware", request))
        self.pending.append(done)

    def upload_logs(self, request, done):
        self.requests.append(("upload_logs", request))
        self.pending.append(done)

    def allow_firmware_installation(self):
        self.allowed += 1

    def answer(self, value):
        self.pending.pop(0)(value)


def rig(busy=lambda: False):
    core, system, sent = FakeCore(100.0), System(), []
    updates = F.FirmwareUpdates(core, system, busy=busy, notify=lambda s, r: sent.append(("fw", s, r)))
    logs = F.LogUploads(core, system, notify=lambda s, r: sent.append(("log", s, r)))
    return core, system, sent, updates, logs


SIGNED = {"requestId": 7, "retries": 3, "retryInterval": 20,
          "firmware": {"location": "https://fw.example/x.bin", "retrieveDateTime": "2030-01-01T00:00:00Z",
                       "installDateTime": "2030-01-02T00:00:00Z", "signingCertificate": "PEM", "signature": "c2ln"}}


def test_signed_request_maps_every_field_to_everest():
    assert F.FirmwareRequest.signed(SIGNED).to_everest() == {
        "location": "https://fw.example/x.bin", "request_id": 7, "retrieve_timestamp": "2030-01-01T00:00:00Z",
        "install_timestamp": "2030-01-02T00:00:00Z", "retries": 3, "retry_interval_s": 20,
        "signing_certificate": "PEM", "signature": "c2ln"}


def test_unsigned_request_leaves_out_what_is_not_given():
    assert F.FirmwareRequest("ftp://x/fw", F.UNSIGNED, retrieve="2020-01-01T00:00:00Z").to_everest() == {
        "location": "ftp://x/fw", "request_id": -1, "retrieve_timestamp": "2020-01-01T00:00:00Z"}


def test_get_log_request_maps_to_upload_logs_request():
    payload = {"logType": "SecurityLog", "requestId": 4, "retries": 2,
               "log": {"remoteLocation": "https://logs/", "oldestTimestamp": "2020-01-01T00:00:00Z"}}
    assert F.LogRequest.get_log(payload).to_everest() == {
        "location": "https://logs/", "request_id": 4, "type": "SecurityLog", "oldest_timestamp": "2020-01-01T00:00:00Z",
        "retries": 2}


def test_update_answer_is_the_systems_and_rejected_without_one():
    _, system, _, updates, _ = rig()
    answers = []
    for reply in ("Accepted", "AcceptedCancelled", "InvalidCertificate", None, "Nonsense"):
        updates.request(F.FirmwareRequest.signed(SIGNED)).then(lambda v, e: answers.append(v))
        system.answer(reply)
    assert answers == ["Accepted", "AcceptedCanceled", "InvalidCertificate", "Rejected", "Rejected"]


def test_upload_answer_carries_the_file_name():
    _, system, _, _, logs = rig()
    answers = []
    logs.request(F.LogRequest("https://logs/", 3)).then(lambda v, e: answers.append(v))
    system.answer({"upload_logs_status": "Accepted", "file_name": "diag.tar.gz"})
    logs.request(F.LogRequest("https://logs/", 4)).then(lambda v, e: answers.append(v))
    system.answer(None)
    assert answers == [("Accepted", "diag.tar.gz"), ("Rejected", None)]


def test_trigger_reports_the_current_status_while_running_and_idle_after():
    core, _, sent, updates, logs = rig()
    assert updates.process.current() == ("Idle", None)
    core.events.publish(FirmwareStatusChanged("Downloading", 7))
    assert updates.process.current() == ("Downloading", 7)
    core.events.publish(FirmwareStatusChanged("DownloadFailed", 7))
    assert updates.process.current() == ("Idle", None)
    core.events.publish(LogStatusChanged("Uploading", 2))
    assert logs.process.current() == ("Uploading", 2)
    core.events.publish(LogStatusChanged("UploadFailure", 2))
    assert logs.process.current() == ("Idle", None)
    assert sent == [("fw", "Downloading", 7), ("fw", "DownloadFailed", 7), ("log", "Uploading", 2),
                    ("log", "UploadFailure", 2)]


def test_installation_is_allowed_once_downloaded_and_idle():
    core, system, _, _, _ = rig()
    core.events.publish(FirmwareStatusChanged("Downloaded", 1))
    assert system.allowed == 1
    core.events.publish(FirmwareStatusChanged("Installing", 1))
    core.advance(60)
    assert system.allowed == 1


def test_a_signed_update_installs_only_after_its_signature_is_verified():
    core, system, _, updates, _ = rig()
    updates.request(F.FirmwareRequest.signed(SIGNED))
    system.answer("Accepted")
    core.events.publish(FirmwareStatusChanged("Downloaded", 7))
    assert system.allowed == 0
    core.events.publish(FirmwareStatusChanged("SignatureVerified", 7))
    assert system.allowed == 1


def test_installation_waits_for_the_running_transaction():
    running = [True]
    core, system, _, _, _ = rig(busy=lambda: running[0])
    core.events.publish(FirmwareStatusChanged("SignatureVerified", 1))
    core.advance(30)
    assert system.allowed == 0
    running[0] = False
    core.advance(F.INSTALL_RECHECK_S)
    assert system.allowed == 1


def test_a_failure_while_waiting_cancels_the_installation():
    running = [True]
    core, system, _, _, _ = rig(busy=lambda: running[0])
    core.events.publish(FirmwareStatusChanged("Downloaded", 1))
    core.events.publish(FirmwareStatusChanged("InstallVerificationFailed", 1))
    running[0] = False
    core.advance(60)
    assert system.allowed == 0


def test_the_1_6_maps():
    assert [F.firmware_status_16(s) for s in ("Downloading", "InvalidSignature", "InstallRebooting", "Installed")] == [
        "Downloading", "InstallationFailed", None, "Installed"]
    assert [F.diagnostics_status_16(s) for s in ("Uploading", "UploadFailure", "PermissionDenied", "Uploaded")] == [
        "Uploading", "UploadFailed", "UploadFailed", "Uploaded"]
    assert F.log_status_16("AcceptedCanceled") is None and F.log_status_16("BadMessage") == "BadMessage"
