"""Words for people: component and fault names, confidence levels and ISO 20816 zones explained.

Identifiers such as ``alternator_de`` or ``bearing_outer_race`` are for machines; every title,
page and message a person reads goes through these functions (work-order titles here in the
domain, pages through the template filters the console blueprint registers). Pure functions.
Bearing and gear names (``part_words``, ``part_named``) come from ``diagnostics.findings``,
whose finding summaries name parts the same way.
"""
from __future__ import annotations

from typing import Any, Mapping

from diagnostics import confidence as calibrated
from diagnostics.findings import FAULT_MODE_NAMES, part_named, part_words  # noqa: F401 (re-exported)

#: Component identifiers of the demo fleet and of OEM templates, in words.
COMPONENT_WORDS = {
    "engine": "engine",
    "hydraulic_pump": "hydraulic pump",
    "swing_gearbox": "swing gearbox",
    "travel_motor": "travel motor",
    "alternator_de": "alternator drive end",
    "alternator_nde": "alternator non-drive end",
}

#: ``Finding.fault_mode`` values in words: the diagnosis's own names, plus the domain's signals.
FAULT_WORDS = {**FAULT_MODE_NAMES, "low_remaining_life": "low remaining useful life",
               "vibration_trend": "rising vibration trend"}

#: A bearing fault mode as the part of the bearing it names: (noun, adjective before "lines").
BEARING_MODE_WORDS = {
    "bearing_outer_race": ("outer race", "outer-race"),
    "bearing_inner_race": ("inner race", "inner-race"),
    "bearing_rolling_element": ("rolling element", "rolling-element"),
    "bearing_cage": ("cage", "cage"),
}

#: ISO 20816 evaluation zones, as the standard describes them.
ZONE_WORDS = {
    "A": "zone A, the vibration of a newly commissioned machine",
    "B": "zone B, acceptable for unrestricted long-term operation",
    "C": "zone C, not acceptable for long-term operation: plan remedial action",
    "D": "zone D, severe enough to damage the machine",
}

def words(identifier: str | None) -> str:
    """``"swing_gearbox"`` → ``"swing gearbox"``: the fallback for identifiers without an entry."""
    return str(identifier or "").replace("_", " ").strip()


def sentence(text: str) -> str:
    """``text`` with its first letter upper-cased and the rest as written (``yearly load-bank test``
    → ``Yearly load-bank test``; ``500-hour service`` stays), for titles that start a line."""
    return text[:1].upper() + text[1:]


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``1, "visit"`` → ``"1 visit"``; ``3, "visit"`` → ``"3 visits"`` (``plural`` where adding an
    s is wrong)."""
    return f"{number} {noun if number == 1 else (plural or noun + 's')}"


def component_words(name: str | None) -> str:
    """A component identifier in words (``alternator_de`` → ``alternator drive end``)."""
    return COMPONENT_WORDS.get(name or "", words(name))


def fault_words(fault_mode: str | None, location: str | None = None) -> str:
    """A fault mode with its location in words: ``bearing outer-race defect (drive end)``."""
    text = FAULT_WORDS.get(fault_mode or "", words(fault_mode))
    where = (location or "").strip()
    if where and where != "-":
        text += f" ({part_words(where)})"
    return text


def bearing_mode_words(fault_mode: str | None) -> tuple[str, str]:
    """``bearing_outer_race`` → ``("outer race", "outer-race")``: the damaged part, as a noun and as
    the adjective in "inner-race lines"; an unknown mode falls back to its words."""
    if fault_mode in BEARING_MODE_WORDS:
        return BEARING_MODE_WORDS[fault_mode]
    text = words(fault_mode).removeprefix("bearing ")
    return text, text.replace(" ", "-")


def confidence_level(confidence: float | None, fault_mode: str | None = None) -> str:
    """``"low"``, ``"medium"`` or ``"high"`` for a finding's confidence score; ``""`` if None.

    The cut-offs are the calibrated ones (``diagnostics.confidence``, fitted on labelled bursts by
    ``python -m diagnostics.benchmarks.confidence``): per kind of finding when ``fault_mode`` is
    given and its kind has its own, else those fitted on all findings (docs/diagnostics.md).
    """
    return calibrated.level_for(confidence, fault_mode)


#: The domain's own signals: their confidence is a fixed value, not a calibrated burst finding's.
SIGNAL_CONFIDENCE_WORDS = {
    "low_remaining_life": "the remaining-life estimate's P10 is below the planning horizon (a fixed confidence "
                          "for RUL orders, not a burst finding)",
    "vibration_trend": "a trend alarm against the component's own baseline (a fixed confidence for trend "
                       "orders, not a burst finding)",
}


def confidence_explanation(confidence: float | None, fault_mode: str | None = None) -> str:
    """How the level of ``confidence`` is computed and how often such findings were right (a
    tooltip and a line under the finding); ``""`` if None."""
    if confidence is None:
        return ""
    level = confidence_level(confidence, fault_mode)
    if fault_mode in SIGNAL_CONFIDENCE_WORDS:
        return (f"{level.capitalize()} confidence: {SIGNAL_CONFIDENCE_WORDS[fault_mode]}; the calibration of "
                f"burst findings does not apply.")
    return calibrated.level_explanation(level, fault_mode)


def zone_explanation(zone: str | None, velocity_rms_mm_s: float | None,
                     finding: Mapping[str, Any] | None) -> str:
    """One or two sentences putting the ISO zone beside the finding, so they do not seem to disagree.

    ISO 20816 judges overall velocity RMS; an early bearing or gear defect shows in the envelope
    or as sidebands long before it moves that overall level, so "zone A" and "outer-race defect"
    are both true. The sentence says which evidence carries the finding.
    """
    if not zone:
        return "No ISO 20816 zone yet: the component's limits or its velocity RMS are missing."
    level = f" ({velocity_rms_mm_s:.2f} mm/s RMS)" if velocity_rms_mm_s is not None else ""
    text = f"Overall vibration{level} is in {ZONE_WORDS.get(zone, 'zone ' + zone)}."
    if not finding:
        return text
    domains = {e.get("domain") for e in finding.get("evidence") or []}
    fault = fault_words(finding.get("fault_mode"), finding.get("location"))
    if zone in ("A", "B") and "envelope" in domains:
        text += (f" The {fault} is found in the envelope spectrum (repetitive impacts demodulated from a"
                 " resonance band), which overall vibration does not show at this early stage.")
    elif zone in ("A", "B"):
        text += (f" The {fault} is found in the spectrum's defect lines, which are too small yet to"
                 " raise overall vibration.")
    else:
        text += f" Overall vibration confirms the {fault}."
    return text
