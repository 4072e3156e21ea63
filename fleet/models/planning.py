"""Planning records: parts catalogue, preventive-maintenance plans and their per-machine counters,
technicians' working weeks and days off, dispatch locks, and the structured findings of a repair.

Kept in their own tables (rather than new columns on ``work_order`` or ``technician``) so the
planning core can grow without touching the rows other features write; each rule that must hold
across processes is a unique constraint here.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .assets import Machine
from .base import Base, UTCDateTime, utcnow
from .org import Technician
from .work import WorkOrder


class Part(Base):
    """One catalogue part of a machine model (``IW-350LC``, ``IWG-2000``)."""

    __tablename__ = "part"
    __table_args__ = (UniqueConstraint("machine_model", "part_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_model: Mapped[str] = mapped_column(String(80), index=True)
    part_number: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(200))


class PmPlan(Base):
    """A preventive-maintenance plan of a machine model: every ``interval_h`` engine hours
    (``kind='hours'``) or every ``interval_days`` days (``kind='calendar'``), with its task list
    and parts kit (``[{"part_number", "quantity"}]``, numbers from :class:`Part`)."""

    __tablename__ = "pm_plan"
    __table_args__ = (
        UniqueConstraint("machine_model", "code"),
        CheckConstraint("kind IN ('hours', 'calendar')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_model: Mapped[str] = mapped_column(String(80), index=True)
    code: Mapped[str] = mapped_column(String(40))  # e.g. "PM-500", "LOADBANK-1Y"
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    interval_h: Mapped[float | None] = mapped_column(Float)
    interval_days: Mapped[int | None] = mapped_column(Integer)
    lead_days: Mapped[int] = mapped_column(Integer, default=14)  # order opens this long before due
    duration_h: Mapped[float] = mapped_column(Float, default=4.0)  # labour on site
    skills: Mapped[list] = mapped_column(JSON, default=list)
    tasks: Mapped[list] = mapped_column(JSON, default=list)
    kit: Mapped[list] = mapped_column(JSON, default=list)


class MachinePmState(Base):
    """Where one machine stands on one plan: when it was last done (hour meter and date)."""

    __tablename__ = "machine_pm_state"
    __table_args__ = (UniqueConstraint("machine_id", "plan_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machine.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("pm_plan.id", ondelete="CASCADE"), index=True)
    last_done_hours: Mapped[float] = mapped_column(Float, default=0.0)
    last_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest projection, for the console (recomputed by every PM run).
    projected_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    utilization_h_per_day: Mapped[float | None] = mapped_column(Float)
    projection_note: Mapped[str] = mapped_column(String(240), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    machine: Mapped[Machine] = relationship()
    plan: Mapped[PmPlan] = relationship()


class PmWorkOrder(Base):
    """The work order opened for one due point of one plan on one machine.

    ``due_point`` is ``"h:<hours>"`` or ``"d:<YYYY-MM-DD>"``; the unique constraint makes a second
    PM run (or a second process) unable to open the same service twice.
    """

    __tablename__ = "pm_work_order"
    __table_args__ = (UniqueConstraint("machine_id", "plan_id", "due_point"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machine.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("pm_plan.id", ondelete="CASCADE"))
    due_point: Mapped[str] = mapped_column(String(40))
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[PmPlan] = relationship()
    work_order: Mapped[WorkOrder] = relationship()


class TechnicianWorkweek(Base):
    """A technician's regular hours: minutes after local midnight, on ISO weekdays (1 = Monday)."""

    __tablename__ = "technician_workweek"

    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id", ondelete="CASCADE"), primary_key=True)
    start_minute: Mapped[int] = mapped_column(Integer, default=8 * 60)
    end_minute: Mapped[int] = mapped_column(Integer, default=17 * 60)
    weekdays: Mapped[list] = mapped_column(JSON, default=lambda: [1, 2, 3, 4, 5])

    technician: Mapped[Technician] = relationship()


class TechnicianDayOff(Base):
    """A day a technician does not work (leave, training, public holiday)."""

    __tablename__ = "technician_day_off"
    __table_args__ = (UniqueConstraint("technician_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(120), default="")


def new_lock_revision() -> str:
    """A fresh :attr:`DispatchLock.revision` (random, so no clock or commit order is involved)."""
    return uuid.uuid4().hex


class DispatchLock(Base):
    """An engineer's decision the planner must keep: this order, this technician (and day).

    ``revision`` names this version of the row: a new one on every insert and every UPDATE (the
    column's ``default`` and ``onupdate``, so any ORM or Core write gets one), unique in the table.
    A stored proposal lists the revisions it was planned with (``DispatchProposal.lock_revisions``),
    so a lock it does not show is one whose revision is not in that list, whenever and on whichever
    server it was committed (:func:`fleet.dispatch_service.pending_locks`).
    """

    __tablename__ = "dispatch_lock"

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id", ondelete="CASCADE"))
    day: Mapped[date | None] = mapped_column(Date)
    locked_by: Mapped[str] = mapped_column(String(120), default="")
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revision: Mapped[str] = mapped_column(String(32), unique=True, default=new_lock_revision,
                                          onupdate=new_lock_revision)


class WorkOrderFinding(Base):
    """What the repair found, in codes the feedback loop can count (see :mod:`fleet.lifecycle`)."""

    __tablename__ = "work_order_finding"
    __table_args__ = (
        CheckConstraint("fault_confirmed IN ('yes', 'no', 'other')", name="fault_confirmed"),
    )

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), primary_key=True)
    problem_code: Mapped[str] = mapped_column(String(60))
    cause_code: Mapped[str] = mapped_column(String(60))
    remedy_code: Mapped[str] = mapped_column(String(60))
    fault_confirmed: Mapped[str] = mapped_column(String(8))
    found_fault_mode: Mapped[str] = mapped_column(String(40), default="")  # when "other"
    component_replaced: Mapped[bool] = mapped_column(Boolean, default=False)
    labour_h: Mapped[float] = mapped_column(Float, default=0.0)
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(120), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    work_order: Mapped[WorkOrder] = relationship()


class SchedulerLease(Base):
    """Who runs the scheduled jobs now: one row per lease name, held by ``owner`` until
    ``expires_at`` and renewed by the holder's heartbeat (see :mod:`fleet.scheduler_lease`).

    Taken with one conditional UPDATE (or, the first time, an INSERT that the primary key lets only
    one process win), so the database, not a process, decides who holds it.
    """

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ComponentRepair(Base):
    """A corrective order completed on a component: the diagnostic baseline starts again at
    ``repaired_at``, and evidence of ``fault_mode`` observed before then opens no new order
    (see :mod:`fleet.repairs`). One row per order, so a repeated event records nothing twice."""

    __tablename__ = "component_repair"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"), index=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), unique=True)
    fault_mode: Mapped[str] = mapped_column(String(40))
    repaired_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DispatchProposal(Base):
    """The nightly dispatch proposal for the days from ``start_day`` (``plan`` is
    :func:`fleet.dispatch_service.plan_as_dict`), until an engineer accepts it."""

    __tablename__ = "dispatch_proposal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_day: Mapped[date] = mapped_column(Date, unique=True)
    days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    plan: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The revisions of every dispatch lock the plan's input held (``DispatchLock.revision``); None
    #: for a claim and for proposals stored before the column (their pending locks go by time)
    lock_revisions: Mapped[list | None] = mapped_column(JSON)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by: Mapped[str] = mapped_column(String(120), default="")
