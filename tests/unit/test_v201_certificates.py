"""OCPP 2.0.1 certificate management (M03-M05, A02/A03) on the pure core, with a scripted
evse_security module (``sim.port.security``) and a scripted CSMS. Test ids cite OCA 2.0.1 cases
only where the test covers what the case checks."""

import pytest
from v201_harness import Sim

from support.cert_factory import make

ALLOW = {"InternalCtrlr": {"AllowCSMSRootCertInstallWithUnsecureConnection": True}}
HASH = {"hashAlgorithm": "SHA256", "issuerNameHash": "aa", "issuerKeyHash": "bb", "serialNumber": "01"}
SNAKE = {"hash_algorithm": "SHA256", "issuer_name_hash": "aa", "issuer_key_hash": "bb", "serial_number": "01"}


@pytest.fixture(scope="module")
def root():
    return make("CSMS Root")[0]


def security(sim, **answers):
    sim.port.security = answers
    return sim


def asked(sim, cmd):
    return [c[2] for c in sim.port.calls if c[0] == "security" and c[1] == cmd]


def test_tc_m_05_install_a_csms_root(tmp_path, root):
    sim = security(Sim(tmp_path, overrides=ALLOW), install_ca_certificate="Accepted")
    answer = sim.request("InstallCertificate", {"certificateType": "CSMSRootCertificate", "certificate": root})
    assert answer == {"status": "Accepted"}
    assert asked(sim, "install_ca_certificate") == [{"certificate": root, "certificate_type": "CSMS"}]


def test_a_csms_root_over_a_connection_without_tls_is_rejected_by_default(tmp_path, root):
    sim = security(Sim(tmp_path), install_ca_certificate="Accepted")
    answer = sim.request("InstallCertificate", {"certificateType": "CSMSRootCertificate", "certificate": root})
    assert answer["status"] == "Rejected" and "TLS" in answer["statusInfo"]["additionalInfo"]
    assert asked(sim, "install_ca_certificate") == []
    answer = sim.request("InstallCertificate", {"certificateType": "V2GRootCertificate", "certificate": root})
    assert answer == {"status": "Accepted"}


def test_a_certificate_that_is_not_a_root_is_rejected(tmp_path):
    sub, _ = make("Sub CA", "CSMS Root", make("CSMS Root")[1])
    sim = security(Sim(tmp_path, overrides=ALLOW), install_ca_certificate="Accepted")
    answer = sim.request("InstallCertificate", {"certificateType": "CSMSRootCertificate", "certificate": sub})
    assert answer["status"] == "Rejected" and asked(sim, "install_ca_certificate") == []


def test_without_a_security_module(tmp_path, root):
    sim = Sim(tmp_path, overrides=ALLOW)
    assert sim.request("InstallCertificate", {"certificateType": "CSMSRootCertificate",
                                              "certificate": root})["status"] == "Rejected"
    assert sim.request("DeleteCertificate", {"certificateHashData": HASH}) == {"status": "Failed"}
    assert sim.request("GetInstalledCertificateIds", {}) == {"status": "NotFound"}
    assert sim.request("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}) == {
        "status": "Rejected"}


def test_tc_m_04_delete_a_certificate(tmp_path):
    sim = security(Sim(tmp_path), delete_certificate="NotFound")
    assert sim.request("DeleteCertificate", {"certificateHashData": HASH}) == {"status": "NotFound"}
    assert asked(sim, "delete_certificate") == [{"certificate_hash_data": SNAKE}]


def test_tc_m_03_installed_certificate_ids(tmp_path):
    sim = security(Sim(tmp_path), get_installed_certificates={"status": "Accepted", "certificate_hash_data_chain": [
        {"certificate_type": "MFRootCertificate", "certificate_hash_data": SNAKE},
        {"certificate_type": "V2GCertificateChain", "certificate_hash_data": SNAKE,
         "child_certificate_hash_data": [SNAKE]}]})
    answer = sim.request("GetInstalledCertificateIds", {"certificateType": ["ManufacturerRootCertificate"]})
    assert answer == {"status": "Accepted", "certificateHashDataChain": [
        {"certificateType": "ManufacturerRootCertificate", "certificateHashData": HASH}]}
    assert asked(sim, "get_installed_certificates")[-1] == {"certificate_types": ["MFRootCertificate"]}
    every = sim.request("GetInstalledCertificateIds", {})
    assert [c["certificateType"] for c in every["certificateHashDataChain"]] == [
        "ManufacturerRootCertificate", "V2GCertificateChain"]
    assert every["certificateHashDataChain"][1]["childCertificateHashData"] == [HASH]
    assert sim.request("GetInstalledCertificateIds", {"certificateType": ["CSMSRootCertificate"]}) == {
        "status": "NotFound"}


def csr_sim(tmp_path, **overrides):
    sim = Sim(tmp_path, overrides={"SecurityCtrlr": {"OrganizationName": "ACME", "Identity": "CP1"}, **overrides})
    return security(sim, generate_certificate_signing_request={"status": "Accepted", "csr": "CSR-PEM"},
                    update_leaf_certificate="Accepted")


def test_tc_a_02_the_csms_triggers_a_certificate_renewal(tmp_path):
    sim = csr_sim(tmp_path)
    sim.answers["SignCertificate"] = {"status": "Accepted"}
    assert sim.request("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}) == {
        "status": "Accepted"}
    assert asked(sim, "generate_certificate_signing_request") == [{
        "certificate_type": "CSMS", "country": "DE", "organization": "ACME", "common": "CP1", "use_tpm": False}]
    assert sim.payloads("SignCertificate") == [{"csr": "CSR-PEM", "certificateType": "ChargingStationCertificate"}]
    answer = sim.request("CertificateSigned", {"certificateChain": "CHAIN-PEM",
                                               "certificateType": "ChargingStationCertificate"})
    assert answer == {"status": "Accepted"}
    assert asked(sim, "update_leaf_certificate") == [{"certificate_chain": "CHAIN-PEM", "certificate_type": "CSMS"}]
    sim.tick(3600)
    assert len(sim.payloads("SignCertificate")) == 1  # answered: no repeat


def test_without_certificate_signed_the_request_is_repeated_with_a_doubling_wait(tmp_path):
    sim = csr_sim(tmp_path, **{"SecurityCtrlr": {"OrganizationName": "ACME", "Identity": "CP1",
                                                 "CertSigningWaitMinimum": 10, "CertSigningRepeatTimes": 2}})
    sim.answers["SignCertificate"] = {"status": "Accepted"}
    sim.request("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"})
    counts = []
    for step in (9, 1, 19, 1, 39, 1, 1000):
        sim.tick(step)
        counts.append(len(sim.payloads("SignCertificate")))
    assert counts == [1, 2, 2, 3, 3, 3, 3]  # at 10 s, then 20 s later; two repeats at most


def test_certificate_signed_refusals(tmp_path):
    sim = csr_sim(tmp_path, **{"SecurityCtrlr": {"MaxCertificateChainSize": 100}})
    assert sim.request("CertificateSigned", {"certificateChain": "x" * 101})["status"] == "Rejected"
    assert sim.request("CertificateSigned", {"certificateChain": "PEM", "certificateType": "V2GCertificate"})[
        "status"] == "Rejected"
    sim.port.security["update_leaf_certificate"] = "InvalidCertificateChain"
    assert sim.request("CertificateSigned", {"certificateChain": "PEM"}) == {"status": "Rejected"}
    assert asked(sim, "update_leaf_certificate") == [{"certificate_chain": "PEM", "certificate_type": "CSMS"}]


def test_a_security_module_that_does_not_answer_gets_the_late_answer(tmp_path, root):
    sim = security(Sim(tmp_path, overrides=ALLOW), install_ca_certificate="Accepted")
    sim.port.hold.add("install_ca_certificate")
    sim.cp.core.answer_timeout_s = 5
    assert sim.request("InstallCertificate", {"certificateType": "CSMSRootCertificate", "certificate": root}) is None
    sim.tick(5.5)
    assert sim.reply_to()[2] == {"status": "Rejected"}


# ---------------------------------------------------------------------------- A03
def test_tc_a_03_a_certificate_about_to_expire_is_renewed_by_the_station(tmp_path):
    """At security profile 3 the station asks the module how long its certificate lasts, a
    minute after it starts and then twice a day; 30 days or fewer: SignCertificate."""
    sim = csr_sim(tmp_path, **{"SecurityCtrlr": {"OrganizationName": "ACME", "Identity": "CP1",
                                                 "SecurityProfile": 3}})
    sim.port.security["get_leaf_expiry_days_count"] = 90
    sim.answers["SignCertificate"] = {"status": "Accepted"}
    sim.tick(61)
    assert asked(sim, "get_leaf_expiry_days_count") == [{"certificate_type": "CSMS"}]
    assert sim.payloads("SignCertificate") == []
    sim.port.security["get_leaf_expiry_days_count"] = 30
    sim.tick(12 * 3600)
    assert len(asked(sim, "get_leaf_expiry_days_count")) == 2
    assert sim.payloads("SignCertificate") == [{"csr": "CSR-PEM", "certificateType": "ChargingStationCertificate"}]


def test_below_security_profile_3_the_certificate_is_not_looked_at(tmp_path):
    sim = csr_sim(tmp_path)
    sim.port.security["get_leaf_expiry_days_count"] = 1
    sim.tick(13 * 3600)
    assert asked(sim, "get_leaf_expiry_days_count") == [] and sim.payloads("SignCertificate") == []


def test_the_new_certificate_is_announced_only_after_the_answer_went_out(tmp_path):
    from ocpp_bridge.ocpp.events import LeafCertificateChanged

    sim = csr_sim(tmp_path)
    heard = []
    sim.cp.core.events.subscribe(LeafCertificateChanged, lambda e: heard.append(len(sim.sent)))
    assert sim.request("CertificateSigned", {"certificateChain": "PEM"}) == {"status": "Accepted"}
    sim.tick(0)
    answered = next(i for i, f in enumerate(sim.sent) if f[0] == 3 and f[2] == {"status": "Accepted"})
    assert heard == [len(sim.sent)] and answered < heard[0]  # once, and after the CALLRESULT was written
