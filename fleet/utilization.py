"""Utilization, idle time and fuel per day from operating data (pure functions, no I/O).

An owner asks three things of a day: how long did the machine work, how long did it stand with the
engine running for nothing (idle burns fuel and wears the engine, and it counts on the hour meter),
and how much fuel did it burn. Each bucket of operating data (normally one minute of means) is one
of three states:

``off``      engine speed below the model's running threshold, or no data for the bucket
``idle``     engine running, but the engine load below the model's working threshold
``working``  engine running and loaded

The thresholds depend on the machine model (:data:`MODEL_THRESHOLDS`): an excavator's auto-idle sits
near 1,000 rpm with about 12 % load, a generator set runs at its synchronous speed whatever it
delivers, so only its load tells idling from working.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

STATES = ("off", "idle", "working")


@dataclass(frozen=True)
class StateThresholds:
    """Where a machine model's operating states begin.

    running_rpm : engine speed from which the engine counts as running, rpm
    working_load_pct : engine load from which a running engine counts as working, %
    """

    running_rpm: float
    working_load_pct: float


#: Per machine kind (the default for its models) ...
KIND_THRESHOLDS = {
    "excavator": StateThresholds(running_rpm=400.0, working_load_pct=20.0),
    "genset": StateThresholds(running_rpm=600.0, working_load_pct=10.0),
}
#: ... and per model where the model differs from its kind's default. The large excavator's
#: auto-idle draws more load (bigger pumps on standby flow), so its working threshold is higher.
MODEL_THRESHOLDS = {
    "IW-220": StateThresholds(running_rpm=400.0, working_load_pct=18.0),
    "IW-500": StateThresholds(running_rpm=400.0, working_load_pct=22.0),
    "IWG-800": StateThresholds(running_rpm=600.0, working_load_pct=8.0),
}


def thresholds_for(kind: str, model: str) -> StateThresholds:
    """The state thresholds of a machine ``model`` of ``kind`` (the kind's default if unlisted)."""
    return MODEL_THRESHOLDS.get(model) or KIND_THRESHOLDS.get(kind) or KIND_THRESHOLDS["excavator"]


def classify(speed_rpm: np.ndarray, load_pct: np.ndarray, thresholds: StateThresholds) -> np.ndarray:
    """Operating state of each bucket.

    Parameters
    ----------
    speed_rpm, load_pct : ndarray, shape (n,)
        Mean engine speed (rpm) and engine load (%) per bucket; NaN where the bucket has no data.
    thresholds : StateThresholds

    Returns
    -------
    ndarray of int, shape (n,)
        Index into :data:`STATES`: 0 off, 1 idle, 2 working. A bucket without speed is off; a
        running bucket without load is idle (no evidence it worked).
    """
    speed = np.asarray(speed_rpm, dtype=float)
    load = np.asarray(load_pct, dtype=float)
    running = np.nan_to_num(speed, nan=0.0) >= thresholds.running_rpm
    loaded = np.nan_to_num(load, nan=0.0) >= thresholds.working_load_pct
    return np.where(running, np.where(loaded, 2, 1), 0).astype(int)


@dataclass(frozen=True)
class DayUsage:
    """One local calendar day of one machine. Hours in h, fuel in L."""

    day: date
    working_h: float
    idle_h: float
    off_h: float
    fuel_l: float

    @property
    def running_h(self) -> float:
        """Engine hours of the day (what the hour meter counts): working plus idle, h."""
        return self.working_h + self.idle_h

    @property
    def utilization_pct(self) -> float:
        """Working share of the day's 24 hours (of the local day's length on DST days), %."""
        total = self.working_h + self.idle_h + self.off_h
        return 100.0 * self.working_h / total if total else 0.0

    @property
    def idle_pct(self) -> float:
        """Idle share of the engine hours, % (0 when the engine did not run)."""
        return 100.0 * self.idle_h / self.running_h if self.running_h else 0.0

    @property
    def fuel_l_per_working_h(self) -> float | None:
        """Fuel burnt per working hour, L/h (idle fuel included: it is the cost of that work); None
        without working time."""
        return self.fuel_l / self.working_h if self.working_h > 0 else None


def local_days(first: date, last: date, zone: ZoneInfo) -> list[tuple[date, int, int]]:
    """Each local day from ``first`` to ``last`` inclusive as ``(day, start_ns, end_ns)`` in UTC ns."""
    days = []
    day = first
    while day <= last:
        start = datetime(day.year, day.month, day.day, tzinfo=zone)
        following = day + timedelta(days=1)
        end = datetime(following.year, following.month, following.day, tzinfo=zone)
        days.append((day, int(start.timestamp()) * 10**9, int(end.timestamp()) * 10**9))
        day = following
    return days


def daily_usage(times_ns: np.ndarray, speed_rpm: np.ndarray, load_pct: np.ndarray, fuel_rate_l_h: np.ndarray,
                thresholds: StateThresholds, days: list[tuple[date, int, int]], bucket_s: float = 60.0
                ) -> list[DayUsage]:
    """Working, idle and off hours and fuel used per local day.

    Parameters
    ----------
    times_ns : ndarray of int, shape (n,)
        Start of each bucket, UTC ns.
    speed_rpm, load_pct, fuel_rate_l_h : ndarray, shape (n,)
        Mean engine speed (rpm), load (%) and fuel rate (L/h) per bucket; NaN where missing.
    thresholds : StateThresholds
    days : list of (date, start_ns, end_ns)
        The local days to report (:func:`local_days`); buckets outside them are ignored.
    bucket_s : float
        Bucket length, s.

    Returns
    -------
    list of DayUsage, one per entry of ``days``. Off hours are the rest of the day, so a day
    without any data is 24 h off (a silent machine is taken as standing).
    """
    times = np.asarray(times_ns, dtype=np.int64)
    states = classify(speed_rpm, load_pct, thresholds)
    fuel_l = np.nan_to_num(np.asarray(fuel_rate_l_h, dtype=float), nan=0.0) * bucket_s / 3600.0
    fuel_l = np.where(states > 0, fuel_l, 0.0)  # a stopped engine burns nothing, whatever a sensor says
    usage = []
    for day, start_ns, end_ns in days:
        inside = (times >= start_ns) & (times < end_ns)
        day_h = (end_ns - start_ns) / 3.6e12
        working_h = float(np.count_nonzero(states[inside] == 2)) * bucket_s / 3600.0
        idle_h = float(np.count_nonzero(states[inside] == 1)) * bucket_s / 3600.0
        usage.append(DayUsage(day=day, working_h=working_h, idle_h=idle_h,
                              off_h=max(0.0, day_h - working_h - idle_h), fuel_l=float(fuel_l[inside].sum())))
    return usage
