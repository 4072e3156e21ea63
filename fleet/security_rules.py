"""Machine security rules (pure, no I/O): a site's geofence and curfew, the checks of the
``security`` alarm source, and the validation of what owners and engineers type in.

* **Geofence**: a circle (centre, radius in metres) around a site. A machine is *outside* when its
  last :data:`CONSECUTIVE_MINUTES` one-minute positions all lie farther than radius +
  :data:`GNSS_TOLERANCE_M` from the centre, and *inside* when they all lie within it; anything in
  between changes nothing (hysteresis: one bad fix neither raises nor clears).
* **Curfew**: the hours a site's machines may run, per weekday in the site's local time (one
  window a day, or none: not at all that day). A machine breaks it when its engine runs (the
  portal's "running" threshold, ``fleet.utilization``) at a local time outside its day's window.
  Local times come from the site's IANA zone through ``zoneinfo``, so a window means the same wall
  clock hours on both sides of a daylight-saving change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

from .maintenance import haversine_km

#: Default fence radius, m. UK quarries and construction sites span a few hundred metres from the
#: point their address geocodes to (the demo's excavators work within 150 m of it), so 500 m holds a
#: working site with room to spare, while a machine carried off is out of it within a minute or two.
DEFAULT_RADIUS_M = 500.0
#: Radii accepted from people, m: below 50 m the circle is no bigger than the GNSS tolerance; above
#: 20 km it no longer describes a site (and would let a machine be driven to the next town unseen).
MIN_RADIUS_M, MAX_RADIUS_M = 50.0, 20_000.0
#: How far past the circle a position must lie to count as outside, m. A telematics unit's
#: single-frequency GNSS is good to a few metres under open sky, but multipath off quarry faces,
#: cranes and tall buildings throws fixes tens of metres; 50 m is above that and small against a
#: 500 m fence.
GNSS_TOLERANCE_M = 50.0
#: One-minute positions (each the median of that minute's fixes, which drops seconds-long jumps)
#: that must agree before the state changes: 3 minutes at 1 Hz (a machine on a low-loader is then
#: 2-3 km away, still near), or three key-off heartbeats (30-45 min) for a unit at rest that only sends those.
CONSECUTIVE_MINUTES = 3

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_WORDS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MINUTES_PER_DAY = 24 * 60


class SecurityInputError(ValueError):
    """Refused settings: ``field`` names the input, the message says what was wrong in words."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


# --- the geofence ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Geofence:
    """A circle around a site: centre (WGS-84 degrees) and ``radius_m`` (m); off when not ``enabled``."""

    lat: float
    lon: float
    radius_m: float = DEFAULT_RADIUS_M
    enabled: bool = True

    def distance_m(self, lat: float, lon: float) -> float:
        """Great-circle distance of a position from the centre, m."""
        return 1000.0 * haversine_km(self.lat, self.lon, lat, lon)


@dataclass(frozen=True)
class FenceVerdict:
    """``state`` is ``outside``, ``inside`` or ``unsure`` (too few positions, or they disagree);
    ``distance_m`` is the newest position's distance from the centre (None without positions),
    ``at_ns`` its time."""

    state: str
    distance_m: float | None = None
    at_ns: int | None = None


def fence_verdict(fence: Geofence, positions: Sequence[tuple[int, float, float]],
                  tolerance_m: float = GNSS_TOLERANCE_M, needed: int = CONSECUTIVE_MINUTES) -> FenceVerdict:
    """Where the machine is relative to ``fence`` from its one-minute positions.

    Parameters
    ----------
    fence : Geofence
    positions : sequence of (int, float, float)
        ``(time_ns, lat, lon)`` per minute with a position, oldest first.
    tolerance_m : float
        Margin beyond the radius before a position counts as outside, m.
    needed : int
        How many of the newest positions must agree.
    """
    if not positions:
        return FenceVerdict("unsure")
    distances = [fence.distance_m(lat, lon) for _, lat, lon in positions[-needed:]]
    newest = FenceVerdict("unsure", distances[-1], int(positions[-1][0]))
    if len(distances) < needed:
        return newest
    limit = fence.radius_m + tolerance_m
    if all(d > limit for d in distances):
        return FenceVerdict("outside", newest.distance_m, newest.at_ns)
    if all(d <= limit for d in distances):
        return FenceVerdict("inside", newest.distance_m, newest.at_ns)
    return newest


def distance_words(metres: float) -> str:
    """``"350 m"`` below a kilometre, ``"2.3 km"`` from there, ``"41 km"`` from 10 km."""
    if metres < 1000:
        return f"{metres:.0f} m"
    km = metres / 1000
    return f"{km:.1f} km" if km < 10 else f"{km:.0f} km"


# --- the curfew ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Curfew:
    """Allowed running hours per weekday (Monday first), site-local: each a ``(start, end)`` in
    minutes since local midnight (``0 <= start < end <= 1440``), or None: no running that day."""

    days: tuple[tuple[int, int] | None, ...]

    def window(self, local: datetime) -> tuple[int, int] | None:
        return self.days[local.weekday()]

    def allows(self, local: datetime) -> bool:
        """Whether running at the site-local wall-clock time ``local`` is allowed."""
        window = self.window(local)
        minute = local.hour * 60 + local.minute
        return window is not None and window[0] <= minute < window[1]

    def describe(self) -> str:
        """``"Mon–Fri 06:00–20:00"``, runs of weekdays with the same hours joined; ``"no running
        allowed"`` when every day is closed."""
        parts, day = [], 0
        while day < 7:
            end = day
            while end + 1 < 7 and self.days[end + 1] == self.days[day]:
                end += 1
            if self.days[day] is not None:
                days = WEEKDAY_WORDS[day] if end == day else f"{WEEKDAY_WORDS[day]}–{WEEKDAY_WORDS[end]}"
                start, stop = self.days[day]
                parts.append(f"{days} {clock_text(start)}–{clock_text(stop)}")
            day = end + 1
        return ", ".join(parts) if parts else "no running allowed"

    def to_json(self) -> dict:
        return {name: None if w is None else [clock_text(w[0]), clock_text(w[1])]
                for name, w in zip(WEEKDAYS, self.days)}

    @classmethod
    def from_json(cls, data: Mapping | None) -> "Curfew | None":
        """From the stored JSON (``{"mon": ["06:00", "20:00"], "sat": null, ...}``); None: no curfew."""
        if not data:
            return None
        days = []
        for name in WEEKDAYS:
            window = data.get(name)
            days.append(None if not window else (parse_clock_minutes(window[0], name), parse_clock_minutes(window[1], name)))
        return cls(tuple(days))


#: What the editing page proposes for a site that has no curfew yet.
WORKING_WEEK = Curfew(tuple([(6 * 60, 20 * 60)] * 5 + [None, None]))


def clock_text(minutes: int) -> str:
    """Minutes since midnight as ``"06:00"`` (1440 is ``"24:00"``, the end of the day)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_clock_minutes(text: object, field: str) -> int:
    """``"06:00"`` → 360; ``"24:00"`` is the end of the day (1440). Raises :class:`SecurityInputError`."""
    value = str(text or "").strip()
    parts = value.split(":")
    if len(parts) != 2 or not all(p.isdigit() and 1 <= len(p) <= 2 for p in parts):
        raise SecurityInputError(field, f"A time of day must look like 06:00; got {value!r}.")
    hours, minutes = int(parts[0]), int(parts[1])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise SecurityInputError(field, f"{value} is not a time of day (00:00 to 24:00).")
    return hours * 60 + minutes


def curfew_breach(curfew: Curfew | None, zone_name: str, minutes: Sequence[tuple[int, float | None]],
                  running_rpm: float) -> tuple[bool, int] | None:
    """Is the engine running outside the allowed hours, judged on the newest minute with data?

    Parameters
    ----------
    curfew : Curfew or None
        None: no curfew (never a breach).
    zone_name : str
        The site's IANA time zone.
    minutes : sequence of (int, float or None)
        ``(time_ns, mean engine speed in rpm)`` per minute with data, oldest first. A minute without
        engine speed (a key-off heartbeat: position and battery, the engine controller asleep) is a
        stopped engine.
    running_rpm : float
        Engine speed from which the engine counts as running, rpm.

    Returns
    -------
    (bool, int) or None
        ``(breach, time_ns of that minute)``; None when there is no minute at all.
    """
    if not minutes:
        return None
    t_ns, speed = minutes[-1]
    if curfew is None or speed is None or speed < running_rpm:
        return False, int(t_ns)
    return not curfew.allows(local_time(t_ns, zone_name)), int(t_ns)


def local_time(t_ns: int, zone_name: str) -> datetime:
    """UTC nanoseconds as the site's wall-clock time (DST from the IANA zone)."""
    return datetime.fromtimestamp(t_ns / 1e9, tz=timezone.utc).astimezone(ZoneInfo(zone_name or "UTC"))


# --- what people type in ---------------------------------------------------------------------------------

def parse_fence(lat: object, lon: object, radius_m: object, enabled: bool) -> Geofence:
    """A :class:`Geofence` from form or JSON values; raises :class:`SecurityInputError` naming the field."""
    lat_v = _number(lat, "fence_lat", "The centre's latitude")
    lon_v = _number(lon, "fence_lon", "The centre's longitude")
    radius_v = _number(radius_m, "fence_radius_m", "The radius")
    if not -90.0 <= lat_v <= 90.0:
        raise SecurityInputError("fence_lat", f"The centre's latitude must lie between -90 and 90 degrees; got {lat_v:g}.")
    if not -180.0 <= lon_v <= 180.0:
        raise SecurityInputError("fence_lon", f"The centre's longitude must lie between -180 and 180 degrees; got {lon_v:g}.")
    if not MIN_RADIUS_M <= radius_v <= MAX_RADIUS_M:
        raise SecurityInputError("fence_radius_m", f"The radius must be between {MIN_RADIUS_M:.0f} m and "
                                                   f"{MAX_RADIUS_M:,.0f} m; got {radius_v:g} m.")
    return Geofence(lat_v, lon_v, radius_v, bool(enabled))


def parse_curfew(enabled: bool, windows: Mapping[str, tuple[bool, object, object]]) -> Curfew | None:
    """A :class:`Curfew` (None when ``enabled`` is false: no curfew) from, per weekday key
    (:data:`WEEKDAYS`), ``(allowed, start, end)``; a day not allowed has no running hours."""
    if not enabled:
        return None
    days = []
    for key, words in zip(WEEKDAYS, WEEKDAY_WORDS):
        allowed, start, end = windows.get(key, (False, "", ""))
        if not allowed:
            days.append(None)
            continue
        first, last = parse_clock_minutes(start, f"{key}_start"), parse_clock_minutes(end, f"{key}_end")
        last = last or MINUTES_PER_DAY  # "until 00:00" is midnight at the end of the day (time inputs stop at 23:59)
        if first >= last:
            raise SecurityInputError(f"{key}_end", f"{words}: the allowed hours must end after they start "
                                                   f"({clock_text(first)} to {clock_text(last)}).")
        days.append((first, last))
    return Curfew(tuple(days))


def _number(value: object, field: str, words: str) -> float:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        raise SecurityInputError(field, f"{words} must be a number; got {value!r}.") from None
    if not math.isfinite(number):
        raise SecurityInputError(field, f"{words} must be a finite number; got {value!r}.")
    return number
