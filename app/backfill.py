"""``python -m app.backfill --history 5d``: finish a demo's fast backfill once it has arrived.

``make run`` (``python -m app demo``) replays days of history through the ingest API as fast as
the server takes it (the simulator's ``--thin-history``). Two things cannot happen on their own
for data that arrives days late:

* the continuous queries resample only their recent window, so this computes the 1-minute and
  1-hour means of the replayed days (``TelemetryStore.backfill_downsampled``);
* the scheduled RUL job scores "now" only, so this scores each component after each of its past
  observations (``fleet.rul_scoring.score_history``), and the fan chart shows how the estimate
  developed over the replayed days.

It waits until every machine's operating data has caught up with the wall clock and the
diagnosis of the replayed bursts has finished, then does both and says how long it all took.
A separate process (not a thread of the server, which forks its worker).
"""
from __future__ import annotations

import argparse
import sys
import signal
import time

#: A machine whose newest sample is this recent has caught up: more than the 15 min a stopped genset's
#: newest key-off heartbeat may be old (telemetry.simulator.fleet.HEARTBEAT_S).
CAUGHT_UP_S = 20 * 60
POLL_S = 10.0


def history_to_replay(newest_ns: int | None, requested_s: float, now_s: float) -> float:
    """Seconds of history a demo should replay: ``requested_s``, or only the gap since the newest
    stored sample when the store already holds history (a second ``make run`` catches up on the
    time it was stopped instead of replaying days on top of the first run's)."""
    if newest_ns is None:
        return requested_s
    return max(0.0, min(requested_s, now_s - newest_ns / 1e9))


def caught_up(store, machines: list[str], now_s: float) -> bool:
    """Whether every machine's newest operating sample is within CAUGHT_UP_S of ``now_s``."""
    for uid in machines:
        newest = store.latest(uid).get("time")
        if newest is None or newest / 1e9 < now_s - CAUGHT_UP_S:
            return False
    return True


def undiagnosed(store, session_factory, since_ns: int) -> int:
    """Bursts stored in InfluxDB since ``since_ns`` that have no diagnosis in SQL yet."""
    from sqlalchemy import select

    from fleet.models import BurstDiagnosis

    stored = {meta.burst_id for meta in store.bursts_since(since_ns)}
    with session_factory() as session:
        done = set(session.scalars(select(BurstDiagnosis.burst_id).where(BurstDiagnosis.burst_id.in_(stored))))
    return len(stored - done)


def main(argv: list[str] | None = None) -> int:
    from fleet import db
    from fleet.model_registry import ModelRegistry
    from fleet.jobs import record_rul_notes
    from fleet.rul_scoring import score_fleet, score_history
    from telemetry.influx import InfluxClient, InfluxError
    from telemetry.simulator.run import parse_duration_s
    from telemetry.store import TelemetryStore

    from .config import load_config

    parser = argparse.ArgumentParser(prog="python -m app.backfill", description=__doc__.splitlines()[0])
    parser.add_argument("--history", default="5d", help="how far back the replay began (as given to the simulator)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="wall seconds to wait for the replay")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop (SIGTERM) when the parent process dies (set by 'python -m app demo')")
    args = parser.parse_args(argv)
    if args.exit_with_parent:
        from diagnostics.process_settings import parent_death_requested

        if not parent_death_requested(signal.SIGTERM):
            return 0

    config = load_config()
    wall0 = time.monotonic()
    since_ns = int((time.time() - parse_duration_s(args.history)) * 1e9)
    store = TelemetryStore(InfluxClient(config["IRONWATCH_INFLUX_URL"], config["IRONWATCH_INFLUX_DB"]))
    engine = db.make_engine(config["IRONWATCH_DATABASE_URL"])
    sessions = db.session_factory(engine)
    from sqlalchemy import select

    from fleet.models import Machine

    with sessions() as session:
        machines = list(session.scalars(select(Machine.uid)))
    step = "the replay"
    while time.monotonic() - wall0 < args.timeout:
        try:
            if step == "the replay" and caught_up(store, machines, time.time()):
                print(f"backfill: operating data of {len(machines)} machines caught up after "
                      f"{time.monotonic() - wall0:.0f} s", flush=True)
                step = "the diagnoses"
            if step == "the diagnoses":
                left = undiagnosed(store, sessions, since_ns)
                if left == 0:
                    break
        except InfluxError as error:  # InfluxDB restarting, the server not up yet: try again
            print(f"backfill: waiting ({error})", flush=True)
        time.sleep(POLL_S)
    else:
        print(f"backfill: {step} did not finish within {args.timeout:.0f} s; trends and RUL history of "
              f"the replayed days are incomplete", flush=True)
        return 1
    print(f"backfill: bursts diagnosed after {time.monotonic() - wall0:.0f} s", flush=True)
    store.backfill_downsampled(since_ns, time.time_ns())
    print(f"backfill: 1-minute and hourly trends computed after {time.monotonic() - wall0:.0f} s", flush=True)
    written = score_history(store, sessions, ModelRegistry(sessions), since_ns=since_ns)
    # The components' notes ("too little history: ...") as of now; the scheduled job plans from
    # the estimates (work orders, due dates) on its next run.
    results = score_fleet(store, sessions, ModelRegistry(sessions))
    record_rul_notes(sessions, results)
    # A bearing whose onset fell inside the replayed days shows its onset alarm now, not at the
    # scheduler's next RUL run (the alarm is in SQL; the app's escalation job takes it from there).
    from fleet.alarm_sources import evaluate_onset_alarms
    from fleet.handlers import as_bus
    from fleet.notify import NullNotifier

    as_bus(NullNotifier(), sessions).handle(evaluate_onset_alarms(sessions, results))
    print(f"backfill: {written} RUL estimates of the replayed days written; done after "
          f"{time.monotonic() - wall0:.0f} s", flush=True)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
