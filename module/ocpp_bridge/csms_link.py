"""The connection to the CSMS as the engine uses it: the transport, the credentials, the writer.

Owns the websocket transport built from the module options (URL, the subprotocols to offer:
one version's, or with OcppVersion "auto" those of AutoOcppVersions in order; ping/pong;
RetryBackOff*), the number of the connection the engine knows is up (a frame is only ever
written on that one), and the HTTP Basic credentials: for security profile 1 the password the
CSMS stored (1.6 AuthorizationKey, 2.0.1 SecurityCtrlr.BasicAuthPassword) wins over the module
option BasicAuthPassword once there is one, survives a restart, and a change reconnects at once
(TC_073 / A01); security profile 2 sends the same Basic credentials over TLS, profile 3 none.
The TLS context of profiles 2 and 3 (``tls.client_context``) from the files found for it: the
module options CsmsCaBundle, CsmsLeafCertificate, CsmsLeafKey, PrivateKeyPassword, or what the
``security`` module named (``impls/security_link``). Every password and Basic token is handed to
the log ``Redactor`` before use.

The security profile in use (``profile``) is the module option's until a switch (1.6
``SecurityProfile`` key) changes it; ``use_profile`` points the transport at it: the URL's scheme
is ``wss`` for profiles 2 and 3 and the option's (``ws`` normally) below, its host, port and path
are CentralSystemURI's, and the Basic credentials and TLS context follow the profile.

Must never: parse OCPP, or block the engine (``send`` only queues).
"""

from __future__ import annotations

import logging
import random
from typing import Callable

from ocpp_bridge.config import Settings
from ocpp_bridge.ocpp.backoff import Backoff
from ocpp_bridge.ocpp.secrets import Redactor
from ocpp_bridge.ocpp.transport import Connected, WebSocketTransport, basic_auth_token
from ocpp_bridge.ocpp_versions import SUBPROTOCOL, offered_versions, version_of
from ocpp_bridge.tls import TlsFiles, TlsSetupError, client_context

log = logging.getLogger("ocpp_bridge.engine")


class CsmsLink:
    def __init__(self, settings: Settings, on_event: Callable[[object], None], secrets: Redactor,
                 stored_password: Callable[[], str | None], profile: int | None = None) -> None:
        """``on_event``: the engine's inbox; ``stored_password()``: the Basic-auth password the
        active station's CSMS stored, or None; ``profile``: the security profile to start with
        (default: the option's)."""
        self._settings = settings
        self._secrets = secrets
        self._stored_password = stored_password
        self.offered = offered_versions(settings.ocpp_version, str(settings["AutoOcppVersions"]))
        self.connection: int | None = None
        self.profile = int(settings["SecurityProfile"]) if profile is None else profile
        secrets.add(str(settings["BasicAuthPassword"]))
        secrets.add(str(settings["PrivateKeyPassword"]))
        self.transport = WebSocketTransport(
            self.url_for(self.profile), [SUBPROTOCOL[v] for v in self.offered], on_event,
            basic_auth=self.basic_auth(),
            ping_interval_s=float(settings["WebsocketPingIntervalS"]),
            pong_timeout_s=float(settings["WebsocketPongTimeoutS"]),
            backoff=Backoff(settings["RetryBackOffWaitMinimumS"], settings["RetryBackOffRandomRangeS"],
                            settings["RetryBackOffRepeatTimes"], random.Random()),
        )

    # ------------------------------------------------------------------ connection
    def connected(self, event: Connected) -> str:
        """The connection ``event`` is up; returns the OCPP version the CSMS picked."""
        self.connection = event.connection
        return version_of(event.subprotocol)

    def disconnected(self) -> None:
        self.connection = None

    def send(self, text: str) -> bool:
        """The station's writer: queue ``text`` for the connection we know is up (never blocks)."""
        connection = self.connection
        return connection is not None and self.transport.send(text, connection)

    # ------------------------------------------------------------------ Basic auth
    def basic_auth(self) -> tuple[str, str] | None:
        """(user, password) for security profiles 1 and 2 (see the module docstring), None otherwise."""
        if self.profile not in (1, 2):
            return None
        user = str(self._settings["ChargePointId"])
        stored = self._stored_password()
        password = stored if stored is not None else str(self._settings["BasicAuthPassword"])
        self._secrets.add(password)
        self._secrets.add(basic_auth_token(user, password))
        log.info("HTTP Basic auth as %s with the password %s", user,
                 "the CSMS set" if stored is not None else "of the module option BasicAuthPassword")
        return user, password

    def use_new_password(self) -> bool:
        """The CSMS stored a new password: use it from the next dial on. False while security
        profile 0 does not use one."""
        credentials = self.basic_auth()
        if credentials is None:
            log.info("Basic-auth password stored; not used while SecurityProfile is %d", self.profile)
            return False
        self.transport.set_basic_auth(*credentials)
        return True

    # ------------------------------------------------------------------ the profile
    def url_for(self, profile: int) -> str:
        url = self._settings.central_system_url
        scheme, sep, rest = url.partition("://")
        if not sep:
            return url
        return f"{'wss' if profile >= 2 else scheme}://{rest}"

    def use_profile(self, profile: int) -> None:
        """Dial with ``profile`` from the next dial on; for 2 and 3 the TLS files must be
        handed over (``use_tls_files``) before the transport dials again."""
        self.profile = profile
        self.transport.set_endpoint(self.url_for(profile), self.basic_auth(), None)
        log.info("security profile %d: dialling %s", profile, self.url_for(profile))

    # ------------------------------------------------------------------ TLS
    def tls_files_from_options(self) -> TlsFiles:
        """The files the module options name (used without a ``security`` connection)."""
        password = str(self._settings["PrivateKeyPassword"])
        return TlsFiles(str(self._settings["CsmsCaBundle"]), str(self._settings["CsmsLeafCertificate"]),
                        str(self._settings["CsmsLeafKey"]), password or None)

    def use_tls_files(self, files: TlsFiles) -> bool:
        """Build the TLS context of the current profile from ``files`` and dial with it from now
        on; False (logged, the transport keeps what it had) when the files are unusable."""
        if files.key_password:
            self._secrets.add(files.key_password)
        try:
            context = client_context(self.profile, files)
        except TlsSetupError as exc:
            log.error("TLS for security profile %d not usable: %s", self.profile, exc)
            return False
        self.transport.set_ssl_context(context)
        log.info("TLS for security profile %d: %s", self.profile, files.describe())
        return True
