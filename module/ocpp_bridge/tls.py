"""The TLS client context for security profiles 2 and 3, built from certificate and key files.

Owns: the rules of OCPP's security profiles for the TLS side of the websocket (OCPP 1.6
security whitepaper, 2.0.1 part 2 A00): TLS 1.2 or higher, the server's certificate verified
against the CSMS root certificates (a CA bundle file or a directory of them), the host name
checked against it, for TLS 1.2 the AES-GCM cipher suites the specs name, and for profile 3 the
charging station's certificate (chain) and private key for mutual TLS. ``TlsFiles`` says where
those files are, whichever side found them (module options or the ``evse_security`` module).

Must never: open sockets, fall back to the system's trust store or to no verification, or
log a private key's password. A file that is missing or unusable is a ``TlsSetupError`` whose
message names the file and what is wrong, never a half-built context.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass

# TLS 1.2 suites of 2.0.1 part 2 A00 and the 1.6 whitepaper: ECDHE with ECDSA or RSA and AES-GCM,
# plus the RSA key-exchange AES-GCM pair the specs keep for older CSMSs. TLS 1.3's suites are all
# AEAD and are not restricted by this list.
TLS12_CIPHERS = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
    "AES128-GCM-SHA256", "AES256-GCM-SHA384",
))

# the 1.6 whitepaper's and 2.0.1's names of the event raised when the CSMS's certificate fails
INVALID_CSMS_CERTIFICATE = {"1.6": "InvalidCentralSystemCertificate", "2.0.1": "InvalidCsmsCertificate"}


class TlsSetupError(Exception):
    """The files for a TLS context are missing or unusable (the message says which and why)."""


@dataclass(frozen=True)
class TlsFiles:
    """Where the CSMS roots and (profile 3) the station's certificate and key are."""
    csms_roots: str                  # a PEM bundle file, or a directory of hashed CA files
    certificate: str = ""            # PEM chain: the station's certificate first
    key: str = ""                    # PEM private key of that certificate
    key_password: str | None = None  # the key's password when it is encrypted

    def describe(self) -> str:
        """For the log: the paths, never the password."""
        leaf = f", certificate {self.certificate}, key {self.key}" if self.certificate else ""
        return f"CSMS roots {self.csms_roots}{leaf}"


def uses_tls(profile: int) -> bool:
    return profile >= 2


def client_context(profile: int, files: TlsFiles) -> ssl.SSLContext:
    """The context for dialling a ``wss://`` CSMS at security profile 2 or 3."""
    if profile not in (2, 3):
        raise TlsSetupError(f"security profile {profile} does not use TLS client settings")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, check_hostname on
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    _load_roots(context, files.csms_roots)
    if profile == 3:
        _load_leaf(context, files)
    return context


def _load_roots(context: ssl.SSLContext, where: str) -> None:
    if not where:
        raise TlsSetupError("no CSMS root certificates configured (a CA bundle file or directory)")
    try:
        if os.path.isdir(where):
            context.load_verify_locations(capath=where)
        elif os.path.isfile(where):
            context.load_verify_locations(cafile=where)
        else:
            raise TlsSetupError(f"CSMS root certificates {where!r}: no such file or directory")
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise TlsSetupError(f"CSMS root certificates {where!r} unusable: {exc}") from None
    if os.path.isfile(where) and not context.get_ca_certs():
        raise TlsSetupError(f"CSMS root certificates {where!r} hold no CA certificate")


def _load_leaf(context: ssl.SSLContext, files: TlsFiles) -> None:
    if not files.certificate or not files.key:
        raise TlsSetupError("security profile 3 needs the charging station's certificate and its key")
    for name, path in (("certificate", files.certificate), ("key", files.key)):
        if not os.path.isfile(path):
            raise TlsSetupError(f"charging station {name} {path!r}: no such file")
    try:
        context.load_cert_chain(files.certificate, files.key, password=files.key_password or None)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise TlsSetupError(f"charging station certificate {files.certificate!r} with key {files.key!r} "
                            f"unusable: {type(exc).__name__}") from None


def is_certificate_failure(exc: BaseException) -> bool:
    """The TLS handshake failed because the CSMS's certificate did not verify (wrong CA,
    expired, wrong host name): not a network error."""
    return isinstance(exc, ssl.SSLCertVerificationError)
