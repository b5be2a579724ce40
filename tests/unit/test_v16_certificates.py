"""OCPP 1.6 certificate management (Improved security whitepaper) on the pure charge point,
with a scripted evse_security module (``rig.port.security``). Test ids cite OCTT 1.6 cases only
where the test covers what the case checks."""

import pytest

from support.cert_factory import make
from support.cp16 import Rig

HASH = {"hashAlgorithm": "SHA256", "issuerNameHash": "aa", "issuerKeyHash": "bb", "serialNumber": "01"}
SNAKE = {"hash_algorithm": "SHA256", "issuer_name_hash": "aa", "issuer_key_hash": "bb", "serial_number": "01"}


@pytest.fixture(scope="module")
def root():
    return make("Central System Root")[0]


def rig_with(tmp_path, overrides=None, **answers):
    rig = Rig(tmp_path, overrides=overrides).boot()
    rig.port.security = answers
    return rig


def asked(rig, cmd):
    return [c[2] for c in rig.port.calls if c[0] == "security" and c[1] == cmd]


def test_tc_074_install_a_central_system_root(tmp_path, root):
    rig = rig_with(tmp_path, {"AllowCSMSRootCertInstallWithUnsecureConnection": True},
                   install_ca_certificate="Accepted")
    assert rig.request("InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                              "certificate": root}) == {"status": "Accepted"}
    assert asked(rig, "install_ca_certificate") == [{"certificate": root, "certificate_type": "CSMS"}]


def test_roots_over_a_connection_without_tls_are_rejected_by_default(tmp_path, root):
    rig = rig_with(tmp_path, install_ca_certificate="Accepted")
    for kind in ("CentralSystemRootCertificate", "ManufacturerRootCertificate"):
        assert rig.request("InstallCertificate", {"certificateType": kind, "certificate": root}) == {
            "status": "Rejected"}
    assert asked(rig, "install_ca_certificate") == []


def test_a_store_failure_is_failed_and_a_leaf_is_rejected(tmp_path, root):
    rig = rig_with(tmp_path, {"AllowMFRootCertInstallWithUnsecureConnection": True}, install_ca_certificate="WriteError")
    assert rig.request("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                              "certificate": root}) == {"status": "Failed"}
    leaf, _ = make("leaf", "Central System Root", make("Central System Root")[1], ca=False)
    assert rig.request("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                              "certificate": leaf}) == {"status": "Rejected"}
    assert len(asked(rig, "install_ca_certificate")) == 1


def test_tc_076_delete_and_tc_075_installed_ids(tmp_path):
    rig = rig_with(tmp_path, delete_certificate="Accepted", get_installed_certificates={
        "status": "Accepted", "certificate_hash_data_chain": [
            {"certificate_type": "CSMSRootCertificate", "certificate_hash_data": SNAKE}]})
    assert rig.request("GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"}) == {
        "status": "Accepted", "certificateHashData": [HASH]}
    assert asked(rig, "get_installed_certificates") == [{"certificate_types": ["CSMSRootCertificate"]}]
    assert rig.request("DeleteCertificate", {"certificateHashData": HASH}) == {"status": "Accepted"}
    assert asked(rig, "delete_certificate") == [{"certificate_hash_data": SNAKE}]
    assert rig.request("GetInstalledCertificateIds", {"certificateType": "ManufacturerRootCertificate"}) == {
        "status": "NotFound"}


def test_sign_and_certificate_signed(tmp_path):
    rig = rig_with(tmp_path, {"CpoName": "ACME-CPO"},
                   generate_certificate_signing_request={"status": "Accepted", "csr": "CSR-PEM"},
                   update_leaf_certificate="Accepted")
    rig.answers["SignCertificate"] = {"status": "Accepted"}
    assert rig.request("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}) == {
        "status": "Accepted"}
    rig.pump_answers()
    assert asked(rig, "generate_certificate_signing_request") == [{
        "certificate_type": "CSMS", "country": "DE", "organization": "ACME-CPO", "common": "SN1", "use_tpm": False}]
    assert rig.calls("SignCertificate") == [{"csr": "CSR-PEM"}]
    assert rig.request("CertificateSigned", {"certificateChain": "CHAIN"}) == {"status": "Accepted"}
    assert asked(rig, "update_leaf_certificate") == [{"certificate_chain": "CHAIN", "certificate_type": "CSMS"}]


def test_a_chain_longer_than_the_key_allows_is_rejected(tmp_path):
    rig = rig_with(tmp_path, {"CertificateSignedMaxChainSize": 100}, update_leaf_certificate="Accepted")
    assert rig.request("CertificateSigned", {"certificateChain": "x" * 101}) == {"status": "Rejected"}
    assert asked(rig, "update_leaf_certificate") == []


def test_without_a_security_module(tmp_path, root):
    rig = Rig(tmp_path, overrides={"AllowCSMSRootCertInstallWithUnsecureConnection": True}).boot()
    assert rig.request("InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                              "certificate": root}) == {"status": "Rejected"}
    assert rig.request("DeleteCertificate", {"certificateHashData": HASH}) == {"status": "Failed"}
    assert rig.request("CertificateSigned", {"certificateChain": "CHAIN"}) == {"status": "Rejected"}
    assert not rig.cp.blocks.certificates.can_sign()


def test_a_certificate_about_to_expire_is_renewed_by_the_charge_point(tmp_path):
    rig = rig_with(tmp_path, generate_certificate_signing_request={"status": "Accepted", "csr": "CSR-PEM"},
                   get_leaf_expiry_days_count=7)
    rig.answers["SignCertificate"] = {"status": "Accepted"}
    rig.advance(61)
    assert rig.calls("SignCertificate") == []  # SecurityProfile 0: the certificate is not the connection's
    rig.cp.keys.set_internal("SecurityProfile", "3")
    rig.advance(12 * 3600)
    assert asked(rig, "get_leaf_expiry_days_count") == [{"certificate_type": "CSMS"}]
    assert rig.calls("SignCertificate") == [{"csr": "CSR-PEM"}]
