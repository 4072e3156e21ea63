"""Planning from the command line: run the PM projection once, or print the week's dispatch plan.

``python -m fleet.planning pm [--database-url URL]``
    Project every machine's PM plans from its hour meter (InfluxDB at ``IRONWATCH_INFLUX_URL`` or
    the private influxd on ``IRONWATCH_INFLUX_PORT``), open the orders whose lead has started, and
    print each machine's next services.

``python -m fleet.planning dispatch [--start YYYY-MM-DD] [--days 5] [--no-bundling] [--database-url URL]``
    Print who does which open order on which day, with the planner's reasons. Nothing is saved:
    the plan is a proposal (locks are kept, see :func:`fleet.dispatch_service.lock`).

The scheduler process (issue "one scheduler process") is meant to call
:func:`fleet.preventive_service.run_pm` and :func:`fleet.dispatch_service.plan_week` the same way.
"""
from __future__ import annotations

import argparse
import sys
from datetime import date

from sqlalchemy import select

from telemetry import influxd
from telemetry.influx import InfluxClient
from telemetry.store import TelemetryStore

from . import db, dispatch_service, preventive_service
from .models import MachinePmState
from .notify import NullNotifier


def _pm(factory) -> int:
    influx = InfluxClient(influxd.influx_url(), influxd.influx_database())
    report = preventive_service.run_pm(factory, TelemetryStore(influx), NullNotifier())
    print(f"PM: {report.projections} plans projected on {report.machines} machines; "
          f"{len(report.opened)} orders opened")
    for uid, code, point in report.opened:
        print(f"  opened {uid} {code} ({point})")
    with factory() as session:
        states = session.scalars(select(MachinePmState).order_by(MachinePmState.projected_due_at)).all()
        print(f"{'machine':<9} {'plan':<12} {'due':<12} note")
        for s in states:
            due = f"{s.projected_due_at:%Y-%m-%d}" if s.projected_due_at else "-"
            print(f"{s.machine.uid:<9} {s.plan.code:<12} {due:<12} {s.projection_note}")
    return 0


def _dispatch(factory, start: date | None, days: int, bundling: bool) -> int:
    plan = dispatch_service.plan_week(factory, start, days, bundling)
    print(f"dispatch: {sum(len(a.job_ids) for a in plan.assignments)} orders in {len(plan.assignments)} visits, "
          f"{len(plan.unplanned)} unplanned, {plan.travel_km:.0f} km, {plan.late_jobs} late, "
          f"utilization {plan.utilization:.0%}")
    for a in plan.assignments:
        orders = ", ".join(f"WO-{i:06d}" for i in a.job_ids)
        print(f"{a.day:%a %d %b} {a.start_minute // 60:02d}:{a.start_minute % 60:02d}-"
              f"{a.end_minute // 60:02d}:{a.end_minute % 60:02d} {a.technician_name:<15} {orders}\n    {a.reason}")
    for u in plan.unplanned:
        print(f"unplanned {', '.join(f'WO-{i:06d}' for i in u.job_ids)}: {u.reason}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.planning", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: IRONWATCH_DATABASE_URL or var/ironwatch.db")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("pm", help="project PM plans and open the due orders")
    planner = commands.add_parser("dispatch", help="print the dispatch proposal")
    planner.add_argument("--start", type=date.fromisoformat, default=None, help="first day (default today)")
    planner.add_argument("--days", type=int, default=5)
    planner.add_argument("--no-bundling", action="store_true")
    args = parser.parse_args(argv)
    url = args.database_url or db.database_url()
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        factory = db.session_factory(engine)
        if args.command == "pm":
            return _pm(factory)
        return _dispatch(factory, args.start, args.days, not args.no_bundling)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
