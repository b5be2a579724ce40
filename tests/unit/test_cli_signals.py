"""SIGTERM/SIGINT handling: the handler takes no lock, stops the current phase and arms the
SIGALRM watchdog (default action: the kernel ends a shutdown that got stuck)."""

import os
import queue
import signal

from ocpp_bridge.cli import _Signals


def test_signal_stops_through_a_signal_safe_queue_and_arms_the_watchdog():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)}
    inbox = queue.SimpleQueue()
    try:
        signals = _Signals().install()
        signals.route_to(lambda: inbox.put("stop"))
        os.kill(os.getpid(), signal.SIGTERM)
        assert inbox.get(timeout=10) == "stop"
        assert signals.describe() == "SIGTERM"
        remaining = signal.alarm(0)  # disarm; it was armed by the handler
        assert 0 < remaining <= _Signals.DEADLINE_S
        assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
    finally:
        signal.alarm(0)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_a_signal_before_the_stop_is_known_is_not_lost():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)}
    try:
        signals = _Signals().install()
        os.kill(os.getpid(), signal.SIGINT)
        signal.alarm(0)
        stopped = []
        signals.route_to(lambda: stopped.append(True))
        assert stopped == [True]
    finally:
        signal.alarm(0)
        for sig, handler in saved.items():
            signal.signal(sig, handler)
