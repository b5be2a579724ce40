"""Start-up as a module of a running EVerest manager (launched by it, or standalone).

Owns three steps before the engine exists: reading where the manager is from the
environment it sets for its modules (everest.md §5) or from a standalone start's flags;
asking the manager for our configuration over MQTT (everest.md §1.5), retrying when no
answer comes; and building ``config.Settings`` from the answer. After that the module runs
exactly as when started from a run-config file, on the same MQTT connection: the fetcher
hands its connected link to the engine (``ConfigFetcher.hand_over``), so start-up is one
connection, as with EVerest's own modules. It never runs the engine and never publishes
anything but configuration requests.

Which generation's request to send: the one forced by ``--everest-protocol`` /
``OCPP_BRIDGE_EVEREST_PROTOCOL``; else the one the manager's retained definition topics
show (G3 wraps them in its envelope); else G3 and G2 in turn, one per attempt. The form the
answer comes in decides ``EverestProtocol`` for the rest of the run: a module cannot talk
to a manager in the other generation, whatever its option says.
"""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass
from typing import Mapping

from ocpp_bridge.config import MODULE_NAME, ConfigError, Settings, build_settings, impl_config_options
from ocpp_bridge.everest import manager_config as MC
from ocpp_bridge.everest.definitions import Definitions
from ocpp_bridge.everest.mqtt import MqttLink
from ocpp_bridge.everest.protocol import G2, G3, GENERATIONS, normalise_prefix

log = logging.getLogger("ocpp_bridge.launch")

DETECT_WAIT_S = 1.0  # how long the retained definitions may take to arrive after connecting


class LaunchError(Exception):
    """The module cannot start as a manager's module; the message says why."""


class Cancelled(Exception):
    """A signal arrived while waiting for the manager."""


@dataclass(frozen=True)
class ManagerEnv:
    """Who we are and where the manager is (``where``: a Settings without options yet),
    and how to ask it."""

    where: Settings
    validate_schema: bool = False
    install_prefix: str | None = None
    generation: str | None = None      # forced request form; None = the manager's
    attempts: int = 3
    timeout_s: float = 5.0

    @property
    def module_id(self) -> str:
        return self.where.module_id

    @property
    def broker(self) -> str:
        w = self.where
        return w.broker_socket or f"{w.broker_host}:{w.broker_port}"


def _flag(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _number(env: Mapping[str, str], name: str, default: float, kind=int):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise LaunchError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise LaunchError(f"{name} must be positive, got {raw!r}")
    return value


def read_env(env: Mapping[str, str], *, module_id: str | None = None, prefix: str | None = None,
             host: str | None = None, port: int | None = None, socket_path: str | None = None,
             generation: str | None = None) -> ManagerEnv:
    """The manager's environment (``EV_MODULE``, ``EV_MQTT_EVEREST_PREFIX``,
    ``EV_MQTT_BROKER_SOCKET_PATH`` or ``EV_MQTT_BROKER_HOST``/``_PORT``, ``EV_VALIDATE_SCHEMA``,
    ``EV_PREFIX``); ``MQTT_SERVER_ADDRESS``/``_PORT`` override the broker as in EVerest;
    keyword arguments (a standalone start's flags) override everything."""
    module_id = module_id or env.get("EV_MODULE")
    if not module_id:
        raise LaunchError("no module id: EV_MODULE is not set and --module was not given")
    if env.get("MQTT_SERVER_ADDRESS"):
        b_host, b_port, b_socket = env["MQTT_SERVER_ADDRESS"], env.get("MQTT_SERVER_PORT") or "1883", None
    elif env.get("EV_MQTT_BROKER_SOCKET_PATH"):
        b_host, b_port, b_socket = "localhost", "1883", env["EV_MQTT_BROKER_SOCKET_PATH"]
    else:
        b_host = env.get("EV_MQTT_BROKER_HOST") or "localhost"
        b_port = env.get("MQTT_SERVER_PORT") or env.get("EV_MQTT_BROKER_PORT") or "1883"
        b_socket = None
    if host or port:
        b_socket = None
    if socket_path:
        b_socket = socket_path
    try:
        b_port_int = int(port or b_port)
    except ValueError:
        raise LaunchError(f"broker port must be a number, got {b_port!r}") from None
    generation = generation or env.get("OCPP_BRIDGE_EVEREST_PROTOCOL") or None
    if generation is not None and generation not in GENERATIONS:
        raise LaunchError(f"EverestProtocol must be one of {GENERATIONS}, got {generation!r}")
    return ManagerEnv(
        Settings(module_id, prefix=normalise_prefix(prefix or env.get("EV_MQTT_EVEREST_PREFIX") or "everest"),
                 broker_host=host or b_host, broker_port=b_port_int, broker_socket=b_socket),
        validate_schema=_flag(env.get("EV_VALIDATE_SCHEMA")),
        install_prefix=env.get("EV_PREFIX") or None,
        generation=generation,
        attempts=_number(env, "OCPP_BRIDGE_CONFIG_ATTEMPTS", 3),
        timeout_s=_number(env, "OCPP_BRIDGE_CONFIG_TIMEOUT_S", 5.0, float),
    )


class ConfigFetcher:
    """Asks the manager for our configuration; ``cancel()`` (any thread) ends the wait."""

    _CANCEL = object()

    def __init__(self, menv: ManagerEnv):
        self.menv = menv
        self.requests_sent = 0
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()  # put() is safe from a signal handler
        self._link: MqttLink | None = None  # after a successful fetch, until hand_over()
        self._topics: list[str] = []

    def cancel(self) -> None:
        self._inbox.put(self._CANCEL)

    def fetch(self) -> MC.ModuleConfig:
        """The manager's answer, or LaunchError after ``attempts`` unanswered requests. After
        an answer the MQTT link stays up for ``hand_over``; otherwise it is closed."""
        m, w = self.menv, self.menv.where
        response, settings = MC.response_topic(w.prefix, w.module_id), MC.settings_topic(w.prefix)
        link = MqttLink(host=w.broker_host, port=w.broker_port, socket_path=w.broker_socket,
                        on_message=lambda t, p: self._inbox.put((t, p)))
        self._topics = [response, settings]
        link.subscribe(self._topics)
        connected = link.start(wait_s=m.timeout_s)
        if not connected:
            log.warning("MQTT broker %s not reachable yet; still trying", m.broker)
        answered = False
        try:
            generation = m.generation
            if generation is None and connected:
                generation = self._wait(settings, response, time.monotonic() + DETECT_WAIT_S, None)[0]
                if generation:
                    log.info("the manager speaks EverestProtocol %s (its retained definitions)", generation)
            for attempt in range(1, m.attempts + 1):
                form = generation or (G3 if attempt % 2 else G2)
                request = MC.config_request(w.prefix, w.module_id, form)
                log.info("asking the EVerest manager for the configuration of %r on %s (%s, attempt %d of %d)",
                         w.module_id, request.topic, form, attempt, m.attempts)
                link.publish(request.topic, request.payload)
                self.requests_sent += 1
                seen, answer = self._wait(settings, response, time.monotonic() + m.timeout_s, generation)
                generation = generation or seen
                if answer is not None:
                    try:
                        config = MC.decode_response(answer, w.module_id, MODULE_NAME)
                    except MC.ManagerConfigError as exc:
                        raise LaunchError(f"unusable configuration from the EVerest manager: {exc}") from None
                    self._link, answered = link, True
                    return config
            raise LaunchError(
                f"no configuration from the EVerest manager: {m.attempts} request(s) on "
                f"{MC.request_topic(w.prefix)} got no answer on {response} within {m.timeout_s:g} s each "
                f"(broker {m.broker}{'' if link.connected else ', not connected'}). Is the manager "
                f"running with module {w.module_id!r} in its config (marked standalone when started by hand)?")
        finally:
            if not answered:
                link.stop()

    def hand_over(self) -> MqttLink:
        """The link of a successful ``fetch``, still connected, without the fetcher's own
        subscriptions; the caller owns it from now on (``attach`` its callbacks, ``stop`` it)."""
        link, self._link = self._link, None
        if link is None:
            raise LaunchError("no MQTT link to hand over: the configuration was not fetched")
        link.unsubscribe(self._topics)
        link.attach(on_message=lambda t, p: None)
        return link

    def _wait(self, settings: str, response: str, deadline: float,
              generation: str | None) -> tuple[str | None, bytes | None]:
        """Until ``deadline``: the generation seen on the retained definitions and, when
        ``generation`` is known or a request is out, the first answer."""
        seen = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return seen, None
            try:
                item = self._inbox.get(timeout=left)
            except queue.Empty:
                return seen, None
            if item is self._CANCEL:
                raise Cancelled()
            topic, payload = item
            if topic == settings:
                seen = seen or MC.generation_of(payload)
                if self.requests_sent == 0 and seen:
                    return seen, None
            elif topic == response and self.requests_sent:
                return seen, payload


def settings_from_manager(menv: ManagerEnv, mc: MC.ModuleConfig, definitions: Definitions) -> Settings:
    """Our Settings from the manager's answer: its options and connections, checked against
    our manifest exactly as a run-config file's would be."""
    options = dict(mc.module_options)
    configured = options.get("EverestProtocol")
    if configured is not None and configured != mc.generation:
        log.warning("EverestProtocol is %r in the manager's config, but the manager speaks %s: using %s",
                    configured, mc.generation, mc.generation)
    options["EverestProtocol"] = mc.generation
    if menv.validate_schema:
        options["ValidateSchema"] = True
    try:
        return build_settings(
            menv.where, options=options, connections=mc.connections,
            declared=definitions.config_options(), requires=definitions.requires(),
            impl_options=mc.impl_options, impl_declared=impl_config_options(definitions.manifest))
    except ConfigError as exc:
        raise ConfigError(f"configuration of {menv.module_id!r} from the EVerest manager: {exc}") from None
