"""RUL ages on the machine's operating hours (the hour meter each burst carries), not on the clock:
a day-shift machine's history bins to the rows of one running around the clock, and histories
without the hour meter fall back to wall-clock time and say so (no servers)."""
import numpy as np
import pytest

from diagnostics.prognostics.default_models import FieldLife, field_histories
from diagnostics.prognostics.history import (NS_PER_HOUR, OPERATING_HOURS, WALL_CLOCK, bin_history,
                                             history_matrix, hour_meter_column, operating_run_start)
from fleet.rul_scoring import RulResult, score_component

from rul_helpers import small_estimator

T0 = 1_764_720_000 * 1_000_000_000   # Wednesday 3 Dec 2025 00:00 UTC
DAY_NS = 24 * NS_PER_HOUR


def shift_times(n_bursts: int) -> np.ndarray:
    """Hourly bursts while a day-shift machine runs, from Wednesday: Monday to Friday, key on
    07:00-17:00 with a one-hour lunch at 12:00, so 9 bursts (9 engine hours) a working day, none at
    night or at the weekend."""
    working_hours = [7, 8, 9, 10, 11, 13, 14, 15, 16]
    times, day = [], 0
    while len(times) < n_bursts:
        if (day + 2) % 7 < 5:   # day 0 is a Wednesday
            times += [T0 + day * DAY_NS + int((h + 0.25) * NS_PER_HOUR) for h in working_hours]
        day += 1
    return np.array(times[:n_bursts], dtype=np.int64)


def wear(n_bursts: int) -> np.ndarray:
    """Feature rows of a component wearing with every hour it runs (channels of ``small_estimator``)."""
    k = np.arange(n_bursts, dtype=float)
    return np.column_stack([(k / 60.0) ** 2, np.sin(k), 60.0 + 0.1 * k])


def as_history(times: np.ndarray, rows: np.ndarray, meter: np.ndarray | None) -> dict:
    history = {"time": times.tolist(), "wear": rows[:, 0].tolist(), "noise": rows[:, 1].tolist(),
               "temp": rows[:, 2].tolist()}
    if meter is not None:
        history["hour_meter_h"] = [None if not np.isfinite(m) else float(m) for m in meter]
    return history


def test_a_shift_pattern_on_the_hour_meter_bins_to_the_rows_of_continuous_operation():
    n = 45                                               # five working days, a weekend in the middle
    rows = wear(n)
    shift = shift_times(n)
    meter = 4210.0 + np.arange(n, dtype=float)           # one engine hour between bursts
    continuous = T0 + np.arange(n, dtype=np.int64) * NS_PER_HOUR   # the same wear, around the clock

    on_meter = bin_history(shift, rows, 12.0, meter)
    round_the_clock = bin_history(continuous, rows, 12.0)
    assert on_meter.axis == OPERATING_HOURS and round_the_clock.axis == WALL_CLOCK
    assert on_meter.age_h.tolist() == round_the_clock.age_h.tolist() == [0.0, 12.0, 24.0, 36.0]
    np.testing.assert_allclose(on_meter.values, round_the_clock.values)
    assert on_meter.span_h == round_the_clock.span_h == 44.0 and on_meter.left_out == 0
    assert on_meter.last_ns == shift[-1]                 # estimates are still stamped at the burst's time

    # On the clock the same shift history is stretched: nights and the weekend count as wear.
    on_clock = bin_history(shift, rows, 12.0)
    assert on_clock.age_h.tolist() == [0.0, 24.0, 48.0, 120.0, 144.0] and on_clock.span_h == 153.0

    est = small_estimator(with_settings=False)
    est.metadata["cadence_hours"] = 6.0   # 8 observations of 6 h: enough for its 5
    scored_shift = score_component(as_history(shift, rows, meter), est, "kind-v1", RulResult("EX", "pump", "k", 1, [1]))
    scored_cont = score_component(as_history(continuous, rows, None), est, "kind-v1", RulResult("EX", "pump", "k", 1, [1]))
    assert scored_shift.scored and scored_cont.scored
    assert (scored_shift.p10_h, scored_shift.p50_h, scored_shift.p90_h) == (scored_cont.p10_h, scored_cont.p50_h,
                                                                           scored_cont.p90_h)
    assert scored_shift.age_axis == OPERATING_HOURS and scored_shift.history_h == 44.0
    assert "44.0 operating hours (hour meter)" in scored_shift.note
    assert scored_cont.age_axis == WALL_CLOCK and "wall-clock" in scored_cont.note


def test_without_the_hour_meter_the_history_falls_back_to_wall_clock_and_says_so():
    est = small_estimator(with_settings=False)
    est.metadata["cadence_hours"] = 12.0
    times = shift_times(12)
    result = score_component(as_history(times, wear(12), None), est, "kind-v1", RulResult("EX", "pump", "k", 1, [1]))
    assert result.age_axis == WALL_CLOCK
    assert result.reason.startswith("too little history: 2 of 5 observations of 12 h needed")
    assert "wall-clock data (no hour meter with the bursts)" in result.reason

    # ... and with it, the reason counts operating hours
    metered = score_component(as_history(times, wear(12), 100.0 + np.arange(12.0)), est, "kind-v1",
                              RulResult("EX", "pump", "k", 1, [1]))
    assert metered.age_axis == OPERATING_HOURS
    assert metered.reason.startswith("too little history: 1 of 5 observations of 12 operating hours needed")
    assert "11.0 operating hours (hour meter) of data, 12 bursts" in metered.reason


def test_rows_before_the_hour_meter_arrived_or_a_reset_meter_leave_the_operating_axis():
    meter = np.array([np.nan, np.nan, 10.0, 11.0, 12.0])
    assert operating_run_start(meter) == 2
    assert operating_run_start(np.array([500.0, 501.0, 3.0, 4.0])) == 2   # meter replaced: the new run
    assert operating_run_start(np.array([10.0, np.nan])) is None          # newest burst without one
    assert operating_run_start(np.array([10.0, 10.0, 11.0])) == 0         # standing still is no break

    times = T0 + np.arange(5, dtype=np.int64) * NS_PER_HOUR
    binned = bin_history(times, np.arange(5.0)[:, None], 1.0, meter)
    assert binned.axis == OPERATING_HOURS and binned.observations == 3 and binned.left_out == 2
    assert "2 older bursts without a usable hour meter left out" in binned.describe()

    # A long history on the clock with only its last bursts metered keeps its estimate on the clock
    # rather than losing it: the metered part alone is too short.
    est = small_estimator(with_settings=False)
    est.metadata["cadence_hours"] = 1.0
    n = 30
    times = T0 + np.arange(n, dtype=np.int64) * NS_PER_HOUR
    meter = np.full(n, np.nan)
    meter[-2:] = [900.0, 901.0]
    mixed = score_component(as_history(times, wear(n), meter), est, "kind-v1", RulResult("EX", "pump", "k", 1, [1]))
    assert mixed.scored and mixed.age_axis == WALL_CLOCK and mixed.observations == n


def test_the_hour_meter_column_follows_the_rows_history_matrix_keeps():
    history = {"time": [3 * NS_PER_HOUR, NS_PER_HOUR, 2 * NS_PER_HOUR], "a": [3.0, 1.0, None],
               "hour_meter_h": [103.0, 101.0, 102.0]}
    times, _ = history_matrix(history, ["a"])
    assert hour_meter_column(history, times).tolist() == [101.0, 103.0]
    assert hour_meter_column({"time": [1], "a": [1.0]}, np.array([1])) is None


def test_field_lives_train_on_operating_hours_to_the_replacement():
    n = 45
    rows = np.column_stack([wear(n)] * 2)[:, :6]
    shift = shift_times(n)
    meter = 4210.0 + np.arange(n, dtype=float)
    failed_ns = int(shift[-1] + 3 * DAY_NS)               # replaced three days later ...
    on_meter = field_histories([FieldLife("EX/pump", shift, rows, failed_ns, meter, meter[-1] + 2.0)])
    continuous = T0 + np.arange(n, dtype=np.int64) * NS_PER_HOUR
    reference = field_histories([FieldLife("EX/pump", continuous, rows, int(continuous[-1] + 2 * NS_PER_HOUR))])
    # ... after two more engine hours: the same rows and labels as a machine running around the clock
    assert on_meter.age_h.tolist() == reference.age_h.tolist()
    np.testing.assert_allclose(on_meter.rul_h, reference.rul_h)
    assert on_meter.rul_h[-1] == pytest.approx(2.0)
    # without the meter at the replacement the life stays on the clock (labels in wall hours)
    on_clock = field_histories([FieldLife("EX/pump", shift, rows, failed_ns, meter, None)])
    assert on_clock.rul_h[-1] == pytest.approx(72.0)
