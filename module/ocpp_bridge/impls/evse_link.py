"""The EVSE managers on the bus, seen from the OCPP side (EVerest's evse_manager interface).

Owns both directions between the ``evse_manager`` connections and the station:
- in: their variables (``session_event``, ``powermeter``, ``ev_info``, ``ready``,
  ``waiting_for_external_ready``) become the neutral events of ``ocpp/evse_events.py``;
- out: the station's ``EvsePort`` requests become evse_manager commands (enable_disable,
  stop_transaction, pause/resume_charging, force_unlock, reserve, cancel_reservation,
  withdraw_authorization), with their answers delivered back as ``done(ok)``; reservations go
  through the ``reservation`` module instead when one is connected (``reserve_now`` /
  ``cancel_reservation``), as in EVerest.
Errors the EVSE managers raise (kept per EVSE by the engine) become ``EvseFault``.
It also owns the start-up handshake EVerest's OCPP module does: ``get_evse`` for the
connector layout and ``external_ready_to_start_charging``. EVSE id = 1-based position of
the connection in the run config. Explicit field maps; no name guessing.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from ocpp_bridge.ocpp import evse_events as E

log = logging.getLogger("ocpp_bridge.evse")

REQ = "evse_manager"

_CHARGING_STATE = {
    "ChargingStarted": "Charging",
    "ChargingPausedEV": "SuspendedEV",
    "ChargingPausedEVSE": "SuspendedEVSE",
    "SwitchingPhases": "SuspendedEVSE",
    "StoppingCharging": "EVConnected",
    "ChargingFinished": "EVConnected",
}


def meter_sample(pm: dict | None) -> E.MeterSample | None:
    """EVerest ``Powermeter`` -> MeterSample (explicit map of the fields OCPP can report)."""
    if not isinstance(pm, dict) or "timestamp" not in pm:
        return None

    def total(obj: Any, key: str = "total") -> float | None:
        return obj.get(key) if isinstance(obj, dict) else None

    def phases(obj: Any, keys: tuple[str, ...] = ("L1", "L2", "L3")) -> dict:
        return {k: obj[k] for k in keys if isinstance(obj, dict) and obj.get(k) is not None}

    def dc(obj: Any) -> dict:
        value = total(obj, "DC")
        return {"DC": value} if value is not None else {}

    current = pm.get("current_A")
    voltage = pm.get("voltage_V")
    freq = pm.get("frequency_Hz")
    temps = pm.get("temperatures") or []
    return E.MeterSample(
        timestamp=pm["timestamp"],
        energy_import_wh=total(pm.get("energy_Wh_import")),
        energy_export_wh=total(pm.get("energy_Wh_export")),
        power_w=total(pm.get("power_W")),
        reactive_power_var=total(pm.get("VAR")),
        frequency_hz=total(freq, "L1"),
        current_a=phases(current, ("L1", "L2", "L3", "N")) or dc(current),
        voltage_v=phases(voltage) or dc(voltage),
        power_w_phases=phases(pm.get("power_W")),
        energy_import_wh_phases=phases(pm.get("energy_Wh_import")),
        temperature_c=temps[0].get("temperature") if temps and isinstance(temps[0], dict) else None,
    )


def id_token(provided: dict | None) -> E.IdToken | None:
    """EVerest ``ProvidedIdToken`` -> IdToken."""
    if not isinstance(provided, dict) or not isinstance(provided.get("id_token"), dict):
        return None
    token = provided["id_token"]
    return E.IdToken(str(token.get("value", "")), str(token.get("type", "ISO14443")))


class EvseLink:
    """Implements ``EvsePort`` on top of the engine's command calls."""

    def __init__(self, engine, *, token_sink: Callable[..., None], data_transfer: Callable[..., None]):
        """``token_sink``: publishes provided tokens (auth_provider); ``data_transfer``: forwards a
        CSMS DataTransfer to the data_transfer module."""
        self.engine = engine
        self._token_sink = token_sink
        self._data_transfer = data_transfer
        self.count = len(engine.settings.connections.get(REQ, []))
        self.connectors: dict[int, tuple[int, ...]] = {}
        for var, fn in (("session_event", self._on_session_event), ("powermeter", self._on_powermeter),
                        ("ev_info", self._on_ev_info), ("ready", self._on_ready),
                        ("waiting_for_external_ready", self._on_waiting)):
            engine.on_required_var(REQ, var, fn)
        engine.evse_errors.on_change(self._on_evse_error)

    @property
    def station(self):
        return self.engine.station

    def attach(self, station) -> None:
        """``station``'s EVSE requests come here. A station built while OCPP runs (OcppVersion
        "auto" switched versions) hears what its EVSEs said at start-up: each known layout
        (``EvseReady``) and the errors active now."""
        station.evse_port = self
        for evse, connectors in sorted(self.connectors.items()):
            station.on_evse_event(E.EvseReady(evse, connectors))
        for evse, errors in self.engine.evse_errors.items():
            for error in errors:
                station.on_evse_event(E.EvseFault(evse, str(error.get("type", "")), True,
                                                  str(error.get("message", ""))))

    # ------------------------------------------------------------------ start-up
    def on_ocpp_started(self) -> None:
        """Ask each EVSE for its connectors, then tell it OCPP is ready (EVerest's order)."""
        for evse in range(1, self.count + 1):
            self._call(evse, "get_evse", {}, on_value=functools.partial(self._on_layout, evse))

    def _on_layout(self, evse: int, value: Any) -> None:
        connectors: tuple[int, ...] = (1,)
        if isinstance(value, dict) and value.get("connectors"):
            connectors = tuple(int(c["id"]) for c in value["connectors"])
        else:
            log.warning("EVSE %d: no connector layout from get_evse (%r); assuming one connector", evse, value)
        self.connectors[evse] = connectors
        self._call(evse, "external_ready_to_start_charging", {})
        self._emit(E.EvseReady(evse, connectors))

    def _on_evse_error(self, evse: int, error: dict, raised: bool) -> None:
        """An evse_manager error raised or cleared (kept by the engine) -> EvseFault."""
        self._emit(E.EvseFault(evse, str(error.get("type", "")), raised, str(error.get("message", ""))))

    def _on_ready(self, index: int, value: Any) -> None:
        log.info("EVSE %d ready: %s", index + 1, value)

    def _on_waiting(self, index: int, value: Any) -> None:
        if value is True and self.engine.ocpp_started:
            self._call(index + 1, "external_ready_to_start_charging", {})

    # ------------------------------------------------------------------ variables in
    def _emit(self, event: object) -> None:
        self.station.on_evse_event(event)

    def _on_powermeter(self, index: int, value: Any) -> None:
        sample = meter_sample(value)
        if sample is None:
            log.warning("EVSE %d: powermeter value without timestamp ignored", index + 1)
            return
        self._emit(E.MeterReading(index + 1, sample))  # the EV's SoC joins it there (ocpp/common/readings.py)

    def _on_ev_info(self, index: int, value: Any) -> None:
        if isinstance(value, dict) and isinstance(value.get("soc"), (int, float)):
            self._emit(E.EvInfo(index + 1, float(value["soc"])))

    def _on_session_event(self, index: int, value: Any) -> None:
        if not isinstance(value, dict) or "event" not in value or "uuid" not in value:
            log.warning("EVSE %d: session_event without event/uuid ignored: %.200r", index + 1, value)
            return
        event = self.session_event(index + 1, value)
        if event is not None:
            self._emit(event)

    def session_event(self, evse: int, value: dict) -> object | None:
        """EVerest ``SessionEvent`` -> neutral event (None for events OCPP does not use)."""
        kind, sid = value["event"], value["uuid"]
        ts = value.get("timestamp", "")
        conn = int(value.get("connector_id") or 1)
        if kind == "SessionStarted":
            ss = value.get("session_started") or {}
            return E.SessionStarted(evse, conn, sid, ts, ss.get("reason", "EVConnected"), id_token(ss.get("id_tag")),
                                    meter_sample(ss.get("meter_value")), ss.get("reservation_id"))
        if kind == "SessionResumed":  # restored at start-up: its transaction (if any) goes on
            return E.SessionResumed(evse, conn, sid, ts)
        if kind == "AuthRequired":
            return E.AuthRequired(evse, conn, sid)
        if kind == "TransactionStarted":
            ts_ = value.get("transaction_started") or {}
            token = id_token(ts_.get("id_tag")) or E.IdToken("", "NoAuthorization")
            meter = meter_sample(ts_.get("meter_value")) or E.MeterSample(ts)
            return E.TransactionStarted(evse, conn, sid, ts, token, meter, ts_.get("reservation_id"))
        if kind in _CHARGING_STATE:
            return E.ChargingStateChanged(evse, conn, sid, _CHARGING_STATE[kind], ts)
        if kind == "TransactionFinished":
            tf = value.get("transaction_finished") or {}
            meter = meter_sample(tf.get("meter_value")) or E.MeterSample(ts)
            return E.TransactionFinished(evse, conn, sid, ts, tf.get("reason", "Other"), meter, id_token(tf.get("id_tag")))
        if kind == "SessionFinished":
            return E.SessionFinished(evse, conn, sid, ts)
        if kind in ("Enabled", "Disabled"):
            return E.EvseEnabled(evse, conn, kind == "Enabled")
        if kind in ("ReservationStart", "ReservationEnd"):
            return E.ReservationChanged(evse, conn, kind == "ReservationStart")
        if kind == "PluginTimeout":
            return E.PluginTimeout(evse, conn, sid)
        log.debug("EVSE %d: session event %s not used by OCPP", evse, kind)
        return None

    # ------------------------------------------------------------------ EvsePort
    def _call(self, evse: int, cmd: str, args: dict, done: E.Done | None = None,
              on_value: Callable[[Any], None] | None = None) -> None:
        if not 1 <= evse <= self.count:
            log.warning("no EVSE %d for %s", evse, cmd)
            if done:
                done(False)
            return

        def finished(retval: Any, error: tuple[str, str] | None) -> None:
            if error is not None:
                log.warning("EVSE %d: %s failed: %s: %s", evse, cmd, *error)
            if on_value is not None:
                on_value(None if error else retval)
            if done is not None:
                done(error is None and retval is not False)

        self.engine.call_required(REQ, evse - 1, cmd, args, finished)

    def enable_disable(self, evse, connector, enable, done=None):
        source = {"enable_source": "CSMS", "enable_state": "Enable" if enable else "Disable", "enable_priority": 5000}
        self._call(evse, "enable_disable", {"connector_id": connector, "cmd_source": source}, done)

    def stop_transaction(self, evse, reason, done=None):
        self._call(evse, "stop_transaction", {"request": {"reason": reason}}, done)

    def pause_charging(self, evse, done=None):
        self._call(evse, "pause_charging", {}, done)

    def resume_charging(self, evse, done=None):
        self._call(evse, "resume_charging", {}, done)

    def force_unlock(self, evse, connector, done=None):
        self._call(evse, "force_unlock", {"connector_id": connector}, done)

    def reserve(self, evse, reservation_id, done=None, *, id_token="", expiry_time="", parent_id_token=None):
        """``evse`` None: a station-wide reservation; with no reservation module there is no
        EVSE to tell (the OCPP side keeps it), so it is accepted as it is."""
        if not self.engine.settings.connections.get("reservation"):
            if evse is None:
                if done is not None:
                    done(True)
                return
            self._call(evse, "reserve", {"reservation_id": reservation_id}, done)
            return
        request = {"reservation_id": reservation_id, "id_token": id_token, "expiry_time": expiry_time}
        if evse is not None:
            request["evse_id"] = evse
        if parent_id_token:
            request["parent_id_token"] = parent_id_token
        self._call_reservation("reserve_now", {"request": request}, lambda result: result == "Accepted", done)

    def cancel_reservation(self, evse, done=None, *, reservation_id=None):
        if not self.engine.settings.connections.get("reservation") or reservation_id is None:
            if evse is None:  # station-wide, no reservation module: no EVSE was told
                if done is not None:
                    done(True)
                return
            self._call(evse, "cancel_reservation", {}, done)
            return
        self._call_reservation("cancel_reservation", {"reservation_id": reservation_id}, lambda result: result is True,
                               done)

    def _call_reservation(self, cmd: str, args: dict, accepted: Callable[[Any], bool], done: E.Done | None) -> None:
        """The ``reservation`` module (as EVerest's OCPP module uses it) decides and tells the EVSE."""
        def finished(retval: Any, error: tuple[str, str] | None) -> None:
            if error is not None:
                log.warning("reservation.%s failed: %s: %s", cmd, *error)
            if done is not None:
                done(error is None and accepted(retval))
        self.engine.call_required("reservation", 0, cmd, args, finished)

    def authorization_withdrawn(self, evse):
        self._call(evse, "withdraw_authorization", {})

    def provide_token(self, token, evses, prevalidated, request_id=None):
        self._token_sink(token, evses, prevalidated, request_id)

    def data_transfer(self, request, done):
        self._data_transfer(request, done)

    def reset(self, kind, done=None):
        """The system module resets the charger (``system_link``)."""
        self.engine.system_link.reset(kind, done)

    def security_present(self):
        return self.engine.security_link.present

    def security_call(self, cmd, args, done):
        """The evse_security module's ``cmd`` (``security_link``)."""
        self.engine.security_link.call(cmd, args, done)

    def system_present(self):
        return self.engine.system_link.present

    def update_firmware(self, request, done):
        """Firmware updates and log uploads go to the system module (``system_link``)."""
        self.engine.system_link.update_firmware(request, done)

    def allow_firmware_installation(self):
        self.engine.system_link.allow_firmware_installation()

    def upload_logs(self, request, done):
        self.engine.system_link.upload_logs(request, done)
