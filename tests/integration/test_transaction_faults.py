"""Transactions under real faults: the bridge as a real process, the real CSMS, simulated EVSE
managers on a real mosquitto (issue #4).

Each test breaks something while charging sessions run — the CSMS goes away, the bridge is
killed with SIGKILL (or stopped with SIGTERM) at a chosen point of a session, the broker
restarts, the TCP connection is cut while a CALL waits for its answer, the CSMS answers
CALLERROR, the charger loses power — and then reads the CSMS's ledger of transaction
messages (1.6 StartTransaction / MeterValues / StopTransaction; 2.0.1 TransactionEvent):

- every message arrives, in order, exactly once per transaction wherever OCPP-J allows it;
- 1.6: MeterValues and StopTransaction carry the transactionId the CSMS gave (never -1);
- 2.0.1: seqNo strictly increasing per transaction from 0, Started first, one Ended last,
  ``offline`` true exactly on the events made while the CSMS was unreachable.

What the protocol cannot prevent: a message on the wire when the process dies (sent, not yet
acknowledged, or acknowledged but the answer not yet committed) is sent again after the
restart — the CSMS may already have it and OCPP-J has no means to tell. The tests that kill
the bridge at such a point allow exactly that: at most one repeat, of that very message, with
an identical payload (``assert_once(..., may_repeat=...)``). Everything queued while offline
must arrive exactly once.

"Everything has arrived" is known without sleeping: after the session, a marker security
event is sent; the outbox is strictly FIFO with one call in flight, so when the marker is
answered everything queued before it has been answered and nothing is left to repeat.

"Minutes offline" (issue #4) is a real outage of several seconds here, with sessions on two
EVSEs starting, metering (1 s sample interval) and stopping during it.
"""

import json
import threading

import pytest

from support.faults import csms_back_on_same_port, cut_before_answer, hold_answer, security_event_info, wait_entries
from support.station import CP_ID, MODULE

BOTH = pytest.mark.parametrize("version", ["1.6", "2.0.1"])
TX_ACTIONS = {"1.6": ("StartTransaction", "MeterValues", "StopTransaction"), "2.0.1": ("TransactionEvent",)}


# ---------------------------------------------------------------------------- set-up
def booted(charging_station, version: str, evses: int = 1, meter_interval: int = 1):
    st = charging_station(evses=evses, version=version)
    st.peer.watch_var(MODULE, "ocpp_generic", "ocpp_transaction_event")
    if version == "1.6":
        for key, value in (("MeterValueSampleInterval", meter_interval), ("ClockAlignedDataInterval", 0),
                           ("MeterValuesSampledData", "Energy.Active.Import.Register")):
            reply = st.csms.call(CP_ID, "ChangeConfiguration", {"key": key, "value": str(value)})
            assert reply["status"] == "Accepted"
    else:
        set_variables(st, [("SampledDataCtrlr", "TxUpdatedInterval", meter_interval),
                           ("AlignedDataCtrlr", "Interval", 0)])
    return st


def set_variables(st, triples, instance: str | None = None) -> None:
    data = []
    for component, name, value in triples:
        variable = {"name": name, **({"instance": instance} if instance else {})}
        data.append({"component": {"name": component}, "variable": variable, "attributeValue": str(value)})
    reply = st.csms.call(CP_ID, "SetVariables", {"setVariableData": data})
    assert [r["attributeStatus"] for r in reply["setVariableResult"]] == ["Accepted"] * len(data)


def set_attempts(st, attempts: int, interval: int) -> None:
    if st.version == "1.6":
        for key, value in (("TransactionMessageAttempts", attempts), ("TransactionMessageRetryInterval", interval)):
            assert st.csms.call(CP_ID, "ChangeConfiguration", {"key": key, "value": str(value)})["status"] == "Accepted"
    else:
        set_variables(st, [("OCPPCommCtrlr", "MessageAttempts", attempts),
                           ("OCPPCommCtrlr", "MessageAttemptInterval", interval)], instance="TransactionEvent")


def take_down(st) -> None:
    """Stop the CSMS and wait until the bridge has noticed."""
    seen = len(st.values("ocpp_generic", "is_connected"))
    st.csms.stop()
    st.var("ocpp_generic", "is_connected", lambda v: v is False, after=seen, timeout=20)


def outage(seconds: float) -> None:
    """Let real time pass while the CSMS is away (the periodic samples need it). This is the
    length of the outage, not a synchronisation: nothing is asserted about what happened in it."""
    threading.Event().wait(seconds)


def bus_events(st) -> int:
    return len(st.values("ocpp_generic", "ocpp_transaction_event"))


def queued(st, kind: str, after: int) -> None:
    """Wait until the bridge has queued the transaction message of ``kind`` (Started / Ended):
    its bus event is published right after the message is on disk."""
    st.var("ocpp_generic", "ocpp_transaction_event", lambda v: v["transaction_event"] == kind, after=after,
           timeout=20)


def wait_until(condition, timeout: float = 20, what: str = "condition") -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        done.wait(0.05)
    raise TimeoutError(f"{what}: not within {timeout}s")


def stop_answered(st, timeout: float = 30) -> None:
    """Wait until a StopTransaction / Ended has been answered. The EVSE's events and the
    test's commands travel on different MQTT connections: without this, a marker (``drain``)
    could be queued before the stop the EVSE has just published."""
    wait_until(lambda: any(is_stop(e) and "response" in e for e in tx_entries(st)), timeout, "stop answered")


def bus_back(st, timeout: float = 30) -> None:
    """Wait until a bus command reaches the bridge again after a broker restart. The bridge
    logs "MQTT connected" on the CONNACK, before the broker has its new SUBSCRIBE: a command
    sent in between is lost, not late, so a try that gets no answer is followed by another."""
    for _ in range(int(timeout / 2)):
        try:
            st.call("ocpp_generic", "get_variables", {"requests": []}, timeout=2)
            return
        except TimeoutError:
            continue
    raise TimeoutError(f"no bus command answered within {timeout}s of the broker restart")


def drain(st, marker: str = "marker") -> None:
    """Send a marker security event and wait until it is answered (see the module docstring)."""
    st.call("ocpp_generic", "security_event", {"event": {"type": "TamperDetectionActivated", "info": marker}})
    wait_entries(st.csms, lambda e: security_event_info(e) == marker and "response" in e, 1, timeout=60)


def restart(st, kill: bool = True) -> None:
    st.restart_bridge(kill=kill)
    for ev in st.evses:
        ev.wait_command("get_evse", after=sum(1 for c, _ in ev.commands if c == "get_evse") - 1)


# ---------------------------------------------------------------------------- the ledger
def back_up(st, csms) -> None:
    """A new CSMS on the old one's port; the old one's ledger is kept (``tx_entries`` reads both)."""
    st.earlier = getattr(st, "earlier", []) + [st.csms]
    st.csms = csms_back_on_same_port(csms, st.csms)


def tx_entries(st) -> list[dict]:
    """Transaction messages the CSMS (and those before it) received, in arrival order, each
    with its place in that order as ``"order"`` (1.6 MeterValues only with a transactionId)."""
    ledger = [e for c in getattr(st, "earlier", []) + [st.csms] for e in c.entries(cp_id=CP_ID)]
    found = [e for e in ledger if e["action"] in TX_ACTIONS[st.version]
             and (e["action"] != "MeterValues" or "transactionId" in e["payload"])]
    for n, e in enumerate(found):
        e["order"] = n
    return found


def key(entry: dict) -> str:
    return entry["action"] + json.dumps(entry["payload"], sort_keys=True)


def assert_once(entries: list[dict], may_repeat=lambda e: False) -> list[dict]:
    """No payload twice, except one repeat of a message ``may_repeat`` allows (the one on the
    wire when the bridge died), with a new message id. Returns the entries in order, a repeated
    one at the place of its last copy (the answer the bridge took: a 1.6 transactionId)."""
    seen: dict[str, dict] = {}
    repeats = []
    for e in entries:
        if key(e) in seen:
            repeats.append(e)
            assert e["unique_id"] != seen[key(e)]["unique_id"]
            del seen[key(e)]
        seen[key(e)] = e
    assert len(repeats) <= 1, f"sent more than once: {[(e['action'], e['payload']) for e in repeats]}"
    assert all(may_repeat(e) for e in repeats), f"unexpected repeat: {[(e['action'], e['payload']) for e in repeats]}"
    return sorted(seen.values(), key=lambda e: e["order"])


def sessions_16(entries: list[dict]) -> dict[int, list[dict]]:
    """1.6: transactionId -> its messages in arrival order. A StartTransaction counts under the
    id of its answer; MeterValues/StopTransaction must carry an id the CSMS gave (never -1)."""
    given = {e["response"]["transactionId"] for e in entries if e["action"] == "StartTransaction" and "response" in e}
    by_id: dict[int, list[dict]] = {}
    for e in entries:
        tid = e["response"]["transactionId"] if e["action"] == "StartTransaction" else e["payload"]["transactionId"]
        assert tid in given, f"{e['action']} with transactionId {tid}; the CSMS gave {sorted(given)}"
        by_id.setdefault(tid, []).append(e)
    return by_id


def check_16(entries: list[dict], sessions: int) -> dict[int, list[dict]]:
    by_id = sessions_16(entries)
    stopped = {tid: msgs for tid, msgs in by_id.items() if any(m["action"] == "StopTransaction" for m in msgs)}
    assert len(stopped) == sessions
    for tid, msgs in stopped.items():
        actions = [m["action"] for m in msgs]
        assert actions[0] == "StartTransaction" and actions[-1] == "StopTransaction", (tid, actions)
        assert actions.count("StopTransaction") == 1 and actions.count("StartTransaction") == 1, (tid, actions)
        stamps = [m["payload"]["meterValue"][0]["timestamp"] for m in msgs if m["action"] == "MeterValues"]
        assert stamps == sorted(stamps)
    return stopped


def check_201(entries: list[dict], sessions: int) -> dict[str, list[dict]]:
    by_id: dict[str, list[dict]] = {}
    for e in entries:
        by_id.setdefault(e["payload"]["transactionInfo"]["transactionId"], []).append(e)
    assert len(by_id) == sessions
    for tid, msgs in by_id.items():
        seq = [m["payload"]["seqNo"] for m in msgs]
        kinds = [m["payload"]["eventType"] for m in msgs]
        assert seq[0] == 0 and all(a < b for a, b in zip(seq, seq[1:], strict=False)), (tid, seq)
        assert kinds[0] == "Started" and kinds[-1] == "Ended" and kinds.count("Ended") == 1, (tid, kinds)
    return by_id


def check(st, sessions: int, may_repeat=lambda e: False) -> dict:
    entries = assert_once(tx_entries(st), may_repeat)
    if st.version == "1.6":
        return check_16(entries, sessions)
    return check_201(entries, sessions)


def is_start(e: dict) -> bool:
    return e["action"] == "StartTransaction" or e["payload"].get("eventType") == "Started"


def is_stop(e: dict) -> bool:
    return e["action"] == "StopTransaction" or e["payload"].get("eventType") == "Ended"


def first_payload(entries: list[dict], kind: str) -> dict:
    return next(e["payload"] for e in entries if (is_start(e) if kind == "start" else is_stop(e)))


# ---------------------------------------------------------------------------- CSMS down
@BOTH
def test_tc_039_tc_e_43_sessions_while_the_csms_is_down_arrive_in_order_once(charging_station, csms, version):
    """Two EVSEs; with the CSMS down for several seconds, three sessions start, meter (1 s
    samples) and stop; afterwards every message arrives once, in order, with the right ids."""
    st = booted(charging_station, version, evses=2)
    take_down(st)
    mark = bus_events(st)
    a, b = st.evse(1), st.evse(2)
    a.plug_in()
    a.start_transaction("TAG-A1", meter_wh=1000)
    b.plug_in()
    b.start_transaction("TAG-B1", meter_wh=5000)
    a.start_charging()
    b.start_charging()
    for n in range(1, 6):
        a.meter(1000 + 100 * n, 7000)
        b.meter(5000 + 200 * n, 11000)
        outage(1.0)
    a.stop_transaction("Local", "TAG-A1")
    a.unplug()
    queued(st, "Ended", mark)
    a.plug_in()
    a.start_transaction("TAG-A2", meter_wh=2000)
    a.meter(2300, 7000)
    a.stop_transaction("Remote")
    b.stop_transaction("EVDisconnected")
    b.unplug()
    a.unplug()
    st.var("ocpp_generic", "ocpp_transaction_event",
           lambda v: len([x for x in st.values("ocpp_generic", "ocpp_transaction_event")[mark:]
                          if x["transaction_event"] == "Ended"]) == 3, after=mark, timeout=20)
    assert tx_entries(st) == []
    back_up(st, csms)
    drain(st)
    by_id = check(st, 3)
    if version == "1.6":
        tags = {msgs[0]["payload"]["idTag"]: msgs for msgs in by_id.values()}
        assert set(tags) == {"TAG-A1", "TAG-A2", "TAG-B1"}
        assert any(m["action"] == "MeterValues" for m in tags["TAG-A1"])   # sampled offline, sent later
        assert tags["TAG-B1"][-1]["payload"]["meterStop"] == 6000
    else:
        assert all(e["payload"].get("offline") is True for msgs in by_id.values() for e in msgs)
        assert any(e["payload"]["triggerReason"] == "MeterValuePeriodic" for msgs in by_id.values() for e in msgs)


# ---------------------------------------------------------------------------- kill -9
# (point, the message that may be repeated: the one on the wire when the bridge died)
KILL_POINTS = {
    "start_queued_offline": None,        # StartTransaction / Started on disk, CSMS down
    "start_sent": "start",               # sent, the CSMS holds its answer
    "start_answered": "start",           # the CSMS answered; the bridge may not have taken it
    "meters_queued_offline": None,       # running, CSMS down, periodic samples queued
    "stop_published": None,              # the EVSE has just published TransactionFinished
    "stop_sent": "stop",
    "stop_answered": "stop",
}


@BOTH
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_tc_037_tc_e_40_kill_9_at_each_point_of_a_session(charging_station, csms, version, point):
    """SIGKILL at one point of a session, restart with the same database; the EVSE manager
    restarts too and resumes its session (SessionResumed), the session goes on and ends.
    The ledger holds every transaction message once, with the right ids, except that the
    message on the wire at the kill (``KILL_POINTS``) may come once more, identical — for a
    1.6 StartTransaction the CSMS then hands out a second id, and later messages carry the
    one whose answer the bridge took. Periodic samples only where they are queued offline
    (so no sample can be the message on the wire at the kill)."""
    st = booted(charging_station, version, meter_interval=1 if point == "meters_queued_offline" else 0)
    ev = st.evse(1)
    ev.plug_in()
    mark = bus_events(st)
    down = point.endswith("offline")
    if point == "start_queued_offline":
        take_down(st)
    held = None
    if point == "start_sent":
        held = hold_answer(st.csms, TX_ACTIONS[version][0], lambda p: p.get("eventType", "Started") == "Started")
    ev.start_transaction("TAG1", meter_wh=1000)
    ev.start_charging()
    if point == "start_queued_offline":
        queued(st, "Started", mark)
    elif point == "start_answered":
        st.csms.wait_for(lambda e: is_start(e) and "response" in e, cp_id=CP_ID, timeout=20)
    elif point != "start_sent":
        queued(st, "Started", mark)   # the EVSE's event reached the bridge (another MQTT connection)
        drain(st, "started")          # ... and the bridge has taken the CSMS's answer to it
        ev.meter(1200, 7000)
        if point == "meters_queued_offline":
            take_down(st)
            ev.meter(1400, 7000)
            outage(2.5)
            ev.meter(1600, 7000)
        if point == "stop_sent":
            held = hold_answer(st.csms, TX_ACTIONS[version][-1], lambda p: p.get("eventType", "Ended") == "Ended")
        ev.stop_transaction("Local", "TAG1")
        if down:
            queued(st, "Ended", mark)
        if point == "stop_answered":
            st.csms.wait_for(lambda e: is_stop(e) and "response" in e, cp_id=CP_ID, timeout=20)
    if held is not None:
        assert held[0].wait(20)
    st.bridge.kill()
    if held is not None:
        held[1].set()      # the answer goes to a dead socket; the CSMS is free again
    ev.resume_session()
    restart(st)
    if down:
        back_up(st, csms)
    if point in ("start_queued_offline", "start_sent", "start_answered"):
        ev.meter(1500, 7000)
        ev.stop_transaction("Local", "TAG1")
    ev.unplug()
    stop_answered(st)
    drain(st)
    repeat = KILL_POINTS[point]
    by_id = check(st, 1, lambda e: (is_start(e) if repeat == "start" else is_stop(e)) if repeat else False)
    [msgs] = by_id.values()
    stop = msgs[-1]["payload"]
    if version == "1.6":
        assert msgs[0]["payload"]["idTag"] == "TAG1" and msgs[0]["payload"]["meterStart"] == 1000
        assert stop["reason"] in (("Local", "EVDisconnected") if point == "stop_published" else ("Local",))
    else:
        info = stop["transactionInfo"]
        assert info["stoppedReason"] in (("Local", "EVDisconnected") if point == "stop_published" else ("Local",))
        offline = [m["payload"]["seqNo"] for m in msgs if m["payload"].get("offline")]
        assert (0 in offline) == (point == "start_queued_offline")   # Started made while offline
        assert offline != [] or not down


@BOTH
def test_sigterm_with_a_queue_of_transaction_messages_loses_nothing(charging_station, csms, version):
    """SIGTERM (not a crash) while a whole session waits in the queue: after the restart it all
    goes, once; and the stop/restart commands keep the queue too."""
    st = booted(charging_station, version)
    ev = st.evse(1)
    take_down(st)
    mark = bus_events(st)
    ev.plug_in()
    ev.start_transaction("TAG1", meter_wh=1000)
    ev.start_charging()
    queued(st, "Started", mark)
    ev.resume_session()
    restart(st, kill=False)
    assert st.call("ocpp_generic", "stop") is True
    assert st.call("ocpp_generic", "restart") is True
    ev.meter(1800, 7000)
    ev.stop_transaction("Local", "TAG1")
    ev.unplug()
    back_up(st, csms)
    stop_answered(st)
    drain(st)
    [msgs] = check(st, 1).values()
    last = msgs[-1]["payload"]
    assert (last["meterStop"] if version == "1.6" else last["meterValue"][-1]["sampledValue"][0]["value"]) == 1800


# ---------------------------------------------------------------------------- power loss
@BOTH
@pytest.mark.parametrize("csms_up", [True, False], ids=["online", "offline"])
def test_tc_e_40_power_loss_ends_the_transaction_the_evse_did_not_resume(charging_station, csms, version, csms_up):
    """The whole charger loses power mid-session: the bridge dies (SIGKILL) and the EVSE
    manager comes back without the session. The transaction is finished at start-up with
    PowerLoss and the last meter value seen, and the EVSE is told (stop_transaction). Online,
    everything is answered before the power goes, so no message is on the wire: all once."""
    st = booted(charging_station, version, meter_interval=0)
    ev = st.evse(1)
    mark = bus_events(st)
    ev.plug_in()
    ev.start_transaction("TAG1", meter_wh=1000)
    ev.start_charging()
    if not csms_up:
        take_down(st)
        queued(st, "Started", mark)
    else:
        st.csms.wait_for(lambda e: is_start(e) and "response" in e, cp_id=CP_ID, timeout=20)
    ev.meter(4321, 7000)
    reached(st, ev, mark)
    if csms_up:
        drain(st, "before the power loss")
    stops_before = sum(1 for c, _ in ev.commands if c == "stop_transaction")
    st.bridge.kill()
    ev.lose_session()
    restart(st)
    if not csms_up:
        back_up(st, csms)
    ev.wait_command("stop_transaction", lambda a: a["request"]["reason"] == "PowerLoss", after=stops_before)
    drain(st)
    [msgs] = check(st, 1).values()
    stop = msgs[-1]["payload"]
    if version == "1.6":
        assert (stop["reason"], stop["meterStop"]) == ("PowerLoss", 4321)
    else:
        assert stop["triggerReason"] == "AbnormalCondition"
        assert stop["transactionInfo"]["stoppedReason"] == "PowerLoss"
        assert stop["meterValue"][-1]["sampledValue"][0]["value"] == 4321
        assert stop["seqNo"] == msgs[-2]["payload"]["seqNo"] + 1


def reached(st, ev, mark: int) -> None:
    """Everything ``ev`` published so far has been handled by the bridge: one more session
    event from the same MQTT connection (so it comes after them), and its trace: the 1.6
    status SuspendedEV in the log; the 2.0.1 second Updated event on the bus since ``mark``
    (the first is ChargingStarted's)."""
    log_mark = st.bridge.log_size()
    ev.pause_ev()
    if st.version == "1.6":
        st.bridge.wait_log(r"SuspendedEV", after=log_mark, timeout=20)
        return
    st.var("ocpp_generic", "ocpp_transaction_event",
           lambda v: [x["transaction_event"] for x in st.values("ocpp_generic", "ocpp_transaction_event")[mark:]]
           .count("Updated") >= 2, after=mark, timeout=20)


# ---------------------------------------------------------------------------- the wire
def session_started(charging_station, version: str, attempts: int):
    """A booted station (no periodic samples, ``attempts`` tries 1 s apart) with a session whose
    start the CSMS has answered; returns (station, EVSE, the action that ends a transaction)."""
    st = booted(charging_station, version, meter_interval=0)
    set_attempts(st, attempts, 1)
    ev = st.evse(1)
    mark = bus_events(st)
    ev.plug_in()
    ev.start_transaction("TAG1", meter_wh=1000)
    queued(st, "Started", mark)
    drain(st, "started")
    return st, ev, TX_ACTIONS[version][-1]


def is_end_call(action: str):
    return lambda e: e["action"] == action and (action != "TransactionEvent" or e["payload"]["eventType"] == "Ended")


@BOTH
def test_tc_038_tc_e_41_connection_cut_before_the_stop_is_answered_resends_it_with_a_new_id(charging_station,
                                                                                            version):
    """The CSMS receives the StopTransaction / Ended and the TCP connection dies before the
    answer: after reconnecting the very message goes again under a new message id (no
    attempt is spent: one attempt allowed), and once answered it is not sent a third time."""
    st, ev, action = session_started(charging_station, version, attempts=1)
    cut = cut_before_answer(st.csms, CP_ID, action)
    log_mark = st.bridge.log_size()
    ev.meter(2500, 7000)
    ev.stop_transaction("Local", "TAG1")
    assert cut.wait(20)
    st.bridge.wait_log(rf"{action} \(\S+\) cut by the lost connection", after=log_mark, timeout=20)
    both = wait_entries(st.csms, is_end_call(action), 2, timeout=20)
    assert both[0]["unique_id"] != both[1]["unique_id"] and both[0]["payload"] == both[1]["payload"]
    drain(st)
    check(st, 1, is_stop)
    assert len([e for e in st.csms.entries(cp_id=CP_ID) if is_end_call(action)(e)]) == 2


@BOTH
def test_callerror_to_the_stop_is_retried_per_attempts_then_dropped_with_a_log_line(charging_station, version):
    """The CSMS answers every StopTransaction / Ended with CALLERROR: it is tried
    TransactionMessageAttempts (MessageAttempts) times under new message ids, then dropped
    with a log line; the queue goes on (the next session is delivered)."""
    from ocpp_bridge.demo.csms import CallErrorReply

    st, ev, action = session_started(charging_station, version, attempts=3)

    def refuse(payload: dict) -> dict:
        if action == "StopTransaction" or payload["eventType"] == "Ended":
            raise CallErrorReply("InternalError", "try later")
        return st.csms.default_response(action, payload)

    st.csms.set_response(action, refuse)
    log_mark = st.bridge.log_size()
    ev.stop_transaction("Local", "TAG1")
    ev.unplug()
    tries = wait_entries(st.csms, lambda e: is_end_call(action)(e) and e.get("error"), 3)
    assert len({e["unique_id"] for e in tries}) == 3 and len({key(e) for e in tries}) == 1
    st.bridge.wait_log(rf"{action} dropped after 3 failed attempt", after=log_mark, timeout=20)
    st.csms.set_response(action, None)
    mark = bus_events(st)
    ev.plug_in()
    ev.start_transaction("TAG2", meter_wh=3000)
    ev.stop_transaction("Local", "TAG2")
    queued(st, "Ended", mark)
    drain(st)
    ends = [e for e in st.csms.entries(cp_id=CP_ID) if is_end_call(action)(e)]
    assert len(ends) == 4 and "error" not in ends[-1]        # three refused, no fourth try; the next one
    assert ends[-1]["payload"] != ends[0]["payload"]


@BOTH
def test_broker_restart_mid_session_loses_no_transaction_message(csms, peer, bridge, fresh_broker, prefix, version):
    """Mosquitto restarts while a session runs: the bridge, the EVSE manager and the peer
    reconnect, the session goes on and every transaction message arrives once, in order."""
    from ocpp_bridge.demo.evse_simulator import EvseSimulator
    from support.station import start_charging_station

    sims = []

    def simulator(**kw):
        sims.append(EvseSimulator(fresh_broker.port, prefix=prefix, **kw).start())
        return sims[-1]

    try:
        st = start_charging_station(csms, lambda **kw: peer(broker=fresh_broker, **kw),
                                    lambda cfg, **kw: bridge(cfg, broker_port=fresh_broker.port, **kw), simulator,
                                    version=version)
        st.peer.watch_var(MODULE, "ocpp_generic", "ocpp_transaction_event")
        ev = st.evse(1)
        mark = bus_events(st)
        ev.plug_in()
        ev.start_transaction("TAG1", meter_wh=1000)
        queued(st, "Started", mark)
        log_mark = st.bridge.log_size()
        fresh_broker.restart()
        st.bridge.wait_log(r"MQTT connected", after=log_mark, timeout=30)
        st.peer.wait_connected(timeout=30)
        wait_until(lambda: ev.connected)
        bus_back(st)            # a command reached the bridge: its subscriptions are back too
        drain(st, "bus back")
        mark = bus_events(st)
        ev.meter(2000, 7000)
        ev.stop_transaction("Local", "TAG1")
        queued(st, "Ended", mark)
        ev.unplug()
        drain(st)
        [msgs] = check(st, 1).values()
        stop = msgs[-1]["payload"]
        assert (stop["meterStop"] if version == "1.6" else stop["meterValue"][-1]["sampledValue"][0]["value"]) == 2000
    finally:
        for sim in sims:
            sim.stop()


# ---------------------------------------------------------------------------- GetTransactionStatus
def test_tc_e_31_get_transaction_status_reports_messages_in_queue(charging_station):
    """While the Started event waits for its retry (the CSMS refused it once), the station
    says messagesInQueue true for that transaction and overall; once delivered, false."""
    from ocpp_bridge.demo.csms import CallErrorReply

    st = booted(charging_station, "2.0.1", meter_interval=0)
    set_attempts(st, 3, 15)
    st.csms.set_response("TransactionEvent", CallErrorReply("InternalError", "not now"))
    ev = st.evse(1)
    sid = ev.plug_in()
    ev.start_transaction("TAG1", meter_wh=1000)
    wait_entries(st.csms, lambda e: e["action"] == "TransactionEvent" and e.get("error"), 1)
    st.csms.set_response("TransactionEvent", None)
    status = st.csms.call(CP_ID, "GetTransactionStatus", {"transactionId": sid})
    assert status == {"ongoingIndicator": True, "messagesInQueue": True}
    assert st.csms.call(CP_ID, "GetTransactionStatus", {}) == {"messagesInQueue": True}
    drain(st)     # the retry went and was answered
    assert st.csms.call(CP_ID, "GetTransactionStatus", {"transactionId": sid}) == {
        "ongoingIndicator": True, "messagesInQueue": False}
    mark = bus_events(st)
    ev.stop_transaction("Local", "TAG1")
    ev.unplug()
    queued(st, "Ended", mark)
    drain(st, "ended")
    assert st.csms.call(CP_ID, "GetTransactionStatus", {"transactionId": sid}) == {
        "ongoingIndicator": False, "messagesInQueue": False}
    assert st.csms.call(CP_ID, "GetTransactionStatus", {}) == {"messagesInQueue": False}
