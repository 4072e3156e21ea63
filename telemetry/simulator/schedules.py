"""When simulated machines run, in the site's local time: a standby set's weekly exercise run and
an excavator's working day (key on / key off).

Both are provisioned per machine (``fleet.seed`` writes them with the site's IANA ``timezone``)
and both are pure: a window is computed from a UTC time in nanoseconds, never from the wall clock.
Controllers and operators keep local time, so the windows stay at their clock times across a
daylight-saving change.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["ExerciseSchedule", "ShiftPattern"]

_NS = 1_000_000_000


def _clock(text: str) -> tuple[int, int]:
    """``"07:30"`` → ``(7, 30)``; ``"24:00"`` (the end of the day) is allowed."""
    hours, minutes = (int(x) for x in str(text).split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise ValueError(f"clock time must be HH:MM between 00:00 and 24:00, got {text!r}")
    return hours, minutes


def _local_ns(day: _dt.date, hours: int, minutes: int, zone: ZoneInfo) -> int:
    """UTC ns of ``hours:minutes`` local time on ``day`` (24:00 = midnight at its end)."""
    if hours == 24:
        day, hours = day + _dt.timedelta(days=1), 0
    return int(_dt.datetime.combine(day, _dt.time(hours, minutes), tzinfo=zone).timestamp()) * _NS


@dataclass(frozen=True)
class ExerciseSchedule:
    """When a standby set's controller starts its weekly unloaded exercise run: site-local time.

    The same settings as the fleet's reporting policy (``machine.reporting["exercise"]``, written
    into the provisioning by ``fleet.seed``): ``weekday`` 0 = Monday, ``start`` ``"HH:MM"`` in the
    site's IANA ``timezone``, ``minutes`` long. A controller's clock keeps local time, so the run
    stays at 10:00 across a daylight-saving change.
    """

    weekday: int = 2
    start: str = "10:00"
    minutes: int = 30
    timezone: str = "UTC"

    @classmethod
    def from_settings(cls, settings: dict | None, timezone: str | None = None) -> "ExerciseSchedule":
        """From ``{"weekday": 2, "start": "10:00", "minutes": 30}`` (missing keys: the defaults)."""
        settings = settings or {}
        schedule = cls(weekday=int(settings.get("weekday", cls.weekday)), start=str(settings.get("start", cls.start)),
                       minutes=int(settings.get("minutes", cls.minutes)), timezone=timezone or "UTC")
        schedule.window_after(0)   # a bad weekday, clock time or zone fails here, not mid-run
        return schedule

    def window_after(self, t_ns: int) -> tuple[int, int]:
        """``(start_ns, end_ns)`` (UTC) of the first exercise run that has not ended by ``t_ns``."""
        if not 0 <= self.weekday <= 6 or self.minutes <= 0:
            raise ValueError(f"exercise weekday must be 0..6 and minutes positive, got {self.weekday}, {self.minutes}")
        hours, minutes = _clock(self.start)
        zone = ZoneInfo(self.timezone)
        day = _dt.datetime.fromtimestamp(t_ns / _NS, zone).date()
        day -= _dt.timedelta(days=(day.weekday() - self.weekday) % 7)   # this week's run, maybe past
        while True:
            start_ns = _local_ns(day, hours, minutes, zone)
            end_ns = start_ns + self.minutes * 60 * _NS
            if end_ns > t_ns:
                return start_ns, end_ns
            day += _dt.timedelta(days=7)


#: A working day's breaks with the engine off: morning tea, lunch, afternoon tea (start, minutes).
DEFAULT_BREAKS = (("10:00", 15), ("12:30", 30), ("15:00", 15))


@dataclass(frozen=True)
class ShiftPattern:
    """An excavator's working day in site-local time: when its key is on.

    The operator keys on at ``start`` and off at ``end`` on each of ``weekdays`` (0 = Monday;
    default Monday to Friday: weekends off), and off for each break (``(start, minutes)``). Between
    those times the machine stands with the key off: its telematics unit stops sampling and sends
    a heartbeat instead (``telemetry.simulator.fleet``). ``end`` may be ``"24:00"``; a pattern of
    ``00:00``-``24:00`` on all seven days without breaks is round the clock.
    """

    start: str = "07:00"
    end: str = "17:30"
    breaks: tuple[tuple[str, int], ...] = DEFAULT_BREAKS
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    timezone: str = "UTC"

    @classmethod
    def from_settings(cls, settings: dict | None, timezone: str | None = None) -> "ShiftPattern":
        """From ``{"start": "07:00", "end": "17:30", "breaks": [["12:30", 30]], "weekdays": [0, 1, 2, 3, 4]}``
        (missing keys: the defaults); ValueError on a bad clock time, weekday, break or zone."""
        settings = settings or {}
        breaks = settings.get("breaks", cls.breaks)
        pattern = cls(start=str(settings.get("start", cls.start)), end=str(settings.get("end", cls.end)),
                      breaks=tuple((str(at), int(minutes)) for at, minutes in breaks),
                      weekdays=tuple(sorted({int(d) for d in settings.get("weekdays", cls.weekdays)})),
                      timezone=timezone or "UTC")
        pattern.validate()
        return pattern

    @classmethod
    def round_the_clock(cls, timezone: str = "UTC") -> "ShiftPattern":
        """Key on all the time (a site working 24/7, or a test that needs a working machine)."""
        return cls(start="00:00", end="24:00", breaks=(), weekdays=tuple(range(7)), timezone=timezone)

    def validate(self) -> None:
        start, end = _clock(self.start), _clock(self.end)
        if not start < end:
            raise ValueError(f"shift must end after it starts, got {self.start}-{self.end}")
        if not self.weekdays or any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError(f"shift weekdays must be 0..6 (0 = Monday), got {list(self.weekdays)}")
        for at, minutes in self.breaks:
            if minutes <= 0 or not start <= _clock(at) < end:
                raise ValueError(f"break {at} ({minutes} min) must lie inside the shift {self.start}-{self.end}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r} (an IANA name such as Europe/London)") from None

    def _day_windows(self, day: _dt.date, zone: ZoneInfo) -> list[tuple[int, int]]:
        """The key-on windows (UTC ns) of one local day: the shift less its breaks."""
        if day.weekday() not in self.weekdays:
            return []
        cursor = _local_ns(day, *_clock(self.start), zone)
        end = _local_ns(day, *_clock(self.end), zone)
        windows = []
        for at, minutes in sorted(self.breaks, key=lambda b: _clock(b[0])):
            break_ns = _local_ns(day, *_clock(at), zone)
            if break_ns > cursor:
                windows.append((cursor, break_ns))
            cursor = max(cursor, break_ns + minutes * 60 * _NS)
        if end > cursor:
            windows.append((cursor, end))
        return windows

    def window_after(self, t_ns: int) -> tuple[int, int]:
        """``(start_ns, end_ns)`` (UTC) of the first key-on window that has not ended by ``t_ns``;
        touching windows (midnight of a round-the-clock pattern) are joined."""
        zone = ZoneInfo(self.timezone)
        day = _dt.datetime.fromtimestamp(t_ns / _NS, zone).date() - _dt.timedelta(days=1)
        found: tuple[int, int] | None = None
        for _ in range(16):   # at most a week ahead, plus the joins of a round-the-clock week
            for start, end in self._day_windows(day, zone):
                if found is not None:
                    if start > found[1]:
                        return found
                    found = (found[0], end)
                elif end > t_ns:
                    found = (start, end)
            day += _dt.timedelta(days=1)
        if found is None:
            raise ValueError(f"shift pattern {self} has no working time")
        return found
