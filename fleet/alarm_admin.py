"""Alarm configuration for the admin pages: each tenant's escalation chain and its DM1 fault-code
rules, and the technicians' planning data (skills, home base, working hours).

A chain is replaced as a whole (validated first, so a bad step changes nothing); alarms already
escalating continue with the new chain from the step they have reached. Every change records an
:class:`~fleet.events.AdminChanged` event for the audit log.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload, sessionmaker

from .alarms import SEVERITIES
from .db import transaction
from .escalation import CHANNELS
from .events import AdminChanged
from .maintenance import COMPONENT_SKILLS, FAULT_SKILLS
from .models import (EscalationPolicy, EscalationStep, FaultCodeRule, Technician, TechnicianWorkweek, Tenant, User)

MAX_STEPS = 10
MAX_AFTER_MINUTES = 7 * 24 * 60
TARGET_ROLES = ("admin", "engineer", "technician", "customer")
MAX_SPN = 524287  # J1939 SPNs are 19 bits
MAX_FMI = 31
#: The skills work orders ask for (fleet.maintenance's fault and component tables): a technician
#: with any other "skill" would never be matched, so the page offers only these.
KNOWN_SKILLS = tuple(sorted(set(FAULT_SKILLS.values()) | set(COMPONENT_SKILLS.values())))


class AlarmConfigError(ValueError):
    """A refused change; the message says what was wrong, in words for the admin."""


@dataclass(frozen=True)
class StepInput:
    """One escalation step as the admin gave it: ``target`` is ``role:<role>``, ``user:<id>`` or ``on_call``."""

    after_minutes: object
    target: str
    channels: tuple[str, ...]


def _audit(bus, actor: str, tenant_id: int, subject_id: int, action: str, detail: dict,
           subject_type: str = "alarm_rules") -> None:
    bus.handle([AdminChanged(tenant_ids=(tenant_id,), subject_type=subject_type, subject_id=subject_id,
                             action=action, actor=actor, detail=detail)])


class AlarmRules:
    """Escalation chains and DM1 rules of the tenants an OEM admin sees."""

    def __init__(self, sessions: sessionmaker, bus):
        self.sessions, self.bus = sessions, bus

    def overview(self, tenant_ids) -> list[dict]:
        """Per tenant: its chain (steps in order) and its fault-code rules; plus who steps may name."""
        with self.sessions() as db:
            tenants = db.scalars(select(Tenant).where(Tenant.id.in_(list(tenant_ids)))
                                 .order_by(Tenant.kind.desc(), Tenant.name)).all()
            result = []
            for tenant in tenants:
                policy = db.scalar(select(EscalationPolicy).where(EscalationPolicy.tenant_id == tenant.id)
                                   .options(selectinload(EscalationPolicy.steps)))
                users = db.execute(select(User.id, User.name).where(User.tenant_id == tenant.id, User.active)
                                   .order_by(User.name)).all()
                rules = db.scalars(select(FaultCodeRule).where(FaultCodeRule.tenant_id == tenant.id)
                                   .order_by(FaultCodeRule.spn, FaultCodeRule.fmi)).all()
                result.append({
                    "tenant_id": tenant.id, "tenant": tenant.name,
                    "min_severity": policy.min_severity if policy else "warning",
                    "steps": [{"after_minutes": s.after_minutes, "channels": list(s.channels or []),
                               "target": _target_key(s)} for s in (policy.steps if policy else [])],
                    "targets": [("on_call", "On-call technician of the site")]
                               + [(f"role:{r}", f"Every {r}") for r in TARGET_ROLES]
                               + [(f"user:{uid}", name) for uid, name in users],
                    "rules": [{"id": r.id, "spn": r.spn, "fmi": r.fmi, "severity": r.severity} for r in rules]})
            return result

    def set_chain(self, actor: str, tenant_id: int, min_severity: str, steps: list[StepInput]) -> None:
        """Replace ``tenant_id``'s chain by ``steps`` (in the order given, which must not go back in time)."""
        if min_severity not in SEVERITIES:
            raise AlarmConfigError(f"The lowest severity must be one of: {', '.join(SEVERITIES)}.")
        if len(steps) > MAX_STEPS:
            raise AlarmConfigError(f"A chain has at most {MAX_STEPS} steps.")
        with transaction(self.sessions) as db:
            if db.get(Tenant, tenant_id) is None:
                raise AlarmConfigError("There is no such organisation.")
            rows, previous = [], 0
            for number, step in enumerate(steps, start=1):
                after = _minutes(step.after_minutes, number)
                if after < previous:
                    raise AlarmConfigError(f"Step {number} comes before step {number - 1} ({after} < {previous} min);"
                                           " order the steps by time.")
                previous = after
                channels = [c for c in CHANNELS if c in step.channels]
                if not channels or len(channels) != len(set(step.channels)):
                    raise AlarmConfigError(f"Step {number}: choose at least one channel of {', '.join(CHANNELS)}.")
                rows.append(EscalationStep(position=len(rows), after_minutes=after, channels=channels,
                                           **_target(db, tenant_id, step.target, number)))
            policy = db.scalar(select(EscalationPolicy).where(EscalationPolicy.tenant_id == tenant_id)
                               .options(selectinload(EscalationPolicy.steps)))
            if policy is None:
                policy = EscalationPolicy(tenant_id=tenant_id, name="Escalation")
                db.add(policy)
            policy.min_severity = min_severity
            policy.steps.clear()
            db.flush()  # the old steps' (policy, position) rows go before the new ones arrive
            policy.steps.extend(rows)
            db.flush()
            policy_id = policy.id
        _audit(self.bus, actor, tenant_id, policy_id, "chain_changed",
               {"min_severity": min_severity, "steps": [f"{_minutes(s.after_minutes, 0)} min: {s.target} by "
                                                        f"{'+'.join(s.channels)}" for s in steps]})

    def add_fault_code_rule(self, actor: str, tenant_id: int, spn, fmi, severity: str) -> None:
        """Set how DM1 code SPN (and FMI, or any FMI when blank) alarms: a severity, or ``none``."""
        spn = _integer(spn, "The SPN", 0, MAX_SPN)
        fmi = None if fmi in (None, "") else _integer(fmi, "The FMI", 0, MAX_FMI)
        if severity != "none" and severity not in SEVERITIES:
            raise AlarmConfigError(f"The severity must be one of: {', '.join(SEVERITIES)}, or none (no alarm).")
        with transaction(self.sessions) as db:
            if db.get(Tenant, tenant_id) is None:
                raise AlarmConfigError("There is no such organisation.")
            rule = db.scalar(select(FaultCodeRule).where(FaultCodeRule.tenant_id == tenant_id, FaultCodeRule.spn == spn,
                                                         FaultCodeRule.fmi.is_(None) if fmi is None
                                                         else FaultCodeRule.fmi == fmi))
            if rule is None:
                rule = FaultCodeRule(tenant_id=tenant_id, spn=spn, fmi=fmi)
                db.add(rule)
            rule.severity = None if severity == "none" else severity
            db.flush()
            rule_id = rule.id
        _audit(self.bus, actor, tenant_id, rule_id, "dm1_rule_set", {"spn": spn, "fmi": fmi, "severity": severity})

    def delete_fault_code_rule(self, actor: str, tenant_ids, rule_id: int) -> None:
        with transaction(self.sessions) as db:
            rule = db.get(FaultCodeRule, rule_id)
            if rule is None or rule.tenant_id not in tenant_ids:
                raise AlarmConfigError("There is no such fault-code rule.")
            tenant_id, detail = rule.tenant_id, {"spn": rule.spn, "fmi": rule.fmi}
            db.execute(delete(FaultCodeRule).where(FaultCodeRule.id == rule_id))
        _audit(self.bus, actor, tenant_id, rule_id, "dm1_rule_deleted", detail)


class Technicians:
    """The technicians' skills, home base and regular working hours (what dispatch plans with)."""

    def __init__(self, sessions: sessionmaker, bus):
        self.sessions, self.bus = sessions, bus

    def list(self, tenant_ids) -> list[dict]:
        with self.sessions() as db:
            rows = db.scalars(select(Technician).where(Technician.tenant_id.in_(list(tenant_ids)))
                              .order_by(Technician.name)).all()
            weeks = {w.technician_id: w for w in db.scalars(select(TechnicianWorkweek))}
            return [{"id": t.id, "name": t.name, "skills": list(t.skills or []), "home_base": t.home_base,
                     "home_lat": t.home_lat, "home_lon": t.home_lon, "active": t.active,
                     "start": _clock(weeks[t.id].start_minute if t.id in weeks else 8 * 60),
                     "end": _clock(weeks[t.id].end_minute if t.id in weeks else 17 * 60),
                     "weekdays": list(weeks[t.id].weekdays if t.id in weeks else [1, 2, 3, 4, 5])} for t in rows]

    def update(self, actor: str, tenant_ids, technician_id: int, skills, home_base: str, home_lat, home_lon,
               start: str, end: str, weekdays) -> None:
        """Change one technician's planning data (all fields checked before anything is written)."""
        skills = sorted({s for s in skills})
        unknown = [s for s in skills if s not in KNOWN_SKILLS]
        if unknown:
            raise AlarmConfigError(f"Unknown skill {unknown[0]!r}; choose from: {', '.join(KNOWN_SKILLS)}.")
        home_base = (home_base or "").strip()
        if not home_base or len(home_base) > 120:
            raise AlarmConfigError("Name the home base (1 to 120 characters).")
        lat, lon = _number(home_lat, "The latitude", -90, 90), _number(home_lon, "The longitude", -180, 180)
        start_minute, end_minute = _minute_of_day(start, "start"), _minute_of_day(end, "end")
        if end_minute <= start_minute:
            raise AlarmConfigError("The working day must end after it starts.")
        try:
            days = sorted({int(d) for d in weekdays})
        except (TypeError, ValueError):
            raise AlarmConfigError("Working days are weekday numbers 1 (Monday) to 7 (Sunday).") from None
        if not days or not all(1 <= d <= 7 for d in days):
            raise AlarmConfigError("Choose at least one working day.")
        with transaction(self.sessions) as db:
            technician = db.get(Technician, technician_id)
            if technician is None or technician.tenant_id not in tenant_ids:
                raise LookupError("no such technician")
            technician.skills, technician.home_base = skills, home_base
            technician.home_lat, technician.home_lon = lat, lon
            week = db.get(TechnicianWorkweek, technician_id)
            if week is None:
                week = TechnicianWorkweek(technician_id=technician_id)
                db.add(week)
            week.start_minute, week.end_minute, week.weekdays = start_minute, end_minute, days
            tenant_id, name = technician.tenant_id, technician.name
        _audit(self.bus, actor, tenant_id, technician_id, "changed",
               {"technician": name, "skills": skills, "home_base": home_base,
                "hours": f"{start}-{end}", "weekdays": days}, subject_type="technician")


# --- parsing helpers ----------------------------------------------------------------------------------

def _target_key(step: EscalationStep) -> str:
    if step.target_kind == "role":
        return f"role:{step.target_role}"
    if step.target_kind == "user":
        return f"user:{step.target_user_id}"
    return "on_call"


def _target(db, tenant_id: int, target: str, number: int) -> dict:
    kind, _, value = (target or "").partition(":")
    if kind == "on_call" and not value:
        return {"target_kind": "on_call"}
    if kind == "role" and value in TARGET_ROLES:
        return {"target_kind": "role", "target_role": value}
    if kind == "user" and value.isdigit():
        user = db.get(User, int(value))
        if user is not None and user.tenant_id == tenant_id and user.active:
            return {"target_kind": "user", "target_user_id": user.id}
    raise AlarmConfigError(f"Step {number}: {target!r} is not someone this chain can notify.")


def _minutes(value, number: int) -> int:
    return _integer(value, f"Step {number}'s delay", 0, MAX_AFTER_MINUTES)


def _integer(value, what: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise AlarmConfigError(f"{what} must be a whole number.") from None
    if not low <= number <= high:
        raise AlarmConfigError(f"{what} must be between {low} and {high}.")
    return number


def _number(value, what: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AlarmConfigError(f"{what} must be a number.") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise AlarmConfigError(f"{what} must be between {low} and {high}.")
    return number


def _minute_of_day(value: str, what: str) -> int:
    hours, _, minutes = (value or "").partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise AlarmConfigError(f"The {what} time must be HH:MM (24-hour clock).")
    return int(hours) * 60 + int(minutes)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
