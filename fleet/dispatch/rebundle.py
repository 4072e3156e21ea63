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

Each merged visit knows where the first pass had it (:func:`first_place`), which its explanation
(:mod:`fleet.dispatch.explain`, measured on the final week) may compare with.
"""
from __future__ import annotations

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


def _where(move: Move) -> str:
    return f"{move.technician_name} on {move.day:%a %d %b}" if move.technician_name else "unplanned"


def first_place(visit: Visit, parts: tuple[Visit, ...], moves: dict[int, Move], tech_id: int,
                day: date) -> Move | None:
    """Where the first pass had ``visit`` (made of ``parts``, the improvement pass's visits), now on
    technician ``tech_id``'s ``day``: None when it put it here (no part moved, or a part moved away
    and back), else the move (``technician_id`` and ``day`` when every moved part came from one
    place and none stayed, else ``origin`` says where each part came from)."""
    moved, stayed = [], []
    for part in parts:
        move = moves.get(id(part))
        if move is not None and (move.technician_id, move.day) != (tech_id, day):
            moved.append((part, move))
        else:  # never moved, or moved away and back: the first pass put it here
            stayed.append(part)
    if not moved:
        return None
    saving = sum(move.saving_h for _, move in moved)
    if not stayed and len({(m.technician_id, m.day) for _, m in moved}) == 1:
        first = moved[0][1]
        return Move(first.technician_name, first.day, saving, technician_id=first.technician_id)
    origins: dict[str, int] = {}
    for part, move in moved:
        origins[_where(move)] = origins.get(_where(move), 0) + len(part.jobs)
    if stayed:
        origins["here"] = sum(len(p.jobs) for p in stayed)
    text = ", ".join(f"{count} of its {len(visit.jobs)} jobs {where if where in ('here', 'unplanned') else 'with ' + where}"
                     for where, count in origins.items())
    return Move(None, None, saving, origin=text)
