"""A standby genset in the simulator: its exercise run at the site's local time, its key-off heartbeat."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim_recording import RecordingGateway
from telemetry.simulator.fleet import HEARTBEAT_S, RUN_DOWN_S, SimulatedMachine, _plan_machine
from telemetry.simulator.machine_models import ExerciseSchedule, GensetModel

NS = 10**9
LONDON_WEDNESDAY_10 = {"weekday": 2, "start": "10:00", "minutes": 30}


def _ns(*args) -> int:
    return int(dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp()) * NS


def test_the_exercise_window_is_wednesday_ten_o_clock_site_time_in_summer_and_winter():
    london = ExerciseSchedule.from_settings(LONDON_WEDNESDAY_10, "Europe/London")
    # Monday 7 December 2026 (GMT): Wednesday 10:00 London is 10:00 UTC
    assert london.window_after(_ns(2026, 12, 7)) == (_ns(2026, 12, 9, 10), _ns(2026, 12, 9, 10, 30))
    # Monday 6 July 2026 (BST): 09:00 UTC
    assert london.window_after(_ns(2026, 7, 6)) == (_ns(2026, 7, 8, 9), _ns(2026, 7, 8, 9, 30))
    # during the run: this run; after it: next week's
    assert london.window_after(_ns(2026, 12, 9, 10, 10))[0] == _ns(2026, 12, 9, 10)
    assert london.window_after(_ns(2026, 12, 9, 10, 30))[0] == _ns(2026, 12, 16, 10)
    sydney = ExerciseSchedule.from_settings(LONDON_WEDNESDAY_10, "Australia/Sydney")
    assert sydney.window_after(_ns(2026, 12, 7))[0] == _ns(2026, 12, 8, 23)   # AEDT, UTC+11


def test_a_bad_schedule_is_refused_when_read():
    for settings, zone in (({"weekday": 7}, "UTC"), ({"start": "ten"}, "UTC"), ({}, "Mars/Olympus_Mons"),
                           ({"minutes": 0}, "UTC")):
        with pytest.raises((ValueError, KeyError)):
            ExerciseSchedule.from_settings(settings, zone)


def test_a_standby_set_runs_only_for_its_load_test_and_its_scheduled_exercise():
    start = _ns(2026, 12, 7, 12)   # Monday noon UTC (the old schedule, 2 d 10 h in, was Wednesday 22:00)
    model = GensetModel(11, start, 51.5, -0.12, hour_meter_h=700.0, duty="standby",
                        exercise=ExerciseSchedule.from_settings(LONDON_WEDNESDAY_10, "Europe/London"))
    assert model.mains_ok_for_s > 3 * 86400, "no mains outage in the three days (else pick another seed)"
    running = np.array([model.step()["engine_speed_rpm"] > 300.0 for _ in range(3 * 86400)])
    assert model.outage_left_s == 0
    on = np.flatnonzero(running) + 1   # seconds after the start
    load_test = on[on <= 3600 + 300 + 10]
    exercise = on[on > 3600 + 300 + 10]
    assert load_test.size > 3800, "the hour's load-bank test and its cool-down first"
    wednesday_10 = (_ns(2026, 12, 9, 10) - start) // NS
    assert exercise.min() == wednesday_10 + 1 or exercise.min() == wednesday_10
    assert exercise.max() <= wednesday_10 + 1800 + 10, "30 min, then the engine runs down"
    assert exercise.size >= 1795


def _standby_entry(**changes):
    return {"uid": "GS-9003", "kind": "genset", "token": "dev_c.s", "nominal_shaft_rpm": 1500.0,
            "rated_power_kw": 800.0, "hours": 760.0, "lat": 51.5, "lon": -0.12, "duty": "standby",
            "timezone": "Europe/London", "exercise": LONDON_WEDNESDAY_10, "sensors": [], "faults": [], **changes}


def _standby_plan():
    return _plan_machine(_standby_entry())


def test_the_plan_carries_the_provisioned_schedule_and_site_zone():
    plan = _standby_plan()
    assert plan.duty == "standby" and plan.exercise == ExerciseSchedule(2, "10:00", 30, "Europe/London")
    prime = _plan_machine(_standby_entry(hours=16000.0, duty=None, exercise=None, timezone=None))
    assert prime.duty == "prime" and prime.exercise is None
    # a standby set provisioned without a schedule keeps the default one, Wednesday 10:00 UTC
    assert _plan_machine(_standby_entry(exercise=None, timezone=None)).exercise == ExerciseSchedule()


def test_a_stopped_standby_set_sends_a_key_off_heartbeat_and_full_rate_while_it_runs():
    start = _ns(2026, 12, 9, 6)   # Wednesday 06:00 UTC: the load-bank test, then the 10:00 exercise
    gateway = RecordingGateway()
    machine = SimulatedMachine(_standby_plan(), gateway, 1, start, [], lambda *a, **k: None, gap_mean_h=0.0)
    machine.advance_to(start + 8 * 3600 * NS)
    times = np.array([t for batch in gateway.operating for t, _ in batch])
    fields = [f for batch in gateway.operating for _, f in batch]
    assert np.all(np.diff(times) > 0)
    rpm = np.array([f["engine_speed_rpm"] for f in fields])
    # the load-bank hour, the cool-down and the run-down: one sample a second
    first_hour = times < start + (3600 + 300 + RUN_DOWN_S) * NS
    assert first_hour.sum() == 3600 + 300 + RUN_DOWN_S - 1
    # then stopped: one heartbeat per period, each sent at once, carrying the key-off status
    stopped = (times > start + 4000 * NS) & (times < _ns(2026, 12, 9, 10))
    gaps = np.diff(times[stopped]) / NS
    assert stopped.sum() >= 3 and np.all(gaps == HEARTBEAT_S)
    assert all(rpm[stopped] == 0.0)
    for beat in np.array(fields, dtype=object)[stopped]:
        assert {"battery_v", "hour_meter_h", "lat", "lon", "fuel_level_pct"} <= set(beat)
    heartbeat_uploads = [b for b in gateway.operating if start + 4000 * NS < b[0][0] < _ns(2026, 12, 9, 10)]
    assert all(len(b) == 1 for b in heartbeat_uploads[1:]), "a heartbeat does not wait for a full batch"
    # the exercise (10:00-10:30 UTC in December) at full rate again
    exercise = (times >= _ns(2026, 12, 9, 10)) & (times < _ns(2026, 12, 9, 10, 30))
    assert exercise.sum() >= 1790 and rpm[exercise][60:].min() > 1400.0
    # nothing was ever held back longer than a heartbeat period
    sent_at = np.array([b[-1][0] for b in gateway.operating])
    assert np.diff(sent_at).max() <= HEARTBEAT_S * NS
