"""Findings and their evidence: what the diagnosis says, and why."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .confidence import level_for

__all__ = ["Evidence", "Finding", "SEVERITIES", "FAULT_MODE_NAMES", "PART_NAMES", "part_words", "part_named"]

SEVERITIES = ("watch", "warning", "alarm")

FAULT_MODE_NAMES = {
    "bearing_outer_race": "bearing outer-race defect",
    "bearing_inner_race": "bearing inner-race defect",
    "bearing_rolling_element": "bearing rolling-element (ball/roller) defect",
    "bearing_cage": "bearing cage defect",
    "gear_wear": "gear wear",
    "gear_broken_tooth": "broken or cracked gear tooth",
    "unbalance": "unbalance",
    "misalignment": "misalignment",
    "looseness": "mechanical looseness",
    "electrical": "electrical (magnetic) fault",
    "sensor_fault": "sensor fault (the measurement, not the machine)",
}

#: Bearing positions abbreviated in machine descriptions, in words (other names only lose their
#: underscores: ``drive_shaft`` -> ``drive shaft``, ``stage1`` -> ``stage 1``).
PART_NAMES = {"DE": "drive end", "NDE": "non-drive end"}


def part_words(name: str | None) -> str:
    """A bearing or gear name inside a component in words (``DE`` -> ``drive end``, ``stage1`` -> ``stage 1``)."""
    text = PART_NAMES.get(name or "", str(name or "").replace("_", " ").strip())
    return re.sub(r"([a-z])(\d)", r"\1 \2", text)


def part_named(name: str | None, kind: str) -> str:
    """A part as a person names it in a sentence: ``("DE", "bearing")`` -> ``drive-end bearing``,
    ``("stage1", "gear")`` -> ``stage 1 gear``, ``("motor_shaft", "bearing")`` -> ``motor-shaft bearing``.

    The words of the name become one compound adjective in front of ``kind`` (hyphenated, except
    before a number); a name that already ends in ``kind`` is not doubled.
    """
    words = part_words(name)
    if not words:
        return kind
    if words == kind or words.endswith(" " + kind):
        return words
    return f"{re.sub(r' (?=[^0-9 ])', '-', words)} {kind}"


@dataclass(frozen=True)
class Evidence:
    """One spectral line that supports a finding.

    Attributes
    ----------
    label : str
        Which expected line, e.g. ``"BPFO x2"`` or ``"BPFI x1 - 1x"`` (a sideband).
    expected_hz : float
        Where the kinematics put it (Hz).
    matched_hz : float
        Where the line was found (Hz).
    amplitude : float
        Its level: envelope lines are dimensionless (modulation of the squared envelope), spectrum
        lines are in mm/s peak (shaft orders) or m/s^2 peak (mesh, line frequency).
    snr_db : float
        Peak to local noise floor (dB).
    domain : str
        ``"envelope"`` or ``"spectrum"``.
    """

    label: str
    expected_hz: float
    matched_hz: float
    amplitude: float
    snr_db: float
    domain: str

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "expected_hz": round(self.expected_hz, 3),
                "matched_hz": round(self.matched_hz, 3), "amplitude": float(self.amplitude),
                "snr_db": round(self.snr_db, 2), "domain": self.domain}


@dataclass(frozen=True)
class Finding:
    """A diagnosed fault of one component, with its evidence.

    ``severity`` is ``"watch" | "warning" | "alarm"``; ``confidence`` is in [0, 1] (its calibrated
    level, ``diagnostics.confidence.level_for``, travels with ``to_dict``); ``score`` is the
    internal ranking key (detection strength, dimensionless) and ``detail`` holds method facts
    (which envelope view, its band, the significance) for the evidence plots.
    """

    component: str
    fault_mode: str
    location: str
    severity: str
    confidence: float
    evidence: list[Evidence]
    summary: str
    score: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"component": self.component, "fault_mode": self.fault_mode, "location": self.location,
                "severity": self.severity, "confidence": round(float(self.confidence), 3),
                "confidence_level": level_for(self.confidence, self.fault_mode),
                "evidence": [e.to_dict() for e in self.evidence], "summary": self.summary,
                "score": round(float(self.score), 3), "detail": self.detail}
