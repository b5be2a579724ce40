"""Whether a PEM certificate is a root CA certificate. PURE.

Owns a minimal DER reading of X.509 (RFC 5280 §4.1): the certificate's ``tbsCertificate``, its
issuer and subject Names (compared as encoded) and the basicConstraints extension
(2.5.29.19). A certificate is a root here when it is self-issued (issuer == subject) and a CA
(basicConstraints cA TRUE) — what InstallCertificate must be given (an intermediate or a leaf
offered as a root is refused: EVerest #2109, such a certificate can then be neither listed nor
deleted). The signature is not verified here (the security module does that when it installs).

Must never: raise on any input (a text that is not one PEM certificate is simply not a root).
"""

from __future__ import annotations

import base64
import binascii
import re

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----")
_BASIC_CONSTRAINTS = bytes.fromhex("551d13")  # 2.5.29.19
SEQUENCE, BOOLEAN, OID, OCTET_STRING = 0x30, 0x01, 0x06, 0x04
EXPLICIT_0, EXPLICIT_3 = 0xA0, 0xA3


class _Bad(Exception):
    pass


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, value start, value end) of the element at ``pos`` (before ``end``)."""
    if pos + 2 > end:
        raise _Bad("truncated")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise _Bad("bad length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > end:
        raise _Bad("truncated value")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, value start, value end) of each element in ``data[start:end]``."""
    out, pos = [], start
    while pos < end:
        tag, vstart, vend = _tlv(data, pos, end)
        out.append((tag, pos, vstart, vend))
        pos = vend
    return out


def _is_ca(data: bytes, extensions: tuple[int, int]) -> bool:
    (tag, _, start, end), = _children(data, *extensions)  # SEQUENCE OF Extension
    if tag != SEQUENCE:
        raise _Bad("extensions")
    for ext_tag, _, ext_start, ext_end in _children(data, start, end):
        parts = _children(data, ext_start, ext_end)
        if ext_tag != SEQUENCE or not parts or parts[0][0] != OID:
            raise _Bad("extension")
        if data[parts[0][2]:parts[0][3]] != _BASIC_CONSTRAINTS:
            continue
        value = parts[-1]
        if value[0] != OCTET_STRING:
            raise _Bad("extnValue")
        (bc_tag, _, bc_start, bc_end), = _children(data, value[2], value[3])
        fields = _children(data, bc_start, bc_end) if bc_tag == SEQUENCE else []
        return bool(fields) and fields[0][0] == BOOLEAN and data[fields[0][2]:fields[0][3]] != b"\x00"
    return False


def der_is_root(der: bytes) -> bool:
    """The DER certificate is self-issued and a CA."""
    try:
        (cert_tag, _, cert_start, cert_end), = _children(der, 0, len(der))
        tbs_tag, _, tbs_start, tbs_end = _children(der, cert_start, cert_end)[0]
        if cert_tag != SEQUENCE or tbs_tag != SEQUENCE:
            return False
        fields = _children(der, tbs_start, tbs_end)
        if fields and fields[0][0] == EXPLICIT_0:
            fields = fields[1:]                       # the version
        if len(fields) < 6:
            return False
        issuer, subject = fields[2], fields[4]        # serial, signature, issuer, validity, subject
        if der[issuer[1]:issuer[3]] != der[subject[1]:subject[3]]:
            return False
        extensions = next(((f[2], f[3]) for f in fields[6:] if f[0] == EXPLICIT_3), None)
        return extensions is not None and _is_ca(der, extensions)
    except (_Bad, ValueError, IndexError):
        return False


def pem_is_root(pem: object) -> bool:
    """``pem`` is a text holding exactly one certificate, and it is a root CA certificate."""
    if not isinstance(pem, str):
        return False
    found = _PEM.findall(pem)
    if len(found) != 1:
        return False
    try:
        der = base64.b64decode("".join(found[0].split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return der_is_root(der)
