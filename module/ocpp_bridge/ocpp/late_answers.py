"""The answer a CSMS CALL gets when the module it waits on does not answer in time. PURE.

Some CSMS CALLs are answered only when another module has answered us (an evse_manager's
``force_unlock``, ``reserve`` / ``cancel_reservation``, the ``data_transfer`` module). The
station core bounds that wait (``StationCore.answer_timeout_s``, module option
``CsmsAnswerTimeoutS``) so that the CSMS hears from us before its own timeout; past the bound
it answers with the result below: what each version's specification gives for an outcome the
charge point cannot confirm.

- UnlockConnector -> UnlockFailed (1.6 UnlockStatus / 2.0.1 UnlockStatusEnumType: "failed to unlock").
- ReserveNow -> Rejected (1.6 ReservationStatus / 2.0.1 ReserveNowStatusEnumType: the
  reservation was not made; the block cancels a reservation the EVSE confirms too late).
- CancelReservation -> Rejected (the reservation could not be cancelled, as far as we know).
- DataTransfer -> Rejected (1.6 DataTransferStatus / 2.0.1 DataTransferStatusEnumType:
  "message has been accepted but the contained request is rejected").
- InstallCertificate and CertificateSigned -> Rejected, DeleteCertificate -> Failed,
  GetInstalledCertificateIds -> NotFound (the security module did not confirm anything).

- GetLog, SignedUpdateFirmware (1.6), UpdateFirmware (2.0.1) -> Rejected; GetDiagnostics (1.6)
  -> no fileName: the ``system`` module did not take the request (the firmware block also
  reports the failure status).
An action not listed here that still answers later gets the version's InternalError.

Must never: read a clock or know which block answers what.
"""

from __future__ import annotations

_BOTH_VERSIONS: dict[str, dict[str, str]] = {
    "UnlockConnector": {"status": "UnlockFailed"},
    "ReserveNow": {"status": "Rejected"},
    "CancelReservation": {"status": "Rejected"},
    "DataTransfer": {"status": "Rejected"},
    "InstallCertificate": {"status": "Rejected"},
    "CertificateSigned": {"status": "Rejected"},
    "DeleteCertificate": {"status": "Failed"},
    "GetInstalledCertificateIds": {"status": "NotFound"},
}

_SYSTEM = {  # the system module did not answer: the request is not taken
    "GetLog": {"status": "Rejected"},
}
LATE_ANSWERS: dict[str, dict[str, dict[str, str]]] = {
    "1.6": {**_BOTH_VERSIONS, **_SYSTEM, "SignedUpdateFirmware": {"status": "Rejected"}, "GetDiagnostics": {}},
    "2.0.1": {**_BOTH_VERSIONS, **_SYSTEM, "UpdateFirmware": {"status": "Rejected"}},
}


def late_answer(version: str, action: str) -> dict[str, str] | None:
    """The answer to ``action`` when the module it waits on is too late (a copy), or None."""
    answer = LATE_ANSWERS.get(version, {}).get(action)
    return dict(answer) if answer is not None else None
