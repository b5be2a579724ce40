"""Throw-away PKI for the TLS tests, made fresh per test run with the ``cryptography`` package.

Owns: a CSMS root CA and a second, unrelated CA; server certificates for the CSMS (valid for
127.0.0.1 and localhost, one expired, one for another host name, one from the other CA); a
charging-station client certificate from the CSMS CA (and one from the other CA); PEM files of
all of them in one folder; and the server/client ``ssl`` contexts the CSMS peer uses.
No protocol logic lives here.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from support.secrets_used import secret

KEY_PASSWORD = secret("station-key-pass-0451")


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ocpp-bridge tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _ca(cn: str) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return Issued(cert, key)


def _leaf(ca: Issued, cn: str, *, server: bool, hosts: tuple[str, ...] = (),
          expired: bool = False) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    start, end = ((now - dt.timedelta(days=30), now - dt.timedelta(days=1)) if expired
                  else (now - dt.timedelta(days=1), now + dt.timedelta(days=30)))
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                              critical=False))
    if hosts:
        names: list[x509.GeneralName] = []
        for h in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                names.append(x509.DNSName(h))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


class Pki:
    """Every certificate and key a TLS test needs, as PEM files under ``folder``."""

    def __init__(self, folder: Path, station_cn: str = "CP1") -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.ca = _ca("CSMS Root CA")
        self.other_ca = _ca("Some Other Root CA")
        local = ("127.0.0.1", "localhost")
        self._issued = {
            "server": _leaf(self.ca, "csms", server=True, hosts=local),
            "server_expired": _leaf(self.ca, "csms", server=True, hosts=local, expired=True),
            "server_wrong_host": _leaf(self.ca, "csms", server=True, hosts=("csms.example.invalid",)),
            "server_other_ca": _leaf(self.other_ca, "csms", server=True, hosts=local),
            "client": _leaf(self.ca, station_cn, server=False),
            "client_other_ca": _leaf(self.other_ca, station_cn, server=False),
        }
        self.ca_file = self._write("csms_ca.pem", _pem(self.ca.cert))
        self.other_ca_file = self._write("other_ca.pem", _pem(self.other_ca.cert))
        for name, issued in self._issued.items():
            self._write(f"{name}.pem", _pem(issued.cert) + _pem(self.ca.cert if name != "server_other_ca"
                                                                and name != "client_other_ca"
                                                                else self.other_ca.cert))
            self._write(f"{name}.key", _key_pem(issued.key))
        self.client_key_encrypted = self._write("client_encrypted.key", _key_pem(self._issued["client"].key,
                                                                                    KEY_PASSWORD))

    def _write(self, name: str, data: bytes) -> str:
        path = self.folder / name
        path.write_bytes(data)
        path.chmod(0o600)
        return str(path)

    def cert(self, name: str) -> str:
        return str(self.folder / f"{name}.pem")

    def key(self, name: str) -> str:
        return str(self.folder / f"{name}.key")

    def sign_csr(self, csr_pem: str) -> str:
        """What a CSMS's CA does with a SignCertificate: a client certificate for the request's
        subject and key, issued by the CSMS root, as a PEM chain (leaf, then root)."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(self.ca.cert.subject)
                .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(self.ca.key, hashes.SHA256()))
        return (_pem(cert) + _pem(self.ca.cert)).decode()

    def server_context(self, name: str = "server", *, client_ca: str | None = None,
                       optional: bool = False) -> ssl.SSLContext:
        """The CSMS side: present certificate ``name``; with ``client_ca``, require a client
        certificate issued by that CA (security profile 3), or with ``optional`` take a
        connection without one too (one CSMS for profiles 2 and 3)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert(name), self.key(name))
        if client_ca is not None:
            context.verify_mode = ssl.CERT_OPTIONAL if optional else ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=client_ca)
        return context
