"""Throw-away certificates for ``ocpp-bridge demo --security-profile 2|3`` (the ``cryptography`` package).

Owns: one demo root CA, a CSMS server certificate for 127.0.0.1 and localhost, and a charging
station certificate (common name: the charge point id) for mutual TLS, written as PEM files
(keys mode 0600) into the demo's temporary folder; and the CSMS's server ``ssl`` context.

Must never: be used outside the demo (the certificates live for one run), or write anywhere
but the folder it is given.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DemoPki:
    ca: str
    server_cert: str
    server_key: str
    station_cert: str
    station_key: str

    def server_context(self, require_client_cert: bool) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=self.ca)
        return context


def make_demo_pki(folder: Path, station_id: str) -> DemoPki:
    """RuntimeError when the ``cryptography`` package is missing (``pip install ocpp-bridge[demo]``)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise RuntimeError("the TLS demo needs the cryptography package: pip install 'ocpp-bridge[demo]'") from None

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)

    def name(cn: str) -> Any:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ocpp-bridge demo"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(file: str, data: bytes, secret: bool = False) -> str:
        path = folder / file
        path.write_bytes(data)
        if secret:
            path.chmod(0o600)
        return str(path)

    def key_pem(key: Any) -> bytes:
        return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("ocpp-bridge demo root")).issuer_name(name("ocpp-bridge demo root"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))

    def leaf(cn: str, usage: Any, hosts: list[Any]) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if hosts:
            builder = builder.add_extension(x509.SubjectAlternativeName(hosts), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), key_pem(key)

    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    server_pem, server_key = leaf("ocpp-bridge demo CSMS", ExtendedKeyUsageOID.SERVER_AUTH,
                                  [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    station_pem, station_key = leaf(station_id, ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return DemoPki(
        ca=write("csms_root_ca.pem", ca_pem),
        server_cert=write("csms_server.pem", server_pem + ca_pem),
        server_key=write("csms_server.key", server_key, secret=True),
        station_cert=write("station.pem", station_pem + ca_pem),
        station_key=write("station.key", station_key, secret=True),
    )
