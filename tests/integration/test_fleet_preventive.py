"""Preventive maintenance on the real stores: the hour meter in InfluxDB sets the due date."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fleet import preventive_service
from fleet.models import Machine, MachinePmState, Part, PmPlan, PmWorkOrder, Technician, WorkOrder
from telemetry.operating_lines import operating_lines
from telemetry.store import TelemetryStore

from fleet_helpers import EventLog, add_customer_site

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)  # a Monday noon
SHIFT = (7, 17)  # runs 07:00-17:00 every day: 10 h/day
STEP = timedelta(minutes=10)


def meter(t: datetime, at_now: float) -> float:
    """Hour meter (h) at ``t`` of a machine on the 07-17 shift that reads ``at_now`` at NOW."""
    def running_since_epoch(moment: datetime) -> float:
        day0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        days = (moment - day0).days
        midnight = day0 + timedelta(days=days)
        into = (moment - midnight).total_seconds() / 3600.0
        return days * 10.0 + min(max(into - SHIFT[0], 0.0), SHIFT[1] - SHIFT[0])
    return at_now + running_since_epoch(t) - running_since_epoch(NOW)


def write_hour_meter(influx, uid: str, at_now: float, days: int = 28) -> None:
    samples, t = [], NOW - timedelta(days=days)
    while t <= NOW:
        samples.append((int(t.timestamp()) * 10**9, {"hour_meter_h": round(meter(t, at_now), 4),
                                                     "engine_speed_rpm": 1800.0}))
        t += STEP
    influx.write("".join(operating_lines(uid, samples)))


@pytest.fixture
def fleet(session_factory):
    with session_factory.begin() as session:
        oem, customer, site = add_customer_site(session, "Quarry Co", "Blackstone", 53.2391, -1.907)
        for uid, hours in (("EX-1", 400.0), ("EX-2", 100.0)):
            session.add(Machine(uid=uid, tenant_id=customer.id, site_id=site.id, kind="excavator", model="IW-350LC",
                                serial=f"S-{uid}", hours=hours, nominal_shaft_rpm=1800.0, lat=site.lat, lon=site.lon))
        session.add(Technician(tenant_id=oem.id, name="Helen Marsh", skills=["engine"], home_base="Buxton",
                               home_lat=53.2587, home_lon=-1.911))
        session.add_all([
            PmPlan(machine_model="IW-350LC", code="PM-250", name="250-hour service", kind="hours", interval_h=250.0,
                   lead_days=14, duration_h=2.0, skills=["engine"], tasks=["grease pins"], kit=[]),
            PmPlan(machine_model="IW-350LC", code="PM-500", name="500-hour service", kind="hours", interval_h=500.0,
                   lead_days=14, duration_h=4.0, skills=["engine"], tasks=["engine oil and filter"],
                   kit=[{"part_number": "1R-0750", "quantity": 1}]),
        ])
    with session_factory.begin() as session:
        ex1 = session.scalar(select(Machine).where(Machine.uid == "EX-1"))
        plans = {p.code: p for p in session.scalars(select(PmPlan))}
        # EX-1: last 500-h service at 0 h, last 250-h at 250 h: both fall due at 500 h.
        session.add_all([MachinePmState(machine_id=ex1.id, plan_id=plans["PM-500"].id, last_done_hours=0.0),
                         MachinePmState(machine_id=ex1.id, plan_id=plans["PM-250"].id, last_done_hours=250.0)])
    return session_factory


def test_a_machine_running_10_h_a_day_reaches_500_h_on_the_projected_date(influx, fleet):
    write_hour_meter(influx, "EX-1", at_now=400.0)
    write_hour_meter(influx, "EX-2", at_now=100.0)
    events = EventLog()
    report = preventive_service.run_pm(fleet, TelemetryStore(influx), events, now=NOW)

    with fleet() as session:
        ex1 = session.scalar(select(Machine).where(Machine.uid == "EX-1"))
        states = {s.plan.code: s for s in session.scalars(select(MachinePmState).where(
            MachinePmState.machine_id == ex1.id))}
        pm500 = states["PM-500"]
        assert pm500.utilization_h_per_day == pytest.approx(10.0, abs=0.01)
        # Walk the simulated meter forward: the day it reaches 500 h is the projected day.
        t = NOW
        while meter(t, 400.0) < 500.0:
            t += STEP
        assert pm500.projected_due_at.date() == t.date() == (NOW + timedelta(days=10)).date()
        assert "covered by PM-500" in states["PM-250"].projection_note
        orders = session.scalars(select(WorkOrder)).all()
        # Due in 10 days with a 14-day lead: open now; the covered 250-h service opens nothing;
        # EX-2 (400 h to go, 40 days) is not in its lead yet.
        assert [(o.machine.uid, o.source, o.fault_mode, o.title) for o in orders] == [
            ("EX-1", "pm", "preventive_maintenance", "500-hour service at 500 h")]
        order = orders[0]
        assert order.due_at.date() == t.date() and order.proposed_technician.name == "Helen Marsh"
        assert "engine oil and filter" in order.description and "1 × 1R-0750" in order.description
        assert order.evidence["pm"]["due_point"] == "h:500"
    assert report.opened == [("EX-1", "PM-500", "h:500")]
    assert [e[1]["change"] for e in events.named("work_order")] == ["opened"]

    # Running again opens nothing, and the database itself refuses a second row for the point.
    assert preventive_service.run_pm(fleet, TelemetryStore(influx), EventLog(), now=NOW + timedelta(hours=1)).opened == []
    with pytest.raises(IntegrityError):
        with fleet.begin() as session:
            link = session.scalar(select(PmWorkOrder))
            extra = WorkOrder(tenant_id=order.tenant_id, machine_id=order.machine_id, title="dup", history=[],
                              parts=[], evidence={})
            session.add(extra)
            session.flush()
            session.add(PmWorkOrder(machine_id=link.machine_id, plan_id=link.plan_id, due_point=link.due_point,
                                    work_order_id=extra.id))


def test_completing_the_service_resets_its_counter_and_the_included_ones(influx, fleet):
    write_hour_meter(influx, "EX-1", at_now=400.0)
    store = TelemetryStore(influx)
    preventive_service.run_pm(fleet, store, EventLog(), now=NOW)
    done_at = NOW + timedelta(days=9, hours=6)
    with fleet.begin() as session:
        order = session.scalar(select(WorkOrder))
        from fleet import lifecycle, order_actions  # the one path of the life cycle

        engineer = lifecycle.Actor("engineer@x", "engineer")
        order_actions.step(session, order, "assign", engineer, done_at,
                           technician_id=session.scalar(select(Technician.id)))
        order_actions.step(session, order, "complete_on_behalf", engineer, done_at, completion=lifecycle.Completion(
            "service_done", "scheduled", "service_completed", "yes", notes="500-h service done"))
        assert preventive_service.record_service_done(session, order, 497.0, done_at) == ["PM-250", "PM-500"]
    with fleet() as session:
        states = {s.plan.code: (s.last_done_hours, s.last_done_at) for s in session.scalars(select(MachinePmState))
                  if s.machine.uid == "EX-1"}
        assert states == {"PM-250": (497.0, done_at), "PM-500": (497.0, done_at)}
    # Next projection: the 250-h service at 747 h, 347 h from the 400 h read at NOW.
    preventive_service.run_pm(fleet, store, EventLog(), now=NOW)
    with fleet() as session:
        pm250 = next(s for s in session.scalars(select(MachinePmState)) if s.plan.code == "PM-250"
                     and s.machine.uid == "EX-1")
        assert pm250.projected_due_at == pytest.approx(NOW + timedelta(days=34.7), abs=timedelta(minutes=30))
        assert "due at 747 h" in pm250.projection_note


def test_a_machine_without_hour_meter_data_uses_the_model_default(influx, fleet):
    with fleet() as session:
        ex2 = session.scalar(select(Machine).where(Machine.uid == "EX-2"))
        use = preventive_service.machine_utilization(TelemetryStore(influx), ex2, NOW)
    assert (use.h_per_day, use.current_hours, use.measured) == (8.0, 100.0, False)
    assert "no hour-meter readings" in use.note


def test_the_seeded_demo_fleet_has_services_due_soon(influx, session_factory, tmp_path):
    from fleet import seed

    seed.seed(session_factory, tmp_path)
    now = datetime.now(timezone.utc)
    report = preventive_service.run_pm(session_factory, TelemetryStore(influx), EventLog(), now=now)
    opened = {(uid, code) for uid, code, _ in report.opened}
    assert {("EX-1001", "PM-500"), ("EX-1010", "PM-1000"), ("GS-2001", "LOADBANK-1Y"),
            ("GS-2004", "LOADBANK-1Y"), ("GS-2009", "PM-250")} <= opened
    assert report.machines == 22 and len(opened) < report.projections / 3  # most services are not due yet
    with session_factory() as session:
        overdue = session.scalar(select(WorkOrder).where(WorkOrder.title.like("Yearly load-bank test due %"),
                                                         WorkOrder.machine.has(uid="GS-2004")))
        # A calendar plan's order reads as a sentence with its day, a meter plan's with its reading.
        assert overdue.title == f"Yearly load-bank test due {overdue.due_at:%a %d %b %Y}"
        assert overdue.description.startswith("Yearly load-bank test: ")
        assert overdue.priority == "high" and overdue.proposed_technician.skills and \
            "electrical" in overdue.proposed_technician.skills
        kits = {p.code: p.kit for p in session.scalars(select(PmPlan).where(PmPlan.machine_model == "IW-500"))}
        catalogue = {p.part_number for p in session.scalars(select(Part).where(Part.machine_model == "IW-500"))}
        assert all(item["part_number"] in catalogue for kit in kits.values() for item in kit)
