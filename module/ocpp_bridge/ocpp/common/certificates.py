"""Certificate management for both OCPP versions, through EVerest's ``evse_security`` module.
PURE.

Owns what the station asks of the security module and how its answers become OCPP answers,
for the messages both versions share (1.6 security whitepaper, 2.0.1 A02/A03, M03-M05):

- InstallCertificate: the OCPP certificate type -> EVerest ``CaCertificateType`` (``CA_TYPES``);
  refused (Rejected) before the module is asked when the certificate is not one root CA
  certificate (``x509_root``: EVerest #2109), when a CSMS or manufacturer root would be installed
  over a connection without TLS (security profile 0 or 1) and the station does not allow it
  (libocpp #857; ``allow_unsecure`` names the CA types allowed anyway), or when no security
  module is connected. ``install_ca_certificate``'s ``InstallCertificateResult``: Accepted ->
  Accepted; WriteError and CertificateStoreMaxLengthExceeded -> Failed (the store, not the
  certificate); every other result -> Rejected.
- DeleteCertificate: ``certificateHashData`` (camelCase) -> ``certificate_hash_data``;
  ``delete_certificate``'s Accepted / Failed / NotFound are OCPP's own names.
- GetInstalledCertificateIds: OCPP types -> EVerest ``CertificateType`` (``ID_TYPES``); the
  module's ``certificate_hash_data_chain`` -> OCPP's ``certificateHashDataChain`` (2.0.1) or the
  flat ``certificateHashData`` list (1.6, root certificates only); Accepted / NotFound.
- The charging station's own certificate (leaf type CSMS): ``csr`` asks the module for a
  signing request (``generate_certificate_signing_request``); CertificateSigned installs the
  chain (``update_leaf_certificate``): Accepted, else Rejected.

A module that does not answer, answers an error or answers something unusable makes the
request fail the way a refusal does (Rejected / Failed / NotFound), with a log line.

Must never: read or write a certificate file, or know a version's message shapes beyond the
names above (the adapters build the payloads).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from ocpp_bridge.deferred import Deferred
from ocpp_bridge.ocpp.common.x509_root import pem_is_root
from ocpp_bridge.ocpp.events import LeafCertificateChanged

if TYPE_CHECKING:
    from ocpp_bridge.ocpp.station import StationCore

log = logging.getLogger("ocpp_bridge.ocpp.certificates")

Done = Callable[[Any, "str | None"], None]

CA_TYPES = {  # InstallCertificate's certificateType -> CaCertificateType
    "CentralSystemRootCertificate": "CSMS",  # 1.6
    "CSMSRootCertificate": "CSMS",  # 2.0.1
    "ManufacturerRootCertificate": "MF",
    "V2GRootCertificate": "V2G",
    "MORootCertificate": "MO",
}
ID_TYPES = {  # GetInstalledCertificateIds' certificateType -> CertificateType
    "CentralSystemRootCertificate": "CSMSRootCertificate",  # 1.6
    "CSMSRootCertificate": "CSMSRootCertificate",
    "ManufacturerRootCertificate": "MFRootCertificate",
    "V2GRootCertificate": "V2GRootCertificate",
    "MORootCertificate": "MORootCertificate",
    "V2GCertificateChain": "V2GCertificateChain",
}
TYPE_OF_ID_201 = {  # CertificateType -> 2.0.1 GetCertificateIdUseEnumType
    "CSMSRootCertificate": "CSMSRootCertificate", "MFRootCertificate": "ManufacturerRootCertificate",
    "V2GRootCertificate": "V2GRootCertificate", "MORootCertificate": "MORootCertificate",
    "V2GCertificateChain": "V2GCertificateChain"}
TYPE_OF_ID_16 = {"CSMSRootCertificate": "CentralSystemRootCertificate",
                 "MFRootCertificate": "ManufacturerRootCertificate"}
UNSECURE_GUARDED = frozenset({"CSMS", "MF"})  # CA types not installed over a connection without TLS
STORE_FAILURES = frozenset({"WriteError", "CertificateStoreMaxLengthExceeded"})
LEAF = "CSMS"  # the LeafCertificateType of the station's own (TLS client) certificate
_HASH_FIELDS = (("hashAlgorithm", "hash_algorithm"), ("issuerNameHash", "issuer_name_hash"),
                ("issuerKeyHash", "issuer_key_hash"), ("serialNumber", "serial_number"))


class SecurityModule(Protocol):
    """The ``evse_security`` connection as the OCPP side sees it (the bus side implements it)."""

    def security_present(self) -> bool: ...

    def security_call(self, cmd: str, args: dict[str, Any], done: Done) -> None: ...


LEAF_TIMER = "leaf-certificate-changed"


def announce_new_leaf(core: StationCore) -> None:
    """``LeafCertificateChanged``, once our CertificateSigned answer has gone out (a timer due
    now runs after this step): the engine may reconnect with the new certificate then."""
    core.timers.set(LEAF_TIMER, core.now, lambda: core.events.publish(LeafCertificateChanged()))


def hash_data_to_everest(camel: dict[str, Any]) -> dict[str, Any]:
    return {snake: camel[key] for key, snake in _HASH_FIELDS}


def hash_data_to_ocpp(snake: dict[str, Any]) -> dict[str, Any]:
    return {key: snake[field] for key, field in _HASH_FIELDS}


class Refused(Exception):
    """A request refused before the security module is asked; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Certificates:
    """The requests of certificate management, each answered through a ``Deferred`` resolved
    with the OCPP status (and, for the ids, the chains)."""

    def __init__(self, module: SecurityModule, security_profile: Callable[[], int],
                 allow_unsecure: Callable[[], Iterable[str]] = frozenset,
                 leaf_installed: Callable[[], None] = lambda: None) -> None:
        """``leaf_installed()``: called once a CertificateSigned chain is installed."""
        self.module = module
        self.security_profile = security_profile
        self.allow_unsecure = allow_unsecure
        self.leaf_installed = leaf_installed

    def _call(self, cmd: str, args: dict[str, Any], read: Callable[[Any], Any], failed: Any) -> Deferred:
        answer = Deferred()
        if not self.module.security_present():
            log.info("%s: no security module connected", cmd)
            answer.resolve(failed)
            return answer

        def finished(value: Any, error: str | None) -> None:
            if error is not None:
                log.warning("%s failed in the security module: %s", cmd, error)
                answer.resolve(failed)
                return
            try:
                answer.resolve(read(value))
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                log.warning("%s: unusable answer from the security module (%s): %r", cmd, exc, value)
                answer.resolve(failed)

        self.module.security_call(cmd, args, finished)
        return answer

    # ------------------------------------------------------------------ root certificates
    def install_refusal(self, certificate_type: str, pem: str) -> str | None:
        """Why InstallCertificate is Rejected before the security module is asked (None: it is asked)."""
        ca_type = CA_TYPES.get(certificate_type)
        if ca_type is None:
            return f"certificate type {certificate_type} is not supported"
        if not self.module.security_present():
            return "no security module is connected"
        if ca_type in UNSECURE_GUARDED and self.security_profile() <= 1 and ca_type not in set(self.allow_unsecure()):
            return f"a {certificate_type} is not installed over a connection without TLS (security profile <= 1)"
        if not pem_is_root(pem):
            return "the certificate is not one root CA certificate (self-issued, basicConstraints CA)"
        return None

    def install(self, certificate_type: str, pem: str) -> Deferred:
        """InstallCertificate: Accepted, Rejected or Failed."""
        refusal = self.install_refusal(certificate_type, pem)
        if refusal is not None:
            log.info("InstallCertificate %s: Rejected, %s", certificate_type, refusal)
            return Deferred.resolved("Rejected")

        def read(result: Any) -> str:
            if not isinstance(result, str):
                raise TypeError("not an InstallCertificateResult")
            log.info("InstallCertificate %s: the security module says %s", certificate_type, result)
            return "Accepted" if result == "Accepted" else "Failed" if result in STORE_FAILURES else "Rejected"

        return self._call("install_ca_certificate", {"certificate": pem, "certificate_type": CA_TYPES[certificate_type]},
                          read, "Rejected")

    def delete(self, hash_data: dict[str, Any]) -> Deferred:
        """DeleteCertificate: Accepted, Failed or NotFound."""
        def read(result: Any) -> str:
            if result not in ("Accepted", "Failed", "NotFound"):
                raise ValueError("not a DeleteCertificateResult")
            return str(result)

        return self._call("delete_certificate", {"certificate_hash_data": hash_data_to_everest(hash_data)}, read,
                          "Failed")

    def installed(self, certificate_types: list[str]) -> Deferred:
        """GetInstalledCertificateIds: resolves to (status, chains), each chain
        (EVerest CertificateType, OCPP hash data, [child hash data])."""
        wanted = [ID_TYPES[t] for t in certificate_types if t in ID_TYPES]
        if certificate_types and not wanted:
            return Deferred.resolved(("NotFound", []))

        def read(result: Any) -> tuple[str, list[tuple[str, dict[str, Any], list[dict[str, Any]]]]]:
            chains = [(c["certificate_type"], hash_data_to_ocpp(c["certificate_hash_data"]),
                       [hash_data_to_ocpp(h) for h in c.get("child_certificate_hash_data") or []])
                      for c in result.get("certificate_hash_data_chain") or []]
            if wanted:
                chains = [c for c in chains if c[0] in wanted]
            return ("Accepted" if chains else "NotFound"), chains

        return self._call("get_installed_certificates", {"certificate_types": wanted}, read, ("NotFound", []))

    # ------------------------------------------------------------------ the station's own certificate
    def csr(self, *, country: str, organization: str, common: str) -> Deferred:
        """A signing request (PEM) for the station's certificate; resolves to it, or None."""
        def read(result: Any) -> str | None:
            if result.get("status") != "Accepted" or not isinstance(result.get("csr"), str):
                log.warning("the security module made no signing request: %s", result.get("status"))
                return None
            return str(result["csr"])

        return self._call("generate_certificate_signing_request",
                          {"certificate_type": LEAF, "country": country, "organization": organization,
                           "common": common, "use_tpm": False}, read, None)

    def install_signed(self, chain: str) -> Deferred:
        """CertificateSigned (the station's certificate): Accepted (and ``leaf_installed()``) or Rejected."""
        def read(result: Any) -> str:
            log.info("CertificateSigned: the security module says %s", result)
            if result != "Accepted":
                return "Rejected"
            self.leaf_installed()
            return "Accepted"

        return self._call("update_leaf_certificate", {"certificate_chain": chain, "certificate_type": LEAF}, read,
                          "Rejected")

