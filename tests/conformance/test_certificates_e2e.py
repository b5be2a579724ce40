"""Certificate management end to end, both versions: the bridge as a real process on a real
mosquitto, a simulated EVerest ``evse_security`` module (support/security_module.py, backed by
real files), the `ocpp` CSMS behind Python ``ssl`` with this run's PKI (support/certs.py).

A root certificate installed, listed and deleted by its hash data (TC_074-076 / TC_M_03-05 where
they apply); the station's own certificate renewed (1.6 ExtendedTriggerMessage
SignChargePointCertificate where built, 2.0.1 TC_A_02's TriggerMessage): the CSMS signs the
station's request with its CA, CertificateSigned installs it in the security module, and the
station reconnects at security profile 3 presenting the new certificate."""

from __future__ import annotations

import pytest

from support.cert_factory import make
from support.certs import Pki
from support.security_module import SecurityModule
from support.station import CP_ID

SECURITY_CONNECTION = {"connections": {"security": [("security_module", "main")]}}
ROOT_TYPE = {"1.6": "CentralSystemRootCertificate", "2.0.1": "CSMSRootCertificate"}


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki", station_cn=CP_ID)


def sp3_station(station, peer, pki, tmp_path, version):
    module = SecurityModule(peer, pki, tmp_path / "security")
    st = station(version=version, config={"SecurityProfile": 3},
                 csms_kwargs={"ssl_context": pki.server_context(client_ca=pki.ca_file)},
                 bridge_kwargs=SECURITY_CONNECTION)
    return st, module


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_root_is_installed_listed_and_deleted(station, peer, pki, tmp_path, version):
    st, module = sp3_station(station, peer, pki, tmp_path, version)
    root, _ = make("Another CSMS Root")
    sub, _ = make("Not A Root", "Another CSMS Root", make("Another CSMS Root")[1])
    kind = ROOT_TYPE[version]
    assert st.csms.call(CP_ID, "InstallCertificate", {"certificateType": kind, "certificate": sub})[
        "status"] == "Rejected"
    assert st.csms.call(CP_ID, "InstallCertificate", {"certificateType": kind, "certificate": root}) == {
        "status": "Accepted"}
    assert [c["certificate_type"] for c in module.calls("install_ca_certificate")] == ["CSMS"]
    request = {"certificateType": kind} if version == "1.6" else {"certificateType": [kind]}
    listed = st.csms.call(CP_ID, "GetInstalledCertificateIds", request)
    assert listed["status"] == "Accepted"
    hashes = (listed["certificateHashData"] if version == "1.6"
              else [c["certificateHashData"] for c in listed["certificateHashDataChain"]])
    assert len(hashes) == 1 and hashes[0]["hashAlgorithm"] == "SHA256"
    assert st.csms.call(CP_ID, "DeleteCertificate", {"certificateHashData": hashes[0]}) == {"status": "Accepted"}
    assert st.csms.call(CP_ID, "DeleteCertificate", {"certificateHashData": hashes[0]}) == {"status": "NotFound"}
    assert st.csms.call(CP_ID, "GetInstalledCertificateIds", request)["status"] == "NotFound"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_tc_a_02_the_station_certificate_is_renewed_and_used_for_the_next_connection(station, peer, pki, tmp_path,
                                                                                     version):
    """2.0.1 TC_A_02 (TriggerMessage SignChargingStationCertificate); 1.6 the whitepaper's
    ExtendedTriggerMessage SignChargePointCertificate, the same flow."""
    st, module = sp3_station(station, peer, pki, tmp_path, version)
    old_serial = st.csms.handshake(CP_ID)["tls"]["client_serial"]
    st.csms.set_response("SignCertificate", {"status": "Accepted"})
    mark = st.csms.mark()
    trigger = ("ExtendedTriggerMessage", "SignChargePointCertificate") if version == "1.6" else (
        "TriggerMessage", "SignChargingStationCertificate")
    assert st.csms.call(CP_ID, trigger[0], {"requestedMessage": trigger[1]}) == {"status": "Accepted"}
    request = st.csms.wait_for("SignCertificate", after_index=mark, timeout=10)["payload"]
    if version == "2.0.1":
        assert request["certificateType"] == "ChargingStationCertificate"
    assert module.calls("generate_certificate_signing_request")[0]["common"] == CP_ID
    chain = pki.sign_csr(request["csr"])
    signed = {"certificateChain": chain, **({"certificateType": "ChargingStationCertificate"}
                                           if version == "2.0.1" else {})}
    assert st.csms.call(CP_ID, "CertificateSigned", signed) == {"status": "Accepted"}
    st.csms.wait_for_station(CP_ID, count=2, timeout=30)
    new = st.csms.handshake(CP_ID)["tls"]
    assert new["client_subject"]["commonName"] == CP_ID
    assert new["client_serial"] != old_serial


def test_a_signed_certificate_for_another_key_is_rejected_and_the_connection_stays(station, peer, pki, tmp_path):
    st, module = sp3_station(station, peer, pki, tmp_path, "2.0.1")
    stray = pki.sign_csr(module._generate_certificate_signing_request(
        {"country": "DE", "organization": "x", "common": CP_ID})["csr"])
    module._pending_key = None  # the module made no request of its own
    assert st.csms.call(CP_ID, "CertificateSigned", {"certificateChain": stray}) == {"status": "Rejected"}
    st.heartbeat_sentinel()
    assert st.csms.connection_count(CP_ID) == 1
