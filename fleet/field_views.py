"""Read models of the technicians' app: "my day" in visit order and one job with all it needs on site.

"My day" follows the service engineer's accepted dispatch proposal (:func:`fleet.dispatch_service.planned_visits`):
its visits in its order, jobs bundled at one site shown as one visit with its jobs, each saying so
("planned by dispatch for Tue 8 Dec, 2nd visit"). Jobs no accepted plan places (assigned by hand,
or moved since) come after, by due day, priority and distance (:func:`visit_order`), and say that.

Everything here is in words a technician reads with gloves on in the sun: components and faults
named (``alternator drive end``, never ``alternator_de``), times in the site's own time zone, the
finding first ("Alternator drive end: bearing outer-race defect, getting worse; do by Tue 8 Dec").
"""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import lifecycle
from .alarms import OPEN_STATES, zone
from .dispatch_service import ROAD_FACTOR, PlannedVisit, day_words, planned_visits
from .maintenance import haversine_km
from .models import Alarm, Machine, PmWorkOrder, Technician, WorkOrder, WorkOrderPhoto
from .queries import iso
from .wording import component_words, fault_words, part_words
from .workorders import ACTIVE_STATUSES, priority_rank
from .scope import row_clause

#: Row status → what the technician reads.
STATUS_WORDS = {"open": "not assigned", "assigned": "new for you", "accepted": "accepted", "in_progress": "working",
                "on_hold": "paused", "done": "completed", "closed": "closed", "cancelled": "cancelled"}
#: Hold reasons (fleet.lifecycle.HOLD_REASONS) in words.
HOLD_WORDS = {"parts": "waiting for parts", "access": "no access to the machine", "customer": "customer asked to wait"}
ROW_TO_LIFE = {"done": lifecycle.COMPLETED}


#: The spectrum lines of a finding's evidence, in words (the code stays in brackets for the engineer).
LINE_WORDS = {"BPFO": "bearing outer-race frequency", "BPFI": "bearing inner-race frequency",
              "BSF": "bearing ball-spin frequency", "FTF": "bearing cage frequency", "GMF": "gear-mesh frequency",
              "1X": "shaft speed"}


def evidence_words(label: str) -> str:
    """``"BPFO x2"`` → ``"bearing outer-race frequency (BPFO x2)"``; a label without a known line
    is returned as it is."""
    for code, text in LINE_WORDS.items():
        if code in label.upper().replace("2XBSF", "BSF"):
            return f"{text} ({label})"
    return label


def road_km_from(lat: float | None, lon: float | None, to_lat: float | None, to_lon: float | None) -> float | None:
    """Road distance estimate (km) as dispatch counts it: great circle × road factor; None if unknown."""
    if None in (lat, lon, to_lat, to_lon):
        return None
    return haversine_km(lat, lon, to_lat, to_lon) * ROAD_FACTOR


def visit_order(jobs: Sequence[dict], home_lat: float | None, home_lon: float | None) -> list[dict]:
    """``jobs`` in the order to visit them: by due day (no due date last), then a route that goes
    from the base to the nearest site next, jobs at one site together and the most urgent first there.

    Each job needs ``site_key``, ``lat``, ``lon``, ``due_at`` (aware datetime or None) and ``priority``.
    """
    by_day: dict[date | None, list[dict]] = {}
    for job in jobs:
        by_day.setdefault(job["due_at"].date() if job["due_at"] else None, []).append(job)
    ordered: list[dict] = []
    for day in sorted(by_day, key=lambda d: (d is None, d or date.min)):
        remaining = list(by_day[day])
        here = (home_lat, home_lon)
        while remaining:
            nearest = min(remaining, key=lambda j: (road_km_from(*here, j["lat"], j["lon"]) or 0.0,
                                                    -priority_rank(j["priority"])))
            site = [j for j in remaining if j["site_key"] == nearest["site_key"]]
            site.sort(key=lambda j: (-priority_rank(j["priority"]), j["due_at"] is None,
                                     j["due_at"].timestamp() if j["due_at"] else 0.0))
            ordered += site
            remaining = [j for j in remaining if j["site_key"] != nearest["site_key"]]
            here = (nearest["lat"], nearest["lon"])
    return ordered


def local_text(when: datetime | None, tz: str, named: bool = False) -> str:
    """``"Tue 8 Dec 14:00"`` in zone ``tz`` ('' for None); ``named`` adds the zone's abbreviation
    (``"Tue 8 Dec 14:00 GMT"``) where the line does not name the zone otherwise."""
    if when is None:
        return ""
    local = when.astimezone(zone(tz))
    text = f"{local:%a} {local.day} {local:%b %H:%M}"
    return f"{text} {local:%Z}" if named else text


def alarm_lines(session: Session, views: Iterable[dict]) -> list[dict]:
    """``fleet.queries.alarm_view`` dicts with what the phone shows in words: the component named
    (``alternator drive end``) and the first-seen time in the machine's site zone, zone named."""
    views = list(views)
    machines = {m.id: m for m in session.scalars(select(Machine).where(
        Machine.id.in_([v["machine_id"] for v in views])).options(selectinload(Machine.site)))} if views else {}
    lines = []
    for view in views:
        machine = machines.get(view["machine_id"])
        tz = _site_tz(machine) if machine is not None else "UTC"
        first = datetime.fromisoformat(view["first_seen_at"]) if view.get("first_seen_at") else None
        lines.append({**view, "component_words": component_words(view["component"]) if view.get("component") else "",
                      "first_seen_text": local_text(first, tz, named=True), "timezone": tz})
    return lines


def headline(order: WorkOrder, tz: str, now: datetime) -> str:
    """What was found, in plain words first, e.g. ``Alternator drive end: bearing outer-race defect
    (drive end), getting worse; do by Tue 8 Dec 14:00``."""
    what = component_words(order.component.name) if order.component is not None else (order.machine.model or "machine")
    # the location only when the component's name does not already say it ("alternator drive end")
    location = order.location if part_words(order.location) not in what else ""
    text = f"{what[:1].upper()}{what[1:]}: {fault_words(order.fault_mode, location)}"
    raised = any("priority raised" in (e.get("note") or "") for e in (order.history or []))
    if raised or (order.occurrences or 1) > 2:
        text += ", getting worse"
    elif (order.occurrences or 1) > 1:
        text += f", seen {order.occurrences} times"
    if order.due_at is not None:
        days = (order.due_at - now).total_seconds() / 86400
        text += (f"; overdue since {local_text(order.due_at, tz)}" if days < 0 else
                 f"; act within {math.ceil(days)} day{'s' if math.ceil(days) > 1 else ''} "
                 f"(by {local_text(order.due_at, tz)})")
    return text


def _site_tz(machine: Machine) -> str:
    return machine.site.timezone if machine.site is not None and machine.site.timezone else "UTC"


def job_summary(order: WorkOrder, technician: Technician | None, now: datetime) -> dict:
    """One line of "my day"."""
    machine = order.machine
    tz = _site_tz(machine)
    lat = machine.lat if machine.lat is not None else (machine.site.lat if machine.site else None)
    lon = machine.lon if machine.lon is not None else (machine.site.lon if machine.site else None)
    km = road_km_from(technician.home_lat, technician.home_lon, lat, lon) if technician else None
    return {
        "id": order.id, "number": order.number, "status": order.status,
        "status_words": STATUS_WORDS.get(order.status, order.status.replace("_", " ")),
        "priority": order.priority, "severity": order.severity,
        "due_at": order.due_at, "due_text": local_text(order.due_at, tz), "timezone": tz,
        "overdue": order.due_at is not None and order.due_at < now,
        "headline": headline(order, tz, now), "title": order.title,
        "machine": machine.uid, "machine_words": f"{machine.model} ({machine.kind})",
        "site_key": machine.site_id, "site": machine.site.name if machine.site else "",
        "address": machine.site.address if machine.site else "", "lat": lat, "lon": lon,
        "distance_km": None if km is None else round(km, 1),
        "technician_id": order.technician_id,
        # the latest burst behind the finding: its evidence picture is stored on the phone with the job
        "evidence_burst": ((order.evidence or {}).get("burst_ids") or [None])[-1],
    }


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``22nd``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _day_text(day: date, today: date) -> str:
    relative = {0: "today, ", 1: "tomorrow, ", -1: "yesterday, "}.get((day - today).days, "")
    return f"{relative}{day_words(day)}"


def arrange_day(jobs: Sequence[dict], planned: dict[int, PlannedVisit], home_lat: float | None,
                home_lon: float | None, today: date) -> list[dict]:
    """The visits of "my day" (pure): the jobs ``planned`` by an accepted dispatch proposal first,
    in its order (by day, then place in the day; a bundled visit's jobs together, most urgent
    first), then the others in :func:`visit_order`, one visit per site in a row. Each visit is
    ``{"visit", "number", "group", "planned", "plan_text", "day", "site", "jobs"}``: ``visit`` is the
    place in the whole list (from 1), ``number`` the place in its ``group`` (a planned visit's place
    in its day, as dispatch planned it, so "2" reads with "2nd visit" even once the 1st is done).
    """
    groups: dict[tuple, list[dict]] = {}
    for job in jobs:
        plan = planned.get(job["id"])
        if plan is not None:
            groups.setdefault((plan.proposal_id, plan.day, plan.ordinal), []).append(job)
    visits: list[dict] = []
    for (_, day, place), members in sorted(groups.items(), key=lambda item: (item[0][1], item[0][2], item[0][0])):
        members.sort(key=lambda j: (-priority_rank(j["priority"]), j["number"]))
        late = " (that day has passed)" if day < today else ""
        visits.append({"planned": True, "day": day, "site": members[0]["site"], "jobs": members, "number": place,
                       "group": f"{_day_text(day, today)[:1].upper()}{_day_text(day, today)[1:]}: planned by dispatch",
                       "plan_text": f"Planned by dispatch for {_day_text(day, today)}, {ordinal(place)} visit{late}"})
    for job in visit_order([j for j in jobs if j["id"] not in planned], home_lat, home_lon):
        previous = visits[-1] if visits and not visits[-1]["planned"] else None
        if previous is not None and previous["jobs"][-1]["site_key"] == job["site_key"]:
            previous["jobs"].append(job)  # the same site next: one stop
            continue
        visits.append({"planned": False, "day": None, "site": job["site"], "jobs": [job],
                       "number": 1 + sum(not v["planned"] for v in visits), "group": "Not in a dispatch plan yet",
                       "plan_text": "Not in a dispatch plan yet: placed by due date, priority and distance"})
    for position, visit in enumerate(visits, start=1):
        visit["visit"] = position
        for job in visit["jobs"]:
            job["visit"] = position
    return visits


def my_day(session: Session, technician: Technician, now: datetime) -> list[dict]:
    """The technician's active jobs as visits in the order to make them (see :func:`arrange_day`)."""
    orders = session.scalars(select(WorkOrder).where(WorkOrder.technician_id == technician.id,
                                                     WorkOrder.status.in_(ACTIVE_STATUSES))
                             .options(selectinload(WorkOrder.machine).selectinload(Machine.site),
                                      selectinload(WorkOrder.component))).all()
    jobs = [job_summary(o, technician, now) for o in orders]
    tz = jobs[0]["timezone"] if jobs else "UTC"
    today = now.astimezone(zone(tz)).date()
    planned = planned_visits(session, technician.id, today) if jobs else {}
    return arrange_day(jobs, planned, technician.home_lat, technician.home_lon, today)


def _allowed(order: WorkOrder) -> list[str]:
    status = ROW_TO_LIFE.get(order.status, order.status)
    return [a for a in lifecycle.allowed_actions(status) if a in lifecycle.TECHNICIAN_ACTIONS]


def _code_dict(codes: lifecycle.CodeList) -> dict:
    return {"problems": dict(codes.problems), "causes": dict(codes.causes), "remedies": dict(codes.remedies)}


def _codes(order: WorkOrder) -> dict:
    try:
        codes = lifecycle.code_list(order.fault_mode)
    except lifecycle.DomainError:  # an order of a fault mode without codes: the generic lists apply
        codes = lifecycle.code_list("")
    return _code_dict(codes)


def other_faults(fault_mode: str) -> list[dict]:
    """The faults the completion form offers under "another fault found", in words, each with the
    codes that fault's findings are reported in (the form swaps its lists when one is chosen)."""
    return sorted(({"mode": mode, "words": fault_words(mode)[:1].upper() + fault_words(mode)[1:],
                    "codes": _code_dict(lifecycle.code_list(mode))} for mode in lifecycle.other_fault_modes(fault_mode)),
                  key=lambda f: f["words"])


def job_detail(session: Session, order_id: int, technician: Technician, visible_tenant_ids: Iterable[int],
               now: datetime) -> dict | None:
    """Everything the job page shows, or None when the order is not visible or not the technician's
    (active or recently theirs: a declined or reassigned job shows who has it now)."""
    order = session.scalar(select(WorkOrder).where(WorkOrder.id == order_id,
                                                   row_clause(visible_tenant_ids, WorkOrder.tenant_id, WorkOrder.machine_id)))
    if order is None:
        return None
    was_mine = order.technician_id == technician.id or any(
        e.get("technician_id") == technician.id or e.get("declined_technician_id") == technician.id
        or e.get("note") == f"assigned to {technician.name}" for e in (order.history or []))
    if not was_mine:
        return None
    machine = order.machine
    tz = _site_tz(machine)
    job = job_summary(order, technician, now)
    site = machine.site
    evidence = order.evidence or {}
    finding = evidence.get("finding") or {}
    pm = session.scalar(select(PmWorkOrder).where(PmWorkOrder.work_order_id == order.id))
    history = session.scalars(select(WorkOrder).where(WorkOrder.machine_id == machine.id, WorkOrder.id != order.id)
                              .order_by(WorkOrder.created_at.desc()).limit(5)).all()
    alarms = session.scalars(select(Alarm).where(Alarm.machine_id == machine.id, Alarm.state.in_(OPEN_STATES))
                             .order_by(Alarm.first_seen_at.desc()).limit(10)).all()
    photos = session.scalars(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order.id)
                             .order_by(WorkOrderPhoto.id)).all()
    from .models import Part

    catalogue = {p.part_number: p.description for p in
                 session.scalars(select(Part).where(Part.machine_model == machine.model))}
    planned = [dict(p) for p in (pm.plan.kit if pm is not None else order.parts or [])]
    for part in planned:
        part["description"] = part.get("description") or catalogue.get(part["part_number"], "")
    mine = order.technician_id == technician.id
    if not mine and order.is_active:
        job["status_words"] = f"now {order.technician.name}'s" if order.technician is not None else "back with the engineer"
    job.update({
        "mine": mine,
        "assigned_to": order.technician.name if order.technician is not None else None,
        "description": order.description, "fault_mode": order.fault_mode,
        "component_words": component_words(order.component.name) if order.component is not None else "",
        "fault_words": fault_words(order.fault_mode, order.location),
        "evidence": [{"label": evidence_words(e.get("label", "")), "hz": e.get("matched_hz")}
                     for e in finding.get("evidence", [])],
        "contact_name": site.contact_name if site is not None else "",
        "contact_phone": site.contact_phone if site is not None else "",
        "hold_reason": _hold_reason(order),
        "allowed": _allowed(order),
        "codes": _codes(order),
        "other_faults": other_faults(order.fault_mode),
        "pm_tasks": list(pm.plan.tasks) if pm is not None else [],
        "pm_name": pm.plan.name if pm is not None else "",
        "planned_parts": planned,
        "catalogue": [{"part_number": k, "description": v} for k, v in sorted(catalogue.items())],
        "recent": [{"number": h.number, "title": h.title, "status_words": STATUS_WORDS.get(h.status, h.status),
                    "when": local_text(h.completed_at or h.created_at, tz, named=True), "resolution": h.resolution}
                   for h in history],
        "alarms": [{"id": a.id, "number": a.number, "title": a.title, "severity": a.severity, "state": a.state,
                    "first_seen": local_text(a.first_seen_at, tz, named=True)} for a in alarms],
        "photos": [{"id": p.id, "caption": p.caption, "when": local_text(p.created_at, tz, named=True)} for p in photos],
        "story": [{"when": local_text(datetime.fromisoformat(e["at"]), tz, named=True) if e.get("at") else "",
                   "what": _story_words(e), "by": "" if str(e.get("by", "")).startswith("rules") else e.get("by", "")}
                  for e in (order.history or [])][-8:],
    })
    return job


#: History actions in words (the entries' notes of these carry codes, not sentences).
STORY_WORDS = {"accept": "accepted", "start": "started work", "resume": "carried on", "complete": "finished the job"}


def _story_words(entry: dict) -> str:
    """One history entry as the job page's story says it."""
    action = entry.get("action")
    if action in STORY_WORDS:
        return STORY_WORDS[action]
    if action == "decline":
        return f"declined: {entry.get('note', '')}".rstrip(": ")
    if entry.get("to") == "open" and not action:
        return "opened from the machine's data"
    return entry.get("note") or (action or entry.get("to", "")).replace("_", " ")


def _hold_reason(order: WorkOrder) -> str:
    for entry in reversed(order.history or []):
        if entry.get("action") == "hold":
            note = entry.get("note", "")
            kind, _, rest = note.partition(":")
            return HOLD_WORDS.get(kind.strip(), kind) + (f": {rest.strip()}" if rest.strip() else "")
    return ""


def to_json(job: dict) -> dict:
    """``job`` with its datetimes as RFC 3339 text (for the app's JSON and the offline cache)."""
    return {k: (iso(v) if isinstance(v, datetime) else v) for k, v in job.items()}
