"""The demo's degrading bearing (GS-2009's alternator drive end) through the real simulator machine,
as ``make run`` backfills it (two days, bursts every 12 h, the last two hours hourly), the real
pipeline and the fleet's onset detector: healthy baseline, then onset, inside the backfill."""
import numpy as np

from diagnostics.pipeline import analyze_burst
from diagnostics.synthesis import synthesize_burst
from fleet import demo_fleet
from fleet.rul_scoring import bearing_onset
from telemetry.simulator.fleet import HistoryThinning, SimulatedMachine, _plan_machine

NS = 1_000_000_000
START = 1_764_000_000 * NS  # whole minute
DAYS = 2


class Recorder:
    """Stands in for the gateway's network side: keeps the bursts (the machine model is real)."""

    online = True

    def __init__(self):
        self.bursts = []

    def send_burst(self, sensor, axis, fs, t_ns, rpm, samples, hour_meter_h=None):
        self.bursts.append((sensor, t_ns, rpm, samples))

    def send_operating(self, batch):
        pass

    def send_faults(self, *args):
        pass


def demo_entry(uid: str) -> dict:
    spec = next(m for m in demo_fleet.MACHINES if m.uid == uid)
    templates = demo_fleet.COMPONENTS_BY_KIND[spec.kind]
    faults = [f for f in demo_fleet.FAULTS if f.machine == uid]
    return {"uid": uid, "kind": spec.kind, "token": "t", "lat": 53.0, "lon": -1.5, "hours": spec.hours,
            "nominal_shaft_rpm": spec.nominal_shaft_rpm, "rated_power_kw": spec.rated_power_kw,
            "sensors": [{"name": demo_fleet.sensor_name(t.name), "component": t.name, "sample_rate_hz": 25600.0,
                         "kinematics": t.kinematics} for t in templates if t.name == "alternator_de"],
            "faults": [{"component": f.component, "sensor": demo_fleet.sensor_name(f.component), "fault": f.fault,
                        "location": f.location, "severity_start": f.severity_start,
                        "severity_end": f.severity_end, "ramp_hours": f.ramp_hours} for f in faults]}


def test_a_thinned_history_still_sends_hourly_bursts_in_its_full_rate_tail():
    plan = _plan_machine(demo_entry("GS-2009"))
    hours = 5
    end = START + hours * 3600 * NS
    thin = HistoryThinning(until_ns=end - 2 * 3600 * NS, sample_every_s=60, burst_every_s=2 * 3600)
    gateway = Recorder()
    machine = SimulatedMachine(plan, gateway, 0, START, [60], synthesize_burst, gap_mean_h=0.0, thin=thin)
    machine.advance_to(end)
    got = [(t - START) // NS for _, t, _, _ in gateway.bursts]
    # thinned every 2 h until 3 h, then hourly at the sensor's phase (60 s past the hour)
    assert got == [60, 7260, 10860, 14460], got


def test_the_demo_bearing_forms_a_healthy_baseline_then_alarms_inside_the_backfill():
    """make run's backfill (DEMO_HISTORY): a burst every 6 running hours, then hourly in the last
    two hours; the prime set runs around the clock, so its fault grows with the elapsed hours."""
    from app.__main__ import DEMO_HISTORY
    from telemetry.simulator.run import parse_duration_s

    entry = demo_entry("GS-2009")
    plan = _plan_machine(entry)
    assert plan.duty == "prime" and plan.sensors[0].fault.severity_start == 0.0
    fault, kin = plan.sensors[0].fault, dict(entry["sensors"][0]["kinematics"])
    span_h = parse_duration_s(DEMO_HISTORY) / 3600.0
    hours = [*np.arange(0.0, span_h - 2.0, 6.0), span_h - 2.0, span_h - 1.0]
    times, rms = [], []
    for k, h in enumerate(hours):
        severity = fault.severity(h)
        x = synthesize_burst(kin, 1500.0, duration_s=1.0, fault=fault.fault if severity > 0 else None,
                             severity=severity, snr_db=20.0, seed=k, fault_location=fault.location)
        times.append(START + int(h * 3600) * NS)
        rms.append(analyze_burst(x, 25600.0, 1500.0, kin).features["acc_rms_m_s2"])
    state = bearing_onset({"time": times, "acc_rms_m_s2": rms})
    assert state.state == "degrading", (state, rms)
    half = len(hours) // 2
    assert bearing_onset({"time": times[:half], "acc_rms_m_s2": rms[:half]}).state == "healthy"
    assert times[half] <= state.alarm_time <= times[-1]   # inside the backfill, after a healthy first half
    assert times[3] <= state.onset_time < state.alarm_time
    assert fault.severity(hours[-1]) < plan.sensors[0].fault.severity_end   # not yet at its worst
