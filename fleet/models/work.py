"""Maintenance records: work orders, per-burst diagnosis records, RUL model registry, job state."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..workorders import WorkOrderStatus
from .assets import Component, Machine
from .base import Base, UTCDateTime, utcnow
from .org import Technician, Tenant


class WorkOrder(WorkOrderStatus, Base):
    """A maintenance job on a machine (and usually one component), with its evidence and story.

    ``source`` says what opened it: ``diagnosis`` (a burst finding), ``trend`` (a trend alarm on
    the feature history), ``rul`` (remaining useful life), ``pm`` (hour-meter plan) or ``manual``.
    """

    __tablename__ = "work_order"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'assigned', 'accepted', 'in_progress', 'on_hold', 'done', 'closed', "
                        "'cancelled')", name="status"),
        CheckConstraint("priority IN ('low', 'medium', 'high', 'urgent')", name="priority"),
        Index("ix_work_order_dedup", "machine_id", "component_id", "fault_mode", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machine.id", ondelete="CASCADE"), index=True)
    component_id: Mapped[int | None] = mapped_column(ForeignKey("component.id", ondelete="SET NULL"))
    fault_mode: Mapped[str] = mapped_column(String(40), default="")
    location: Mapped[str] = mapped_column(String(40), default="")  # bearing / gear name
    source: Mapped[str] = mapped_column(String(16), default="diagnosis")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    priority: Mapped[str] = mapped_column(String(8), default="medium")
    severity: Mapped[str] = mapped_column(String(8), default="watch")  # watch | warning | alarm
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    # {"finding": Finding.to_dict(), "burst_ids": [...], "rul": {...}?, "trend": {...}?}
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)  # findings merged into this order
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technician.id", ondelete="SET NULL"), index=True)
    proposed_technician_id: Mapped[int | None] = mapped_column(ForeignKey("technician.id", ondelete="SET NULL"))
    proposal_reason: Mapped[str] = mapped_column(String(240), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str] = mapped_column(Text, default="")
    parts: Mapped[list] = mapped_column(JSON, default=list)
    cancel_reason: Mapped[str] = mapped_column(String(240), default="")
    history: Mapped[list] = mapped_column(JSON, default=list)

    tenant: Mapped[Tenant] = relationship()
    machine: Mapped[Machine] = relationship()
    component: Mapped[Component | None] = relationship()
    technician: Mapped[Technician | None] = relationship(foreign_keys=[technician_id])
    proposed_technician: Mapped[Technician | None] = relationship(foreign_keys=[proposed_technician_id])

    @property
    def number(self) -> str:
        """Human reference, e.g. ``WO-000042``."""
        return f"WO-{self.id:06d}" if self.id is not None else "WO-new"

    def __repr__(self) -> str:
        return f"<WorkOrder {self.number} {self.status} {self.fault_mode}>"


class BurstDiagnosis(Base):
    """That a burst was diagnosed, and the outcome: makes ``process_burst`` idempotent."""

    __tablename__ = "burst_diagnosis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    burst_id: Mapped[str] = mapped_column(String(200), unique=True)  # <machine>:<sensor>:<axis>:<ns>
    machine_id: Mapped[int] = mapped_column(ForeignKey("machine.id", ondelete="CASCADE"))
    component_id: Mapped[int | None] = mapped_column(ForeignKey("component.id", ondelete="SET NULL"))
    sensor: Mapped[str] = mapped_column(String(60), default="")
    burst_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    iso_zone: Mapped[str | None] = mapped_column(String(1))
    velocity_rms_mm_s: Mapped[float | None] = mapped_column(Float)
    health_index: Mapped[float | None] = mapped_column(Float)
    worst_severity: Mapped[str] = mapped_column(String(8), default="")  # "" when no finding
    features: Mapped[dict] = mapped_column(JSON, default=dict)
    findings: Mapped[list] = mapped_column(JSON, default=list)  # Finding.to_dict() each
    work_order_ids: Mapped[list] = mapped_column(JSON, default=list)

    machine: Mapped[Machine] = relationship()
    component: Mapped[Component | None] = relationship()

    __table_args__ = (Index("ix_burst_diagnosis_machine_time", "machine_id", "burst_at"),)


class RulModel(Base):
    """A trained remaining-useful-life model (the file lives under the instance folder)."""

    __tablename__ = "rul_model"
    __table_args__ = (UniqueConstraint("component_kind", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    component_kind: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(400))
    data_hash: Mapped[str] = mapped_column(String(128))
    data_rows: Mapped[int] = mapped_column(Integer)
    features: Mapped[list] = mapped_column(JSON, default=list)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    training_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    active: Mapped[bool] = mapped_column(Boolean, default=False)


class JobState(Base):
    """Small persistent state for scheduled jobs (e.g. the burst sweep's watermark)."""

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
