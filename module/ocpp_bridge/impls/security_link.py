"""The ``security`` module on the bus (EVerest's ``evse_security`` interface), seen from the OCPP side.

Owns every call of the security module: ``call`` for certificate management (the OCPP side's
``security_call``, bounded by CsmsAnswerTimeoutS since a CSMS waits on the answer), and the
calls that find the TLS files for security profiles 2 and 3, as EVerest's OCPP module asks its
security module: ``get_verify_file`` (certificate_type CSMS) for the bundle of CSMS
root certificates, and for profile 3 ``get_leaf_certificate_info`` (certificate_type CSMS,
encoding PEM) for the charging station's certificate chain and private key. The answer is a
``TlsFiles`` or the reason there is none.

Must never: read or check the files (``tls`` does), log a key's password, or decide when to
ask (the engine does, before each start of the connection).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from ocpp_bridge.tls import TlsFiles

if TYPE_CHECKING:
    from ocpp_bridge.engine import Engine

log = logging.getLogger("ocpp_bridge.security")

REQ = "security"
CALL_TIMEOUT_S = 10.0

Done = Callable[[TlsFiles | None, str | None], None]  # (files, None) or (None, why not)


class SecurityLink:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def present(self) -> bool:
        return bool(self.engine.settings.connections.get(REQ))

    def call(self, cmd: str, args: dict[str, Any], done: Callable[[Any, str | None], None]) -> None:
        """``cmd`` of the security module: ``done(result, None)`` or ``done(None, error)``."""
        def finished(retval: Any, error: tuple[str, str] | None) -> None:
            done(retval, None if error is None else f"{error[0]}: {error[1]}")
        self.engine.call_required(REQ, 0, cmd, args, finished,
                                  timeout_s=float(self.engine.settings["CsmsAnswerTimeoutS"]))

    def tls_files(self, profile: int, done: Done) -> None:
        """``done(files, None)`` with the files for ``profile`` (2 or 3), or ``done(None, why)``."""
        def got_roots(retval: Any, error: tuple[str, str] | None) -> None:
            if error is not None or not isinstance(retval, str) or not retval:
                done(None, f"get_verify_file(CSMS) gave no CA bundle ({error or repr(retval)})")
                return
            if profile < 3:
                done(TlsFiles(retval), None)
                return
            self.engine.call_required(REQ, 0, "get_leaf_certificate_info",
                                      {"certificate_type": "CSMS", "encoding": "PEM", "include_ocsp": False},
                                      lambda r, e: got_leaf(retval, r, e), timeout_s=CALL_TIMEOUT_S)

        def got_leaf(roots: str, retval: Any, error: tuple[str, str] | None) -> None:
            if error is not None or not isinstance(retval, dict):
                done(None, f"get_leaf_certificate_info(CSMS) failed ({error or repr(retval)})")
                return
            status, info = retval.get("status"), retval.get("info")
            if status != "Accepted" or not isinstance(info, dict):
                done(None, f"get_leaf_certificate_info(CSMS) status {status}")
                return
            chain = info.get("certificate") or info.get("certificate_single") or ""
            password = info.get("password")
            done(TlsFiles(roots, str(chain), str(info.get("key") or ""),
                          str(password) if password else None), None)

        self.engine.call_required(REQ, 0, "get_verify_file", {"certificate_type": "CSMS"}, got_roots,
                                  timeout_s=CALL_TIMEOUT_S)
