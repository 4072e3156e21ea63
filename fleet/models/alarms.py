"""Alarms and the people they reach: alarms, escalation chains, on-call shifts, push
subscriptions, user preferences, the delivery log and the audit log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..alarms import AlarmLifecycle
from .assets import Component, Machine
from .base import Base, UTCDateTime, utcnow
from .org import Site, Technician, Tenant, User


class Alarm(AlarmLifecycle, Base):
    """A condition on a machine someone must see; at most one open per machine + component + cause.

    ``open_key`` is ``"<machine_id>|<component>|<source>:<cause>"`` while the alarm is active or
    acknowledged and NULL once cleared. Its unique index is the dedup rule, enforced by the
    database for every process (SQLite and PostgreSQL both let any number of NULLs through).
    """

    __tablename__ = "alarm"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'acknowledged', 'cleared')", name="state"),
        CheckConstraint("severity IN ('watch', 'warning', 'alarm')", name="severity"),
        CheckConstraint("source IN ('diagnosis', 'trend', 'rul', 'dm1', 'stale', 'onset', 'security')", name="source"),
        UniqueConstraint("open_key"),
        Index("ix_alarm_machine_state", "machine_id", "state"),
        Index("ix_alarm_escalation", "next_escalation_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machine.id", ondelete="CASCADE"))
    component_id: Mapped[int | None] = mapped_column(ForeignKey("component.id", ondelete="SET NULL"))
    component: Mapped[str] = mapped_column(String(40), default="")  # name; "" = the machine itself
    source: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(120))
    open_key: Mapped[str | None] = mapped_column(String(220))
    severity: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(240))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="active", index=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # escalation counts from here
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the observation's time
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    count: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    acknowledged_by: Mapped[str | None] = mapped_column(String(254))
    ack_comment: Mapped[str] = mapped_column(String(500), default="")
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    cleared_by: Mapped[str | None] = mapped_column(String(254))
    clear_comment: Mapped[str] = mapped_column(String(500), default="")
    clear_reason: Mapped[str] = mapped_column(String(32), default="")  # manual | condition_gone
    # Escalation: how many steps of the chain were notified, and when the next is due (None: done/stopped).
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id", ondelete="SET NULL"))
    history: Mapped[list] = mapped_column(JSON, default=list)

    tenant: Mapped[Tenant] = relationship()
    machine: Mapped[Machine] = relationship()
    component_row: Mapped[Component | None] = relationship()

    @staticmethod
    def key_text(machine_id: int, component: str, source: str, cause: str) -> str:
        return f"{int(machine_id)}|{component}|{source}:{cause}"

    @property
    def number(self) -> str:
        return f"AL-{self.id:06d}" if self.id is not None else "AL-new"

    def __repr__(self) -> str:
        return f"<Alarm {self.number} {self.state} {self.source}:{self.cause}>"


class EscalationPolicy(Base):
    """A tenant's escalation chain for alarms of at least ``min_severity``."""

    __tablename__ = "escalation_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="Default")
    min_severity: Mapped[str] = mapped_column(String(8), default="warning")
    steps: Mapped[list["EscalationStep"]] = relationship(back_populates="policy", cascade="all, delete-orphan",
                                                         order_by="EscalationStep.position")


class EscalationStep(Base):
    """One step: notify ``target`` through ``channels`` once the alarm is ``after_minutes`` old and
    still unacknowledged. ``target_kind`` is ``role`` (every active user of ``target_role`` in the
    policy's tenant), ``user`` (``target_user_id``) or ``on_call`` (the technician on call at the
    machine's site)."""

    __tablename__ = "escalation_step"
    __table_args__ = (
        CheckConstraint("target_kind IN ('role', 'user', 'on_call')", name="target_kind"),
        UniqueConstraint("policy_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policy.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    target_kind: Mapped[str] = mapped_column(String(16))
    target_role: Mapped[str | None] = mapped_column(String(16))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    channels: Mapped[list] = mapped_column(JSON, default=list)  # ["push", "email"]

    policy: Mapped[EscalationPolicy] = relationship(back_populates="steps")
    target_user: Mapped[User | None] = relationship()


class FaultCodeRule(Base):
    """A tenant's override of the DM1 lamp rule for one SPN (``fmi`` None: any FMI):
    ``severity`` None means "raise no alarm for this code" (see ``fleet.alarms.fault_code_severity``)."""

    __tablename__ = "fault_code_rule"
    __table_args__ = (UniqueConstraint("tenant_id", "spn", "fmi"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    spn: Mapped[int] = mapped_column(Integer)
    fmi: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str | None] = mapped_column(String(8))

    @property
    def key(self) -> str:
        return f"{self.spn}" if self.fmi is None else f"{self.spn}:{self.fmi}"


class OnCallShift(Base):
    """Who is on call for a site from ``starts_at`` to ``ends_at`` (UTC)."""

    __tablename__ = "on_call_shift"
    __table_args__ = (Index("ix_on_call_site_time", "site_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship()
    technician: Mapped[Technician] = relationship()


class PushSubscription(Base):
    """A browser's Web Push subscription (RFC 8030 endpoint and RFC 8291 keys), per user and device."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    device: Mapped[str] = mapped_column(String(200), default="")  # user agent, to tell devices apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def subscription_info(self) -> dict:
        """The ``subscription_info`` dict ``pywebpush`` takes (the browser's PushSubscription JSON)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class UserPreference(Base):
    """How a user wants to be reached: channels, quiet hours, time zone for the texts."""

    __tablename__ = "user_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    channels: Mapped[list] = mapped_column(JSON, default=lambda: ["push", "email"])
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "22:00", local
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # A customer's owner alerts (``fleet.owner_alerts``): {"security": bool, "faults": "off"|"alarm"|"warning"};
    # None: the defaults, so a user who never saved the page still hears of a theft.
    owner_alerts: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """The delivery log: one message to one person through one channel, and what became of it.

    ``status``: ``queued`` → ``sent`` | ``retrying`` (→ ``sent`` | ``failed``) | ``dropped``
    (subscription gone, 404/410) | ``suppressed`` (quiet hours, channel off) | ``held`` (rate
    limit: goes out in the next digest) → ``digested``.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'retrying', 'failed', 'dropped', 'suppressed', 'held', "
                        "'digested')", name="status"),
        CheckConstraint("channel IN ('push', 'email')", name="channel"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_recipient_time", "user_id", "channel", "created_at"),
        # One message per alarm, step, person and channel, whichever process sends it.
        UniqueConstraint("alarm_id", "step", "user_id", "channel", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarm.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    # raised | escalated | severity; owner | owner_clear: an owner alert and its all-clear (fleet.owner_alerts)
    kind: Mapped[str] = mapped_column(String(16), default="raised")
    step: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str] = mapped_column(String(400), default="")  # e-mail or push service host
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digest_id: Mapped[str | None] = mapped_column(String(40))

    alarm: Mapped[Alarm] = relationship()
    user: Mapped[User] = relationship()


class AuditEntry(Base):
    """Who did what to which alarm, work order or configuration, when: written by a message-bus subscriber."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(254), default="system")
    subject_type: Mapped[str] = mapped_column(String(16))  # fleet.audit_log.SUBJECT_TYPES
    subject_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


