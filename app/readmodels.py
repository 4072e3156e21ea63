"""Read models the web pages need that ``fleet.queries`` does not (yet) offer.

Same conventions as :mod:`fleet.queries` (session first, tenant-scoped, plain data, None when not
visible) and built from its row views, so moving them there later changes no caller.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload


def burst_diagnosis(session: Session, burst_id: str, visible_tenant_ids: Iterable[int]) -> dict | None:
    """The diagnosis record of one burst (``fleet.queries.diagnosis_view``); None when the burst
    was never diagnosed or belongs to a machine the caller may not see."""
    from fleet.models import BurstDiagnosis, Machine
    from fleet.queries import diagnosis_view

    record = session.scalar(
        select(BurstDiagnosis).join(Machine, BurstDiagnosis.machine_id == Machine.id)
        .where(BurstDiagnosis.burst_id == burst_id, Machine.tenant_id.in_([int(t) for t in visible_tenant_ids]))
        .options(selectinload(BurstDiagnosis.machine), selectinload(BurstDiagnosis.component)))
    return None if record is None else diagnosis_view(record)


def focus_diagnosis(session: Session, uid: str, visible_tenant_ids: Iterable[int],
                    recent_findings: list[dict], recent: list[dict]) -> dict | None:
    """The diagnosis the machine page explains: the burst of the newest finding, else the newest
    diagnosed burst (healthy), else None."""
    if recent_findings:
        record = burst_diagnosis(session, recent_findings[0]["burst_id"], visible_tenant_ids)
        if record is not None:
            return record
    return recent[0] if recent else None
