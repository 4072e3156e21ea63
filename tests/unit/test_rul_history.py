"""Live feature histories to model rows, and the scorer's refusal of short histories (no servers)."""
import numpy as np

from diagnostics.prognostics.history import NS_PER_HOUR, bin_history, history_matrix
from fleet.rul_scoring import RulResult, score_component

from rul_helpers import small_estimator


def test_history_matrix_drops_incomplete_rows_and_sorts_by_time():
    history = {"time": [3 * NS_PER_HOUR, 1 * NS_PER_HOUR, 2 * NS_PER_HOUR],
               "a": [3.0, 1.0, None], "b": [30.0, 10.0, 20.0], "burst_id": ["x", "y", "z"]}
    t, v = history_matrix(history, ["a", "b"])
    assert t.tolist() == [NS_PER_HOUR, 3 * NS_PER_HOUR] and v.tolist() == [[1.0, 10.0], [3.0, 30.0]]
    assert history_matrix(history, ["a", "missing"])[0].size == 0
    assert history_matrix({"time": []}, ["a"])[1].shape == (0, 1)


def test_bins_average_by_cadence_and_skip_gaps():
    hours = np.array([0.0, 1.0, 5.0, 6.5, 30.0])  # a gap from 6.5 h to 30 h
    t = (hours * NS_PER_HOUR).astype(np.int64)
    v = np.array([[1.0], [3.0], [5.0], [7.0], [9.0]])
    b = bin_history(t, v, cadence_h=6.0)
    assert b.age_h.tolist() == [0.0, 6.0, 30.0]
    assert b.values[:, 0].tolist() == [3.0, 7.0, 9.0]
    assert b.last_ns == t[-1] and b.observations == 5 and b.span_h == 30.0


def test_scoring_refuses_too_little_history_and_names_why():
    est = small_estimator(with_settings=False)
    est.metadata["cadence_hours"] = 1.0
    times = [h * NS_PER_HOUR for h in range(3)]
    history = {"time": times, **{c: [0.1, 0.2, 0.3] for c in est.channels}}
    result = score_component(history, est, "kind-v1", RulResult("M-1", "pump", "kind", 1, [1]))
    assert not result.scored and result.p10_h is None and result.p50_h is None
    assert "too little history: 3 of 5 observations" in result.reason
    longer = {"time": [h * NS_PER_HOUR for h in range(12)],
              **{c: list(np.linspace(0.0, 1.0, 12)) for c in est.channels}}
    scored = score_component(longer, est, "kind-v1", RulResult("M-1", "pump", "kind", 1, [1]))
    assert scored.scored and scored.p10_h <= scored.p50_h <= scored.p90_h
    assert scored.model_version == "kind-v1" and scored.time_ns == 11 * NS_PER_HOUR
    missing = {"time": times, "wear": [0.1, 0.2, 0.3]}
    refused = score_component(missing, est, "kind-v1", RulResult("M-1", "pump", "kind", 1, [1]))
    assert "lacks" in refused.reason
    needs_settings = score_component(longer, small_estimator(), "kind-v2", RulResult("M-1", "pump", "kind", 1, [1]))
    assert "needs operating settings" in needs_settings.reason
