"""Duty-cycle models and DM1 fault codes of the simulated machines (pure code, no server)."""
from __future__ import annotations

import math

import pytest

from telemetry.simulator.dm1 import EXCAVATOR_RULES, FaultCodeMonitor, LimitRule
from telemetry.simulator.machine_models import ExcavatorModel, GensetModel, make_model
from telemetry.schema import OPERATING_FIELDS

T0 = 1_764_028_800 * 10**9   # 2025-11-25T00:00:00Z, a Tuesday
SHIFT_START = T0 + 7 * 3600 * 10**9   # the default working day, Monday to Friday 07:00-17:30 UTC
LAT, LON = 53.2391, -1.9070
DAY = 86400


def _run(model, seconds):
    return [model.step() for _ in range(seconds)]


@pytest.fixture(scope="module")
def excavator_day():
    m = ExcavatorModel(7, T0, LAT, LON, hour_meter_h=9120.0, rated_kw=294.0)
    return m, _run(m, DAY)


@pytest.fixture(scope="module")
def genset_day():
    m = GensetModel(7, T0, 53.80, -1.55, hour_meter_h=16320.0, duty="prime", rated_kw=640.0)
    return m, _run(m, DAY)


def test_same_seed_same_samples_other_seed_other_samples():
    for kind in ("excavator", "genset"):
        a = _run(make_model(kind, 3, T0, LAT, LON), 600)
        b = _run(make_model(kind, 3, T0, LAT, LON), 600)
        c = _run(make_model(kind, 4, T0, LAT, LON), 600)
        assert a == b
        assert a != c


@pytest.mark.parametrize("fixture", ["excavator_day", "genset_day"])
def test_every_field_is_in_the_schema_and_within_its_plausible_range(fixture, request):
    _, rows = request.getfixturevalue(fixture)
    assert len(rows[0]) >= 19
    for name in rows[0]:
        spec = OPERATING_FIELDS[name]
        values = [r[name] for r in rows]
        assert all(math.isfinite(v) for v in values), name
        assert spec.minimum <= min(values) and max(values) <= spec.maximum, name


@pytest.mark.parametrize("fixture", ["excavator_day", "genset_day"])
def test_hour_meter_advances_exactly_while_the_engine_runs(fixture, request):
    model, rows = request.getfixturevalue(fixture)
    running_s = sum(r["engine_speed_rpm"] > 300 for r in rows)
    advanced_h = rows[-1]["hour_meter_h"] - rows[0]["hour_meter_h"]
    assert advanced_h == pytest.approx((running_s - 1) / 3600.0, abs=2 / 3600.0)
    for prev, cur in zip(rows, rows[1:]):
        if cur["engine_speed_rpm"] == 0.0 and prev["engine_speed_rpm"] == 0.0:
            assert cur["hour_meter_h"] == prev["hour_meter_h"]


def test_excavator_works_its_day_with_breaks_and_digs_at_relief_pressure(excavator_day):
    _, rows = excavator_day
    rpm = [r["engine_speed_rpm"] for r in rows]
    # The default working day (07:00-17:30 UTC) with the key off before and after it and over the
    # breaks at 10:00 (15 min), 12:30 (30 min) and 15:00 (15 min); the run starts at midnight.
    h = 3600
    assert all(v == 0.0 for v in rpm[:7 * h])
    assert all(v == 0.0 for v in rpm[10 * h + 120: 10 * h + 900])
    assert all(v == 0.0 for v in rpm[int(12.5 * h) + 120: 13 * h])
    assert all(v == 0.0 for v in rpm[int(17.5 * h) + 120:])
    assert max(rpm[7 * h: 10 * h]) > 1800.0
    pressures = [r["hydraulic_pressure_bar"] for r in rows]
    assert 300.0 < max(pressures) < 360.0
    hours_run = rows[-1]["hour_meter_h"] - rows[0]["hour_meter_h"]
    assert 8.0 < hours_run < 9.5, "10.5 h less an hour of breaks and the operators' start-up delays"


def test_excavator_stays_on_site(excavator_day):
    _, rows = excavator_day
    for r in rows[::30]:
        north = (r["lat"] - LAT) * 111_320.0
        east = (r["lon"] - LON) * 111_320.0 * math.cos(math.radians(LAT))
        assert math.hypot(north, east) < 200.0
    moved = {(r["lat"], r["lon"]) for r in rows if r["travel_speed_km_h"] > 0}
    assert len(moved) > 10, "it does travel now and then"


def test_coolant_lags_behind_when_the_engine_stops(excavator_day):
    _, rows = excavator_day
    stop = int(12.5 * 3600) + 60   # a minute into the lunch break
    at_stop = rows[stop]["coolant_temp_c"]
    ten_min = rows[stop + 600]["coolant_temp_c"]
    ambient = rows[stop + 600]["ambient_temp_c"]
    assert at_stop > 80.0
    assert ambient + 40.0 < ten_min < at_stop, "cools slowly towards ambient (thermal lag)"


def test_fuel_burns_while_running_and_is_refilled(excavator_day):
    _, rows = excavator_day
    levels = [r["fuel_level_pct"] for r in rows]
    assert levels[9 * 3600] < levels[7 * 3600 + 900]
    assert levels[6 * 3600] == levels[0], "no burn with the key off"
    rises = [b - a for a, b in zip(levels, levels[1:]) if b > a]
    assert rises and max(rises) > 20.0, "a refuel fills the tank in one go"
    burn = sum(r["fuel_rate_l_h"] for r in rows) / 3600.0
    assert 0.05 * 294 * 8 < burn < 0.26 * 294 * 9.5, "litres per working day for a 294 kW machine"


def test_prime_genset_follows_load_at_nominal_frequency_and_voltage(genset_day):
    _, rows = genset_day
    kw = [r["power_kw"] for r in rows]
    assert 0.15 * 640 < min(kw) and max(kw) <= 1.1 * 640
    assert max(kw) - min(kw) > 0.2 * 640, "the load varies over the day"
    freq = sorted(r["frequency_hz"] for r in rows)
    assert 49.9 < freq[len(freq) // 2] < 50.1
    assert 49.0 < freq[0] and freq[-1] < 51.0
    assert all(0.7 < r["power_factor"] < 1.0 for r in rows)
    assert all(abs(r["engine_speed_rpm"] - 30.0 * r["frequency_hz"]) < 0.1 for r in rows)


def test_standby_genset_runs_its_load_test_then_stands_by():
    m = GensetModel(5, T0, 53.8, -1.55, duty="standby", rated_kw=1000.0)
    rows = _run(m, 3 * 3600)
    assert rows[600]["power_kw"] == pytest.approx(500.0, abs=20.0)
    assert all(r["power_kw"] == 0.0 for r in rows[3600 + 10: 3600 + 290]), "cool-down run unloaded"
    later = rows[3600 + 400:]
    assert all(r["engine_speed_rpm"] == 0.0 for r in later[60:]) or any(r["power_kw"] > 0 for r in later), \
        "off unless the mains fail"


def test_monitor_reports_codes_with_hysteresis_debounce_and_occurrences():
    rule = LimitRule(110, 0, "coolant_temp_c", 105.0, 100.0, True, "red_stop", debounce_s=3)
    mon = FaultCodeMonitor((rule,))
    first = mon.update({"coolant_temp_c": 90.0}, True)
    assert first is not None and first.active == ()
    seq = [106.0, 106.0, 106.0, 103.0, 101.0, 99.0, 99.0, 99.0, 107, 107, 107]
    changes = [(i, mon.update({"coolant_temp_c": v}, True)) for i, v in enumerate(seq)]
    changes = [(i, c) for i, c in changes if c is not None]
    assert [(i, c.active) for i, c in changes] == [(2, ((110, 0, 1),)), (7, ()), (10, ((110, 0, 2),))]
    assert dict(changes[0][1].lamps)["red_stop"] == 1
    assert dict(changes[1][1].lamps)["red_stop"] == 0


def test_monitor_reports_only_the_most_severe_fmi_of_an_spn():
    mon = FaultCodeMonitor(EXCAVATOR_RULES)
    fields = {"coolant_temp_c": 108.0, "oil_pressure_kpa": 300.0, "fuel_level_pct": 50.0}
    state = [mon.update(fields, True) for _ in range(5)]
    active = [s for s in state if s is not None][-1].active
    assert [(spn, fmi) for spn, fmi, _ in active] == [(110, 0)]


def test_oil_pressure_code_only_while_running():
    mon = FaultCodeMonitor(EXCAVATOR_RULES)
    for _ in range(10):
        mon.update({"oil_pressure_kpa": 0.0}, False)
    assert mon._state().active == ()
    changes = [mon.update({"oil_pressure_kpa": 60.0}, True) for _ in range(5)]
    assert [c for c in changes if c is not None][-1].active == ((100, 1, 1),)


def test_fouled_radiator_raises_coolant_codes_a_clean_one_does_not():
    def codes(degradation):
        m = ExcavatorModel(11, SHIFT_START, LAT, LON, cooling_degradation=degradation)
        mon = FaultCodeMonitor(m.rules)
        seen = set()
        for _ in range(6 * 3600):
            state = mon.update(m.step(), m.running)
            if state is not None:
                seen |= {(spn, fmi) for spn, fmi, _ in state.active}
        return seen

    fouled = codes(1.0)
    assert (110, 16) in fouled or (110, 0) in fouled
    assert not {c for c in codes(0.0) if c[0] == 110}


def test_excavator_that_runs_dry_stops_until_the_bowser_comes():
    m = ExcavatorModel(2, SHIFT_START, LAT, LON)
    m.fuel_l = 0.8
    rows = _run(m, 4 * 3600)
    dry = next(i for i, r in enumerate(rows) if r["fuel_level_pct"] < 0.2)
    refill = next(i for i, r in enumerate(rows) if i > dry and r["fuel_level_pct"] > 90.0)
    assert all(r["engine_speed_rpm"] < 300 for r in rows[dry + 60: refill]), "no restart on an empty tank"
    assert any(r["engine_speed_rpm"] > 900 for r in rows[refill: refill + 120]), "works again once refuelled"
