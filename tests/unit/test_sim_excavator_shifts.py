"""An excavator in the simulator: its working day in site-local time (key on / key off), its key-off
heartbeat overnight and over the weekend, and the "not reporting" window that heartbeat is held to."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from fleet import demo_fleet
from fleet.alarms import ReportingPolicy, is_stale
from fleet.utilization import daily_usage, local_days, thresholds_for
from sim_recording import RecordingGateway
from telemetry.simulator.fleet import HEARTBEAT_S, RUN_DOWN_S, SimulatedMachine, _plan_machine
from telemetry.simulator.machine_models import ExcavatorModel
from telemetry.simulator.schedules import ShiftPattern

NS = 10**9
QUARRY = demo_fleet.SITE_SHIFTS["blackstone"]     # 07:00-17:00 Monday to Saturday
TOWN = demo_fleet.SITE_SHIFTS["quays"]            # 08:00-18:00 Monday to Friday


def _ns(*args) -> int:
    return int(dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp()) * NS


def _excavator(shift=TOWN, timezone="Europe/London"):
    return _plan_machine({"uid": "EX-9002", "kind": "excavator", "token": "dev_d.s", "nominal_shaft_rpm": 1800.0,
                          "rated_power_kw": 124.0, "hours": 1400.0, "lat": 53.47, "lon": -2.29, "sensors": [],
                          "faults": [], "timezone": timezone, "shift": shift})


def _run(plan, start_ns, end_ns):
    gateway = RecordingGateway()
    machine = SimulatedMachine(plan, gateway, 1, start_ns, [], lambda *a, **k: None, gap_mean_h=0.0)
    machine.advance_to(end_ns)
    machine.flush_batch()
    samples = [s for batch in gateway.operating for s in batch]
    times = np.array([t for t, _ in samples])
    rpm = np.array([f["engine_speed_rpm"] for _, f in samples])
    return gateway, machine, times, rpm


def test_the_working_day_is_the_shift_less_its_breaks_in_site_time_weekends_off():
    town = ShiftPattern.from_settings(TOWN, "Europe/London")
    monday = (2026, 12, 7)
    windows, t = [], _ns(*monday)
    for _ in range(4):
        windows.append(town.window_after(t))
        t = windows[-1][1]
    assert windows == [(_ns(*monday, 8), _ns(*monday, 10)), (_ns(*monday, 10, 15), _ns(*monday, 12, 30)),
                       (_ns(*monday, 13), _ns(*monday, 15)), (_ns(*monday, 15, 15), _ns(*monday, 18))]
    # Friday evening: the next key-on is Monday 08:00; the quarry works Saturday
    assert town.window_after(_ns(2026, 12, 11, 18))[0] == _ns(2026, 12, 14, 8)
    quarry = ShiftPattern.from_settings(QUARRY, "Europe/London")
    assert quarry.window_after(_ns(2026, 12, 11, 18))[0] == _ns(2026, 12, 12, 7)
    # summer time: 08:00 in London is 07:00 UTC
    assert town.window_after(_ns(2026, 7, 6))[0] == _ns(2026, 7, 6, 7)
    # round the clock: one window, however many midnights
    start, end = ShiftPattern.round_the_clock().window_after(_ns(*monday, 3))
    assert start <= _ns(*monday, 3) and end - start >= 7 * 86400 * NS


def test_a_bad_shift_is_refused_when_the_provisioning_is_read():
    for shift in ({"start": "18:00", "end": "07:00"}, {"weekdays": [7]}, {"weekdays": []},
                  {"breaks": [["06:00", 30]]}, {"breaks": [["12:00", 0]]}, {"start": "seven"}):
        with pytest.raises(ValueError):
            _excavator(shift=shift)
    with pytest.raises(ValueError):
        _excavator(timezone="Mars/Olympus_Mons")


def test_a_simulated_night_sends_key_off_heartbeats_only():
    evening, morning = _ns(2026, 12, 8, 18), _ns(2026, 12, 9, 8)   # Tuesday 18:00 to Wednesday 08:00 London
    gateway, machine, times, rpm = _run(_excavator(), evening - 1800 * NS, morning)
    night = times >= evening + RUN_DOWN_S * NS
    assert np.all(rpm[night] == 0.0), "the key is off all night"
    gaps = np.diff(times[night]) / NS
    assert night.sum() == pytest.approx(14 * 3600 / HEARTBEAT_S, abs=2) and np.all(gaps == HEARTBEAT_S)
    beats = [b for b in gateway.operating if b[0][0] > evening + RUN_DOWN_S * NS]
    assert all(len(b) == 1 for b in beats), "each heartbeat goes out at once, not in a minute batch"
    for _, fields in beats[0]:
        assert {"battery_v", "hour_meter_h", "lat", "lon", "fuel_level_pct"} <= set(fields)
    assert machine.model.hour_meter_h == pytest.approx(beats[-1][-1][1]["hour_meter_h"], abs=1e-4)
    # and before 18:00 the machine was working at one sample a second
    before = times < evening
    assert before.sum() >= 1800 - 2 and rpm[before].max() > 1500.0


def test_a_weekend_off_is_heartbeats_only_and_monday_starts_on_time():
    friday_end, monday = _ns(2026, 12, 11, 18), _ns(2026, 12, 14)
    gateway, _, times, rpm = _run(_excavator(), friday_end, monday + 9 * 3600 * NS)
    weekend = (times >= friday_end + RUN_DOWN_S * NS) & (times < monday + 8 * 3600 * NS)
    assert np.all(rpm[weekend] == 0.0)
    assert weekend.sum() == pytest.approx((2 * 86400 + 14 * 3600) / HEARTBEAT_S, abs=2)
    started = times[(rpm > 300.0)].min()
    assert _ns(2026, 12, 14, 8) <= started <= _ns(2026, 12, 14, 8, 10), "keyed on within 10 min of 08:00"


def test_a_working_day_keeps_plausible_working_idle_and_off_hours_and_fuel():
    monday = _ns(2026, 12, 7)
    _, machine, times, rpm = _run(_excavator(shift=QUARRY), monday, monday + 86400 * NS)
    assert np.all(rpm[times < _ns(2026, 12, 7, 7)] == 0.0) and np.all(rpm[times > _ns(2026, 12, 7, 17, 2)] == 0.0)
    for start, minutes in QUARRY["breaks"]:   # key off over each break (after the run-down)
        hours, mins = (int(x) for x in start.split(":"))
        at = _ns(2026, 12, 7, hours, mins)
        assert np.all(rpm[(times > at + (RUN_DOWN_S + 5) * NS) & (times < at + minutes * 60 * NS)] == 0.0)
    # the portal's arithmetic (fleet.utilization) on one-minute means of what was sent
    minute = (times - monday) // (60 * NS)
    fields = {k: np.zeros(1440) for k in ("engine_speed_rpm", "engine_load_pct", "fuel_rate_l_h")}
    counts = np.bincount(minute, minlength=1440)[:1440]
    sent = machine.gateway.operating
    samples = [f for batch in sent for _, f in batch]
    for name in fields:
        sums = np.bincount(minute, weights=[f[name] for f in samples], minlength=1440)[:1440]
        fields[name] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    (day,) = daily_usage(monday + np.arange(1440) * 60 * NS, fields["engine_speed_rpm"], fields["engine_load_pct"],
                         fields["fuel_rate_l_h"], thresholds_for("excavator", "IW-220"),
                         local_days(dt.date(2026, 12, 7), dt.date(2026, 12, 7), dt.timezone.utc))
    assert 6.5 < day.working_h < 9.0 and 0.3 < day.idle_h < 2.5, day
    assert 14.0 < day.off_h < 16.0, "off outside 07:00-17:00 and over the hour of breaks"
    assert day.running_h == pytest.approx(machine.operating_hours, abs=0.1), "the hour meter agrees"
    assert 0.05 * 124 * day.running_h < day.fuel_l < 0.26 * 124 * day.running_h


def test_a_run_started_at_night_starts_cold_and_stopped():
    model = ExcavatorModel(3, _ns(2026, 12, 9, 2), 53.47, -2.29,
                           shift=ShiftPattern.from_settings(TOWN, "Europe/London"))
    first = model.step()
    assert first["engine_speed_rpm"] == 0.0 and first["coolant_temp_c"] < 40.0
    assert model.hour_meter_h == 2500.0


def test_the_heartbeat_keeps_an_excavator_reporting_overnight_but_an_hour_of_silence_is_not():
    """The seeded window for excavators (60 min): four missed 15-min heartbeats, or an hour's silence
    with the key on. Judged at every minute of a simulated night; a 40-min coverage dip (two lost
    heartbeats), which the 30-min window of a running machine would call an outage, is not one."""
    policy = ReportingPolicy.from_settings(demo_fleet.EXCAVATOR_REPORTING, "Europe/London")
    evening, morning = _ns(2026, 12, 8, 17, 30), _ns(2026, 12, 9, 9)
    _, _, times, _ = _run(_excavator(), evening, morning)
    heard = times[~((times > _ns(2026, 12, 9, 1)) & (times < _ns(2026, 12, 9, 1, 40)))]   # the dip
    judged = 0
    for now in range(evening + 60 * NS, morning, 60 * NS):
        last = heard[heard <= now].max()
        at = dt.datetime.fromtimestamp(now / NS, dt.timezone.utc)
        assert not is_stale(dt.datetime.fromtimestamp(last / NS, dt.timezone.utc), at, policy), at
        judged += 1
    assert judged > 900
    assert is_stale(dt.datetime.fromtimestamp(_ns(2026, 12, 9, 0, 30) / NS, dt.timezone.utc),
                    dt.datetime.fromtimestamp(_ns(2026, 12, 9, 1, 40) / NS, dt.timezone.utc),
                    ReportingPolicy.from_settings(None)), "the default 30-min window would have alarmed"
    # key on at 10:00, then nothing for 61 min: not reporting
    last_sample = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.timezone.utc)
    assert not is_stale(last_sample, last_sample + dt.timedelta(minutes=59), policy)
    assert is_stale(last_sample, last_sample + dt.timedelta(minutes=61), policy)
