"""Command line: wiring only. Read the configuration, build the engine, run until a signal.

``ocpp-bridge run --config FILE [--module ID]``  run as the module of an EVerest run config
``ocpp-bridge run --standalone --module ID``     ask a running manager for the configuration
``ocpp-bridge`` (or ``module.py``) with EV_MODULE set: launched by an EVerest manager
``ocpp-bridge install-everest-module --prefix DIR [--dry-run]``  install into an EVerest prefix
``ocpp-bridge demo``                             broker + CSMS + simulated peers + bridge, locally

Exit status: 0 after a clean stop (SIGTERM / SIGINT), 1 when the manager never answered,
2 for an unusable configuration or missing or broken definition files (one log line naming
the file or folder, no traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Callable

from ocpp_bridge import __version__
from ocpp_bridge.paths import DefinitionsProblem

log = logging.getLogger("ocpp_bridge")


def setup_logging(level: str = "INFO") -> None:
    # The format uses none of the caller's file/line, thread or process: the logging HOWTO's
    # "Optimization" switches skip collecting them (a frame-log line: 20 -> 13 us).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocpp-bridge", description="OCPP module for EVerest-style MQTT stacks",
                                     epilog="With no command and EV_MODULE set, run as launched by an EVerest manager.")
    parser.add_argument("--version", action="version", version=f"ocpp-bridge {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run as the OcppBridge module of an EVerest run config or manager")
    run.add_argument("--config", help="EVerest run config (YAML)")
    run.add_argument("--module", help="module id in the config (default: the only OcppBridge module; "
                                      "with --standalone: EV_MODULE)")
    run.add_argument("--standalone", action="store_true",
                     help="get the configuration from a running EVerest manager that marks this module standalone")
    group = run.add_argument_group("manager connection (standalone; defaults from the EV_* environment)")
    group.add_argument("--mqtt-host", help="broker host (default EV_MQTT_BROKER_HOST or localhost)")
    group.add_argument("--mqtt-port", type=int, help="broker port (default EV_MQTT_BROKER_PORT or 1883)")
    group.add_argument("--mqtt-socket", help="broker unix socket (default EV_MQTT_BROKER_SOCKET_PATH)")
    group.add_argument("--prefix", help="EVerest MQTT prefix (default EV_MQTT_EVEREST_PREFIX or everest)")
    group.add_argument("--everest-protocol", choices=["2025.12", "2024.11"],
                       help="request form to use (default: the one the manager speaks)")
    install = sub.add_parser("install-everest-module", help="install this module into an EVerest prefix")
    install.add_argument("--prefix", required=True, help="EVerest installation prefix (e.g. /usr/local)")
    install.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    demo = sub.add_parser("demo", help="everything on this machine: broker, CSMS, simulated EVSE, bridge")
    demo.add_argument("--ocpp-version", default="1.6", choices=["1.6", "2.0.1"])
    demo.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0 = until Ctrl-C)")
    demo.add_argument("--security-profile", type=int, default=0, choices=[0, 1, 2, 3],
                      help="1: HTTP Basic auth; 2: TLS + Basic auth; 3: mutual TLS (certificates made for the run)")
    return parser


class _Signals:
    """SIGTERM / SIGINT call whatever stops the current phase (config wait, then the engine).

    The handler runs on the main thread at any bytecode, possibly while that thread holds a
    lock (a log handler's, a queue's), so it takes none: it records the signal, arms the
    watchdog and calls a signal-safe stop (a ``SimpleQueue.put``). The watchdog is
    ``SIGALRM`` with its default action: a shutdown still stuck after ``DEADLINE_S`` ends the
    process from the kernel, so a stop never takes longer than a service manager allows."""

    DEADLINE_S = 4

    def __init__(self) -> None:
        self.received: int | None = None
        self._stop: Callable[[], None] | None = None

    def install(self) -> _Signals:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        return self

    def route_to(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        if self.received is not None:
            stop()

    def _handle(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum
            signal.alarm(self.DEADLINE_S)
        if self._stop is not None:
            self._stop()

    def describe(self) -> str:
        return signal.Signals(self.received).name if self.received is not None else "no signal"


def _serve(settings, definitions, signals: _Signals, mqtt=None) -> int:
    """Run the engine until a signal; ``mqtt``: the start-up's connected link, taken over."""
    from ocpp_bridge.config import ConfigError
    from ocpp_bridge.engine import Engine

    try:
        engine = Engine(settings, definitions, mqtt=mqtt)
    except BaseException as exc:
        if mqtt is not None:
            mqtt.stop()
        if not isinstance(exc, ConfigError):
            raise
        log.error("configuration error: %s", exc)
        return 2
    signals.route_to(engine.shutdown)
    engine.run()
    log.info("stopped (%s)", signals.describe())
    return 0


def run_module(config_path: str, module_id: str | None) -> int:
    from ocpp_bridge.config import ConfigError, impl_config_options, load_run_config
    from ocpp_bridge.everest.definitions import Definitions

    definitions = Definitions.load()
    try:
        settings = load_run_config(config_path, module_id, definitions.config_options(), definitions.requires(),
                                   impl_declared=impl_config_options(definitions.manifest))
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    return _serve(settings, definitions, _Signals().install())


def run_from_manager(args: argparse.Namespace | None = None) -> int:
    """Launched by a manager (EV_MODULE) or standalone: configuration over MQTT, then run."""
    from ocpp_bridge.config import ConfigError
    from ocpp_bridge.everest.definitions import Definitions
    from ocpp_bridge.launch import Cancelled, ConfigFetcher, LaunchError, read_env, settings_from_manager

    signals = _Signals().install()
    definitions = Definitions.load()
    get = (lambda name: getattr(args, name, None)) if args is not None else (lambda name: None)
    try:
        menv = read_env(os.environ, module_id=get("module"), prefix=get("prefix"), host=get("mqtt_host"),
                        port=get("mqtt_port"), socket_path=get("mqtt_socket"), generation=get("everest_protocol"))
    except LaunchError as exc:
        log.error("%s", exc)
        return 2
    log.info("module %s: configuration from the EVerest manager on %s (prefix %s); code in %s, definitions in %s",
             menv.module_id, menv.broker, menv.where.prefix, os.path.dirname(os.path.abspath(__file__)), definitions.root)
    fetcher = ConfigFetcher(menv)
    signals.route_to(fetcher.cancel)
    try:
        answer = fetcher.fetch()
    except Cancelled:
        log.info("stopped before the manager answered")
        return 0
    except LaunchError as exc:
        log.error("%s", exc)
        return 1
    link = fetcher.hand_over()
    try:
        settings = settings_from_manager(menv, answer, definitions)
    except ConfigError as exc:
        link.stop()
        log.error("configuration error: %s", exc)
        return 2
    return _serve(settings, definitions, signals, mqtt=link)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        return _command(parser, args)
    except DefinitionsProblem as exc:
        log.error("definition files: %s", " ".join(str(exc).split()))
        return 2


def _command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command is None:
        if os.environ.get("EV_MODULE"):
            return run_from_manager()
        parser.error("a command is needed (or EV_MODULE, as set by an EVerest manager)")
    if args.command == "run":
        if args.config and args.standalone:
            parser.error("run: --config and --standalone exclude each other")
        if args.config:
            return run_module(args.config, args.module)
        if args.standalone or os.environ.get("EV_MODULE"):
            return run_from_manager(args)
        parser.error("run: give --config FILE, or --standalone --module ID")
    if args.command == "install-everest-module":
        from ocpp_bridge.install import install
        return install(args.prefix, dry_run=args.dry_run)
    if args.command == "demo":
        from ocpp_bridge.demo.runner import run_demo
        return run_demo(args.ocpp_version, args.seconds, args.security_profile)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
