"""Reading the audit log: who changed what, newest first, filtered by kind of change and actor.

Rows are written only by the message-bus subscriber :func:`fleet.handlers.write_audit`.
"""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .models import AuditEntry

#: kind of change → how the page names it
SUBJECT_TYPES = {"user": "Users and sign-ins", "device": "Device credentials", "zone_limits": "Zone limits",
                 "model": "RUL models", "alarm_rules": "Alarm rules",
                 "technician": "Technicians", "work_order": "Work orders", "alarm": "Alarms",
                 "machine": "Machine sites"}


def audit_entries(session: Session, tenant_ids, subject_type: str | None = None, actor: str | None = None,
                  limit: int = 200) -> list[dict]:
    """The newest ``limit`` entries visible to ``tenant_ids`` (and the fleet-wide ones, tenant None).

    Parameters
    ----------
    subject_type : str, optional
        One key of :data:`SUBJECT_TYPES`.
    actor : str, optional
        Part of the actor's e-mail (case-insensitive).
    """
    query = select(AuditEntry).where(or_(AuditEntry.tenant_id.in_(list(tenant_ids)), AuditEntry.tenant_id.is_(None)))
    if subject_type:
        query = query.where(AuditEntry.subject_type == subject_type)
    if actor:
        escaped = actor.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(AuditEntry.actor.ilike(f"%{escaped}%", escape="\\"))
    rows = session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
    return [{"at": r.at, "actor": r.actor, "subject_type": r.subject_type, "subject_id": r.subject_id,
             "action": r.action, "comment": r.comment, "detail": dict(r.detail or {})} for r in rows]
