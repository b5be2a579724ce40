"""OCPP 1.6 certificate management (Improved security whitepaper: InstallCertificate,
DeleteCertificate, GetInstalledCertificateIds, CertificateSigned, SignCertificate) — the 1.6
adapter of ``ocpp/common/certificates.py``. PURE.

Owns the whitepaper's keys and the 1.6 shapes:
- InstallCertificate (CentralSystemRootCertificate, ManufacturerRootCertificate): the common
  core's rules; a root over a connection without TLS (SecurityProfile 0 or 1) needs
  AllowCSMSRootCertInstallWithUnsecureConnection / AllowMFRootCertInstallWithUnsecureConnection
  (libocpp's names; false by default). Accepted, Rejected or Failed.
- GetInstalledCertificateIds (one certificateType): the flat ``certificateHashData`` list.
- SignCertificate: ``sign()`` (ExtendedTriggerMessage SignChargePointCertificate calls it:
  Accepted with a security module connected, else Rejected) asks
  the security module for a signing request, subject organization CpoName, common name the
  charge point's serial number (ChargePointSerialNumber; without one its ChargePointId, the
  identity a CSMS compares it with), country ``CSR_COUNTRY``, and sends it; it also goes out by
  itself when the certificate is about to expire (``common/leaf_renewal.py``).
- CertificateSigned: a chain longer than CertificateSignedMaxChainSize characters is Rejected;
  else the security module installs it as the charge point's certificate: Accepted publishes
  ``LeafCertificateChanged`` (the engine reconnects with it at SecurityProfile 3).

Must never: hold certificates or keys, or read a clock.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp_bridge.deferred import mapped, now_or_later, status_answer
from ocpp_bridge.ocpp.common.certificates import TYPE_OF_ID_16, Certificates, announce_new_leaf
from ocpp_bridge.ocpp.common.leaf_renewal import LeafRenewal
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.outcome import Failure
from ocpp_bridge.ocpp.v16.configuration import ConfigurationKeys
from ocpp_bridge.ocpp.v16.core_keys import SECURITY_PROFILE
from ocpp_bridge.ocpp.v16.extended_trigger import ExtendedTrigger16
from ocpp_bridge.ocpp.v16.keys import RW, flag, limit, text

log = logging.getLogger("ocpp_bridge.ocpp.v16.certificates")

CPO_NAME = text("CpoName", access=RW, maximum=64)
CERTIFICATE_SIGNED_MAX_CHAIN_SIZE = limit("CertificateSignedMaxChainSize", 10000)
CERTIFICATE_STORE_MAX_LENGTH = limit("CertificateStoreMaxLength", 20)
ADDITIONAL_ROOT_CERTIFICATE_CHECK = flag("AdditionalRootCertificateCheck", False, access="R")
ALLOW_CSMS_ROOT_UNSECURE = flag("AllowCSMSRootCertInstallWithUnsecureConnection", False)
ALLOW_MF_ROOT_UNSECURE = flag("AllowMFRootCertInstallWithUnsecureConnection", False)
KEYS = (CPO_NAME, CERTIFICATE_SIGNED_MAX_CHAIN_SIZE, CERTIFICATE_STORE_MAX_LENGTH, ADDITIONAL_ROOT_CERTIFICATE_CHECK,
        ALLOW_CSMS_ROOT_UNSECURE, ALLOW_MF_ROOT_UNSECURE)
CSR_COUNTRY = "DE"  # 1.6 names no key for it


class Certificates16:
    def __init__(self, ctx: BlockContext[ConfigurationKeys], serial_number: str,
                 extended_trigger: ExtendedTrigger16) -> None:
        self.core = ctx.core
        self.keys = ctx.config
        self.serial_number = serial_number
        self.module = ctx.evse
        self.certificates = Certificates(ctx.evse, lambda: self.keys.read(SECURITY_PROFILE), self._allowed_unsecure,
                                         lambda: announce_new_leaf(self.core))
        for action, fn in (("InstallCertificate", self._on_install), ("DeleteCertificate", self._on_delete),
                           ("GetInstalledCertificateIds", self._on_get_ids),
                           ("CertificateSigned", self._on_signed)):
            self.core.handle(action, fn)
        extended_trigger.add("SignChargePointCertificate", self._trigger_sign)
        self.renewal = LeafRenewal(self.core, ctx.evse, lambda: self.keys.read(SECURITY_PROFILE), self.sign)

    def _allowed_unsecure(self) -> set[str]:
        return ({"CSMS"} if self.keys.read(ALLOW_CSMS_ROOT_UNSECURE) else set()) | \
               ({"MF"} if self.keys.read(ALLOW_MF_ROOT_UNSECURE) else set())

    def _on_install(self, payload: dict[str, Any]) -> Any:
        return now_or_later(status_answer(self.certificates.install(payload["certificateType"], payload["certificate"])))

    def _on_delete(self, payload: dict[str, Any]) -> Any:
        return now_or_later(status_answer(self.certificates.delete(payload["certificateHashData"])))

    def _on_get_ids(self, payload: dict[str, Any]) -> Any:
        def report(result: tuple[str, list[Any]]) -> dict[str, Any]:
            status, chains = result
            roots = [data for kind, data, _ in chains if kind in TYPE_OF_ID_16]
            return {"status": status, **({"certificateHashData": roots} if roots else {})}

        return now_or_later(mapped(self.certificates.installed([payload["certificateType"]]), report))

    # ------------------------------------------------------------------ the charge point's certificate
    def can_sign(self) -> bool:
        return self.module.security_present()

    def _trigger_sign(self, connector: int | None) -> str:
        """ExtendedTriggerMessage SignChargePointCertificate: Accepted (and sent) with a security
        module, else Rejected."""
        if not self.can_sign():
            return "Rejected"
        self.sign()
        return "Accepted"

    def sign(self) -> None:
        """Ask the security module for a signing request and send it (SignCertificate)."""
        def send(csr: Any, error: str | None) -> None:
            if not csr:
                log.warning("SignCertificate not sent: no signing request from the security module")
                return
            self.core.call("SignCertificate", {"csr": csr}, self._sign_answered)

        self.certificates.csr(country=CSR_COUNTRY, organization=self.keys.read(CPO_NAME) or "",
                              common=self.serial_number).then(send)

    @staticmethod
    def _sign_answered(payload: dict[str, Any] | None, failure: Failure | None) -> None:
        if payload is None or payload.get("status") != "Accepted":
            log.warning("SignCertificate not accepted: %s", failure if payload is None else payload)

    def _on_signed(self, payload: dict[str, Any]) -> Any:
        chain = payload["certificateChain"]
        if len(chain) > self.keys.read(CERTIFICATE_SIGNED_MAX_CHAIN_SIZE):
            log.info("CertificateSigned: Rejected, the chain is longer than CertificateSignedMaxChainSize")
            return {"status": "Rejected"}
        return now_or_later(status_answer(self.certificates.install_signed(chain)))

