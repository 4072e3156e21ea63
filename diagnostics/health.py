"""Health index of a component from one burst's features and findings.

1 = healthy, 0 = failed. It is the smaller of two parts, so either kind of trouble shows:

* the ISO part falls along the machine's own zone limits: 1 up to half the A/B boundary, 0.85 at
  A/B, 0.6 at B/C, 0.3 at C/D, 0.05 at twice C/D (linear in between);
* the findings part: the worst finding's severity (watch 0.75, warning 0.5, alarm 0.25), eased by
  its confidence so a doubtful watch costs less than a sure one.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .findings import Finding

__all__ = ["iso_health", "findings_health", "health_index"]

_SEVERITY_HEALTH = {"watch": 0.75, "warning": 0.5, "alarm": 0.25}


def iso_health(velocity_rms_mm_s: float, limits_mm_s: Sequence[float]) -> float:
    """Health part (0..1) from broadband velocity RMS (mm/s) against zone limits (mm/s)."""
    ab, bc, cd = limits_mm_s
    xs = [0.0, 0.5 * ab, ab, bc, cd, 2.0 * cd]
    ys = [1.0, 1.0, 0.85, 0.6, 0.3, 0.05]
    return float(np.interp(velocity_rms_mm_s, xs, ys))


def findings_health(findings: Sequence[Finding]) -> float:
    """Health part (0..1) from the worst finding: severity level eased by (1 - confidence)."""
    worst = 1.0
    for f in findings:
        base = _SEVERITY_HEALTH.get(f.severity, 0.75)
        worst = min(worst, base + (1.0 - base) * (1.0 - float(f.confidence)) * 0.5)
    return worst


def health_index(velocity_rms_mm_s: float, limits_mm_s: Sequence[float], findings: Sequence[Finding]) -> float:
    """Component health index in [0, 1] (1 = healthy)."""
    return round(min(iso_health(velocity_rms_mm_s, limits_mm_s), findings_health(findings)), 4)
