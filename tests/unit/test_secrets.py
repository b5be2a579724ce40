"""Secrets in logs (issue 8 §3c) and the Basic-auth password change announced after our answer
(TC_073 / A01): the masking rule, the log filter, and the provisioning blocks. Pure parts,
fake clock."""

from __future__ import annotations

import json
import logging

from v201_harness import Sim

from ocpp_bridge.log_redaction import RedactingFilter, install
from ocpp_bridge.ocpp.events import PasswordChanged
from ocpp_bridge.ocpp.secrets import MASK, Redactor, mask_frame
from support.cp16 import Rig

SECRET = "s3cret-Passw0rd-16"


def set_variables(component, variable, value):
    return [2, "u2", "SetVariables", {"setVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}, "attributeValue": "60"},
        {"component": {"name": component}, "variable": {"name": variable}, "attributeValue": value}]}]


def test_mask_frame_hides_secret_values_of_both_versions_and_leaves_other_frames_alone():
    change = json.dumps([2, "u1", "ChangeConfiguration", {"key": "authorizationkey", "value": SECRET}])
    shown, found = mask_frame(change)
    assert found == [SECRET] and SECRET not in shown and json.loads(shown)[3]["value"] == MASK
    shown, found = mask_frame(json.dumps(set_variables("securityCtrlr", "BasicAuthPassword", "short")))
    assert found == ["short"] and json.loads(shown)[3]["setVariableData"][1]["attributeValue"] == MASK
    assert json.loads(shown)[3]["setVariableData"][0]["attributeValue"] == "60"
    for text in (json.dumps([2, "u3", "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}]),
                 '[3,"u1",{"status":"Accepted"}]', "not json ChangeConfiguration", "[" * 5000 + "SetVariables"):
        assert mask_frame(text) == (text, [])


def test_redactor_learns_from_frames_and_hides_known_secrets_anywhere():
    redactor = Redactor()
    redactor.frame(json.dumps([2, "u1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": SECRET}]))
    assert redactor.redact(f"error: '{SECRET}' is too long") == f"error: '{MASK}' is too long"
    redactor.add("abc")  # too short to be hunted down in every line
    assert redactor.redact("abcdef") == "abcdef"


def test_the_log_filter_masks_messages_arguments_and_tracebacks(caplog):
    redactor = Redactor()
    redactor.add(SECRET)
    logger = logging.getLogger("ocpp_bridge.test_secrets")
    caplog.set_level(logging.INFO, logger=logger.name)
    caplog.handler.addFilter(RedactingFilter(redactor))
    logger.info("value %r", SECRET)
    try:
        raise ValueError(f"bad {SECRET}")
    except ValueError:
        logger.exception("failed")
    assert SECRET not in caplog.text and caplog.text.count(MASK) == 2


def test_install_puts_the_filter_on_the_root_handlers_and_uninstall_takes_it_off():
    handler = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        uninstall = install(Redactor())
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)
        uninstall()
        assert not handler.filters
    finally:
        root.removeHandler(handler)


def test_v16_a_new_authorization_key_is_announced_after_the_answer_and_not_logged(tmp_path, caplog):
    rig = Rig(tmp_path).boot()
    heard = []
    rig.cp.core.events.subscribe(PasswordChanged, lambda _: heard.append(rig.reply()))
    caplog.set_level(logging.INFO, logger="ocpp_bridge.ocpp")
    assert rig.request("ChangeConfiguration", {"key": "AuthorizationKey", "value": SECRET}) == {"status": "Accepted"}
    assert heard == [{"status": "Accepted"}], "announced once, after the CALLRESULT was written"
    assert rig.cp.provisioning.basic_auth_password() == SECRET
    assert SECRET not in caplog.text and "AuthorizationKey='********'" in caplog.text
    rig.request("ChangeConfiguration", {"key": "AuthorizationKey", "value": SECRET})
    assert len(heard) == 2, "the same password again reconnects too (TC_073)"
    assert rig.request("ChangeConfiguration", {"key": "AuthorizationKey", "value": "short"}) == {"status": "Rejected"}
    assert len(heard) == 2 and rig.cp.provisioning.basic_auth_password() == SECRET


def test_v201_a_new_basic_auth_password_is_announced_after_the_answer_and_not_logged(tmp_path, caplog):
    sim = Sim(tmp_path)
    heard = []
    sim.cp.core.events.subscribe(PasswordChanged, lambda _: heard.append(sim.reply_to()[2]))
    assert sim.cp.provisioning.basic_auth_password() is None
    caplog.set_level(logging.INFO, logger="ocpp_bridge.ocpp")
    reply = sim.request("SetVariables", set_variables("SecurityCtrlr", "BasicAuthPassword", SECRET)[3])
    assert [r["attributeStatus"] for r in reply["setVariableResult"]] == ["Accepted", "Accepted"]
    sim.tick(0)
    assert heard == [reply], "announced after the SetVariablesResponse was written"
    assert sim.cp.provisioning.basic_auth_password() == SECRET
    assert SECRET not in caplog.text and "BasicAuthPassword='********'" in caplog.text


def test_v16_a_monitored_authorization_key_is_not_read_back_over_mqtt(tmp_path):
    from ocpp_bridge.impls.variables16 import Variables16

    rig = Rig(tmp_path)
    rig.cp.keys.set("AuthorizationKey", SECRET, by_csms=True)
    variables = Variables16(rig.cp.keys)
    assert variables.current(variables.monitor_key({"variable": {"name": "AuthorizationKey"}})) is None
    assert variables.current("HeartbeatInterval") == rig.cp.keys.value("HeartbeatInterval")
