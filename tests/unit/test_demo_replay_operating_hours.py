"""The demo's backfill (``python -m app demo``: DEMO_HISTORY replayed with BACKFILL_SIMULATOR_ARGS)
gives a day-shift excavator enough operating hours for an RUL estimate, on the worst weekday to
start it: the real simulated machine and its shift, bursts thinned by engine running time."""
import datetime as dt

import numpy as np

from app.__main__ import BACKFILL_SIMULATOR_ARGS, DEMO_HISTORY
from diagnostics.prognostics.default_models import CADENCE_H, MIN_HISTORY
from diagnostics.prognostics.bearing_fleet import FLEET_INDICATOR
from diagnostics.prognostics.history import OPERATING_HOURS, bin_history
from fleet import demo_fleet
from telemetry.simulator.fleet import HistoryThinning, SimulatedMachine, _plan_machine
from telemetry.simulator.run import FULL_RATE_TAIL_S, parse_duration_s

NS = 1_000_000_000


class Recorder:
    """Stands in for the gateway's network side: keeps each burst's time and hour meter."""

    online = True

    def __init__(self):
        self.bursts = []

    def send_burst(self, sensor, axis, fs, t_ns, rpm, samples, hour_meter_h=None):
        self.bursts.append((t_ns, hour_meter_h))

    def send_operating(self, batch):
        pass

    def send_faults(self, *args):
        pass


def m62_excavator() -> dict:
    """EX-1010 as fleet.seed provisions it: the M62 site's Monday-Friday 07:30-17:30 shift, the pump's sensor."""
    spec = next(m for m in demo_fleet.MACHINES if m.uid == "EX-1010")
    pump = next(t for t in demo_fleet.EXCAVATOR_COMPONENTS if t.name == "hydraulic_pump")
    return {"uid": spec.uid, "kind": "excavator", "token": "t", "lat": 53.7, "lon": -1.6, "hours": spec.hours,
            "nominal_shaft_rpm": spec.nominal_shaft_rpm, "rated_power_kw": spec.rated_power_kw,
            "shift": demo_fleet.SITE_SHIFTS["m62"], "timezone": "Europe/London",
            "sensors": [{"name": "hydraulic_pump.acc", "component": "hydraulic_pump", "sample_rate_hz": 25600.0,
                         "kinematics": pump.kinematics}]}


def test_the_demo_backfill_gives_a_day_shift_excavator_its_rul_observations():
    thin_every = BACKFILL_SIMULATOR_ARGS[BACKFILL_SIMULATOR_ARGS.index("--thin-burst-every") + 1]
    # Monday 04:00 London: the five days before hold only Wednesday, Thursday and Friday's shifts
    end = int(dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.timezone.utc).timestamp()) * NS
    start = end - int(parse_duration_s(DEMO_HISTORY)) * NS
    thin = HistoryThinning(until_ns=end - FULL_RATE_TAIL_S * NS, sample_every_s=60,
                           burst_every_s=int(parse_duration_s(thin_every)))
    gateway = Recorder()
    machine = SimulatedMachine(_plan_machine(m62_excavator()), gateway, 0, start, [60],
                               lambda *args, **kwargs: np.zeros(256, dtype=np.float32), gap_mean_h=0.0, thin=thin)
    machine.advance_to(end)

    times = np.array([t for t, _ in gateway.bursts], dtype=np.int64)
    meter = np.array([h for _, h in gateway.bursts], dtype=float)
    assert np.all(np.isfinite(meter)) and np.all(np.diff(meter) >= 0)   # every burst carries the meter
    binned = bin_history(times, np.zeros((times.size, 1)), CADENCE_H, meter)
    assert binned.axis == OPERATING_HOURS
    assert binned.age_h.size >= MIN_HISTORY, (machine.operating_hours, meter - meter[0])
    # the pump takes the bearing path: its baseline and a first judgement need this many bursts
    assert times.size >= FLEET_INDICATOR.ready_snapshots + 1
    # and the thinning kept the replay cheap: about one burst per sensor per 6 running hours
    assert times.size <= machine.operating_hours / 6.0 + 2
