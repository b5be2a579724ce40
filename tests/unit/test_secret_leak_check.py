"""The end-of-run check that no secret reaches the bridge's logs (support/secrets_used.py)
finds a secret as it is and as Basic credentials, and skips the CSMS peers' own logs."""

import base64

from support.secrets_used import SECRETS, leaks, secret


def test_finds_a_secret_in_our_logs_and_not_in_the_csms_peers(tmp_path):
    value = secret("leak-check-passw0rd")
    try:
        (tmp_path / "t1" / "bridge-1").mkdir(parents=True)
        (tmp_path / "t1" / "bridge-1" / "bridge-ocpp.log").write_text(f"oops {value}\n")
        (tmp_path / "t2" / "frames").mkdir(parents=True)
        header = base64.b64encode(f"CP9:{value}".encode()).decode()
        (tmp_path / "t2" / "frames" / "CP9.log").write_text(f"Authorization: Basic {header}\n")
        (tmp_path / "t3" / "strict-csms").mkdir(parents=True)
        (tmp_path / "t3" / "strict-csms" / "peer.log").write_text(f"sent {value}\n")
        (tmp_path / "t4").mkdir()
        (tmp_path / "t4" / "clean.log").write_text("********\n")
        found = leaks(tmp_path, ("CP9",))
        assert [line.split(": ")[0].replace(str(tmp_path), "") for line in found] == [
            "/t1/bridge-1/bridge-ocpp.log", "/t2/frames/CP9.log"]
    finally:
        SECRETS.discard(value)  # it is in this test's files only, on purpose
