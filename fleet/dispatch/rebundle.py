"""Around step 3b: the improvement pass works on single jobs, and the visits are bundled after it.

Why: a bundle placed by the first pass moves only whole, so a bundle that was right when it was
placed (one trip for three jobs) blocks the week later (one of its jobs belongs on another day or
with another technician, and nothing may take it out). On the bench's 500-job week the plan with
bundling off cost about half as much as with bundles that move whole (``python -m
fleet.dispatch_bench``, docs/maintenance.md). ``Settings.bundle_stage="after"`` plans every job on
its own and :func:`rebundle` makes one visit of the jobs that ended up together: consecutive stops
of one technician's day at the same site (the cheapest insertion puts a job at a site already on the
route next to it: no added driving). ``"split"`` places the first pass's bundles, then
:func:`unbundle` hands the improvement pass each job on its own, and :func:`rebundle` merges again.
(The default, ``"best"``, plans ``"after"`` and whole bundles and keeps the cheaper week:
:func:`fleet.dispatch.planner.plan`.)

Each merged visit keeps a true explanation (:func:`story`): its first-pass decision when no job of
it moved, and otherwise where the first pass had each moved job and what the moves saved.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..workorders import priority_rank
from .improve import Move
from .model import Lock, Visit
from .routes import Route


def unbundle(days: dict[tuple[int, date], Route]) -> dict[int, Visit]:
    """Replace every bundle in ``days`` by its jobs, each its own visit, in the bundle's place (in
    place); returns ``id(job visit)`` → the first-pass visit it came from (a single job's visit maps
    to itself)."""
    parents: dict[int, Visit] = {}
    for route in days.values():
        singles = []
        for visit in route.visits:
            parts = [visit] if len(visit.jobs) == 1 else [Visit((job,), visit.lock) for job in visit.jobs]
            for part in parts:
                parents[id(part)] = visit
            singles.extend(parts)
        route.visits[:] = singles
    return parents


def _lock_key(lock: Lock | None) -> tuple | None:
    """What jobs must share to be one visit: the same lock (technician, day, accepted) or none."""
    return None if lock is None else (lock.technician_id, lock.day, lock.committed)


def rebundle(days: dict[tuple[int, date], Route]) -> dict[int, tuple[Visit, ...]]:
    """Merge consecutive visits at the same site (same lock, or none) of each route into one visit
    (in place); returns ``id(merged visit)`` → the visits merged into it (only for merges)."""
    members: dict[int, tuple[Visit, ...]] = {}
    for route in days.values():
        groups: list[list[Visit]] = []
        for visit in route.visits:
            last = groups[-1][-1] if groups else None
            if last is not None and last.site == visit.site and _lock_key(last.lock) == _lock_key(visit.lock):
                groups[-1].append(visit)
            else:
                groups.append([visit])
        merged = []
        for group in groups:
            if len(group) == 1:
                merged.append(group[0])
                continue
            # the jobs in the order the bundling step lists them: the earliest due, the most pressing first
            jobs = sorted((job for part in group for job in part.jobs),
                          key=lambda j: (j.due, -priority_rank(j.priority), j.id))
            visit = Visit(tuple(jobs), group[0].lock)
            members[id(visit)] = tuple(group)
            merged.append(visit)
        route.visits[:] = merged
    return members


@dataclass(frozen=True)
class Story:
    """Which explanation a final visit gets: ``source`` is the first-pass visit whose decision still
    describes it (None: the improvement pass placed it, ``moved`` says from where), ``note`` a
    clause on how the visit differs from the first pass's."""

    source: Visit | None
    moved: Move | None
    note: str = ""


def _where(move: Move) -> str:
    return f"{move.technician_name} on {move.day:%a %d %b}" if move.technician_name else "unplanned"


def story(visit: Visit, parts: tuple[Visit, ...], parents: dict[int, Visit], moves: dict[int, Move],
          tech_name: str, day: date) -> Story:
    """The explanation of ``visit`` (made of ``parts``, the improvement pass's visits) on
    ``tech_name``'s ``day``; ``parents`` from :func:`unbundle`, ``moves`` from the improvement pass."""
    moved, stayed = [], []
    for part in parts:
        move = moves.get(id(part))
        if move is not None and (move.technician_name, move.day) != (tech_name, day):
            moved.append((part, move))
        else:  # never moved, or moved away and back: the first pass put it here
            stayed.append(part)
    if not moved:
        # the decision told is the most pressing job's (highest priority, then earliest due: the
        # greedy's order, so it was placed first and the others followed it to the same stop)
        first = min(stayed, key=lambda p: min((-priority_rank(j.priority), j.due, j.id) for j in p.jobs))
        source = parents.get(id(first), first)
        notes = []
        kept = sum(len(p.jobs) for p in stayed if parents.get(id(p), p) is source)
        if len(source.jobs) > kept:
            notes.append(f"the first pass bundled {len(source.jobs)} jobs here; the improvement pass moved "
                         f"{len(source.jobs) - kept} of them to another visit, which made the week cheaper")
        joined = len(visit.jobs) - kept
        if joined:
            notes.append(f"chosen for its most pressing job; {joined} more job{'s' if joined > 1 else ''} at the "
                         f"same site, which the first pass planned here separately, share{'' if joined > 1 else 's'} the stop")
        return Story(source, None, "; ".join(notes))
    saving = sum(move.saving_h for _, move in moved)
    if not stayed and len({(m.technician_name, m.day) for _, m in moved}) == 1:
        return Story(None, Move(moved[0][1].technician_name, moved[0][1].day, saving))
    origins: dict[str, int] = {}
    for part, move in moved:
        origins[_where(move)] = origins.get(_where(move), 0) + len(part.jobs)
    if stayed:
        origins["here"] = sum(len(p.jobs) for p in stayed)
    text = ", ".join(f"{count} of its {len(visit.jobs)} jobs {where if where in ('here', 'unplanned') else 'with ' + where}"
                     for where, count in origins.items())
    return Story(None, Move(None, None, saving, origin=text))
