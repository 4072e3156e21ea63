"""One verdict per bearing and burst: the leading fault mode, and the alternatives stated beside it.

A burst's diagnosis keeps the strongest fault mode of each bearing plus any other mode at least
80 % as strong (``diagnostics.bearing._strongest_per_bearing``): harmonics of one defect family can
partly coincide with another's, so two verdicts of similar strength are both reported. For the
people who answer them they are one damaged bearing, so the alarm layer raises one alarm per
bearing (cause ``bearing:<location>``) that names the most likely mode and states the others,
as condition-monitoring products do ("outer race more likely; inner-race lines also present at
85 % of its strength"). Pure functions over finding dicts (``diagnostics.findings.Finding.to_dict``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .maintenance import is_bearing_fault, worst_severity
from .wording import bearing_mode_words

#: The cause of a bearing's diagnosis alarm is ``bearing:<location>``: one per bearing, whatever the mode.
BEARING_CAUSE_PREFIX = "bearing:"


def bearing_cause(location: str) -> str:
    """The alarm cause of a bearing's findings: ``bearing:NDE``."""
    return f"{BEARING_CAUSE_PREFIX}{location}"


def bearing_location(cause: str | None) -> str | None:
    """The bearing an alarm cause is about (``bearing:NDE`` → ``NDE``); None for other causes."""
    if cause and cause.startswith(BEARING_CAUSE_PREFIX):
        return cause[len(BEARING_CAUSE_PREFIX):]
    return None


@dataclass(frozen=True)
class BearingVerdict:
    """What one burst said about one bearing.

    ``leading`` is the strongest finding; each alternative is ``{"fault_mode", "strength",
    "severity", "finding"}`` with ``strength`` its score as a fraction of the leading one's
    (0..1, the detection evidence in dB summed over the demodulation bands).
    """

    location: str
    leading: Mapping
    alternatives: tuple[Mapping, ...] = ()

    @property
    def fault_mode(self) -> str:
        return str(self.leading.get("fault_mode", ""))

    @property
    def severity(self) -> str:
        """The worst severity of the bearing's findings: whichever race is damaged, the bearing is
        as far gone as its strongest lines say (merging two alarms must not lower the urgency)."""
        return worst_severity(str(self.leading.get("severity", "")),
                              *(str(a.get("severity", "")) for a in self.alternatives))

    @property
    def cause(self) -> str:
        return bearing_cause(self.location)

    def text(self) -> str:
        """``"Outer race more likely; inner-race lines also present at 85 % of its strength."``;
        ``""`` when the burst found one mode only."""
        if not self.alternatives:
            return ""
        lead, _ = bearing_mode_words(self.fault_mode)
        others = [f"{bearing_mode_words(a['fault_mode'])[1]} lines" + (" also present" if i == 0 else "")
                  + f" at {round(100 * float(a['strength']))} %" for i, a in enumerate(self.alternatives)]
        return f"{lead[:1].upper()}{lead[1:]} more likely; {', '.join(others)} of its strength."

    def detail(self) -> dict:
        """The alarm detail's part about the verdict (the leading finding is the detail's ``finding``)."""
        return {"finding": dict(self.leading), "fault_mode": self.fault_mode, "location": self.location,
                "alternatives": [dict(a) for a in self.alternatives], "verdict": self.text()}


def verdicts(findings: Iterable[Mapping]) -> list[BearingVerdict]:
    """One verdict per bearing among one burst's findings (non-bearing findings are left out),
    leading mode the highest ``score``, in the order the bearings first appear."""
    by_bearing: dict[str, list[Mapping]] = {}
    for finding in findings:
        if is_bearing_fault(str(finding.get("fault_mode", ""))) and finding.get("location"):
            by_bearing.setdefault(str(finding["location"]), []).append(finding)
    out = []
    for location, group in by_bearing.items():
        ranked = sorted(group, key=lambda f: -float(f.get("score") or 0.0))
        lead_score = float(ranked[0].get("score") or 0.0)
        alternatives = tuple(
            {"fault_mode": f["fault_mode"], "severity": f.get("severity", ""),
             "strength": round(float(f.get("score") or 0.0) / lead_score, 2) if lead_score > 0 else 0.0,
             "finding": dict(f)} for f in ranked[1:])
        out.append(BearingVerdict(location, ranked[0], alternatives))
    return out


def verdict_change(old_detail: Mapping | None, new_detail: Mapping | None) -> str | None:
    """The history note when a bearing alarm's leading mode changed between two bursts, else None:
    ``"leading fault mode inner race → outer race: Outer race more likely; …"``."""
    old = (old_detail or {}).get("fault_mode")
    new = (new_detail or {}).get("fault_mode")
    if not old or not new or old == new:
        return None
    note = f"leading fault mode {bearing_mode_words(old)[0]} → {bearing_mode_words(new)[0]}"
    text = (new_detail or {}).get("verdict")
    return f"{note}: {text}" if text else f"{note} (no other mode of the bearing in this burst)"


def lead_with_verdict(findings: Sequence[Mapping]) -> tuple[list[Mapping], dict | None, list[Mapping]]:
    """For a page that explains a burst by its first finding: ``(findings, verdict, others)``.

    When the first finding (most severe) is a bearing fault and the burst reported several modes
    of that bearing, the bearing's leading mode is put first, so the heading names the mode the
    alarm names, and ``verdict`` is that bearing's :meth:`BearingVerdict.detail`; ``others`` are
    the findings about anything else. Otherwise the findings as given, None, and all but the first.
    """
    findings = list(findings)
    if not findings:
        return findings, None, []
    first = findings[0]
    verdict = next((v for v in verdicts(findings) if v.location == first.get("location")), None)
    if verdict is None or not verdict.alternatives or not is_bearing_fault(str(first.get("fault_mode", ""))):
        return findings, None, findings[1:]
    on_bearing = [f for f in findings if f.get("location") == verdict.location
                  and is_bearing_fault(str(f.get("fault_mode", "")))]
    lead = verdict.leading
    others = [f for f in findings if f not in on_bearing]
    return [lead, *[f for f in on_bearing if f is not lead], *others], verdict.detail(), others
