"""ISO 20816 evaluation zones from broadband velocity RMS.

Zones: A (newly commissioned), B (unrestricted long-term operation), C (restricted operation, plan
maintenance), D (damage likely). The three boundaries A/B, B/C, C/D are per machine: a component's
kinematics may carry ``zone_limits_mm_s``; otherwise ``iso_class`` picks one of the default sets
below; otherwise ``DEFAULT_CLASS``.

Default sets (velocity RMS, mm/s, measured on the bearing housing, 10 Hz to 1 kHz):

* ``iso20816-3/group1/rigid`` 2.3 / 4.5 / 7.1 and ``.../flexible`` 3.5 / 7.1 / 11.0 (ISO 10816-3:2009
  and ISO 20816-3:2022, group 1: large machines 300 kW to 50 MW).
* ``iso20816-3/group2/rigid`` 1.4 / 2.8 / 4.5 and ``.../flexible`` 2.3 / 4.5 / 7.1 (group 2: medium
  machines 15 kW to 300 kW, e.g. pumps, fans, gearboxes of this size).
* ``iso8528-9/generator`` 11 / 20 / 24 and ``iso8528-9/engine`` 28 / 45 / 50: reciprocating-engine
  generating sets, 1300 to 2000 rpm, 250 to 1250 kVA. ISO 8528-9 gives two values per machine part
  (value 1: no damage expected for standard designs; value 2: above it special designs are needed),
  20 and 24 mm/s for the alternator and 45 and 50 mm/s for the engine in that class. We use value 1
  as B/C and value 2 as C/D; the A/B boundary (about half of value 1, on the ISO 10816 R10 series)
  is our own choice, since ISO 8528-9 defines no zone A.
"""
from __future__ import annotations

from typing import Mapping, Sequence

__all__ = ["LIMIT_SETS", "DEFAULT_CLASS", "zone_limits", "iso_zone", "iso_band_hz", "ZONE_DESCRIPTIONS"]

LIMIT_SETS: Mapping[str, tuple[float, float, float]] = {
    "iso20816-3/group1/rigid": (2.3, 4.5, 7.1),
    "iso20816-3/group1/flexible": (3.5, 7.1, 11.0),
    "iso20816-3/group2/rigid": (1.4, 2.8, 4.5),
    "iso20816-3/group2/flexible": (2.3, 4.5, 7.1),
    "iso8528-9/generator": (11.0, 20.0, 24.0),
    "iso8528-9/engine": (28.0, 45.0, 50.0),
}
DEFAULT_CLASS = "iso20816-3/group2/flexible"

ZONE_DESCRIPTIONS = {
    "A": "newly commissioned condition",
    "B": "acceptable for unrestricted long-term operation",
    "C": "restricted operation: plan maintenance",
    "D": "vibration severe enough to cause damage",
}


def zone_limits(limits_mm_s: Sequence[float] | None = None, iso_class: str | None = None) -> tuple[float, float, float]:
    """Zone boundaries (A/B, B/C, C/D) in mm/s RMS: explicit limits, else the class, else the default."""
    if limits_mm_s is not None:
        a, b, c = (float(v) for v in limits_mm_s)
        return (a, b, c)
    return LIMIT_SETS[iso_class or DEFAULT_CLASS]


def iso_zone(velocity_rms_mm_s: float, limits_mm_s: Sequence[float]) -> str:
    """ISO 20816 zone letter for a broadband velocity RMS (mm/s) against boundaries (mm/s).

    A value exactly on a boundary belongs to the higher zone (the boundary is the start of it).
    """
    ab, bc, cd = limits_mm_s
    if velocity_rms_mm_s < ab:
        return "A"
    if velocity_rms_mm_s < bc:
        return "B"
    if velocity_rms_mm_s < cd:
        return "C"
    return "D"


def iso_band_hz(shaft_rpm: float, fs: float) -> tuple[float, float]:
    """Measurement band (Hz) for broadband velocity: 10-1000 Hz, or 2-1000 Hz below 600 rpm.

    ISO 10816-3 / 20816-3 widen the band down to 2 Hz for machines running at 120-600 rpm (their
    1x line would otherwise fall outside it); the top is kept below 0.45 fs.
    """
    low = 2.0 if shaft_rpm < 600.0 else 10.0
    return (low, min(1000.0, 0.45 * fs))
