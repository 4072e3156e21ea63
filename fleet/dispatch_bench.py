"""How long the dispatch planner takes for a 500-job, 30-technician week, how good the plan is, and
how far it is from the optimum on small weeks.

``python -m fleet.dispatch_bench [--jobs 500] [--technicians 30] [--sites 120] [--repeat 3] [--seed 7]
[--exact-sizes 6x2,10x3,14x4,18x4] [--exact-seeds 1,2,3]``

A synthetic but plausible week in the north of England: service depots in the cities, sites
spread over the region, clustered (several jobs at a quarry or a data centre), skills and job
lengths drawn from the demo fleet's mix. Eight planners run on the same input in the same
process: the round-robin a dispatcher without a planner would use, the greedy planner as it was
before its weekly load term and improvement pass (``Settings(week_load_h=0, improve=False)``), the
greedy's first pass alone (``improve=False``), the planner as used with bundling off, with bundles
that the improvement pass moves only whole (``bundle_stage="before"``, the planner before), with bundles
the improvement pass may split (``"split"``), with jobs planned and improved one by one and the jobs at
one stop bundled after (``"after"``), and as used (bundling on, ``"best"``: the cheaper of ``"after"``
and ``"before"``). Printed per planner: median wall time over ``--repeat`` runs and its
ratio to the round-robin, then jobs planned, the plan's travel km, late and unplanned jobs,
visits, utilization (on-site hours / working hours), the week's cost (``fleet.dispatch.objective``,
h) and the load spread: min, max and standard deviation of the hours booked per technician (on site
plus driving; idle technicians count 0). Then, for the planner as used, how many visits' explanations
give each kind of reason (:func:`print_explanation_kinds`).

Then, per small week (jobs × technicians, per seed), the optimum (``fleet.dispatch.exact``) against
the first pass and the planner as used: cost gaps, high-priority jobs left unplanned, travel, and
the solve and plan times (:func:`compare_with_optimum`).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from datetime import date, timedelta

from . import dispatch
from .dispatch import Job, Settings, Technician, exact, objective
from .dispatch.explain import DAY_KINDS, TECHNICIAN_KINDS

DEPOTS = (("Leeds", 53.7997, -1.5492), ("Manchester", 53.4808, -2.2426), ("Sheffield", 53.3811, -1.4701),
          ("Buxton", 53.2587, -1.9110), ("York", 53.9590, -1.0815), ("Preston", 53.7632, -2.7031),
          ("Hull", 53.7457, -0.3367), ("Bradford", 53.7960, -1.7594))
SKILLS = ("bearings", "engine", "hydraulics", "gearbox", "electrical", "vibration")
PRIORITIES = (("low", 0.35), ("medium", 0.35), ("high", 0.2), ("urgent", 0.1))


def synthetic_week(n_jobs: int, n_technicians: int, n_sites: int, seed: int, start: date):
    """Jobs and technicians for one week (deterministic for a seed)."""
    rng = random.Random(seed)
    sites = [(f"site-{i}", 53.2 + rng.random() * 0.9, -2.8 + rng.random() * 2.4) for i in range(n_sites)]
    # A few busy sites (quarries, data centres) get most of the jobs, as in a real fleet.
    weights = [rng.paretovariate(1.2) for _ in sites]
    technicians = []
    for i in range(n_technicians):
        name, lat, lon = DEPOTS[i % len(DEPOTS)]
        skills = frozenset(rng.sample(SKILLS, rng.choice((2, 3, 3, 4))))
        days_off = frozenset({start + timedelta(days=rng.randrange(5))}) if rng.random() < 0.2 else frozenset()
        technicians.append(Technician(i + 1, f"Technician {i + 1}", skills, name, lat, lon, days_off=days_off))
    jobs = []
    for i in range(n_jobs):
        key, lat, lon = rng.choices(sites, weights)[0]
        skills = frozenset(rng.sample(SKILLS, 1 if rng.random() < 0.8 else 2))
        priority = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
        due = start + timedelta(days=rng.randrange(7))
        jobs.append(Job(1000 + i, key, key, lat, lon, skills, rng.choice((0.5, 1.0, 1.5, 2.0, 2.0, 3.0)), priority,
                        due, title=f"job {i}"))
    return jobs, technicians


def _timed(function, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def load_spread(result: dispatch.Plan) -> tuple[float, float, float]:
    """(min, max, population standard deviation) of the hours booked per technician over the
    week (on site plus driving, idle technicians at 0): how evenly the work is shared."""
    hours = list(result.booked_h.values()) or [0.0]
    return min(hours), max(hours), statistics.pstdev(hours)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.dispatch_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--technicians", type=int, default=30)
    parser.add_argument("--sites", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--exact-sizes", default="6x2,10x3,14x4,18x4",
                        help="small weeks solved exactly too, as JOBSxTECHNICIANS (empty: none)")
    parser.add_argument("--exact-seeds", default="1,2,3")
    args = parser.parse_args(argv)
    start = dispatch.week_start(date(2026, 12, 7))
    jobs, technicians = synthetic_week(args.jobs, args.technicians, args.sites, args.seed, start)
    week = Settings(start=start, days=5)
    # the planner before the weekly load term and the improvement pass
    before = Settings(start=start, days=5, week_load_h=0.0, improve=False)
    first_pass = Settings(start=start, days=5, improve=False)
    # where bundling happens (Settings.bundle_stage): before improving (bundles move whole, the planner
    # before), split by the improvement pass, after improving, and as used the cheaper of after and before
    whole = Settings(start=start, days=5, bundle_stage="before")
    split = Settings(start=start, days=5, bundle_stage="split")
    after = Settings(start=start, days=5, bundle_stage="after")
    runs = [
        ("round-robin (baseline)", lambda: dispatch.round_robin(jobs, technicians, week)),
        ("greedy before load term", lambda: dispatch.plan(jobs, technicians, before)),
        ("greedy first pass only", lambda: dispatch.plan(jobs, technicians, first_pass)),
        ("greedy, bundling off", lambda: dispatch.plan(jobs, technicians, Settings(start=start, days=5, bundling=False))),
        ("bundles move whole", lambda: dispatch.plan(jobs, technicians, whole)),
        ("bundles split by improve", lambda: dispatch.plan(jobs, technicians, split)),
        ("bundle after improving", lambda: dispatch.plan(jobs, technicians, after)),
        ("greedy, bundling on", lambda: dispatch.plan(jobs, technicians, week)),
    ]
    work = sum(j.duration_h for j in jobs)
    print(f"dispatch bench: {len(jobs)} jobs ({work:.0f} h of work), {len(technicians)} technicians, "
          f"{args.sites} sites, week of {start:%d %b %Y} (5 working days), median of {args.repeat} runs")
    print(f"{'planner':<24} {'time':>9} {'x base':>7} {'planned':>7} {'travel km':>10} {'km/job':>7} {'late':>5} "
          f"{'unplanned':>9} {'visits':>7} {'util.':>6} {'cost h':>7} | booked h/technician: {'min':>4} {'max':>4} {'std':>4}")
    baseline = result = None
    for name, run in runs:
        seconds, result = _timed(run, args.repeat)
        baseline = baseline or seconds
        planned = sum(len(a.job_ids) for a in result.assignments)
        unplanned = sum(len(u.job_ids) for u in result.unplanned)
        low, high, spread = load_spread(result)
        cost = objective.score(objective.routes_of(result), jobs, technicians, week).total_h
        print(f"{name:<24} {seconds * 1000:>7.0f} ms {seconds / baseline:>6.1f}x {planned:>7} {result.travel_km:>10.0f} "
              f"{result.travel_km / max(planned, 1):>7.1f} {result.late_jobs:>5} {unplanned:>9} "
              f"{len(result.assignments):>7} {result.utilization:>6.0%} {cost:>7.0f} | {'':>20} {low:>4.0f} {high:>4.0f} "
              f"{spread:>4.1f}")
    print_explanation_kinds(result)  # the last run: the planner as used
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.exact_sizes.split(",") if size]
    if sizes:
        compare_with_optimum(sizes, [int(s) for s in args.exact_seeds.split(",") if s], start)
    return 0


def print_explanation_kinds(result: dispatch.Plan) -> None:
    """Print how many visits' explanations give each kind of reason (``Assignment.reason_kinds``):
    before, what the explanation used to tell (the decision of the pass that placed the visit:
    ``Assignment.placed_by``); after, the reasons it states now, measured on the final week."""
    visits = len(result.assignments)
    placed = Counter(a.placed_by for a in result.assignments)
    kinds = Counter(kind for a in result.assignments for kind in a.reason_kinds)

    def listed(names) -> str:
        return ", ".join(f"{name} {kinds[name]}" for name in names if kinds[name]) or "none"

    print()
    print(f"explanations of the planner as used, {visits} visits")
    print(f"  before (the explanation told the decision of the pass that placed the visit): first pass's decision "
          f"{placed['first pass']}, \"moved here by the improvement pass\" {placed['improvement pass']}")
    print("  after (the reasons each states, measured on the final week):")
    print(f"    why this technician: {listed(TECHNICIAN_KINDS)}")
    print(f"    why this day: {listed(DAY_KINDS)}")
    print(f"    also: bundled at the site {kinds['bundled']}, what the improvement pass changed {kinds['moved']}")
    lengths = [len(a.reason) for a in result.assignments] or [0]
    print(f"    length: mean {statistics.mean(lengths):.0f} characters, longest {max(lengths)}")


def compare_with_optimum(sizes: list[tuple[int, int]], seeds: list[int], start: date) -> None:
    """Print, per small week, the optimum (``fleet.dispatch.exact``) against the greedy's first pass
    and the planner as used (with the improvement pass), on the objective of ``fleet.dispatch.objective``.

    Two pairs of gaps: as used (weekly load term on: part of the gap is the price of spreading the
    work, which the optimum does not pay) and like for like (load term off, so greedy and optimum
    minimise exactly the same thing)."""
    week = Settings(start=start, days=5)
    print()
    print("greedy against the optimum (cost h = driving + late and day terms + unplanned penalty; "
          "gap = greedy / optimum - 1; first = first pass, whole = improvement pass moving bundles only "
          "whole, after = jobs improved one by one and bundled after, impr = as used: the cheaper of the two)")
    print(f"{'jobs':>4} {'tech':>4} {'seed':>4} {'optimum':>8} | {'as used: first':>14} {'whole':>6} {'after':>6} {'impr':>6} | "
          f"{'like for like: first':>20} {'impr':>6} | {'high unpl. opt/1st/impr':>23} | "
          f"{'travel km opt/1st/impr':>22} | {'columns':>7} {'solve s':>7} {'1st ms':>7} {'impr ms':>7}")
    gaps: dict[str, list[float]] = {"used first": [], "used whole": [], "used after": [], "used impr": [], "lfl first": [], "lfl impr": []}
    for n_jobs, n_technicians in sizes:
        for seed in seeds:
            jobs, technicians = synthetic_week(n_jobs, n_technicians, max(3, n_jobs // 2), seed, start)
            optimum = exact.solve(jobs, technicians, week)
            best = objective.score(optimum.routes, jobs, technicians, week)
            scores, times = {}, {}
            for label, settings in (("used first", Settings(start=start, days=5, improve=False)),
                                    ("used whole", Settings(start=start, days=5, bundle_stage="before")),
                                    ("used after", Settings(start=start, days=5, bundle_stage="after")),
                                    ("used impr", week),
                                    ("lfl first", Settings(start=start, days=5, week_load_h=0.0, improve=False)),
                                    ("lfl impr", Settings(start=start, days=5, week_load_h=0.0))):
                seconds, result = _timed(lambda: dispatch.plan(jobs, technicians, settings), 3)
                scores[label] = objective.score(objective.routes_of(result), jobs, technicians, week)
                times[label] = seconds
                gaps[label].append(scores[label].total_h / best.total_h - 1)
            gap = {k: f"{100 * (v.total_h / best.total_h - 1):.1f}%" for k, v in scores.items()}
            flag = "" if optimum.optimal else " (time limit: best found)"
            print(f"{n_jobs:>4} {n_technicians:>4} {seed:>4} {best.total_h:>8.1f} | {gap['used first']:>14} "
                  f"{gap['used whole']:>6} {gap['used after']:>6} {gap['used impr']:>6} | {gap['lfl first']:>20} {gap['lfl impr']:>6} | "
                  f"{best.unplanned_high:>13}/{scores['used first'].unplanned_high}/{scores['used impr'].unplanned_high:<5} | "
                  f"{best.travel_km:>8.0f}/{scores['used first'].travel_km:.0f}/{scores['used impr'].travel_km:<6.0f} | "
                  f"{optimum.columns:>7} {optimum.build_s + optimum.solve_s:>7.2f} "
                  f"{times['used first'] * 1000:>7.1f} {times['used impr'] * 1000:>7.1f}{flag}")
    means = ", ".join(f"{k} {100 * statistics.mean(v):.1f}% (max {100 * max(v):.1f}%)" for k, v in gaps.items())
    print(f"mean gap: {means}")


if __name__ == "__main__":
    sys.exit(main())
