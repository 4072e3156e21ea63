"""Issue 15's "done when": a simulated genset bearing from healthy to a developing outer-race fault,
against the real InfluxDB and SQL database, through one work order, dispatch, the repair, the
baseline reset and the feedback report.

The technician's accept / start / complete go through ``fleet.order_actions`` (the one path of
``fleet.lifecycle``: who may, which codes, each step in the order's history), as from the
technicians' app and the console.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fleet import dispatch_service, feedback, lifecycle, maintenance, order_actions, seed
from fleet.diagnosis_service import DiagnosisService
from fleet.events import WorkOrderChanged
from fleet.handlers import as_bus
from fleet.models import Component, ComponentRepair, Machine, Technician, Tenant, WorkOrder, utcnow
from fleet.workorders import priority_rank
from telemetry.store import TelemetryStore

from fleet_helpers import T0, EventLog, write_burst

pytestmark = pytest.mark.integration
NS = 1_000_000_000
MACHINE, COMPONENT = "GS-2001", "alternator_de"


def orders_of(sessions) -> list[WorkOrder]:
    with sessions() as session:
        return list(session.scalars(select(WorkOrder).join(Machine).where(
            Machine.uid == MACHINE, WorkOrder.source != "pm").order_by(WorkOrder.id)))


def burst(influx, service, at_ns, severity, seed_):
    meta = write_burst(influx, MACHINE, COMPONENT, 1500.0, at_ns, "bearing_outer_race" if severity else None,
                       "DE" if severity else None, severity, seed_=seed_)
    return service.process_burst(meta.burst_id)


def test_outer_race_fault_from_first_burst_to_feedback(influx, session_factory, tmp_path):
    sessions = session_factory
    seed.seed(sessions, tmp_path)
    events = EventLog()
    bus = as_bus(events, sessions)  # the app's bus: audit log and the repair subscriber included
    service = DiagnosisService(TelemetryStore(influx), sessions, bus)
    with sessions() as session:
        everyone = list(session.scalars(select(Tenant.id)))

    # Healthy, then a growing outer-race defect: exactly one order, its priority rising with it.
    for i in range(3):
        assert burst(influx, service, T0 + i * 300 * NS, 0.0, seed_=i).opened == []
    priorities = []
    for i, severity in enumerate((0.0013, 0.0015, 0.003)):  # warning, warning, alarm
        burst(influx, service, T0 + (3 + i) * 300 * NS, severity, seed_=10 + i)
        priorities.append([o.priority for o in orders_of(sessions)])
    (order,) = orders_of(sessions)
    assert (order.fault_mode, order.location, order.status) == ("bearing_outer_race", "DE", "open")
    ranks = [priority_rank(p[0]) for p in priorities]
    assert ranks == sorted(ranks) and ranks[-1] > ranks[0], priorities
    assert any("priority raised" in (h.get("note") or "") for h in order.history)

    # Dispatch: the proposal puts it with a bearing technician; the engineer accepts the proposal.
    proposal = dispatch_service.propose(sessions, start=utcnow().date() + timedelta(days=1), days=5)
    (visit,) = [a for a in proposal.plan["assignments"] if order.id in a["work_order_ids"]]
    with sessions() as session:
        technician = session.get(Technician, visit["technician_id"])
        component_kind = session.get(Component, order.component_id).kind
    assert maintenance.required_skills(order.fault_mode, component_kind) <= set(technician.skills)
    assert "bearings" in technician.skills and technician.name in visit["reason"]
    assigned = dispatch_service.accept_proposal(sessions, bus, proposal.id, everyone, "engineer@ironwatch.example")
    assert order.id in assigned
    with pytest.raises(lifecycle.DomainError, match="was accepted by"):
        dispatch_service.accept_proposal(sessions, bus, proposal.id, everyone, "engineer@ironwatch.example")

    # The technician accepts, starts and completes with codes (checked by the life cycle).
    me = lifecycle.Actor(technician.name, "technician", technician.id)
    with sessions() as session:
        life = lifecycle.from_row(session.get(WorkOrder, order.id))
    assert life.status == "assigned" and life.technician_id == technician.id
    for action in ("accept", "start"):
        order_actions.perform(sessions, bus, order.id, action, me, everyone)
    completion = lifecycle.Completion("outer_race_spalled", "lubrication", "bearing_replaced", "yes",
                                      component_replaced=True, labour_h=3.5, notes="DE bearing spalled, replaced")
    with pytest.raises(lifecycle.DomainError, match="not in the code list"):
        order_actions.perform(sessions, bus, order.id, "complete", me, everyone,
                              completion=lifecycle.Completion("gear_tooth_broken", "lubrication", "bearing_replaced",
                                                              "yes"))
    done = order_actions.perform(sessions, bus, order.id, "complete", me, everyone, completion=completion)
    assert done["status"] == "done"
    assert [h.get("action") for h in done["history"]][-3:] == ["accept", "start", "complete"]

    # The repair subscriber reset the baseline: a repair row, the component's summary cleared.
    with sessions() as session:
        repair = session.scalar(select(ComponentRepair).where(ComponentRepair.work_order_id == order.id))
        component = session.get(Component, order.component_id)
        assert repair is not None and repair.fault_mode == "bearing_outer_race"
        assert repair.repaired_at == session.get(WorkOrder, order.id).completed_at
        assert (component.iso_zone, component.health_index) == (None, None)
        assert session.get(Machine, order.machine_id).status in ("ok", "unknown")
    # The same event again (a retried handler) records nothing twice.
    bus.handle([WorkOrderChanged(tenant_ids=(), order=done, change="completed")])
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ComponentRepair)) == 1

    # Old evidence: a faulty burst captured before the repair but diagnosed only now opens nothing.
    late = burst(influx, service, T0 + 6 * 300 * NS, 0.9, seed_=20)
    assert late.findings and late.opened == [] and late.updated == []
    assert len(orders_of(sessions)) == 1
    with sessions() as session:
        assert session.get(Component, order.component_id).health_index is None, "old bursts set no summary"
    # Fresh data after the repair: a healthy bearing opens nothing and sets the summary again...
    after = int((repair.repaired_at + timedelta(seconds=30)).timestamp()) * NS
    assert burst(influx, service, after, 0.0, seed_=30).opened == []
    with sessions() as session:
        assert session.get(Component, order.component_id).health_index is not None
    # ...and its trend baseline holds only the post-repair burst (the window starts at the repair).
    start = service.trend_window_start(MACHINE, COMPONENT, after)
    assert start > int(repair.repaired_at.timestamp() * 1e9)

    # The feedback report counts one confirmed hit for the outer race.
    with sessions() as session:
        report = feedback.summarize(feedback.load_outcomes(session))
    (stats,) = report.modes
    assert (stats.fault_mode, stats.orders, stats.confirmed, stats.no_fault) == ("bearing_outer_race", 1, 1, 0)
    assert report.hit_rate == 1.0

    # Suppression is for old evidence only: the fault back in fresh data opens a new order.
    again = burst(influx, service, after + 300 * NS, 0.9, seed_=31)
    assert len(again.opened) == 1 and len(orders_of(sessions)) == 2
