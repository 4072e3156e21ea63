"""Fleet simulator: N machines uploading through the real ingest API, K times faster than life.

``python -m telemetry.simulator [--machines N] [--speedup K] [--seed S] [--start 2026-11-25T00:00:00Z]
[--duration 6h] [--url URL] [--provisioning var/provisioning.json]``

Each machine (:mod:`telemetry.simulator.fleet`) sends one operating sample per simulated second in
batches of a minute, one vibration burst per sensor per simulated hour (the first ones straight
away, staggered over the first ~30 wall seconds), and its DM1 fault codes when they change, through
its own edge :class:`~telemetry.gateway.Gateway`: coverage gaps and server trouble are buffered (on
disk under ``$IRONWATCH_VAR/gateway`` unless ``--memory-buffer``) and retried with back-off.

Simulated time runs at ``--speedup`` times the wall clock (``inf``: as fast as the server takes it)
but never ahead of it: the ingest API rightly refuses data from the future, and every dashboard
looks at "now". So a sped-up run starts in the past (``--history``, default 90 minutes when
``--speedup`` > 1), replays that history fast, and once it has caught up with the wall clock goes on
live at real time. ``--duration`` is in *simulated* time (``3600``, ``90m``, ``6h``, ``2d``). With
``--start`` the simulated clock starts there and every payload is a function of ``--seed`` and
``--start`` alone: two runs send byte-identical content (and the server sees the second as
duplicates). The server keeps uploads at most 7 days old, so ``--start`` must be more recent. A progress
line goes to stdout every ``--progress-every`` wall seconds; SIGINT or SIGTERM stops cleanly: the
partial batches are sent, the backlog gets a few seconds to drain, the rest stays in the disk buffer.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import requests

from ..gateway.buffer import BufferInUse
from ..gateway.client import DiskBuffer, Gateway, GatewayStats, MemoryBuffer
from .fleet import (HistoryThinning, MachinePlan, SimulatedMachine, burst_offsets_s, derive_seed, expand_fleet,
                    load_provisioning)

__all__ = ["FleetSimulator", "parse_duration_s", "parse_start_ns", "main"]

_NS = 1_000_000_000
_REPO = Path(__file__).resolve().parents[2]  # telemetry/simulator/run.py -> the checkout
# telemetry.payloads.Limits.max_past_s: the ingest refuses older uploads (keep an hour in hand).
_MAX_AGE_S = 7 * 86400.0 - 3600.0
# Replayed data must arrive while InfluxDB's 1-minute continuous query still resamples its minutes
# (RESAMPLE FOR 2h, telemetry.schema); 90 min keeps every replayed minute inside that window.
_DEFAULT_HISTORY_S = 90 * 60.0


def parse_duration_s(text: str) -> float:
    """Seconds from ``"3600"``, ``"90s"``, ``"90m"``, ``"6h"``, ``"2d"`` (ValueError otherwise)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 3600, 90m, 6h, 2d)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def parse_start_ns(text: str | None, wall_now_s: float, history_s: float = 0.0) -> int:
    """Simulated start (UTC ns, whole seconds) from RFC 3339 text, else ``history_s`` before now.

    Without text the start is rounded down to a whole minute, so operating batches line up with
    clock minutes.
    """
    if text is None:
        return int((wall_now_s - history_s) // 60 * 60) * _NS
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(when.timestamp()) * _NS


def _iso(t_ns: int) -> str:
    return dt.datetime.fromtimestamp(t_ns / _NS, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FleetSimulator:
    """Advances every machine to a simulated time and lets their gateways deliver.

    Independent of the wall clock: :meth:`run_until` is what tests call; :func:`run` maps the wall
    clock onto it.
    """

    def __init__(self, machines: Sequence[SimulatedMachine], start_ns: int):
        self.machines = list(machines)
        self.start_ns = start_ns
        self.t_ns = start_ns

    def run_until(self, t_ns: int, step_s: int = 60) -> None:
        """Simulate up to ``t_ns`` (UTC ns), ``step_s`` simulated seconds at a time across the fleet."""
        while self.t_ns < t_ns:
            self.t_ns = min(t_ns, self.t_ns + step_s * _NS)
            for m in self.machines:
                m.advance_to(self.t_ns)
            self.flush()

    def flush(self) -> None:
        for m in self.machines:
            if m.gateway.backlog:
                m.gateway.flush()

    def finish(self, drain_timeout_s: float) -> bool:
        """Send partial batches, then give the backlog ``drain_timeout_s`` to go out; True if it did."""
        for m in self.machines:
            m.flush_batch()
        deadline = time.monotonic() + drain_timeout_s
        gateways = [m.gateway for m in self.machines]
        for gw in gateways:
            gw.online = True   # the run is over: no simulated gap holds data back now
        # Round-robin, so one gateway backing off does not hold up the others' delivery.
        while any(gw.backlog for gw in gateways) and time.monotonic() < deadline:
            for gw in gateways:
                if gw.backlog:
                    gw.flush()
            waiting = [gw.next_attempt_s for gw in gateways if gw.backlog]
            if waiting:
                time.sleep(min(max(0.01, min(waiting) - time.monotonic()), max(0.0, deadline - time.monotonic())))
        return not any(gw.backlog for gw in gateways)

    def stats(self) -> GatewayStats:
        total = GatewayStats()
        for m in self.machines:
            total.add(m.gateway.stats)
        return total

    def progress_line(self, wall_elapsed_s: float, speedup: float, live: bool = False) -> str:
        s = self.stats()
        backlog = sum(m.gateway.backlog for m in self.machines)
        backlog_mb = sum(m.gateway.buffer.bytes for m in self.machines) / 1e6
        offline = sum(not m.gateway.online for m in self.machines)
        bursts = sum(m.counters.bursts for m in self.machines)
        deferred = sum(m.counters.bursts_deferred for m in self.machines)
        dm1 = sum(m.counters.dm1_changes for m in self.machines)
        lag = wall_elapsed_s - (self.t_ns - self.start_ns) / _NS / speedup if math.isfinite(speedup) else 0.0
        pace = "live" if live else f"x{speedup:g} lag {max(0.0, lag):.1f}s"
        line = (f"[{wall_elapsed_s:7.1f}s] sim {_iso(self.t_ns)} {pace} | "
                f"uploads sent {s.attempts} accepted {s.accepted} duplicate {s.duplicate} refused {s.refused} "
                f"(set aside {s.set_aside}, given up after server errors {s.gave_up}) "
                f"retried {s.retried} dropped {s.dropped} | backlog {backlog} ({backlog_mb:.1f} MB) "
                f"offline {offline}/{len(self.machines)} | bursts {bursts} (deferred {deferred}) dm1 {dm1}")
        if s.last_error:
            line += f" | last error: {s.last_error[:160]}"
        return line


def wait_for_server(session: requests.Session, url: str, timeout_s: float, out=None) -> bool:
    """Wait until ``url`` answers HTTP at all (any status), at most ``timeout_s``; True if it did.

    ``make run`` starts the simulator next to the app; starting the simulated clock only once the
    app listens keeps the first bursts first, instead of an hour of buffered backlog at x60.
    """
    out = out or sys.stdout
    deadline = time.monotonic() + timeout_s
    told = False
    while True:
        try:
            session.get(url, timeout=2.0, allow_redirects=False)
            return True
        except requests.RequestException:
            if time.monotonic() >= deadline:
                print(f"{url} does not answer after {timeout_s:g} s: starting anyway, the gateways buffer",
                      file=out, flush=True)
                return False
            if not told:
                print(f"waiting for the ingest API at {url} ...", file=out, flush=True)
                told = True
            time.sleep(1.0)


def build_fleet(args: argparse.Namespace, plans: Sequence[MachinePlan], start_ns: int, session: requests.Session,
                synthesize: Callable) -> FleetSimulator:
    """The simulated fleet of the command line: ``plans`` (expanded to ``--machines``) with gateways."""
    if args.machines:
        plans = expand_fleet(plans, args.machines)
    clones = sum(p.clone > 0 for p in plans)
    if clones:
        print(f"load mode: {clones} of {len(plans)} machines are clones sharing the identity (uid and token) "
              f"of a provisioned machine; their data lands on that machine: use a scratch database",
              file=sys.stderr)
    n_sensors = sum(len(p.sensors) for p in plans)
    # With an explicit --start the content must not depend on the wall clock, so the stagger
    # ignores where the replay ends.
    replay_s = None if args.start else max(0.0, time.time() - start_ns / _NS)
    offsets = iter(burst_offsets_s(n_sensors, args.speedup, replay_s=replay_s))
    buffer_root = Path(args.buffer_dir)
    machines = []
    for plan in plans:
        # a previous simulator told to stop may still be draining this folder: wait for it
        buffer = MemoryBuffer() if args.memory_buffer else DiskBuffer(buffer_root / plan.label,
                                                                      lock_wait_s=args.buffer_wait)
        gateway = Gateway(args.url, plan.token, plan.uid, session=session, buffer=buffer,
                          burst_transport=args.burst_transport, seed=derive_seed(args.seed, plan.label, "jitter"))
        first = [next(offsets) for _ in plan.sensors]
        machines.append(SimulatedMachine(plan, gateway, args.seed, start_ns, first, synthesize,
                                         gap_mean_h=0.0 if args.no_gaps else args.gap_mean_hours,
                                         thin=thinning(args)))
    return FleetSimulator(machines, start_ns)


#: Full-rate replay at the end of a thinned history: the 1-minute continuous query resamples 2 h.
FULL_RATE_TAIL_S = 2 * 3600


def thinning(args: argparse.Namespace) -> HistoryThinning | None:
    """``--thin-history``: before the last two hours of the replay, one operating sample every
    ``--thin-sample-every`` s and one burst per sensor every ``--thin-burst-every``."""
    if not args.thin_history:
        return None
    return HistoryThinning(until_ns=(int(time.time()) - FULL_RATE_TAIL_S) * _NS,
                           sample_every_s=max(1, int(args.thin_sample_every)),
                           burst_every_s=int(parse_duration_s(args.thin_burst_every)))


def run(sim: FleetSimulator, speedup: float, duration_s: float | None, progress_every_s: float,
        drain_timeout_s: float, stop: Callable[[], bool], out=None) -> None:
    """Drive ``sim`` against the wall clock until ``duration_s`` simulated seconds or ``stop()``."""
    out = out or sys.stdout
    wall0 = time.monotonic()
    end_ns = sim.start_ns + int(duration_s * _NS) if duration_s is not None else None
    next_progress = wall0
    tick_s = 0.25
    live = False
    while not stop():
        elapsed = time.monotonic() - wall0
        if math.isfinite(speedup):
            target = sim.start_ns + int(elapsed * speedup) * _NS
        else:
            target = sim.t_ns + 60 * _NS
        wall_now_ns = int(time.time()) * _NS
        if target >= wall_now_ns:      # caught up with the wall clock: from now on, real time
            target, live = wall_now_ns, True
        if end_ns is not None:
            target = min(target, end_ns)
        if target > sim.t_ns:
            # Small slices keep every machine's uploads flowing while a slow server makes us lag.
            sim.run_until(min(target, sim.t_ns + max(60, int(speedup * tick_s) if math.isfinite(speedup) else 60)
                              * _NS))
        else:
            sim.flush()
        now = time.monotonic()
        if now >= next_progress:
            print(sim.progress_line(now - wall0, speedup, live), file=out, flush=True)
            next_progress = now + progress_every_s
        if end_ns is not None and sim.t_ns >= end_ns:
            break
        if sim.t_ns >= target and (math.isfinite(speedup) or live):
            time.sleep(tick_s)
    drained = sim.finish(drain_timeout_s)
    print(sim.progress_line(time.monotonic() - wall0, speedup, live), file=out, flush=True)
    if not drained:
        print("stopped with uploads still in the backlog; a disk buffer keeps them for the next run "
              "(a --memory-buffer loses them)", file=out, flush=True)


def _arg_parser() -> argparse.ArgumentParser:
    var = Path(os.environ.get("IRONWATCH_VAR") or _REPO / "var")
    port = os.environ.get("IRONWATCH_PORT", "8000")
    p = argparse.ArgumentParser(prog="python -m telemetry.simulator", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=f"http://127.0.0.1:{port}", help="ingest API base URL")
    p.add_argument("--provisioning", default=str(var / "provisioning.json"),
                   help="gateway provisioning file written by `python -m fleet.seed`")
    p.add_argument("--machines", type=int, default=0,
                   help="simulate the first N machines (0 = all); N beyond the file adds load-mode clones")
    p.add_argument("--speedup", type=float, default=1.0,
                   help="simulated seconds per wall second (inf = as fast as the server accepts)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the whole fleet")
    p.add_argument("--start", default=None, help="simulated start time, RFC 3339 UTC "
                                                 "(default: --history before now)")
    p.add_argument("--history", default=None,
                   help="without --start, begin this much simulated time before now and replay it at "
                        "--speedup before going live (default 90m when --speedup > 1, else 0)")
    p.add_argument("--duration", default=None, help="how much SIMULATED time to run (3600, 90m, 6h, 2d); "
                                                    "default until stopped")
    p.add_argument("--buffer-dir", default=str(var / "gateway"), help="gateway disk buffers (one folder each)")
    p.add_argument("--memory-buffer", action="store_true", help="buffer in memory instead of on disk")
    p.add_argument("--buffer-wait", type=float, default=60.0,
                   help="seconds to wait for another process to release a buffer folder (one owner each)")
    p.add_argument("--exit-with-parent", action="store_true",
                   help="stop (SIGTERM) when the parent process dies (set by 'python -m app demo')")
    p.add_argument("--burst-transport", choices=("json", "binary"), default="json",
                   help="bursts as JSON with base64 samples, or octet-stream with X-Ironwatch headers")
    p.add_argument("--gap-mean-hours", type=float, default=6.0,
                   help="excavators lose coverage on average every this many simulated hours (gensets 4x less)")
    p.add_argument("--no-gaps", action="store_true", help="no simulated coverage gaps")
    p.add_argument("--wait-for-server", type=float, default=120.0,
                   help="wall seconds to wait for the server to answer before the simulated clock starts")
    p.add_argument("--thin-history", action="store_true",
                   help="backfill days fast: before the last 2 h, send one operating sample every "
                        "--thin-sample-every s and one burst per sensor every --thin-burst-every")
    p.add_argument("--thin-sample-every", type=int, default=10, help="seconds between kept samples (thinned part)")
    p.add_argument("--thin-burst-every", default="6h",
                   help="engine running time (hour meter) between bursts per sensor (thinned part)")
    p.add_argument("--progress-every", type=float, default=10.0, help="wall seconds between progress lines")
    p.add_argument("--drain-timeout", type=float, default=10.0, help="wall seconds to deliver the backlog at exit")
    return p


def _check_start(start_ns: int) -> str | None:
    """Why the server would refuse data from ``start_ns`` on, or None if it would not."""
    age_s = time.time() - start_ns / _NS
    if age_s > _MAX_AGE_S:
        return f"the start lies {age_s / 86400:.1f} days back; the server refuses data older than 7 days"
    if age_s < -300:
        return "the start lies in the future; the server refuses data from the future"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _arg_parser().parse_args(argv)
    if args.exit_with_parent:  # asked for here, in the child: the parent may have threads by now
        from diagnostics.process_settings import parent_death_requested

        if not parent_death_requested(signal.SIGTERM):  # it died before the request took effect
            return 0
    if args.speedup <= 0:
        print("error: --speedup must be positive", file=sys.stderr)
        return 2
    try:
        duration_s = parse_duration_s(args.duration) if args.duration else None
        history_s = parse_duration_s(args.history) if args.history else \
            (_DEFAULT_HISTORY_S if args.speedup > 1 else 0.0)
        problem = _check_start(parse_start_ns(args.start, time.time(), history_s))
        plans = load_provisioning(args.provisioning)
    except ValueError as exc:
        problem = str(exc)
    if problem:   # said before any waiting for the server
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from diagnostics.synthesis import synthesize_burst

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if args.wait_for_server > 0:
        wait_for_server(session, args.url, args.wait_for_server)
    # Without --start the replay is placed after any waiting, so that it still ends now.
    start_ns = parse_start_ns(args.start, time.time(), history_s)
    try:
        sim = build_fleet(args, plans, start_ns, session, synthesize_burst)
    except BufferInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3

    stopping = {"flag": False}

    def _stop(signum, _frame):
        if stopping["flag"]:   # a second signal: give up draining (the disk buffer keeps the rest)
            raise KeyboardInterrupt
        stopping["flag"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(f"simulating {len(sim.machines)} machines from {_iso(start_ns)} at x{args.speedup:g} "
          f"(seed {args.seed}) -> {args.url}", flush=True)
    try:
        run(sim, args.speedup, duration_s, args.progress_every, args.drain_timeout, lambda: stopping["flag"])
    except KeyboardInterrupt:
        print("stopped without draining; a disk buffer keeps the backlog for the next run "
              "(a --memory-buffer loses it)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
