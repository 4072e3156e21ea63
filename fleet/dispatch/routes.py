"""A technician's route on one day and the cheapest place to insert a visit into it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Sequence

from ..maintenance import haversine_km
from .model import Settings, Technician, Visit, travel_hours


@dataclass
class Route:
    """One technician's route on one day (visits in driving order)."""

    technician: Technician
    day: date
    visits: list[Visit] = field(default_factory=list)

    def stops(self) -> list[tuple[float, float]]:
        home = (self.technician.home_lat, self.technician.home_lon)
        return [home] + [(v.lat, v.lon) for v in self.visits] + [home]

    def work_h(self) -> float:
        return sum(v.work_h for v in self.visits)


class Distances:
    """Memoised great-circle distances between points (km)."""

    def __init__(self):
        self._cache: dict[tuple, float] = {}

    def km(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        key = (a, b) if a <= b else (b, a)
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = haversine_km(a[0], a[1], b[0], b[1])
        return value


def route_km(day: Route, distances: Distances) -> float:
    stops = day.stops()
    return sum(distances.km(stops[i], stops[i + 1]) for i in range(len(stops) - 1))


def best_insertion(day: Route, visit: Visit, distances: Distances, settings: Settings,
                   check_room: bool = True) -> tuple[float, int] | None:
    """(added great-circle km, position) of the cheapest feasible insertion, or None if it does not
    fit (``check_room=False``: the cheapest insertion whether it fits or not)."""
    stops = day.stops()
    point = (visit.lat, visit.lon)
    base_km = route_km(day, distances)
    best: tuple[float, int] | None = None
    for position in range(len(stops) - 1):
        added = (distances.km(stops[position], point) + distances.km(point, stops[position + 1])
                 - distances.km(stops[position], stops[position + 1]))
        if best is None or added < best[0]:
            best = (added, position)
    if best is None or not check_room:
        return best
    total_h = day.work_h() + visit.work_h + travel_hours(base_km + best[0], settings)
    return best if total_h <= day.technician.day_hours + 1e-9 else None


def room_beside(technician: Technician, day: date, fixed: Sequence[Visit], visit: Visit,
                settings: Settings) -> tuple[float, float]:
    """How full ``technician``'s ``day`` is with the ``fixed`` visits alone, and with ``visit`` added
    at its cheapest place (on site plus driving, h; each fixed visit at its cheapest insertion)."""
    distances = Distances()
    route = Route(technician, day)
    for other in fixed:
        route.visits.insert(best_insertion(route, other, distances, settings, check_room=False)[1], other)
    booked = route.work_h() + travel_hours(route_km(route, distances), settings)
    added_km, _ = best_insertion(route, visit, distances, settings, check_room=False)
    return booked, booked + visit.work_h + travel_hours(added_km, settings)


@dataclass(frozen=True)
class Option:
    """A place a visit could go: technician, day, position in the route, and what it costs."""

    cost: float
    technician: Technician
    day: date
    position: int
    added_km: float
    late_days: int
    load_cost: float = 0.0  # the weekly load term of ``cost`` (h)
    booked_h: float = 0.0  # on-site hours the technician had booked in the horizon before this visit


class WeekLoad:
    """On-site hours booked per technician over the planning horizon, against their working hours.

    Parameters
    ----------
    technicians : sequence of Technician
    settings : Settings
        The horizon whose working days count as available.
    """

    def __init__(self, technicians: Sequence[Technician], settings: Settings):
        self.available = {t.id: sum(t.day_hours for d in settings.horizon if t.works_on(d)) for t in technicians}
        self.booked = {t.id: 0.0 for t in technicians}

    def book(self, technician_id: int, hours: float) -> None:
        self.booked[technician_id] = self.booked.get(technician_id, 0.0) + hours

    def booked_h(self, technician_id: int) -> float:
        return self.booked.get(technician_id, 0.0)

    def share(self, technician_id: int) -> float:
        """Booked share of the technician's working hours in the horizon (0 idle, 1 full)."""
        available = self.available.get(technician_id, 0.0)
        return self.booked_h(technician_id) / available if available else 1.0
