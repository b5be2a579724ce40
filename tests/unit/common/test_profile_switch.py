"""The security-profile switch with fall-back (ocpp/common/profile_switch.py) and its file
(profile_store.py): a switch gets its attempts, then falls back to the last profile that
connected exactly once; a connection ends the switch; the state survives a restart, and a
changed module option or a broken file starts from the option."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ocpp_bridge import profile_store
from ocpp_bridge.ocpp.common.profile_switch import ProfileState, ProfileSwitch, SwitchFailed


def test_a_switch_that_never_connects_falls_back_once_after_its_attempts():
    switch = ProfileSwitch(ProfileState(1, 1, 1), attempts=3)
    assert switch.dial_failed() is None  # no switch: failures are plain re-dials
    switch.begin(2)
    assert switch.trying and switch.active == 2
    assert switch.dial_failed() is None and switch.dial_failed() is None
    assert switch.dial_failed() == SwitchFailed(tried=2, back_to=1, attempts=3)
    assert switch.active == 1 and not switch.trying
    assert [switch.dial_failed() for _ in range(5)] == [None] * 5  # once per failed switch


def test_a_connection_ends_the_switch_and_becomes_the_fall_back():
    switch = ProfileSwitch(ProfileState(1, 1, 1), attempts=2)
    switch.begin(2)
    assert switch.dial_failed() is None
    assert switch.connected() is True
    assert switch.state == ProfileState(1, 2, 2)
    assert switch.connected() is False
    switch.begin(3)
    assert switch.dial_failed() is None
    assert switch.dial_failed() == SwitchFailed(3, 2, 2)
    assert switch.active == 2


def test_give_up_ends_a_switch_at_once_and_is_nothing_without_one():
    switch = ProfileSwitch(ProfileState(2, 2, 2), attempts=3)
    assert switch.give_up() is None
    switch.begin(3)
    assert switch.give_up() == SwitchFailed(3, 2, 0)
    assert switch.active == 2


def test_at_least_one_attempt():
    with pytest.raises(ValueError):
        ProfileSwitch(ProfileState(0, 0, 0), attempts=0)


def test_the_state_survives_a_restart_with_mode_0600(tmp_path):
    state = ProfileState(1, 3, 2)
    profile_store.save(str(tmp_path), state)
    assert profile_store.load(str(tmp_path), 1) == state
    mode = stat.S_IMODE(os.stat(tmp_path / profile_store.FILE).st_mode)
    assert mode == 0o600


@pytest.mark.parametrize("content", ["not json", json.dumps([1]), json.dumps({"option": 1, "active": 9,
                                                                               "last_good": 1}),
                                     json.dumps({"option": 1, "active": True, "last_good": 1})])
def test_an_unusable_file_means_the_option(tmp_path, content):
    (tmp_path / profile_store.FILE).write_text(content)
    assert profile_store.load(str(tmp_path), 1) == ProfileState(1, 1, 1)


def test_a_changed_option_starts_afresh(tmp_path):
    profile_store.save(str(tmp_path), ProfileState(1, 3, 3))
    assert profile_store.load(str(tmp_path), 2) == ProfileState(2, 2, 2)
    assert profile_store.load(str(tmp_path / "none"), 0) == ProfileState(0, 0, 0)
