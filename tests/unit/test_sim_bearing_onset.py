"""The simulator's developing bearing faults through the real pipeline and the onset detector: a
bearing that starts healthy alarms once its fault has doubled the vibration; one that is already
faulty when monitoring starts sets its baseline there (the demo's seeded faults)."""
import numpy as np

from diagnostics.pipeline import analyze_burst
from diagnostics.prognostics.health_indicator import onset_state
from diagnostics.synthesis import synthesize_burst
from telemetry.simulator.fleet import FaultPlan

KIN = {"shaft_ratio": 1.0, "bearings": [{"name": "DE", "n_rolling": 9, "ball_diameter_mm": 7.94,
                                          "pitch_diameter_mm": 39.04, "contact_angle_deg": 0.0}]}
HOURS = np.linspace(0.0, 100.0, 120)


def rms_history(plan: FaultPlan) -> np.ndarray:
    out = []
    for k, h in enumerate(HOURS):
        severity = plan.severity(h)
        x = synthesize_burst(KIN, 1500.0, duration_s=0.25, fault=plan.fault if severity > 0 else None,
                             severity=severity, seed=k, fault_location=plan.location)
        out.append(analyze_burst(x, 25600.0, 1500.0, KIN).features["acc_rms_m_s2"])
    return np.array(out)


def test_a_bearing_that_starts_healthy_alarms_while_its_fault_grows():
    plan = FaultPlan("bearing_outer_race", "DE", 0.0, 0.6, ramp_hours=100.0)
    state = onset_state(HOURS, rms_history(plan))
    assert state.state == "degrading"
    assert 0.0 < plan.severity(state.alarm_time) < 0.3  # early in the growth, well before the end
    assert state.alarm_time >= HOURS[66]  # never before its own baseline exists (bursts 7-66)


def test_a_bearing_already_faulty_when_monitoring_starts_sets_its_baseline_there():
    plan = FaultPlan("bearing_outer_race", "DE", 0.6, 0.7, ramp_hours=100.0)
    assert onset_state(HOURS, rms_history(plan)).state == "healthy"
