"""A simulated EVerest ``evse_security`` module for the certificate-management tests, on an
EverestPeer (implementation ``main``), backed by real files and the run's PKI (support/certs.py).

It keeps a store of root certificates (``install_ca_certificate`` / ``get_installed_certificates``
/ ``delete_certificate``, each with the OCPP hash data computed from the certificate: SHA-256 of
the issuer's encoded name and of its public key, the serial number in hex), answers the TLS
file questions (``get_verify_file`` the CSMS CA file; ``get_leaf_certificate_info`` the station's
certificate and key), makes a signing request with a new key
(``generate_certificate_signing_request``), and installs a signed chain for that key
(``update_leaf_certificate``): from then on ``get_leaf_certificate_info`` gives the new pair.
No protocol logic lives here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support.certs import Pki

CA_TYPE_TO_ID = {"CSMS": "CSMSRootCertificate", "MF": "MFRootCertificate", "V2G": "V2GRootCertificate",
                 "MO": "MORootCertificate"}


def hash_data(pem: str) -> dict:
    """OCPP's CertificateHashData of a root (its issuer's key is its own)."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    bits = cert.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"hash_algorithm": "SHA256", "issuer_name_hash": hashlib.sha256(cert.issuer.public_bytes()).hexdigest(),
            "issuer_key_hash": hashlib.sha256(bits).hexdigest(), "serial_number": format(cert.serial_number, "x")}


class SecurityModule:
    def __init__(self, peer_factory, pki: Pki, folder: Path, module_id: str = "security_module") -> None:
        self.pki = pki
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.roots: list[tuple[str, str, dict]] = []   # (CertificateType, PEM, hash data)
        self.leaf = (pki.cert("client"), pki.key("client"))
        self._pending_key: ec.EllipticCurvePrivateKey | None = None
        self.peer = peer_factory(module_id=module_id)
        for cmd in ("install_ca_certificate", "get_installed_certificates", "delete_certificate",
                    "get_verify_file", "get_leaf_certificate_info", "generate_certificate_signing_request",
                    "update_leaf_certificate"):
            self.peer.implement("main", cmd, getattr(self, f"_{cmd}"))

    def calls(self, cmd: str) -> list[dict]:
        return [c["args"] for c in self.peer.calls_received("main", cmd)]

    def _install_ca_certificate(self, args: dict) -> str:
        kind = CA_TYPE_TO_ID[args["certificate_type"]]
        self.roots.append((kind, args["certificate"], hash_data(args["certificate"])))
        return "Accepted"

    def _get_installed_certificates(self, args: dict) -> dict:
        wanted = set(args.get("certificate_types") or [])
        chains = [{"certificate_type": kind, "certificate_hash_data": data}
                  for kind, _, data in self.roots if not wanted or kind in wanted]
        return {"status": "Accepted" if chains else "NotFound", "certificate_hash_data_chain": chains}

    def _delete_certificate(self, args: dict) -> str:
        before = len(self.roots)
        self.roots = [r for r in self.roots if r[2] != args["certificate_hash_data"]]
        return "Accepted" if len(self.roots) < before else "NotFound"

    def _get_verify_file(self, args: dict) -> str:
        return self.pki.ca_file

    def _get_leaf_certificate_info(self, args: dict) -> dict:
        cert, key = self.leaf
        return {"status": "Accepted", "info": {"key": key, "certificate": cert, "certificate_count": 2}}

    def _generate_certificate_signing_request(self, args: dict) -> dict:
        self._pending_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, args["country"]),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, args["organization"] or "none"),
                             x509.NameAttribute(NameOID.COMMON_NAME, args["common"])])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(self._pending_key, hashes.SHA256())
        return {"status": "Accepted", "csr": csr.public_bytes(serialization.Encoding.PEM).decode()}

    def _update_leaf_certificate(self, args: dict) -> str:
        if self._pending_key is None:
            return "InvalidCertificateChain"
        chain = args["certificate_chain"]
        cert = x509.load_pem_x509_certificates(chain.encode())[0]
        if cert.public_key().public_numbers() != self._pending_key.public_key().public_numbers():
            return "InvalidCertificateChain"
        cert_path, key_path = self.folder / "renewed.pem", self.folder / "renewed.key"
        cert_path.write_text(chain)
        key_path.write_bytes(self._pending_key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
        key_path.chmod(0o600)
        self.leaf = (str(cert_path), str(key_path))
        return "Accepted"
