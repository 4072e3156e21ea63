"""Step 1 of the planner: jobs at the same site in the same window become one visit."""
from __future__ import annotations

from typing import Sequence

from ..workorders import priority_rank
from .model import BUNDLE_WINDOW, Job, Lock, Technician, Visit


def bundle(jobs: Sequence[Job], technicians: Sequence[Technician], locks: dict[int, Lock],
           enabled: bool = True) -> list[Visit]:
    """Group jobs into visits (see the module docstring, step 1)."""
    longest_day = max((t.day_hours for t in technicians), default=0.0)
    groups: dict[tuple, list[Job]] = {}
    for job in sorted(jobs, key=lambda j: (j.due, -priority_rank(j.priority), j.id)):
        lock = locks.get(job.id)
        key = (job.site, lock.technician_id if lock else None, lock.day if lock else None, bool(lock and lock.committed))
        groups.setdefault(key if enabled else (job.id,), []).append(job)
    visits: list[Visit] = []
    for key, members in groups.items():
        lock = locks.get(members[0].id)
        current: list[Job] = []
        for job in members:
            candidate = current + [job]
            window_open = max((j.earliest for j in candidate if j.earliest), default=None)
            first_due = min(j.due for j in candidate)
            fits = (current and (window_open is None or window_open <= first_due)
                    and max(j.due for j in candidate) - first_due <= BUNDLE_WINDOW
                    and sum(j.duration_h for j in candidate) <= longest_day
                    and someone_can_do(candidate, technicians))
            if fits:
                current = candidate
            else:
                if current:
                    visits.append(Visit(tuple(current), lock))
                current = [job]
        if current:
            visits.append(Visit(tuple(current), lock))
    return visits


def someone_can_do(jobs: Sequence[Job], technicians: Sequence[Technician]) -> bool:
    """Whether a technician has every skill of ``jobs`` and declined none of them."""
    skills = frozenset().union(*(j.skills for j in jobs))
    declined = frozenset().union(*(j.declined_by for j in jobs))
    return any(skills <= t.skills and t.id not in declined for t in technicians)
