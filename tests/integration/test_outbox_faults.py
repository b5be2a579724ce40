"""The durable outbox under real faults: a real bridge process, a real CSMS, real sockets.

SecurityEventNotification is the transactional message that exists today (sent with the
``ocpp_generic.security_event`` command and a critical type). Each test breaks something
— the CSMS goes away, the bridge is killed with SIGKILL or stopped with SIGTERM, the CSMS
answers CALLERROR, the TCP connection is cut while a CALL waits for its answer, the
``stop`` command — and then checks what the CSMS received: in order, and exactly once
wherever the protocol allows it. OCPP 2.0.1 use case A04 (security event notification) is
the requirement behind queueing these while offline.

"Exactly once" is checked without sleeping: after the events under test, one more marker
event is sent; the outbox is strictly FIFO with one call in flight, so when the marker has
been answered, everything before it was answered too and nothing is left to repeat.
"""

import pytest

from support.faults import csms_back_on_same_port, cut_before_answer, security_event_info, wait_entries
from support.station import CP_ID

BOTH = pytest.mark.parametrize("version", ["1.6", "2.0.1"])


def send_event(st, info: str) -> None:
    st.call("ocpp_generic", "security_event", {"event": {"type": "TamperDetectionActivated", "info": info}})


def infos(csms) -> list:
    return [security_event_info(e) for e in csms.entries("SecurityEventNotification")]


def take_down(st) -> None:
    """Stop the CSMS and wait until the bridge has noticed."""
    seen = len(st.values("ocpp_generic", "is_connected"))
    st.csms.stop()
    st.var("ocpp_generic", "is_connected", lambda v: v is False, after=seen, timeout=20)


def drained(st, marker: str = "marker") -> list:
    """Send a marker event, wait until it is answered; return every techInfo received."""
    send_event(st, marker)
    wait_entries(st.csms, lambda e: security_event_info(e) == marker and "response" in e, 1)
    return infos(st.csms)


def set_attempts(st, attempts: int, interval: int) -> None:
    if st.version == "1.6":
        for key, value in (("TransactionMessageAttempts", attempts), ("TransactionMessageRetryInterval", interval)):
            assert st.csms.call(CP_ID, "ChangeConfiguration", {"key": key, "value": str(value)})["status"] == "Accepted"
        return
    data = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": name, "instance": "TransactionEvent"},
             "attributeValue": str(value)}
            for name, value in (("MessageAttempts", attempts), ("MessageAttemptInterval", interval))]
    reply = st.csms.call(CP_ID, "SetVariables", {"setVariableData": data})
    assert [r["attributeStatus"] for r in reply["setVariableResult"]] == ["Accepted", "Accepted"]


@BOTH
def test_a04_events_queued_while_csms_down_arrive_in_order_once(station, csms, version):
    st = station(version=version)
    take_down(st)
    for n in range(5):
        send_event(st, f"offline {n}")
    st.csms = csms_back_on_same_port(csms, st.csms)
    assert drained(st) == [f"offline {n}" for n in range(5)] + ["marker"]
    assert "BootNotification" not in st.actions()  # same process, still Accepted: no new boot


@BOTH
@pytest.mark.parametrize("kill", [True, False], ids=["sigkill", "sigterm"])
def test_a04_queued_events_survive_a_restart_of_the_bridge(station, csms, version, kill):
    st = station(version=version)
    take_down(st)
    for n in range(3):
        send_event(st, f"before restart {n}")   # the command returns once the event is on disk
    st.restart_bridge(kill=kill)
    st.csms = csms_back_on_same_port(csms, st.csms)
    assert drained(st) == [f"before restart {n}" for n in range(3)] + ["marker"]
    actions = st.actions()
    assert actions[0] == "BootNotification"          # nothing before the new boot was Accepted
    assert actions.count("SecurityEventNotification") == 4


@BOTH
def test_callerror_is_retried_per_attempts_then_dropped_with_a_log_line(station, version):
    from ocpp_bridge.demo.csms import CallErrorReply

    st = station(version=version)
    set_attempts(st, 3, 1)
    st.csms.set_response("SecurityEventNotification", CallErrorReply("InternalError", "try later"))
    log_mark = st.bridge.log_size()
    send_event(st, "refused")
    tries = wait_entries(st.csms, lambda e: security_event_info(e) == "refused" and e.get("error"), 3)
    assert len({e["unique_id"] for e in tries}) == 3                      # a new message id each try
    st.bridge.wait_log(r"SecurityEventNotification dropped after 3 failed attempt", after=log_mark)
    st.csms.set_response("SecurityEventNotification", None)
    assert drained(st) == ["refused"] * 3 + ["marker"]                   # dropped: no fourth try


@BOTH
def test_connection_cut_before_the_answer_resends_with_a_new_id(station, version):
    st = station(version=version)
    set_attempts(st, 1, 1)              # one attempt: only a send that does not count may repeat it
    cut = cut_before_answer(st.csms, CP_ID, "SecurityEventNotification")
    log_mark = st.bridge.log_size()
    send_event(st, "cut")
    assert cut.wait(20)
    st.bridge.wait_log(r"SecurityEventNotification \(\S+\) cut by the lost connection", after=log_mark, timeout=20)
    both = wait_entries(st.csms, lambda e: security_event_info(e) == "cut", 2, timeout=20)
    assert both[0]["unique_id"] != both[1]["unique_id"] and both[0]["payload"] == both[1]["payload"]
    assert drained(st) == ["cut", "cut", "marker"]  # the second send was answered: no third


def test_stop_command_keeps_the_queue_and_drops_new_events(station, csms):
    st = station(version="2.0.1")
    take_down(st)
    send_event(st, "queued before stop")
    assert st.call("ocpp_generic", "stop") is True
    send_event(st, "sent while stopped")          # not stored: OCPP is stopped
    st.bridge.wait_log(r"OCPP is stopped: not queueing SecurityEventNotification")
    st.csms = csms_back_on_same_port(csms, st.csms)
    assert st.call("ocpp_generic", "restart") is True
    assert drained(st) == ["queued before stop", "marker"]
    assert st.actions()[0] == "BootNotification"
