"""Feedback loop: what completed work orders say about the diagnoses and RUL estimates behind them.

``python -m fleet.feedback [--database-url URL] [--labels FILE.csv]``

Every completed (or closed) corrective order with recorded findings (``work_order_finding``) is an
outcome: the fault mode the diagnostics predicted against what the technician found.

* **Hit rate** per predicted fault mode: orders whose fault was confirmed / orders.
* **False alarm rate**: orders where no fault was found / orders. "Another fault found" is
  neither: the machine needed the visit, the diagnosis named the wrong fault. Those are counted
  apart (**wrong fault rate**), with which fault was found instead, per predicted mode and per
  found mode (what the diagnostics missed).
* **RUL error** on replaced components: for orders with a remaining-life estimate in their evidence
  where a fault was found (the predicted one or another) and the component was replaced, the hours
  from the estimate to the replacement are taken as the actual remaining life (the component was
  found failed, whatever the fault). Hours are
  wall-clock hours, the convention of :func:`fleet.maintenance.due_date`. Error = P50 - actual
  (positive: the model said it would last longer); coverage = share of actuals inside P10-P90.

PM orders (``source = 'pm'``) are not predictions and are left out. ``--labels`` writes one row per
outcome as CSV: predicted versus found fault, and estimate versus actual remaining life, for the
RUL training to take in (``fleet.rul_training`` does not read them yet).
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import db
from .lifecycle import Completion
from .models import WorkOrder, WorkOrderFinding

COMPLETED_ROW_STATUSES = ("done", "completed", "closed")


@dataclass(frozen=True)
class Outcome:
    """One completed order as a label."""

    order_id: int
    machine: str
    component: str
    predicted_fault_mode: str
    fault_confirmed: str  # yes | no | other
    found_fault_mode: str
    problem_code: str
    component_replaced: bool
    predicted_at: datetime | None = None
    replaced_at: datetime | None = None
    rul_p10_h: float | None = None
    rul_p50_h: float | None = None
    rul_p90_h: float | None = None

    @property
    def actual_remaining_h(self) -> float | None:
        """Hours from the RUL estimate to the replacement, when this outcome measures one."""
        if (self.rul_p50_h is None or self.predicted_at is None or self.replaced_at is None
                or not self.component_replaced or self.fault_confirmed not in ("yes", "other")):
            return None
        return max(0.0, (self.replaced_at - self.predicted_at).total_seconds() / 3600.0)


@dataclass(frozen=True)
class ModeStats:
    fault_mode: str
    orders: int
    confirmed: int
    other_fault: int
    no_fault: int
    #: (found fault mode, orders) for the "another fault found" ones, most frequent first
    found_instead: tuple[tuple[str, int], ...] = ()

    @property
    def hit_rate(self) -> float:
        return self.confirmed / self.orders if self.orders else 0.0

    @property
    def wrong_fault_rate(self) -> float:
        return self.other_fault / self.orders if self.orders else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return self.no_fault / self.orders if self.orders else 0.0


@dataclass(frozen=True)
class RulError:
    replaced: int
    mean_error_h: float  # P50 - actual, mean (bias)
    mean_absolute_error_h: float
    within_p10_p90: float  # share, 0..1


@dataclass
class FeedbackReport:
    modes: list[ModeStats] = field(default_factory=list)
    rul: RulError | None = None

    @property
    def orders(self) -> int:
        return sum(m.orders for m in self.modes)

    @property
    def hit_rate(self) -> float:
        return sum(m.confirmed for m in self.modes) / self.orders if self.orders else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return sum(m.no_fault for m in self.modes) / self.orders if self.orders else 0.0

    @property
    def wrong_fault_rate(self) -> float:
        return sum(m.other_fault for m in self.modes) / self.orders if self.orders else 0.0

    @property
    def missed(self) -> list[tuple[str, int]]:
        """(found fault mode, orders) over all modes: faults found where another was predicted."""
        counts: dict[str, int] = {}
        for m in self.modes:
            for mode, n in m.found_instead:
                counts[mode] = counts.get(mode, 0) + n
        return _by_count(counts)


def _by_count(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def summarize(outcomes: list[Outcome]) -> FeedbackReport:
    """Hit and false-alarm rates per predicted fault mode, and the RUL error (pure)."""
    modes = []
    for mode in sorted({o.predicted_fault_mode for o in outcomes}):
        rows = [o for o in outcomes if o.predicted_fault_mode == mode]
        instead: dict[str, int] = {}
        for o in rows:
            if o.fault_confirmed == "other":
                found = o.found_fault_mode or "unknown"
                instead[found] = instead.get(found, 0) + 1
        modes.append(ModeStats(mode, len(rows), sum(o.fault_confirmed == "yes" for o in rows),
                               sum(o.fault_confirmed == "other" for o in rows),
                               sum(o.fault_confirmed == "no" for o in rows), tuple(_by_count(instead))))
    measured = [(o, o.actual_remaining_h) for o in outcomes if o.actual_remaining_h is not None]
    rul = None
    if measured:
        errors = [o.rul_p50_h - actual for o, actual in measured]
        inside = [o.rul_p10_h is not None and o.rul_p90_h is not None and o.rul_p10_h <= actual <= o.rul_p90_h
                  for o, actual in measured]
        rul = RulError(len(measured), statistics.fmean(errors), statistics.fmean(abs(e) for e in errors),
                       sum(inside) / len(inside))
    return FeedbackReport(modes, rul)


def record_finding(session: Session, work_order_id: int, completion: Completion, by: str, at: datetime
                   ) -> WorkOrderFinding:
    """Store the structured findings of a completed order (validated by :func:`fleet.lifecycle.apply`)."""
    finding = session.get(WorkOrderFinding, work_order_id) or WorkOrderFinding(work_order_id=work_order_id)
    finding.problem_code, finding.cause_code = completion.problem_code, completion.cause_code
    finding.remedy_code, finding.fault_confirmed = completion.remedy_code, completion.fault_confirmed
    finding.found_fault_mode, finding.component_replaced = completion.found_fault_mode, completion.component_replaced
    finding.labour_h, finding.notes, finding.recorded_by, finding.recorded_at = (
        completion.labour_h, completion.notes, by, at)
    session.add(finding)
    session.flush()
    return finding


def _rul_estimate_time(order: WorkOrder) -> datetime | None:
    """When the RUL in the order's evidence was estimated: its latest ``rul`` history entry."""
    times = [entry.get("at") for entry in (order.evidence or {}).get("history", []) if entry.get("source") == "rul"]
    if times and times[-1]:
        return datetime.fromisoformat(times[-1])
    return order.created_at if (order.evidence or {}).get("rul") else None


def load_outcomes(session: Session) -> list[Outcome]:
    """Completed corrective orders with recorded findings, oldest first."""
    rows = session.execute(
        select(WorkOrder, WorkOrderFinding).join(WorkOrderFinding, WorkOrderFinding.work_order_id == WorkOrder.id)
        .where(WorkOrder.status.in_(COMPLETED_ROW_STATUSES), WorkOrder.source != "pm").order_by(WorkOrder.id)).all()
    outcomes = []
    for order, finding in rows:
        rul = (order.evidence or {}).get("rul") or {}
        outcomes.append(Outcome(
            order_id=order.id, machine=order.machine.uid, component=order.component.name if order.component else "",
            predicted_fault_mode=order.fault_mode, fault_confirmed=finding.fault_confirmed,
            found_fault_mode=finding.found_fault_mode or (order.fault_mode if finding.fault_confirmed == "yes" else ""),
            problem_code=finding.problem_code, component_replaced=finding.component_replaced,
            predicted_at=_rul_estimate_time(order), replaced_at=order.completed_at,
            rul_p10_h=rul.get("p10_h"), rul_p50_h=rul.get("p50_h"), rul_p90_h=rul.get("p90_h")))
    return outcomes


def format_report(report: FeedbackReport) -> str:
    """The report as the CLI prints it."""
    if not report.orders:
        return "feedback: no completed corrective orders with recorded findings yet"
    lines = [f"feedback from {report.orders} completed orders: hit rate {report.hit_rate:.0%}, "
             f"false alarm rate {report.false_alarm_rate:.0%}, another fault found {report.wrong_fault_rate:.0%}", "",
             f"{'predicted fault mode':<26} {'orders':>6} {'confirmed':>9} {'other':>6} {'no fault':>8} "
             f"{'hit rate':>8} {'false alarms':>12}"]
    for m in report.modes:
        lines.append(f"{m.fault_mode:<26} {m.orders:>6} {m.confirmed:>9} {m.other_fault:>6} {m.no_fault:>8} "
                     f"{m.hit_rate:>8.0%} {m.false_alarm_rate:>12.0%}")
    if report.missed:
        lines += ["", "another fault found instead of the predicted one:"]
        for m in report.modes:
            for found, n in m.found_instead:
                lines.append(f"  predicted {m.fault_mode}, found {found}: {n}")
    lines.append("")
    if report.rul is None:
        lines.append("RUL error: no replaced component with a remaining-life estimate yet")
    else:
        r = report.rul
        lines.append(f"RUL error on {r.replaced} replaced components: mean (P50 - actual) {r.mean_error_h:+.0f} h, "
                     f"mean absolute {r.mean_absolute_error_h:.0f} h, actual inside P10-P90 {r.within_p10_p90:.0%}")
    return "\n".join(lines)


def write_labels(outcomes: list[Outcome], path: Path) -> None:
    """One CSV row per outcome (ISO times, empty cells for missing values)."""
    names = [*Outcome.__dataclass_fields__, "actual_remaining_h"]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        for outcome in outcomes:
            row = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(outcome).items()}
            writer.writerow({**row, "actual_remaining_h": outcome.actual_remaining_h})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.feedback", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: IRONWATCH_DATABASE_URL or var/ironwatch.db")
    parser.add_argument("--labels", type=Path, default=None, help="also write the labels as CSV to this file")
    args = parser.parse_args(argv)
    url = args.database_url or db.database_url()
    engine = db.make_engine(url)
    try:
        with db.session_factory(engine)() as session:
            outcomes = load_outcomes(session)
    except SQLAlchemyError as exc:  # no schema yet, an older schema, an unreachable server
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"cannot read work orders from {url}: {first_line} (run `python -m fleet.seed` to migrate)",
              file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(format_report(summarize(outcomes)))
    if args.labels:
        write_labels(outcomes, args.labels)
        print(f"labels: {len(outcomes)} rows written to {args.labels}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
