"""One open diagnosis alarm per bearing: open alarms keyed by fault mode are re-keyed to their
bearing (cause ``bearing:<location>``), and two open alarms of one bearing merged into one

Before, a burst that reported two fault modes of one bearing (``diagnostics.bearing`` keeps any
mode at least 80 % as strong as the strongest) raised one alarm per mode. From now on the cause of
a bearing's alarm is ``bearing:<location>`` (``fleet.bearing_verdicts``). An open alarm keyed the
old way would be raised again beside it under the new key, so every open one is re-keyed here, and
where a bearing has several, one stays: an active one before an acknowledged one (its escalation
chain is still running), then the worst severity, then the oldest. It takes the worst severity, the
earliest first-seen and latest last-seen times, the linked work order, the leading mode's title and
finding (the highest score) with the others as alternatives; the others are cleared
(``clear_reason = merged``) with a comment naming the alarm they were merged into. Cleared alarms
keep their old cause: they are history.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

BEARING_MODES = ("bearing_outer_race", "bearing_inner_race", "bearing_rolling_element", "bearing_cage")
SEVERITIES = ("watch", "warning", "alarm")
PREFIX = "bearing:"
#: fleet.wording.BEARING_MODE_WORDS as of this revision (a migration does not follow later edits).
MODE_WORDS = {"bearing_outer_race": ("outer race", "outer-race"), "bearing_inner_race": ("inner race", "inner-race"),
              "bearing_rolling_element": ("rolling element", "rolling-element"), "bearing_cage": ("cage", "cage")}

alarm = sa.table(
    "alarm", sa.column("id", sa.Integer), sa.column("machine_id", sa.Integer), sa.column("component", sa.String),
    sa.column("source", sa.String), sa.column("cause", sa.String), sa.column("open_key", sa.String),
    sa.column("severity", sa.String), sa.column("title", sa.String), sa.column("detail", sa.JSON),
    sa.column("state", sa.String), sa.column("first_seen_at", sa.DateTime), sa.column("last_seen_at", sa.DateTime),
    sa.column("count", sa.Integer), sa.column("work_order_id", sa.Integer), sa.column("history", sa.JSON),
    sa.column("cleared_at", sa.DateTime), sa.column("clear_comment", sa.String), sa.column("clear_reason", sa.String),
    sa.column("next_escalation_at", sa.DateTime))


def _key(row, cause: str) -> str:
    return f"{int(row.machine_id)}|{row.component}|diagnosis:{cause}"


def _mode_and_location(cause: str) -> tuple[str, str] | None:
    mode, sep, location = (cause or "").partition(":")
    return (mode, location) if sep and mode in BEARING_MODES and location else None


def _score(row) -> float:
    return float(((row.detail or {}).get("finding") or {}).get("score") or 0.0)


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def _merged_detail(leading, others) -> dict:
    detail = dict(leading.detail or {})
    lead_finding = detail.get("finding") or {}
    lead_score = _score(leading)
    detail["fault_mode"], detail["location"] = _mode_and_location(leading.cause)
    detail["alternatives"] = [
        {"fault_mode": _mode_and_location(o.cause)[0], "severity": o.severity,
         "strength": round(_score(o) / lead_score, 2) if lead_score > 0 else 0.0,
         "finding": (o.detail or {}).get("finding") or {}} for o in others]
    # The next burst of the bearing writes the verdict with strengths from one burst; the merged
    # alarms may come from different bursts, so this one names the alternatives without them.
    detail["verdict"] = (f"{MODE_WORDS[detail['fault_mode']][0].capitalize()} more likely; "
                         + ", ".join(f"{MODE_WORDS[a['fault_mode']][1]} lines" for a in detail["alternatives"])
                         + " also reported (alarms merged into one per bearing).") if others else ""
    if lead_finding:
        detail["finding"] = lead_finding
    return detail


def _note(history, text: str) -> list:
    return [*(history or []), {"at": datetime.now(timezone.utc).isoformat(), "note": text}]


def _number(alarm_id: int) -> str:
    return f"AL-{alarm_id:06d}"


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(alarm).where(alarm.c.source == "diagnosis",
                                               alarm.c.state.in_(("active", "acknowledged")))).all()
    groups: dict[tuple, list] = {}
    for row in rows:
        parsed = _mode_and_location(row.cause)
        if parsed is not None:
            groups.setdefault((row.machine_id, row.component, parsed[1]), []).append(row)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for (_, _, location), group in groups.items():
        keeper = min(group, key=lambda r: (r.state != "active", -_rank(r.severity), r.first_seen_at or now, r.id))
        leading = max(group, key=lambda r: (_score(r), -r.id))
        others = [r for r in group if r.id != leading.id]
        merged = [r for r in group if r.id != keeper.id]
        for row in merged:  # cleared first: their open keys must be free before the keeper takes the new one
            bind.execute(alarm.update().where(alarm.c.id == row.id).values(
                state="cleared", open_key=None, cleared_at=now, next_escalation_at=None, clear_reason="merged",
                clear_comment=f"merged into {_number(keeper.id)}: one alarm per bearing",
                history=_note(row.history,
                              f"cleared (merged): merged into {_number(keeper.id)}, one alarm per bearing")))
        history = keeper.history
        for row in merged:
            history = _note(history, f"merged {_number(row.id)} ({row.title}) into this alarm: one alarm per bearing")
        severity = max((r.severity for r in group), key=_rank)
        seen = [r.first_seen_at for r in group if r.first_seen_at is not None]
        last = [r.last_seen_at for r in group if r.last_seen_at is not None]
        cause = f"{PREFIX}{location}"
        bind.execute(alarm.update().where(alarm.c.id == keeper.id).values(
            cause=cause, open_key=_key(keeper, cause), severity=severity, title=leading.title,
            detail=_merged_detail(leading, others), history=history,
            first_seen_at=min(seen) if seen else keeper.first_seen_at,
            last_seen_at=max(last) if last else keeper.last_seen_at,
            count=sum(int(r.count or 1) for r in group),
            work_order_id=next((r.work_order_id for r in [keeper, *merged] if r.work_order_id), None)))


def downgrade() -> None:
    """Open bearing alarms get their leading mode's cause back (merged ones stay cleared)."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(alarm).where(alarm.c.source == "diagnosis", alarm.c.cause.like(f"{PREFIX}%"),
                                               alarm.c.state.in_(("active", "acknowledged")))).all()
    for row in rows:
        mode = (row.detail or {}).get("fault_mode") or ((row.detail or {}).get("finding") or {}).get("fault_mode")
        if not mode:
            continue
        cause = f"{mode}:{row.cause[len(PREFIX):]}"
        bind.execute(alarm.update().where(alarm.c.id == row.id).values(cause=cause, open_key=_key(row, cause)))
