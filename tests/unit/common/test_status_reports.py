"""What the CSMS knows of each connector's status, one rule for both versions
(ocpp/common/status_reports.py): pure, with the answers played by hand."""

import logging

import pytest

from ocpp_bridge.ocpp.common.status_reports import StatusReports
from ocpp_bridge.ocpp.outcome import LocalFailure
from ocpp_bridge.ocpp.rpc import CallError

REFUSED = CallError("1", "InternalError", "not now")


def acknowledged(reports, key, report):
    reports.sending(key, report, f"{key} {report}")({}, None)


def test_a_status_counts_as_known_while_on_its_way_and_reported_once_answered():
    reports = StatusReports()
    assert reports.known(1) is None and reports.lacks(1, "Available")
    done = reports.sending(1, "Available", "connector 1 Available")
    assert reports.known(1) == "Available" and not reports.lacks(1, "Available")   # not queued twice
    done({}, None)
    assert reports.known(1) == "Available"


@pytest.mark.parametrize("failure", [REFUSED, LocalFailure("dropped"), LocalFailure("stopped")])
def test_a_status_the_csms_cannot_have_leaves_what_it_had(failure):
    reports = StatusReports()
    acknowledged(reports, (1, 1), "Available")
    reports.sending((1, 1), "Occupied", "EVSE 1 connector 1 Occupied")(None, failure)
    assert reports.known((1, 1)) == "Available"
    assert reports.lacks((1, 1), "Occupied") and not reports.lacks((1, 1), "Available")


@pytest.mark.parametrize("failure", [LocalFailure("timeout"), LocalFailure("disconnected")])
def test_a_status_the_csms_may_have_makes_what_it_has_unknown(failure):
    reports = StatusReports()
    acknowledged(reports, 2, ("Available", "NoError"))
    reports.sending(2, ("Preparing", "NoError"), "connector 2 Preparing")(None, failure)
    assert reports.known(2) is None
    assert reports.lacks(2, ("Available", "NoError"))           # sent again even if back as before


def test_only_the_last_send_clears_what_is_on_its_way():
    reports = StatusReports()
    first = reports.sending(1, "Occupied", "first")
    second = reports.sending(1, "Available", "second")
    first({}, None)
    assert reports.known(1) == "Available"                       # the second is still on its way
    second({}, None)
    assert reports.known(1) == "Available"


def test_the_log_line_says_refused_or_not_delivered(caplog):
    reports = StatusReports()
    with caplog.at_level(logging.INFO, logger="ocpp_bridge.ocpp.common.status_reports"):
        reports.sending(1, "Occupied", "EVSE 1 connector 1 Occupied")(None, REFUSED)
        reports.sending(2, "Occupied", "EVSE 2 connector 1 Occupied")(None, LocalFailure("dropped"))
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (logging.WARNING, "StatusNotification EVSE 1 connector 1 Occupied refused (InternalError): sent again "
            "at the next change or reconnect") in lines
    assert (logging.INFO, "StatusNotification EVSE 2 connector 1 Occupied not delivered (dropped): sent again "
            "at the next change or reconnect") in lines


def test_1_6_sends_everything_on_every_reconnect():
    reports = StatusReports()
    reports.went_offline(100.0)
    assert reports.reconnected(100.5, offline_threshold=None)
    assert reports.reconnected(101.0, offline_threshold=None)   # even without an outage seen


@pytest.mark.parametrize("threshold, outage, everything", [(30, 31, True), (30, 30, False), (0, 0.5, True)])
def test_2_0_1_sends_everything_after_an_outage_longer_than_the_offline_threshold(threshold, outage, everything):
    reports = StatusReports()
    reports.went_offline(100.0)
    reports.went_offline(110.0)                                  # the outage began at the first
    assert reports.reconnected(100.0 + outage, offline_threshold=threshold) is everything
    assert not reports.reconnected(200.0, offline_threshold=threshold)  # no outage since
