"""OCPP 2.0.1 certificate management of the charging station — the 2.0.1 adapter of
``ocpp/common/certificates.py``. PURE.

Owns the CSMS's InstallCertificate, DeleteCertificate, GetInstalledCertificateIds (M03-M05) and
CertificateSigned, and the station's SignCertificate (A02/A03), with the variables that rule them:

- InstallCertificate: the common core's rules; a refusal carries statusInfo. Installing a
  CSMSRootCertificate or ManufacturerRootCertificate at security profile 0 or 1 needs
  InternalCtrlr.AllowCSMSRootCertInstallWithUnsecureConnection /
  AllowMFRootCertInstallWithUnsecureConnection (libocpp's names; false here by default, so a
  station that is to be upgraded to profile 2 or 3 needs its CSMS root installed beforehand or
  that variable set).
- GetInstalledCertificateIds: certificateType absent or empty asks for every type.
- SignCertificate (certificateType ChargingStationCertificate) goes out when the CSMS triggers
  it (TriggerMessage SignChargingStationCertificate: Accepted when a security module is
  connected, else Rejected) with a signing request from the security module: subject
  organization SecurityCtrlr.OrganizationName, common name SecurityCtrlr.Identity, country
  ISO15118Ctrlr.CountryName. Once the CSMS accepted it, a CertificateSigned is awaited for
  SecurityCtrlr.CertSigningWaitMinimum seconds; without one the request is sent again, at most
  CertSigningRepeatTimes times, the wait doubling each time (A02.FR.16-18). The same request goes
  out by itself when the certificate is about to expire (A03, ``common/leaf_renewal.py``).
- CertificateSigned: a chain longer than SecurityCtrlr.MaxCertificateChainSize characters is
  Rejected; ChargingStationCertificate (or none) installs the station's TLS certificate, a
  V2GCertificate is Rejected (ISO 15118 is not served); Accepted publishes
  ``LeafCertificateChanged`` (the engine reconnects with it at security profile 3).

Must never: hold certificates or keys, or read a clock.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp_bridge.deferred import mapped, now_or_later, status_answer
from ocpp_bridge.ocpp.common.certificates import TYPE_OF_ID_201, Certificates, announce_new_leaf
from ocpp_bridge.ocpp.common.leaf_renewal import LeafRenewal
from ocpp_bridge.ocpp.context import BlockContext
from ocpp_bridge.ocpp.outcome import Failure
from ocpp_bridge.ocpp.v201.core_variables import IDENTITY, ORGANIZATION_NAME, SECURITY_PROFILE
from ocpp_bridge.ocpp.v201.device_model import DeviceModel
from ocpp_bridge.ocpp.v201.dm_definitions import RO
from ocpp_bridge.ocpp.v201.remote_control import RemoteControlBlock
from ocpp_bridge.ocpp.v201.variables import boolean, integer, string

log = logging.getLogger("ocpp_bridge.ocpp.v201.certificates")

SECURITY, INTERNAL = "SecurityCtrlr", "InternalCtrlr"
MAX_CERTIFICATE_CHAIN_SIZE = integer(SECURITY, "MaxCertificateChainSize", 10000, mutability=RO, max_limit=10000)
CERT_SIGNING_WAIT_MINIMUM = integer(SECURITY, "CertSigningWaitMinimum", 60, min_limit=1)
CERT_SIGNING_REPEAT_TIMES = integer(SECURITY, "CertSigningRepeatTimes", 3)
COUNTRY_NAME = string("ISO15118Ctrlr", "CountryName", "DE", max_limit=2)
ALLOW_CSMS_ROOT_UNSECURE = boolean(INTERNAL, "AllowCSMSRootCertInstallWithUnsecureConnection", False)
ALLOW_MF_ROOT_UNSECURE = boolean(INTERNAL, "AllowMFRootCertInstallWithUnsecureConnection", False)
VARIABLES = (MAX_CERTIFICATE_CHAIN_SIZE, CERT_SIGNING_WAIT_MINIMUM, CERT_SIGNING_REPEAT_TIMES, COUNTRY_NAME,
             ALLOW_CSMS_ROOT_UNSECURE, ALLOW_MF_ROOT_UNSECURE)
SIGN_TIMER = "sign-certificate-retry"


class CertificatesBlock:
    def __init__(self, ctx: BlockContext[DeviceModel], remote_control: RemoteControlBlock) -> None:
        self.core = ctx.core
        self.model = ctx.config
        self.module = ctx.evse
        self.certificates = Certificates(ctx.evse, self._security_profile, self._allowed_unsecure,
                                         lambda: announce_new_leaf(self.core))
        self._attempt = 0
        for action, fn in (("InstallCertificate", self._on_install), ("DeleteCertificate", self._on_delete),
                           ("GetInstalledCertificateIds", self._on_get_ids),
                           ("CertificateSigned", self._on_signed)):
            self.core.handle(action, fn)
        remote_control.add_trigger("SignChargingStationCertificate", self._trigger_sign)
        self.renewal = LeafRenewal(self.core, ctx.evse, self._security_profile, self._renew)

    def _security_profile(self) -> int:
        return self.model.read(SECURITY_PROFILE)

    def _allowed_unsecure(self) -> set[str]:
        return ({"CSMS"} if self.model.read(ALLOW_CSMS_ROOT_UNSECURE) else set()) | \
               ({"MF"} if self.model.read(ALLOW_MF_ROOT_UNSECURE) else set())

    # ------------------------------------------------------------------ M05, M04, M03
    def _on_install(self, payload: dict[str, Any]) -> Any:
        kind, pem = payload["certificateType"], payload["certificate"]
        refusal = self.certificates.install_refusal(kind, pem)
        if refusal is not None:
            log.info("InstallCertificate %s: Rejected, %s", kind, refusal)
            return {"status": "Rejected", "statusInfo": {"reasonCode": "Unspecified", "additionalInfo": refusal[:512]}}
        return now_or_later(status_answer(self.certificates.install(kind, pem)))

    def _on_delete(self, payload: dict[str, Any]) -> Any:
        return now_or_later(status_answer(self.certificates.delete(payload["certificateHashData"])))

    def _on_get_ids(self, payload: dict[str, Any]) -> Any:
        def report(result: tuple[str, list[Any]]) -> dict[str, Any]:
            status, chains = result
            out: dict[str, Any] = {"status": status}
            if chains:
                out["certificateHashDataChain"] = [
                    {"certificateType": TYPE_OF_ID_201.get(kind, kind), "certificateHashData": data,
                     **({"childCertificateHashData": children} if children else {})}
                    for kind, data, children in chains]
            return out

        return now_or_later(mapped(self.certificates.installed(list(payload.get("certificateType") or [])), report))

    # ------------------------------------------------------------------ A02 / A03
    def _trigger_sign(self, evse: Any) -> str:
        if not self.module.security_present():
            return "Rejected"
        self._attempt = 0
        self.sign()
        return "Accepted"

    def _renew(self) -> None:
        """A03: the certificate is about to expire (``LeafRenewal``)."""
        self._attempt = 0
        self.sign()

    def sign(self) -> None:
        """Ask the security module for a signing request and send it (SignCertificate)."""
        def send(csr: Any, error: str | None) -> None:
            if not csr:
                log.warning("SignCertificate not sent: no signing request from the security module")
                return
            self.core.call("SignCertificate", {"csr": csr, "certificateType": "ChargingStationCertificate"},
                           self._sign_answered)

        self.certificates.csr(country=self.model.read(COUNTRY_NAME) or "",
                              organization=self.model.read(ORGANIZATION_NAME) or "",
                              common=self.model.read(IDENTITY) or "").then(send)

    def _sign_answered(self, payload: dict[str, Any] | None, failure: Failure | None) -> None:
        if payload is None or payload.get("status") != "Accepted":
            log.warning("SignCertificate not accepted: %s", failure if payload is None else payload.get("statusInfo"))
            return
        wait = self.model.read(CERT_SIGNING_WAIT_MINIMUM) * 2 ** self._attempt
        self.core.timers.set(SIGN_TIMER, self.core.now + wait, self._no_certificate_yet)

    def _no_certificate_yet(self) -> None:
        if self._attempt >= self.model.read(CERT_SIGNING_REPEAT_TIMES):
            log.warning("no CertificateSigned after %d SignCertificate requests: giving up", self._attempt + 1)
            return
        self._attempt += 1
        log.info("no CertificateSigned yet: SignCertificate again (%d)", self._attempt)
        self.sign()

    def _on_signed(self, payload: dict[str, Any]) -> Any:
        chain, kind = payload["certificateChain"], payload.get("certificateType", "ChargingStationCertificate")
        if len(chain) > self.model.read(MAX_CERTIFICATE_CHAIN_SIZE):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "TooLargeElement"}}
        if kind != "ChargingStationCertificate":
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnsupportedRequest",
                                                         "additionalInfo": "ISO 15118 certificates are not served"}}
        self.core.timers.cancel(SIGN_TIMER)
        return now_or_later(status_answer(self.certificates.install_signed(chain)))

