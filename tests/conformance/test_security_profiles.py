"""Security profiles 2 and 3 over real TLS on loopback, through the real bridge process and real
mosquitto, against the `ocpp` package's CSMS behind Python ``ssl`` with certificates made in
this run (tests/support/certs.py).

Profile 2: TLS with the CSMS certificate verified and HTTP Basic auth (TC_A_04 for 2.0.1); profile
3: mutual TLS with the station's certificate and no Basic auth (TC_A_07), the files from the
module options or from a simulated ``evse_security`` module on the bus. A CSMS certificate from
another CA, an expired one, or one for another host name (TC_A_05) is refused: no websocket is
opened, the bridge dials again with back-off, and one security event InvalidCsmsCertificate
(2.0.1) / InvalidCentralSystemCertificate (1.6) is raised for the run of failures, seen on the
bus at once and by the CSMS once a good certificate lets the station in."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest

from support.certs import KEY_PASSWORD, Pki
from support.secrets_used import secret
from support.station import CP_ID

BOTH = pytest.mark.parametrize("version", ["1.6", "2.0.1"])
PASSWORD = secret("tls-basic-passw0rd-16")
EVENT = {"1.6": "InvalidCentralSystemCertificate", "2.0.1": "InvalidCsmsCertificate"}


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki", station_cn=CP_ID)


def sp2_config(pki, **extra):
    return {"SecurityProfile": 2, "BasicAuthPassword": PASSWORD, "CsmsCaBundle": pki.ca_file, **extra}


def sp3_config(pki, **extra):
    return {"SecurityProfile": 3, "CsmsCaBundle": pki.ca_file, "CsmsLeafCertificate": pki.cert("client"),
            "CsmsLeafKey": pki.key("client"), **extra}


def wait_until(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@BOTH
def test_profile_2_tc_a_04_tls_with_the_csms_certificate_verified_and_basic_auth(station, pki, version):
    st = station(version=version, config=sp2_config(pki),
                 csms_kwargs={"ssl_context": pki.server_context(), "basic_auth_password": PASSWORD})
    assert st.csms.url.startswith("wss://")
    hs = st.csms.handshake(CP_ID)
    assert hs["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    assert hs["tls"]["client_subject"] is None  # profile 2 presents no certificate
    token = base64.b64encode(f"{CP_ID}:{PASSWORD}".encode()).decode()
    assert {k.lower(): v for k, v in hs["headers"].items()}["authorization"] == f"Basic {token}"
    st.var("ocpp_generic", "is_connected", lambda v: v is True)
    assert PASSWORD not in st.bridge.log_text()
    if version == "2.0.1":  # the profile in use is what SecurityCtrlr reports
        reply = st.csms.call(CP_ID, "GetVariables", {"getVariableData": [
            {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}]})
        assert reply["getVariableResult"][0]["attributeValue"] == "2"


@BOTH
def test_profile_3_tc_a_07_mutual_tls_with_the_station_certificate_and_no_basic_auth(station, pki, version):
    # an encrypted key and its password from the module options: the password never reaches the log
    st = station(version=version, config=sp3_config(pki, BasicAuthPassword=PASSWORD,
                                                    CsmsLeafKey=pki.client_key_encrypted,
                                                    PrivateKeyPassword=KEY_PASSWORD),
                 csms_kwargs={"ssl_context": pki.server_context(client_ca=pki.ca_file)})
    hs = st.csms.handshake(CP_ID)
    assert hs["tls"]["client_subject"]["commonName"] == CP_ID
    assert "authorization" not in {k.lower() for k in hs["headers"]}
    st.var("ocpp_generic", "is_connected", lambda v: v is True)
    assert KEY_PASSWORD not in st.bridge.log_text()


def test_profile_3_refused_by_a_csms_that_does_not_trust_the_station_certificate(station, pki):
    st = station(version="2.0.1", wait_boot=False,
                 config=sp3_config(pki, CsmsLeafCertificate=pki.cert("client_other_ca"),
                                   CsmsLeafKey=pki.key("client_other_ca")),
                 csms_kwargs={"ssl_context": pki.server_context(client_ca=pki.ca_file)})
    st.bridge.wait_log(r"dial wss://\S+ failed", timeout=20)
    st.bridge.wait_log(r"re-dialling wss://", timeout=20)
    assert st.csms.connection_count(CP_ID) == 0 and st.csms.entries() == []
    # not the CSMS's certificate that failed: no InvalidCsmsCertificate
    assert not st.values("ocpp_generic", "security_event")


@BOTH
@pytest.mark.parametrize("bad", ["server_other_ca", "server_expired", "server_wrong_host"])
def test_tc_a_05_an_invalid_csms_certificate_is_refused_reported_once_and_never_downgraded(
        station, pki, version, bad):
    context = pki.server_context(bad)
    st = station(version=version, config=sp2_config(pki), wait_boot=False,
                 csms_kwargs={"ssl_context": context, "basic_auth_password": PASSWORD})
    event = st.var("ocpp_generic", "security_event", lambda v: v["type"] == EVENT[version], timeout=20)
    assert "certificate" in event["info"] or "mismatch" in event["info"]
    # dialled again with back-off, over TLS only: no websocket reached the CSMS
    size = 0
    for _ in range(2):
        size = st.bridge.wait_log(r"the CSMS certificate failed verification", after=size, timeout=20).end()
    log = st.bridge.log_text()
    assert len(re.findall(r"the CSMS certificate failed verification", log)) >= 2
    assert "dial ws://" not in log
    assert st.csms.connection_count(CP_ID) == 0 and st.csms.entries() == []
    assert [v["type"] for v in st.values("ocpp_generic", "security_event")] == [EVENT[version]]

    # the CSMS gets a good certificate: the station connects, boots and reports the event once
    context.load_cert_chain(pki.cert("server"), pki.key("server"))
    sent = st.csms.wait_for("SecurityEventNotification", cp_id=CP_ID, timeout=30)
    assert sent["payload"]["type"] == EVENT[version]
    st.heartbeat_sentinel()
    assert st.actions().count("SecurityEventNotification") == 1


# ------------------------------------------------------------------ the evse_security module
def security_module(peer, pki, *, leaf_status: str = "Accepted"):
    """A simulated EVerest ``evse_security`` module backed by the run's files."""
    module = peer(module_id="security_module")
    module.implement("main", "get_verify_file", lambda args: pki.ca_file)
    module.implement("main", "get_leaf_certificate_info", lambda args: {
        "status": leaf_status,
        **({"info": {"key": pki.client_key_encrypted, "certificate": pki.cert("client"),
                     "certificate_count": 2, "password": KEY_PASSWORD}} if leaf_status == "Accepted" else {})})
    return module


SECURITY_CONNECTION = {"connections": {"security": [("security_module", "main")]}}


@BOTH
def test_profile_3_files_from_the_evse_security_module(station, peer, pki, version):
    module = security_module(peer, pki)
    # the module options point nowhere: only the security module's files can work
    st = station(version=version, config={"SecurityProfile": 3, "CsmsCaBundle": "/nonexistent/ca.pem"},
                 csms_kwargs={"ssl_context": pki.server_context(client_ca=pki.ca_file)},
                 bridge_kwargs=SECURITY_CONNECTION)
    assert module.wait_call("main", "get_verify_file")["args"] == {"certificate_type": "CSMS"}
    leaf = module.wait_call("main", "get_leaf_certificate_info")["args"]
    assert leaf["certificate_type"] == "CSMS" and leaf["encoding"] == "PEM"
    assert st.csms.handshake(CP_ID)["tls"]["client_subject"]["commonName"] == CP_ID
    assert KEY_PASSWORD not in st.bridge.log_text()


def test_profile_2_asks_the_evse_security_module_for_the_csms_roots_only(station, peer, pki):
    module = security_module(peer, pki)
    st = station(version="2.0.1", config={"SecurityProfile": 2, "BasicAuthPassword": PASSWORD},
                 csms_kwargs={"ssl_context": pki.server_context(), "basic_auth_password": PASSWORD},
                 bridge_kwargs=SECURITY_CONNECTION)
    assert st.csms.handshake(CP_ID)["tls"] is not None
    assert module.calls_received("main", "get_leaf_certificate_info") == []


def test_no_leaf_certificate_from_the_security_module_means_no_connection_and_asking_again(station, peer, pki):
    module = security_module(peer, pki, leaf_status="NotFound")
    st = station(version="2.0.1", config={"SecurityProfile": 3, "RetryBackOffWaitMinimumS": 1},
                 csms_kwargs={"ssl_context": pki.server_context(client_ca=pki.ca_file)},
                 bridge_kwargs=SECURITY_CONNECTION, wait_boot=False)
    st.bridge.wait_log(r"no TLS files for security profile 3: get_leaf_certificate_info\(CSMS\) status NotFound",
                       timeout=20)
    wait_until(lambda: len(module.calls_received("main", "get_leaf_certificate_info")) >= 2, 20,
               "the bridge to ask again")
    assert st.csms.connection_count(CP_ID) == 0 and "dial " not in st.bridge.log_text()
    assert st.bridge.alive


@pytest.mark.parametrize("profile", [2, 3])
def test_profile_2_or_3_with_a_plain_ws_url_is_a_configuration_error(bridge, profile):
    b = bridge({"ChargePointId": CP_ID, "CentralSystemURI": "ws://127.0.0.1:9/ocpp", "SecurityProfile": profile,
                "GlobalReadyTimeoutS": 0})
    assert b.wait_exit(timeout=20) != 0
    assert f"SecurityProfile {profile} needs a wss:// CentralSystemURI" in b.log_text()
    assert "dial " not in b.log_text()


# ------------------------------------------------------------------ switching the profile (1.6)
def sp2_or_3_csms(pki):
    """One CSMS for profiles 2 and 3: a client certificate is checked when one is presented."""
    return {"ssl_context": pki.server_context(client_ca=pki.ca_file, optional=True), "basic_auth_password": None}


def security_profile_key(st) -> str:
    reply = st.csms.call(CP_ID, "GetConfiguration", {"key": ["SecurityProfile"]})
    return reply["configurationKey"][0]["value"]


def test_tc_083_upgrade_to_profile_3_reconnects_with_it_and_keeps_it_over_a_restart(station, pki):
    st = station(version="1.6", config=sp3_config(pki, SecurityProfile=2, BasicAuthPassword=PASSWORD),
                 csms_kwargs=sp2_or_3_csms(pki))
    first = st.csms.handshake(CP_ID)
    assert first["tls"]["client_subject"] is None and "Authorization" in first["headers"]
    reply = st.csms.call(CP_ID, "ChangeConfiguration", {"key": "SecurityProfile", "value": "3"})
    assert reply == {"status": "Accepted"}
    st.csms.wait_for_station(CP_ID, count=2, timeout=30)
    hs = st.csms.handshake(CP_ID)
    assert hs["tls"]["client_subject"]["commonName"] == CP_ID
    assert "authorization" not in {k.lower() for k in hs["headers"]}
    assert security_profile_key(st) == "3"
    st.bridge.wait_log(r"security profile 3 connected", timeout=10)

    st.restart_bridge()
    st.csms.wait_for_station(CP_ID, count=3, timeout=30)
    assert st.csms.handshake(CP_ID)["tls"]["client_subject"]["commonName"] == CP_ID
    assert security_profile_key(st) == "3"


@pytest.mark.parametrize("lower", ["1", "0"])
def test_tc_084_a_lower_profile_is_rejected_and_the_connection_stays(station, pki, lower):
    st = station(version="1.6", config=sp2_config(pki), csms_kwargs=sp2_or_3_csms(pki))
    reply = st.csms.call(CP_ID, "ChangeConfiguration", {"key": "SecurityProfile", "value": lower})
    assert reply == {"status": "Rejected"}
    st.heartbeat_sentinel()
    assert st.csms.connection_count(CP_ID) == 1
    assert security_profile_key(st) == "2"


@pytest.mark.parametrize("why", ["refused_by_the_csms", "no_station_certificate"])
def test_a_switch_that_cannot_connect_falls_back_and_is_reported_once(station, pki, why):
    leaf = ({"CsmsLeafCertificate": pki.cert("client_other_ca"), "CsmsLeafKey": pki.key("client_other_ca")}
            if why == "refused_by_the_csms" else {})
    st = station(version="1.6", config=sp2_config(pki, NetworkProfileConnectionAttempts=2, **leaf),
                 csms_kwargs=sp2_or_3_csms(pki))
    reply = st.csms.call(CP_ID, "ChangeConfiguration", {"key": "SecurityProfile", "value": "3"})
    assert reply == {"status": "Accepted"}
    event = st.csms.wait_for("SecurityEventNotification", cp_id=CP_ID, timeout=40)
    assert event["payload"]["type"] == "ReconfigurationOfSecurityParameters"
    assert "SecurityProfile 3 did not connect" in event["payload"]["techInfo"]
    # back on profile 2: dialled again after the refused dials; without a certificate profile 3
    # was never dialled and the profile-2 connection stayed up
    connections = 2 if why == "refused_by_the_csms" else 1
    st.csms.wait_for_station(CP_ID, count=connections, timeout=30)
    assert st.csms.handshake(CP_ID)["tls"]["client_subject"] is None
    assert security_profile_key(st) == "2"
    st.heartbeat_sentinel()
    assert st.actions().count("SecurityEventNotification") == 1
    assert st.csms.connection_count(CP_ID) == connections
    if why == "refused_by_the_csms":
        assert len(re.findall(r"dial wss://\S+ failed", st.bridge.log_text())) >= 2
    st.restart_bridge()  # the fall-back is what persists
    st.csms.wait_for_station(CP_ID, count=connections + 1, timeout=30)
    assert st.csms.handshake(CP_ID)["tls"]["client_subject"] is None


def test_a_restart_in_the_middle_of_a_switch_goes_on_with_it_and_falls_back(station, pki, tmp_path):
    db = tmp_path / "db-mid-switch"
    db.mkdir()
    # stored by a run that had just accepted SecurityProfile 3; this one has no station certificate
    (db / "security_profile.json").write_text(json.dumps({"option": 2, "active": 3, "last_good": 2}))
    st = station(version="1.6", config=sp2_config(pki, DatabasePath=str(db)), csms_kwargs=sp2_or_3_csms(pki))
    event = st.csms.wait_for("SecurityEventNotification", cp_id=CP_ID, timeout=30)
    assert event["payload"]["type"] == "ReconfigurationOfSecurityParameters"
    assert st.csms.handshake(CP_ID)["tls"]["client_subject"] is None
    assert security_profile_key(st) == "2"
    assert json.loads((db / "security_profile.json").read_text()) == {"option": 2, "active": 2, "last_good": 2}
