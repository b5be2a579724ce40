"""The TLS client context of security profiles 2 and 3 (ocpp_bridge.tls), against real TLS
handshakes on loopback with certificates made in this run (tests/support/certs.py): a good
server certificate verifies, a wrong CA / an expired certificate / a wrong host name are
certificate failures, TLS below 1.2 and TLS 1.2 without an AES-GCM suite are refused, profile 3
presents the station's certificate, and unusable files are a clear error (never a context
without verification)."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest

from ocpp_bridge.tls import TlsFiles, TlsSetupError, client_context, is_certificate_failure
from support.certs import KEY_PASSWORD, Pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


class OneShotServer:
    """Accepts one TLS connection with ``context`` and records what the handshake gave."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.peer_cert: dict | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(5)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                self.peer_cert = tls.getpeercert()
                tls.recv(1)
        except (OSError, ssl.SSLError) as exc:
            self.error = exc
        finally:
            self.listener.close()


def dial(context: ssl.SSLContext, port: int, host: str = "127.0.0.1") -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def test_profile_2_verifies_the_server_and_its_host_name_with_tls_1_2_or_higher(pki):
    context = client_context(2, TlsFiles(pki.ca_file))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    server = OneShotServer(pki.server_context())
    with dial(context, server.port) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert dict(x[0] for x in tls.getpeercert()["subject"])["commonName"] == "csms"
        tls.sendall(b"x")
    server.thread.join(5)
    assert server.error is None and not server.peer_cert  # profile 2 presents no client certificate


@pytest.mark.parametrize("server_cert, host, why", [
    ("server_other_ca", "127.0.0.1", "self-signed certificate in certificate chain"),
    ("server_expired", "127.0.0.1", "certificate has expired"),
    ("server_wrong_host", "127.0.0.1", "IP address mismatch"),
    ("server", "127.0.0.2", "IP address mismatch"),
])
def test_a_server_certificate_that_does_not_verify_is_a_certificate_failure(pki, server_cert, host, why):
    context = client_context(2, TlsFiles(pki.ca_file))
    server = OneShotServer(pki.server_context(server_cert))
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        dial(context, server.port, host)
    assert is_certificate_failure(caught.value)
    assert why in caught.value.verify_message
    server.thread.join(5)


def test_a_network_error_is_not_a_certificate_failure():
    assert not is_certificate_failure(ConnectionRefusedError(111, "refused"))
    assert not is_certificate_failure(ssl.SSLError("handshake failure"))


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_below_1_2_is_refused(pki):
    server_context = pki.server_context()
    server_context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    server_context.maximum_version = ssl.TLSVersion.TLSv1_1
    server = OneShotServer(server_context)
    with pytest.raises(ssl.SSLError) as caught:
        dial(client_context(2, TlsFiles(pki.ca_file)), server.port)
    assert not is_certificate_failure(caught.value)
    server.thread.join(5)


def test_tls_1_2_without_an_aes_gcm_suite_is_refused(pki):
    server_context = pki.server_context()
    server_context.maximum_version = ssl.TLSVersion.TLSv1_2
    server_context.set_ciphers("ECDHE-ECDSA-AES128-SHA256")  # CBC: not one the specs allow
    server = OneShotServer(server_context)
    with pytest.raises(ssl.SSLError):
        dial(client_context(2, TlsFiles(pki.ca_file)), server.port)
    server.thread.join(5)


def test_tls_1_2_with_the_required_suite_is_taken(pki):
    server_context = pki.server_context()
    server_context.maximum_version = ssl.TLSVersion.TLSv1_2
    server_context.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    server = OneShotServer(server_context)
    with dial(client_context(2, TlsFiles(pki.ca_file)), server.port) as tls:
        assert tls.version() == "TLSv1.2"
        assert tls.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"
    server.thread.join(5)


@pytest.mark.parametrize("key, password", [("plain", None), ("encrypted", KEY_PASSWORD)])
def test_profile_3_presents_the_station_certificate(pki, key, password):
    key_file = pki.key("client") if key == "plain" else pki.client_key_encrypted
    context = client_context(3, TlsFiles(pki.ca_file, pki.cert("client"), key_file, password))
    server = OneShotServer(pki.server_context(client_ca=pki.ca_file))
    with dial(context, server.port) as tls:
        tls.sendall(b"x")
    server.thread.join(5)
    assert server.error is None
    assert dict(x[0] for x in server.peer_cert["subject"])["commonName"] == "CP1"


def test_a_server_demanding_a_client_certificate_refuses_profile_2(pki):
    server = OneShotServer(pki.server_context(client_ca=pki.ca_file))
    with pytest.raises((ssl.SSLError, OSError)):
        with dial(client_context(2, TlsFiles(pki.ca_file)), server.port) as tls:
            tls.sendall(b"x")
            tls.recv(1)  # TLS 1.3: the server's refusal arrives after the client's handshake
    server.thread.join(5)
    assert server.error is not None


def test_unusable_files_are_a_clear_error_never_a_context(pki, tmp_path):
    with pytest.raises(TlsSetupError, match="no CSMS root certificates"):
        client_context(2, TlsFiles(""))
    with pytest.raises(TlsSetupError, match="no such file"):
        client_context(2, TlsFiles(str(tmp_path / "missing.pem")))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(TlsSetupError, match="junk.pem"):
        client_context(2, TlsFiles(str(junk)))
    with pytest.raises(TlsSetupError, match="certificate and its key"):
        client_context(3, TlsFiles(pki.ca_file))
    with pytest.raises(TlsSetupError, match="no such file"):
        client_context(3, TlsFiles(pki.ca_file, pki.cert("client"), str(tmp_path / "none.key")))
    with pytest.raises(TlsSetupError) as caught:
        client_context(3, TlsFiles(pki.ca_file, pki.cert("client"), pki.client_key_encrypted, "wrong-password-77"))
    assert "wrong-password-77" not in str(caught.value)
    with pytest.raises(TlsSetupError, match="does not use TLS"):
        client_context(1, TlsFiles(pki.ca_file))


def test_a_directory_of_hashed_roots_serves_too(pki, tmp_path):
    import shutil
    import subprocess

    folder = tmp_path / "roots"
    folder.mkdir()
    shutil.copy(pki.ca_file, folder / "csms_ca.pem")
    subject_hash = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", pki.ca_file],
                                  capture_output=True, text=True, check=True).stdout.strip()
    (folder / f"{subject_hash}.0").symlink_to(folder / "csms_ca.pem")
    server = OneShotServer(pki.server_context())
    with dial(client_context(2, TlsFiles(str(folder))), server.port) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    server.thread.join(5)
