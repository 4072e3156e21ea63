"""Calibrated confidence levels: a finding's confidence score mapped to low / medium / high.

A finding's ``confidence`` is the detection score's margin over its threshold, squashed to 0..1
(bearings and teeth: 0.5 at the threshold, 0.75 at twice it; spectrum rules: their ratio to their
own threshold, capped at 0.95). It ranks findings but is not a probability. The levels people
read are cut on it by a *fitted* table, ``confidence_calibration.json`` next to this module, made
by ``python -m diagnostics.benchmarks.confidence`` from labelled bursts (the CWRU records cut into
1 s bursts, and synthesized bursts with known faults): "high" is the lowest score above which
the findings were right at least 95 % of the time, "medium" the lowest score from which the
findings below "high" were right at least 80 % of the time, and the precision the table states
for each level is the one measured on held-out bursts (grouped cross-validation), not on the
bursts the cut-offs were fitted on (docs/diagnostics.md, "Confidence levels").
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

__all__ = ["CALIBRATION_PATH", "LEVELS", "load_calibration", "thresholds_for", "level_for", "level_explanation"]

CALIBRATION_PATH = Path(__file__).with_name("confidence_calibration.json")
#: Highest first.
LEVELS = ("high", "medium", "low")
#: Findings that are not a scored detection, and why (their confidence is not calibrated).
UNSCORED = {"sensor_fault": "a check of the samples themselves (a flat signal, or a peak no accelerometer "
                            "on a running machine reads), not a scored detection"}


@lru_cache(maxsize=4)
def load_calibration(path: str | None = None) -> dict[str, Any]:
    """The calibration table (``thresholds``, ``targets``, ``held_out`` precision per level, ...).

    Parameters
    ----------
    path : str, optional
        Another table (tests); default :data:`CALIBRATION_PATH`.
    """
    table = json.loads(Path(path or CALIBRATION_PATH).read_text())
    for thresholds in [table["thresholds"], *table.get("thresholds_by_kind", {}).values()]:
        if not 0.0 <= float(thresholds["medium"]) <= float(thresholds["high"]) <= 1.0:
            raise ValueError(f"{path or CALIBRATION_PATH}: cut-offs must satisfy 0 <= medium <= high <= 1")
    return table


def _kind(fault_mode: str | None, table: Mapping[str, Any]) -> str | None:
    return next((kind for kind, modes in table.get("kinds", {}).items() if fault_mode in modes), None)


def thresholds_for(fault_mode: str | None = None, table: Mapping[str, Any] | None = None) -> dict[str, float]:
    """The cut-offs ``{"high", "medium"}`` that apply to a finding of ``fault_mode``: its kind's own
    (bearing, gear, shaft, electrical) when the table has them, else those fitted on all findings."""
    table = table or load_calibration()
    kind = _kind(fault_mode, table)
    return dict(table.get("thresholds_by_kind", {}).get(kind) or table["thresholds"])


def level_for(confidence: float | None, fault_mode: str | None = None,
              table: Mapping[str, Any] | None = None) -> str:
    """``"high"``, ``"medium"`` or ``"low"`` for a finding's confidence score; ``""`` for None.

    Parameters
    ----------
    confidence : float or None
        ``Finding.confidence`` (0..1).
    fault_mode : str, optional
        ``Finding.fault_mode``: picks its kind's cut-offs (:func:`thresholds_for`).
    table : mapping, optional
        A calibration table as :func:`load_calibration` returns; default the committed one.

    Examples
    --------
    >>> level_for(1.0, "bearing_outer_race")
    'high'
    >>> level_for(None)
    ''
    """
    if confidence is None:
        return ""
    th = thresholds_for(fault_mode, table)
    value = float(confidence)
    if value >= float(th["high"]):
        return "high"
    if value >= float(th["medium"]):
        return "medium"
    return "low"


def level_explanation(level: str, fault_mode: str | None = None, table: Mapping[str, Any] | None = None) -> str:
    """One or two sentences a person reads beside a level: how it is computed and how often such
    findings were right on held-out labelled bursts. ``""`` for an unknown level.

    A level holding fewer than the table's ``min_findings`` held-out findings states no precision.
    """
    table = table or load_calibration()
    if level not in LEVELS:
        return ""
    if fault_mode in UNSCORED:
        return f"{level.capitalize()} confidence: {UNSCORED[fault_mode]}, so no calibration applies."
    th = thresholds_for(fault_mode, table)
    kind = _kind(fault_mode, table)
    own = kind is not None and kind in table.get("thresholds_by_kind", {})
    held = (table["held_out_by_kind"][kind] if own else table["held_out"])[level]
    which = f"{kind} findings" if own else "findings"
    if level == "high":
        band = f"score {float(th['high']):.2f} or more"
    elif level == "medium":
        band = f"score {float(th['medium']):.2f} to {float(th['high']):.2f}"
    else:
        band = f"score below {float(th['medium']):.2f}"
    text = f"{level.capitalize()} confidence: {band}, the calibrated cut-off for {which}."
    if held["findings"] < int(table.get("min_findings", 10)):
        target = {"high": "95", "medium": "80"}.get(level)
        return text + (f" Too few held-out labelled {which} fell in this band ({held['findings']}) to state a precision"
                       + (f"; the band is fitted to be right at least {target} % of the time." if target else
                          "; below the medium cut-off no precision of 80 % was shown."))
    return text + (f" On held-out labelled bursts (CWRU records, simulated faults) {held['correct']} of "
                   f"{held['findings']} such {which} were right ({100.0 * held['precision']:.0f} %).")
