"""Jobs for the technicians' app tests: real work-order rows for the demo genset GS-2001, given to
the demo technician through the engineer's own assign action (fleet.order_actions.perform, the one
path of the life cycle)."""
from __future__ import annotations

from datetime import timedelta

TECHNICIAN = "technician@ironwatch.example"  # Sam Okafor in the demo fleet
OTHER_TECHNICIAN_NAME = "Priya Raman"


def open_job(sessions, notifier, uid: str = "GS-2001", component: str = "alternator_de",
             fault_mode: str = "bearing_outer_race", location: str = "DE", technician_email: str = TECHNICIAN,
             due_days: float = 3.0) -> int:
    """Open a diagnosed-looking order on ``component`` of ``uid`` and assign it; returns its id."""
    from sqlalchemy import select

    from fleet.db import transaction
    from fleet.models import Machine, Technician, User, WorkOrder, utcnow
    from fleet.lifecycle import Actor
    from fleet.order_actions import perform

    now = utcnow()
    with transaction(sessions) as session:
        machine = session.scalar(select(Machine).where(Machine.uid == uid))
        part = machine.component(component)
        order = WorkOrder(tenant_id=machine.tenant_id, machine_id=machine.id, component_id=part.id,
                          fault_mode=fault_mode, location=location, source="diagnosis",
                          title=f"{component}: outer-race defect", status="open", priority="high",
                          severity="warning", confidence=0.85, occurrences=3, due_at=now + timedelta(days=due_days),
                          evidence={"finding": {"evidence": [{"label": "BPFO", "matched_hz": 89.4, "snr_db": 14}]},
                                    "burst_ids": []},
                          history=[{"at": now.isoformat(), "to": "open", "by": "rules (diagnosis)"}], parts=[])
        session.add(order)
        session.flush()
        order_id = order.id
        technician_id = session.scalar(select(Technician.id).join(User, Technician.user_id == User.id)
                                       .where(User.email == technician_email))
        tenants = [t for (t,) in session.execute(select(Machine.tenant_id))]
    perform(sessions, notifier, order_id, "assign", Actor("engineer@ironwatch.example", "engineer"), tenants,
            technician_id=technician_id)
    return order_id


def technician_id_by_name(sessions, name: str) -> int:
    from sqlalchemy import select

    from fleet.models import Technician

    with sessions() as session:
        return session.scalar(select(Technician.id).where(Technician.name == name))


def accepted_plan(sessions, notifier, assignments, start) -> list[int]:
    """Store a dispatch proposal with ``assignments`` (technician id, day, [order ids], start minute)
    in the planner's JSON shape and accept it as the engineer, through dispatch_service; returns the
    order ids it assigned."""
    from sqlalchemy import select

    from fleet import dispatch_service
    from fleet.db import transaction
    from fleet.models import DispatchProposal, Machine, Technician

    with transaction(sessions) as session:
        names = {t.id: t.name for t in session.scalars(select(Technician))}
        plan = {"assignments": [{"technician_id": tech, "technician": names[tech], "day": day.isoformat(),
                                 "start_minute": minute, "end_minute": minute + 120, "work_order_ids": ids,
                                 "site": "site", "travel_km": 10.0, "late_days": 0, "late_work_order_ids": [],
                                 "locked": False, "reason": "test plan"} for tech, day, ids, minute in assignments],
                "unplanned": [], "travel_km": 0.0, "work_h": 0.0, "available_h": 0.0, "late_jobs": 0,
                "utilization": 0.0}
        proposal = DispatchProposal(start_day=start, days=5, plan=plan)
        session.add(proposal)
        session.flush()
        proposal_id = proposal.id
    with sessions() as session:
        tenants = sorted(set(session.scalars(select(Machine.tenant_id))))
    return dispatch_service.accept_proposal(sessions, notifier, proposal_id, tenants, "engineer@ironwatch.example")
