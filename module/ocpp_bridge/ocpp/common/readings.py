"""The latest power-meter reading of each EVSE, for the blocks of both OCPP versions. PURE.

Owns one table: EVSE id -> the newest ``MeterSample`` its meter reported (``MeterReading``),
with the EV's state of charge joined in. EVerest publishes the SoC apart from the powermeter
(``ev_info``), so an ``EvInfo`` SoC goes into the EVSE's current reading and into every later
reading that carries none of its own. The transaction and meter-value blocks of both versions
read it (sampled and clock-aligned values, triggered MeterValues, the Transaction.End value,
MaxEnergyOnInvalidId, the reading kept in a transaction's record for a power loss). It hears
the bus before them: the build lists make it before the transaction blocks.

Must never: send anything, keep readings per transaction (the records do), or read a clock.
"""

from __future__ import annotations

from dataclasses import replace

from ocpp_bridge.ocpp.events import EventBus
from ocpp_bridge.ocpp.evse_events import EvInfo, MeterReading, MeterSample


class MeterReadings:
    STATE = ("_latest",)  # for a block that takes readings inside its state changes

    def __init__(self, events: EventBus) -> None:
        self._latest: dict[int, MeterSample] = {}
        self._soc: dict[int, float] = {}
        events.subscribe(MeterReading, lambda event: self.take(event.evse, event.sample))
        events.subscribe(EvInfo, self._on_ev_info)

    def latest(self, evse: int) -> MeterSample | None:
        return self._latest.get(evse)

    def energy_wh(self, evse: int) -> float | None:
        """The import register of the latest reading, if any."""
        sample = self._latest.get(evse)
        return sample.energy_import_wh if sample is not None else None

    def take(self, evse: int, sample: MeterSample) -> None:
        """``sample`` is now ``evse``'s latest reading (the EV's last SoC joins it if it has none)."""
        soc = self._soc.get(evse)
        if sample.soc_percent is None and soc is not None:
            sample = replace(sample, soc_percent=soc)
        self._latest[evse] = sample

    def _on_ev_info(self, event: EvInfo) -> None:
        if event.soc_percent is None:
            return
        self._soc[event.evse] = event.soc_percent
        current = self._latest.get(event.evse)
        if current is not None:
            self._latest[event.evse] = replace(current, soc_percent=event.soc_percent)
