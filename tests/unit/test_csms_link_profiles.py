"""The CSMS link's view of the security profile (ocpp_bridge.csms_link): the URL dialled for
each profile (wss for 2 and 3, CentralSystemURI's host, port and path kept), Basic credentials
for 1 and 2 only, the TLS files from the module options, and the configuration rules: profile 2
or 3 needs a wss:// CentralSystemURI, NetworkProfileConnectionAttempts at least 1."""

from __future__ import annotations

import pytest

from ocpp_bridge.config import ConfigError, Settings, build_settings
from ocpp_bridge.csms_link import CsmsLink
from ocpp_bridge.everest.definitions import Definitions
from ocpp_bridge.ocpp.secrets import Redactor
from ocpp_bridge.tls import TlsFiles

DEFINITIONS = Definitions.load()


def settings(tmp_path, **options) -> Settings:
    given = {"ChargePointId": "CP1", "CentralSystemURI": "ws://csms.example:8080/ocpp/", "DatabasePath": str(tmp_path),
             **options}
    return build_settings(Settings("ocpp", broker_port=1), options=given,
                          connections={"evse_manager": [{"module_id": "evse_manager_1", "implementation_id": "evse"}]},
                          declared=DEFINITIONS.config_options(), requires=DEFINITIONS.requires())


MADE: list[CsmsLink] = []


def link(tmp_path, profile=None, **options) -> CsmsLink:
    made = CsmsLink(settings(tmp_path, **options), lambda event: None, Redactor(), lambda: None, profile=profile)
    MADE.append(made)
    return made


@pytest.fixture(autouse=True)
def _close_transports():
    yield
    while MADE:
        MADE.pop().transport.stop()  # never started: closes its wake-up sockets


def test_the_scheme_follows_the_profile_and_the_rest_of_the_url_stays(tmp_path):
    csms = link(tmp_path, SecurityProfile=1, BasicAuthPassword="0123456789abcdef")
    assert csms.url_for(0) == csms.url_for(1) == "ws://csms.example:8080/ocpp/CP1"
    assert csms.url_for(2) == csms.url_for(3) == "wss://csms.example:8080/ocpp/CP1"


def test_basic_credentials_for_profiles_1_and_2_only(tmp_path):
    csms = link(tmp_path, SecurityProfile=1, BasicAuthPassword="0123456789abcdef")
    assert csms.basic_auth() == ("CP1", "0123456789abcdef")
    csms.use_profile(2)
    assert csms.profile == 2 and csms.basic_auth() == ("CP1", "0123456789abcdef")
    csms.use_profile(3)
    assert csms.basic_auth() is None
    csms.use_profile(0)
    assert csms.basic_auth() is None


def test_a_stored_profile_wins_over_the_option(tmp_path):
    assert link(tmp_path, profile=3, SecurityProfile=1).profile == 3
    assert link(tmp_path, SecurityProfile=1).profile == 1


def test_tls_files_from_the_options_and_an_unusable_set_is_refused(tmp_path):
    csms = link(tmp_path, profile=3, CsmsCaBundle="/x/ca.pem", CsmsLeafCertificate="/x/cp.pem", CsmsLeafKey="/x/cp.key",
                PrivateKeyPassword="pw-1234")
    assert csms.tls_files_from_options() == TlsFiles("/x/ca.pem", "/x/cp.pem", "/x/cp.key", "pw-1234")
    assert csms.use_tls_files(csms.tls_files_from_options()) is False  # no such files: logged, not raised


@pytest.mark.parametrize("profile", [2, 3])
def test_profiles_2_and_3_need_a_wss_url(tmp_path, profile):
    with pytest.raises(ConfigError, match=f"SecurityProfile {profile} needs a wss:// CentralSystemURI"):
        settings(tmp_path, SecurityProfile=profile)
    assert settings(tmp_path, SecurityProfile=profile, CentralSystemURI="wss://h/ocpp")["SecurityProfile"] == profile


@pytest.mark.parametrize("options, needle", [
    ({"SecurityProfile": 4}, "SecurityProfile must be 0"),
    ({"NetworkProfileConnectionAttempts": 0}, "NetworkProfileConnectionAttempts must be at least 1"),
])
def test_bad_options_are_configuration_errors(tmp_path, options, needle):
    with pytest.raises(ConfigError, match=needle):
        settings(tmp_path, **options)
