"""Regression guard on real CWRU records (skipped when the public data set is not on this machine)."""
import os
from pathlib import Path

import pytest

from diagnostics.benchmarks.evaluate import CWRU_BEARINGS, load_cwru_record
from diagnostics.kinematics import ComponentKinematics
from diagnostics.pipeline import analyze_burst

# IRONWATCH_CWRU_DATA, else the shared data set next to the repository (../shared/data/cwru).
DATA = Path(os.environ.get("IRONWATCH_CWRU_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data" / "cwru")
pytestmark = pytest.mark.skipif(not (DATA / "manifest.csv").exists(), reason="CWRU data not present")
KIN = ComponentKinematics.from_dict({"shaft_ratio": 1.0, "bearings": [CWRU_BEARINGS["DE"]]})


@pytest.mark.parametrize("file, fs, rpm, expected", [
    ("normal_0_97.mat", 48000.0, 1796, None),
    ("12k_Drive_End_IR007_0_105.mat", 12000.0, 1797, "bearing_inner_race"),
    ("12k_Drive_End_OR007@6_0_130.mat", 12000.0, 1796, "bearing_outer_race"),
    ("12k_Drive_End_B021_0_222.mat", 12000.0, 1796, "bearing_rolling_element"),
])
def test_cwru_record_verdict(file, fs, rpm, expected):
    x, _ = load_cwru_record(DATA / file, "DE")
    findings = analyze_burst(x, fs, rpm, KIN, "DE bearing").findings
    if expected is None:
        assert findings == []
    else:
        assert findings and findings[0].fault_mode == expected
        assert any(e.label.endswith("x1") for e in findings[0].evidence)
