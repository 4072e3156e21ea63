"""Maintenance rules: turn findings, trend alarms and RUL estimates into work-order decisions.

Pure functions over small frozen dataclasses (no SQL, no clock: ``now`` is passed in), so each
rule is testable on its own. :mod:`fleet.diagnosis_service` and :mod:`fleet.jobs` load the rows,
call :func:`plan` and apply the result.

The rules, in order:

1. **Dedup.** A signal for a machine + component + fault mode that already has an active order
   updates that order (evidence appended, severity and confidence raised, due date pulled in)
   instead of opening another. Repeated independent detections raise the confidence
   (``1 - (1-a)(1-b)``), which in turn may raise the priority. An RUL estimate updates any
   active order of its component.
2. **Priority** from severity and confidence (:data:`PRIORITY_TABLE`).
3. **Due date** from the RUL P10 when known (the 10 % quantile: 9 in 10 components last longer),
   else from the severity (:data:`DUE_BY_SEVERITY`).
4. **Technician proposal**: among active technicians with the skills the fault needs (all of
   them if nobody has the skills), the lowest cost = travel hours from home base (haversine at
   :data:`TRAVEL_SPEED_KM_H`) + :data:`HOURS_PER_ACTIVE_ORDER` per order already on their plate.
5. **Escalation**: an overdue active order goes up one priority level (an urgent one is announced
   again), at most once per :data:`ESCALATION_INTERVAL`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Sequence

from .wording import component_words, fault_words, part_named, part_words, sentence
from .workorders import PRIORITIES, max_priority, priority_rank, raise_priority

SEVERITY_RANK = {"": 0, "watch": 1, "warning": 2, "alarm": 3}
#: Findings below this confidence are recorded with the burst but open no order.
MIN_CONFIDENCE_TO_OPEN = 0.3
#: (severity, confident?) → priority; "confident" means confidence >= CONFIDENT.
CONFIDENT = 0.7
PRIORITY_TABLE = {
    ("watch", False): "low", ("watch", True): "low",
    ("warning", False): "medium", ("warning", True): "high",
    ("alarm", False): "high", ("alarm", True): "urgent",
}
DUE_BY_SEVERITY = {"watch": timedelta(days=30), "warning": timedelta(days=7), "alarm": timedelta(days=2)}
#: No order is due sooner than this: a technician needs time to get there.
MIN_LEAD_TIME = timedelta(hours=4)
#: An RUL P10 below this many hours opens an order even without a finding.
RUL_HORIZON_H = 14 * 24.0
RUL_FAULT_MODE = "low_remaining_life"
TREND_FAULT_MODE = "vibration_trend"
TRAVEL_SPEED_KM_H = 60.0
HOURS_PER_ACTIVE_ORDER = 4.0
ESCALATION_INTERVAL = timedelta(hours=24)
EVIDENCE_HISTORY_LIMIT = 20

FAULT_SKILLS = {
    "bearing_outer_race": "bearings", "bearing_inner_race": "bearings", "bearing_rolling_element": "bearings",
    "bearing_cage": "bearings", "gear_wear": "gearbox", "gear_broken_tooth": "gearbox",
    "unbalance": "vibration", "misalignment": "vibration", "looseness": "vibration", "electrical": "electrical",
}
COMPONENT_SKILLS = {
    "diesel_engine": "engine", "axial_piston_pump": "hydraulics", "axial_piston_motor": "hydraulics",
    "planetary_gearbox": "gearbox", "alternator_bearing": "electrical",
}


@dataclass(frozen=True)
class MaintenanceSignal:
    """Something that may need a work order: a finding, a trend alarm or an RUL estimate."""

    machine_id: int
    component_id: int | None
    component_name: str
    component_kind: str
    fault_mode: str
    location: str
    severity: str  # watch | warning | alarm
    confidence: float  # 0..1
    source: str  # diagnosis | trend | rul
    summary: str
    observed_at: datetime
    finding: dict = field(default_factory=dict)  # Finding.to_dict() when source == diagnosis
    burst_id: str = ""
    rul: dict | None = None  # {"p10_h", "p50_h", "p90_h", "model_version"}
    trend: dict | None = None
    #: Other fault modes of the same bearing in the same burst (``fleet.bearing_verdicts``): dicts
    #: with ``fault_mode``, ``severity``, ``strength`` (fraction of this finding's score), ``finding``.
    alternatives: tuple = ()

    @property
    def rul_p10_h(self) -> float | None:
        return None if not self.rul else float(self.rul["p10_h"])


@dataclass(frozen=True)
class ActiveOrder:
    """The parts of an open / assigned / in-progress order the rules look at."""

    id: int
    machine_id: int
    component_id: int | None
    fault_mode: str
    priority: str
    severity: str
    confidence: float
    due_at: datetime | None
    occurrences: int
    evidence: dict
    escalated_at: datetime | None = None
    location: str = ""


@dataclass(frozen=True)
class TechnicianCandidate:
    id: int
    name: str
    skills: frozenset[str]
    home_base: str
    home_lat: float
    home_lon: float
    active_orders: int


@dataclass(frozen=True)
class TechnicianProposal:
    technician_id: int
    name: str
    distance_km: float
    cost_hours: float
    reason: str


@dataclass(frozen=True)
class WorkOrderDraft:
    """A new order to open."""

    machine_id: int
    component_id: int | None
    fault_mode: str
    location: str
    source: str
    title: str
    description: str
    priority: str
    severity: str
    confidence: float
    due_at: datetime
    evidence: dict
    proposal: TechnicianProposal | None


@dataclass(frozen=True)
class WorkOrderUpdate:
    """New values for an existing active order."""

    order_id: int
    priority: str
    severity: str
    confidence: float
    due_at: datetime | None
    evidence: dict
    occurrences: int
    priority_raised: bool


# --- small rules --------------------------------------------------------------------------------

def priority_for(severity: str, confidence: float) -> str:
    """Priority of an order from the finding's severity and confidence (0..1)."""
    return PRIORITY_TABLE.get((severity, confidence >= CONFIDENT), "low")


def worst_severity(*severities: str) -> str:
    """The most severe of ``severities`` ("" when none)."""
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0), default="")


def combine_confidence(a: float, b: float) -> float:
    """Confidence after two independent detections of the same fault, capped at 0.99."""
    return round(min(0.99, 1.0 - (1.0 - a) * (1.0 - b)), 3)


def due_date(now: datetime, severity: str, rul_p10_h: float | None = None) -> datetime:
    """When the work should be done: RUL P10 (operating hours, counted as wall-clock hours, which is
    conservative) when known, else by severity; never sooner than :data:`MIN_LEAD_TIME`."""
    if rul_p10_h is not None and math.isfinite(rul_p10_h):
        delay = timedelta(hours=max(0.0, rul_p10_h))
    else:
        delay = DUE_BY_SEVERITY.get(severity, DUE_BY_SEVERITY["watch"])
    return now + max(delay, MIN_LEAD_TIME)


def rul_severity(p10_h: float) -> str:
    """Severity of a remaining-life estimate from its P10 (hours)."""
    if p10_h < 48.0:
        return "alarm"
    if p10_h < 7 * 24.0:
        return "warning"
    return "watch"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (km) between two WGS-84 points given in degrees (mean Earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def required_skills(fault_mode: str, component_kind: str) -> frozenset[str]:
    """Skills a job needs: the fault's (bearings, gearbox, ...) and the component's (engine, ...)."""
    return frozenset(s for s in (FAULT_SKILLS.get(fault_mode), COMPONENT_SKILLS.get(component_kind)) if s)


def propose_technician(candidates: Sequence[TechnicianCandidate], skills: frozenset[str],
                       lat: float | None, lon: float | None) -> TechnicianProposal | None:
    """The best technician for a job at (lat, lon): most matching skills, then lowest cost.

    Cost (hours) = travel from home base at :data:`TRAVEL_SPEED_KM_H` + :data:`HOURS_PER_ACTIVE_ORDER`
    per active order. With no location, travel counts as zero.
    """
    if not candidates:
        return None
    best_match = max(len(skills & c.skills) for c in candidates)
    pool = [c for c in candidates if len(skills & c.skills) == best_match]
    scored = []
    for c in pool:
        distance = haversine_km(c.home_lat, c.home_lon, lat, lon) if lat is not None and lon is not None else 0.0
        cost = distance / TRAVEL_SPEED_KM_H + HOURS_PER_ACTIVE_ORDER * c.active_orders
        scored.append((round(cost, 6), c.id, c, distance))
    cost, _, chosen, distance = min(scored, key=lambda item: (item[0], item[1]))
    matched = sorted(skills & chosen.skills)
    reason = (f"{', '.join(matched) + ' skills' if matched else 'no technician has ' + ', '.join(sorted(skills))}; "
              f"{distance:.0f} km from {chosen.home_base or 'home base'}; "
              f"{chosen.active_orders} active order{'s' if chosen.active_orders != 1 else ''}")
    return TechnicianProposal(chosen.id, chosen.name, round(distance, 1), round(cost, 2), reason)


def _history_entry(signal: MaintenanceSignal) -> dict:
    entry = {"at": signal.observed_at.isoformat(), "source": signal.source, "severity": signal.severity,
             "confidence": round(float(signal.confidence), 3), "summary": signal.summary}
    if signal.burst_id:
        entry["burst_id"] = signal.burst_id
    return entry


def merge_evidence(evidence: dict | None, signal: MaintenanceSignal) -> dict:
    """The order's evidence with ``signal`` added: latest finding / RUL / trend plus a bounded history."""
    merged = dict(evidence or {})
    primary = merged.get("finding")
    own_mode = primary.get("fault_mode") if primary else signal.fault_mode
    # The burst's leading finding and the alternatives it reported for the same bearing: the one of
    # the order's own fault mode refreshes its finding; another mode is kept beside it, not over it.
    found = [(signal.fault_mode, signal.finding)] if signal.finding else []
    found += [(a["fault_mode"], a["finding"]) for a in signal.alternatives if a.get("finding")]
    for mode, finding in found:
        if mode == own_mode:
            merged["finding"] = finding
        else:
            merged["other_findings"] = {**merged.get("other_findings", {}), mode: finding}
    if signal.rul:
        merged["rul"] = signal.rul
    if signal.trend:
        merged["trend"] = signal.trend
    if signal.burst_id:
        bursts = [b for b in merged.get("burst_ids", []) if b != signal.burst_id] + [signal.burst_id]
        merged["burst_ids"] = bursts[-EVIDENCE_HISTORY_LIMIT:]
    merged["history"] = ([*merged.get("history", []), _history_entry(signal)])[-EVIDENCE_HISTORY_LIMIT:]
    return merged


def title_for(signal: MaintenanceSignal) -> str:
    """One line for lists, in words: fault, component, and the part when the component has several."""
    component = component_words(signal.component_name)
    if signal.fault_mode == RUL_FAULT_MODE:
        return f"Low remaining useful life: {component}"
    if signal.fault_mode == TREND_FAULT_MODE:
        return f"Vibration trend alarm on {component}"
    what = fault_words(signal.fault_mode)
    part = part_words(signal.location) if signal.location else ""
    named = part_named(signal.location, "bearing") if is_bearing_fault(signal.fault_mode) else part
    where = f" ({named})" if part and part not in component else ""
    return sentence(f"{what} on {component}{where}")[:200]


def description_for(signal: MaintenanceSignal) -> str:
    """The summary, then the strongest evidence lines a technician can check."""
    lines = [signal.summary] if signal.summary else []
    for item in (signal.finding.get("evidence") or [])[:4]:
        lines.append(f"- {item.get('label')}: {item.get('matched_hz', 0):.1f} Hz "
                     f"(expected {item.get('expected_hz', 0):.1f} Hz), {item.get('snr_db', 0):.1f} dB "
                     f"above floor in the {item.get('domain')}")
    if signal.rul:
        lines.append(f"Remaining useful life P10/P50/P90: {signal.rul['p10_h']:.0f} / {signal.rul['p50_h']:.0f} / "
                     f"{signal.rul['p90_h']:.0f} h (model {signal.rul.get('model_version', '?')})")
    return "\n".join(lines)


# --- the decision --------------------------------------------------------------------------------

def is_bearing_fault(fault_mode: str) -> bool:
    return fault_mode.startswith("bearing_")


def matching_order(signal: MaintenanceSignal, active: Sequence[ActiveOrder]) -> ActiveOrder | None:
    """The active order ``signal`` belongs to, if any (same machine, component and fault mode;
    any bearing fault of the same bearing, since the job is to replace that bearing whichever race
    or element is damaged, and a spall on one race often shows on another; for RUL and trend
    signals, which say "worse" but not "what", any order of the component, most urgent first)."""
    same_component = [o for o in active if o.machine_id == signal.machine_id and o.component_id == signal.component_id]
    exact = [o for o in same_component if o.fault_mode == signal.fault_mode]
    if exact:
        return min(exact, key=lambda o: o.id)
    same_bearing = [o for o in same_component if is_bearing_fault(signal.fault_mode)
                    and is_bearing_fault(o.fault_mode) and o.location == signal.location]
    if same_bearing:
        return min(same_bearing, key=lambda o: o.id)
    if signal.source in ("rul", "trend") and same_component:
        return max(same_component, key=lambda o: (priority_rank(o.priority), -o.id))
    return None


def should_open(signal: MaintenanceSignal) -> bool:
    """Does this signal justify a new order on its own?"""
    if signal.source == "rul":
        return signal.rul_p10_h is not None and signal.rul_p10_h < RUL_HORIZON_H
    return signal.severity in DUE_BY_SEVERITY and signal.confidence >= MIN_CONFIDENCE_TO_OPEN


def plan(signal: MaintenanceSignal, active: Sequence[ActiveOrder], candidates: Sequence[TechnicianCandidate],
         lat: float | None, lon: float | None, now: datetime) -> WorkOrderDraft | WorkOrderUpdate | None:
    """Decide what ``signal`` does: update an active order, open a new one, or nothing.

    Parameters
    ----------
    signal : MaintenanceSignal
    active : sequence of ActiveOrder
        The machine's active orders.
    candidates : sequence of TechnicianCandidate
        Active technicians of the machine's OEM with their current load.
    lat, lon : float or None
        Where the machine is (degrees), for the travel part of the proposal.
    now : datetime
        Timezone-aware UTC.
    """
    existing = matching_order(signal, active)
    if existing is not None:
        return _update(existing, signal, now)
    if not should_open(signal):
        return None
    proposal = propose_technician(candidates, required_skills(signal.fault_mode, signal.component_kind), lat, lon)
    return WorkOrderDraft(
        machine_id=signal.machine_id, component_id=signal.component_id, fault_mode=signal.fault_mode,
        location=signal.location, source=signal.source, title=title_for(signal),
        description=description_for(signal), priority=priority_for(signal.severity, signal.confidence),
        severity=signal.severity, confidence=round(float(signal.confidence), 3),
        due_at=due_date(now, signal.severity, signal.rul_p10_h),
        evidence=merge_evidence({}, signal), proposal=proposal)


def _confidence_of(signal: MaintenanceSignal, fault_mode: str) -> float | None:
    """The confidence with which ``signal`` detected ``fault_mode``: its own, or that of the same
    bearing's alternative of that mode in the burst; None when it did not report that mode."""
    if signal.fault_mode == fault_mode:
        return float(signal.confidence)
    for alternative in signal.alternatives:
        if alternative.get("fault_mode") == fault_mode:
            return float((alternative.get("finding") or {}).get("confidence") or 0.0)
    return None


def _update(order: ActiveOrder, signal: MaintenanceSignal, now: datetime) -> WorkOrderUpdate:
    severity = worst_severity(order.severity, signal.severity)
    detected = _confidence_of(signal, order.fault_mode)
    if signal.source in ("rul", "trend") or detected is None:
        # RUL, trends and another fault mode of the same bearing refine timing and urgency; they do
        # not confirm the order's fault mode, so its confidence is left alone.
        confidence = order.confidence
    else:
        confidence = combine_confidence(order.confidence, detected)
    priority = max_priority(order.priority, priority_for(severity, confidence))
    due = due_date(now, severity, signal.rul_p10_h)
    if order.due_at is not None:
        due = min(order.due_at, due)
    # RUL is re-scored on a schedule: a new estimate is not a new detection of the fault.
    occurrences = order.occurrences if signal.source == "rul" else order.occurrences + 1
    return WorkOrderUpdate(order_id=order.id, priority=priority, severity=severity, confidence=confidence,
                           due_at=due, evidence=merge_evidence(order.evidence, signal), occurrences=occurrences,
                           priority_raised=priority_rank(priority) > priority_rank(order.priority))


def escalate(priority: str, due_at: datetime | None, escalated_at: datetime | None, now: datetime) -> str | None:
    """The priority of an overdue order after escalation, or None when no escalation is due now.

    An ``urgent`` order stays ``urgent`` but is still escalated (recorded and announced again),
    since an overdue urgent job is exactly what must not be forgotten.
    """
    if due_at is None or due_at > now:
        return None
    if escalated_at is not None and now - escalated_at < ESCALATION_INTERVAL:
        return None
    return raise_priority(priority)


__all__ = [
    "MaintenanceSignal", "ActiveOrder", "TechnicianCandidate", "TechnicianProposal", "WorkOrderDraft",
    "WorkOrderUpdate", "plan", "priority_for", "due_date", "combine_confidence", "haversine_km",
    "required_skills", "propose_technician", "merge_evidence", "matching_order", "should_open", "escalate",
    "rul_severity", "worst_severity", "PRIORITIES", "RUL_FAULT_MODE", "TREND_FAULT_MODE",
]
