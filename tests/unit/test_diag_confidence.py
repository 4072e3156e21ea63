"""Calibrated confidence levels: the mapping from a finding's score to low / medium / high, the fit
of the cut-offs, and (when the CWRU data is present) that the committed table is what the
calibration command produces."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from diagnostics import confidence as cal
from diagnostics.benchmarks import confidence as bench

CWRU = Path(os.environ.get("IRONWATCH_CWRU_DATA", Path(__file__).resolve().parents[3] / "shared" / "data" / "cwru"))

TABLE = {"targets": {"high": 0.95, "medium": 0.8}, "min_findings": 10,
         "kinds": {"bearing": ["bearing_outer_race"], "electrical": ["electrical"]},
         "thresholds": {"high": 0.8, "medium": 0.6},
         "thresholds_by_kind": {"electrical": {"high": 0.9, "medium": 0.7}},
         "held_out": {"high": {"findings": 40, "correct": 39, "precision": 0.975},
                      "medium": {"findings": 20, "correct": 17, "precision": 0.85},
                      "low": {"findings": 3, "correct": 1, "precision": 0.333}},
         "held_out_by_kind": {"electrical": {"high": {"findings": 12, "correct": 12, "precision": 1.0},
                                             "medium": {"findings": 0, "correct": 0, "precision": None},
                                             "low": {"findings": 15, "correct": 7, "precision": 0.467}}}}


def test_a_score_maps_to_its_level_through_the_table_and_its_kind():
    levels = [cal.level_for(v, "bearing_outer_race", TABLE) for v in (0.3, 0.6, 0.79, 0.8, 1.0)]
    assert levels == ["low", "medium", "medium", "high", "high"]
    # Electrical findings have cut-offs of their own: 0.85 is high for a bearing, medium for them.
    assert cal.level_for(0.85, "bearing_outer_race", TABLE) == "high"
    assert cal.level_for(0.85, "electrical", TABLE) == "medium"
    assert cal.level_for(0.85, "unbalance", TABLE) == "high"  # no kind of its own: the overall cut-offs
    assert cal.level_for(None, "electrical", TABLE) == ""


def test_the_explanation_names_the_cut_off_and_the_held_out_precision():
    text = cal.level_explanation("high", "electrical", TABLE)
    assert "0.90 or more" in text and "electrical findings" in text and "12 of 12" in text
    assert "too few" in cal.level_explanation("medium", "electrical", TABLE).lower()
    assert "17 of 20" in cal.level_explanation("medium", "bearing_outer_race", TABLE)
    assert "not a scored detection" in cal.level_explanation("high", "sensor_fault", TABLE)
    assert cal.level_explanation("certain", "electrical", TABLE) == ""


def test_the_fit_meets_each_level_s_precision_on_the_data_it_is_given():
    # 40 right findings at 0.9-1.0; from 0.7 down to 0.58, one wrong in six; below 0.5 mostly wrong.
    scores = [0.9 + 0.0025 * i for i in range(40)] + [0.7 - 0.004 * i for i in range(30)] + [0.5 - 0.01 * i for i in range(10)]
    right = [True] * 40 + [i % 6 != 0 for i in range(30)] + [i % 3 == 0 for i in range(10)]
    th = bench.fit_thresholds(scores, right)
    levels = bench.assign_levels(scores, th)
    counts = bench.level_counts(levels, right)
    assert counts["high"]["precision"] >= 0.95 and counts["medium"]["precision"] >= 0.8
    assert counts["low"]["precision"] < 0.8
    assert 0.0 <= th["medium"] <= th["high"] <= 1.0
    # Nothing reaches the target: nothing is high, and medium has no band.
    none = bench.fit_thresholds([0.6, 0.7, 0.8] * 5, [False, True, False] * 5)
    assert none == {"high": 1.0, "medium": 1.0}


def test_the_committed_table_is_consistent():
    table = cal.load_calibration()
    assert set(table["thresholds"]) == {"high", "medium"}
    for level in cal.LEVELS:
        held = table["held_out"][level]
        assert held["correct"] <= held["findings"]
    assert sum(table["held_out"][lv]["findings"] for lv in cal.LEVELS) == table["fitted_on"]["findings"]
    # What the fit promises holds where the held-out data says anything.
    high = table["held_out"]["high"]
    assert high["findings"] >= table["min_findings"] and high["precision"] >= 0.95


@pytest.mark.skipif(not (CWRU / "manifest.csv").is_file(), reason=f"CWRU data not at {CWRU}")
def test_the_committed_table_is_what_the_command_produces_on_the_data():
    """Reruns the whole calibration (CWRU + simulated; about 20 s of CPU, longer on a loaded machine)."""
    table = bench.calibrate(CWRU, folds=5, seeds=1, progress=lambda s: None)
    committed = json.loads(cal.CALIBRATION_PATH.read_text())
    assert bench.comparable(json.loads(json.dumps(table))) == bench.comparable(committed), \
        "diagnostics/confidence_calibration.json is stale: python -m diagnostics.benchmarks.confidence --data ... --write"
