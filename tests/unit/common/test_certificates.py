"""The certificate-management core shared by both versions (ocpp/common/certificates.py) over a
scripted security module: the refusals before the module is asked, the mapping of its results,
and a module that fails or answers nonsense."""

import pytest

from ocpp_bridge.ocpp.common.certificates import Certificates
from support.cert_factory import make

HASH = {"hashAlgorithm": "SHA256", "issuerNameHash": "aa", "issuerKeyHash": "bb", "serialNumber": "01"}
SNAKE = {"hash_algorithm": "SHA256", "issuer_name_hash": "aa", "issuer_key_hash": "bb", "serial_number": "01"}


class Module:
    def __init__(self, present=True):
        self.present = present
        self.calls = []
        self.answers = {}

    def security_present(self):
        return self.present

    def security_call(self, cmd, args, done):
        self.calls.append((cmd, args))
        answer = self.answers.get(cmd)
        if isinstance(answer, Exception):
            done(None, str(answer))
        else:
            done(answer, None)


@pytest.fixture(scope="module")
def root():
    return make("Test Root")[0]


def value(deferred):
    assert deferred.done
    return deferred.value


def core(module, profile=2, allow=()):
    return Certificates(module, lambda: profile, lambda: allow)


@pytest.mark.parametrize("result, status", [("Accepted", "Accepted"), ("WriteError", "Failed"),
                                            ("CertificateStoreMaxLengthExceeded", "Failed"),
                                            ("InvalidSignature", "Rejected"), ("Expired", "Rejected"),
                                            ("NoRootCertificateInstalled", "Rejected")])
def test_install_result_mapping(root, result, status):
    m = Module()
    m.answers["install_ca_certificate"] = result
    assert value(core(m).install("CSMSRootCertificate", root)) == status
    assert m.calls == [("install_ca_certificate", {"certificate": root, "certificate_type": "CSMS"})]


@pytest.mark.parametrize("ocpp_type, ca", [("CentralSystemRootCertificate", "CSMS"), ("ManufacturerRootCertificate", "MF"),
                                           ("V2GRootCertificate", "V2G"), ("MORootCertificate", "MO")])
def test_install_types(root, ocpp_type, ca):
    m = Module()
    m.answers["install_ca_certificate"] = "Accepted"
    value(core(m).install(ocpp_type, root))
    assert m.calls[0][1]["certificate_type"] == ca


def test_a_certificate_that_is_not_a_root_is_refused_before_the_module_is_asked():
    sub_pem, _ = make("Sub", "Test Root", make("Test Root")[1])
    m = Module()
    assert value(core(m).install("CSMSRootCertificate", sub_pem)) == "Rejected"
    assert m.calls == []


def test_csms_and_manufacturer_roots_need_tls_unless_allowed(root):
    m = Module()
    m.answers["install_ca_certificate"] = "Accepted"
    for profile in (0, 1):
        assert value(core(m, profile).install("CSMSRootCertificate", root)) == "Rejected"
        assert value(core(m, profile).install("ManufacturerRootCertificate", root)) == "Rejected"
    assert m.calls == []
    assert value(core(m, 1).install("V2GRootCertificate", root)) == "Accepted"  # not the connection's
    assert value(core(m, 1, allow=("CSMS",)).install("CSMSRootCertificate", root)) == "Accepted"
    assert value(core(m, 3).install("ManufacturerRootCertificate", root)) == "Accepted"


def test_without_a_security_module_everything_is_refused(root):
    m = Module(present=False)
    c = core(m)
    assert value(c.install("CSMSRootCertificate", root)) == "Rejected"
    assert value(c.delete(HASH)) == "Failed"
    assert value(c.installed([])) == ("NotFound", [])
    assert value(c.csr(country="DE", organization="o", common="c")) is None
    assert value(c.install_signed("pem")) == "Rejected"
    assert m.calls == []


def test_a_module_error_or_nonsense_answer_fails_the_request(root):
    m = Module()
    m.answers = {"install_ca_certificate": RuntimeError("boom"), "delete_certificate": "Maybe",
                 "get_installed_certificates": {"certificate_hash_data_chain": [{"oops": 1}]},
                 "generate_certificate_signing_request": 7}
    c = core(m)
    assert value(c.install("CSMSRootCertificate", root)) == "Rejected"
    assert value(c.delete(HASH)) == "Failed"
    assert value(c.installed([])) == ("NotFound", [])
    assert value(c.csr(country="DE", organization="o", common="c")) is None


def test_delete_maps_the_hash_data_both_ways():
    m = Module()
    m.answers["delete_certificate"] = "NotFound"
    assert value(core(m).delete(HASH)) == "NotFound"
    assert m.calls == [("delete_certificate", {"certificate_hash_data": SNAKE})]


def test_installed_ids_filter_by_type_and_map_chains():
    m = Module()
    child = {**SNAKE, "serial_number": "02"}
    m.answers["get_installed_certificates"] = {"status": "Accepted", "certificate_hash_data_chain": [
        {"certificate_type": "CSMSRootCertificate", "certificate_hash_data": SNAKE},
        {"certificate_type": "V2GCertificateChain", "certificate_hash_data": SNAKE,
         "child_certificate_hash_data": [child]}]}
    c = core(m)
    status, chains = value(c.installed(["CentralSystemRootCertificate"]))
    assert m.calls[-1] == ("get_installed_certificates", {"certificate_types": ["CSMSRootCertificate"]})
    assert (status, chains) == ("Accepted", [("CSMSRootCertificate", HASH, [])])
    status, chains = value(c.installed([]))
    assert [c[0] for c in chains] == ["CSMSRootCertificate", "V2GCertificateChain"]
    assert chains[1][2] == [{**HASH, "serialNumber": "02"}]
    assert value(c.installed(["ManufacturerRootCertificate"]))[0] == "NotFound"
    assert value(c.installed(["NoSuchType"])) == ("NotFound", [])


def test_csr_and_signed_certificate():
    m = Module()
    m.answers = {"generate_certificate_signing_request": {"status": "Accepted", "csr": "-----BEGIN CSR"},
                 "update_leaf_certificate": "InvalidCertificateChain"}
    c = core(m)
    assert value(c.csr(country="DE", organization="Org", common="CP1")) == "-----BEGIN CSR"
    assert m.calls[0] == ("generate_certificate_signing_request", {
        "certificate_type": "CSMS", "country": "DE", "organization": "Org", "common": "CP1", "use_tpm": False})
    assert value(c.install_signed("chain")) == "Rejected"
    m.answers["update_leaf_certificate"] = "Accepted"
    assert value(c.install_signed("chain")) == "Accepted"
    m.answers["generate_certificate_signing_request"] = {"status": "KeyGenError"}
    assert value(c.csr(country="DE", organization="Org", common="CP1")) is None
