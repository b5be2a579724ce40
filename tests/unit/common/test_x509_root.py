"""``x509_root.pem_is_root``: a self-issued CA certificate is a root; an intermediate, a leaf,
a self-signed certificate that is no CA, two certificates at once and anything that is not a
certificate are not. Certificates are made here with the ``cryptography`` package."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocpp_bridge.ocpp.common.x509_root import der_is_root, pem_is_root
from support.cert_factory import make


@pytest.fixture(scope="module")
def pki():
    root, root_key = make("Root CA")
    sub, sub_key = make("Sub CA", "Root CA", root_key)
    leaf, _ = make("leaf", "Sub CA", sub_key, ca=False)
    self_signed_leaf, _ = make("self", ca=False)
    no_constraints, _ = make("plain", ca=None)
    return {"root": root, "sub": sub, "leaf": leaf, "self_signed_leaf": self_signed_leaf,
            "no_constraints": no_constraints}


def test_a_root_ca_is_a_root(pki):
    assert pem_is_root(pki["root"])
    assert pem_is_root("\n" + pki["root"].replace("\n", "\r\n") + "\n")  # line endings do not matter


@pytest.mark.parametrize("which", ["sub", "leaf", "self_signed_leaf", "no_constraints"])
def test_others_are_not(pki, which):
    assert not pem_is_root(pki[which])


def test_two_certificates_or_none_are_not_a_root(pki):
    assert not pem_is_root(pki["root"] + pki["root"])
    assert not pem_is_root("")
    assert not pem_is_root("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----")
    assert not pem_is_root(pki["root"][:200] + "-----END CERTIFICATE-----")


@given(st.binary(max_size=300))
def test_never_raises_on_any_der(data):
    assert der_is_root(data) in (True, False)


@given(st.text(max_size=300))
def test_never_raises_on_any_text(text):
    assert pem_is_root("-----BEGIN CERTIFICATE-----\n" + text + "\n-----END CERTIFICATE-----") in (True, False)
