"""Command line: wiring only. Read the configuration, build the engine, run until a signal.

``ocpp-bridge run --config FILE [--module ID]``  run as the module of an EVerest run config
``ocpp-bridge demo``                             broker + CSMS + simulated peers + bridge, locally
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from ocpp_bridge import __version__

log = logging.getLogger("ocpp_bridge")


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocpp-bridge", description="OCPP module for EVerest-style MQTT stacks")
    parser.add_argument("--version", action="version", version=f"ocpp-bridge {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run as the OcppBridge module of an EVerest run config")
    run.add_argument("--config", required=True, help="EVerest run config (YAML)")
    run.add_argument("--module", help="module id in the config (default: the only OcppBridge module)")
    demo = sub.add_parser("demo", help="everything on this machine: broker, CSMS, simulated EVSE, bridge")
    demo.add_argument("--ocpp-version", default="1.6", choices=["1.6", "2.0.1"])
    demo.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0 = until Ctrl-C)")
    return parser


def run_module(config_path: str, module_id: str | None) -> int:
    from ocpp_bridge.config import ConfigError, load_run_config
    from ocpp_bridge.engine import Engine
    from ocpp_bridge.everest.definitions import Definitions

    definitions = Definitions.load()
    try:
        settings = load_run_config(config_path, module_id, definitions.config_options(), definitions.requires())
        engine = Engine(settings, definitions)
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    def on_signal(signum, frame):
        log.info("signal %s: shutting down", signal.Signals(signum).name)
        engine.shutdown()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    engine.run()
    log.info("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(args.log_level)
    if args.command == "run":
        return run_module(args.config, args.module)
    if args.command == "demo":
        from ocpp_bridge.demo.runner import run_demo
        return run_demo(args.ocpp_version, args.seconds)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
