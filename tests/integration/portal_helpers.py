"""Known operating days written into the real InfluxDB, for the portal, report and AEMP tests."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

#: One day's pattern (UTC): hours working and idling, one point a minute from 07:00.
WORKING_H, IDLE_H = 6, 1
WORK_FUEL_L_H, IDLE_FUEL_L_H = 30.0, 6.0


def day_start_ns(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()) * 10**9


def write_operating_days(influx, uid: str, days: list[date], hour_meter_start: float = 1000.0,
                         lat: float = 53.2391, lon: float = -1.9070) -> float:
    """Each day 07:00-13:00 UTC working (1,850 rpm, 70 % load, 30 L/h), 13:00-14:00 idling
    (1,000 rpm, 12 %, 6 L/h), off otherwise; one sample a minute, hour meter counting. Returns
    the last hour-meter reading, h."""
    lines = []
    hours = hour_meter_start
    for day in days:
        start = day_start_ns(day) + 7 * 3600 * 10**9
        for minute in range((WORKING_H + IDLE_H) * 60):
            working = minute < WORKING_H * 60
            rpm, load, fuel = (1850.0, 70.0, WORK_FUEL_L_H) if working else (1000.0, 12.0, IDLE_FUEL_L_H)
            hours += 1 / 60
            lines.append(f"operating,machine={uid} engine_speed_rpm={rpm},engine_load_pct={load},"
                         f"fuel_rate_l_h={fuel},hour_meter_h={hours:.4f},lat={lat},lon={lon} "
                         f"{start + minute * 60 * 10**9}")
    influx.write("\n".join(lines))
    return hours


def recent_days(count: int, before: date | None = None) -> list[date]:
    """The ``count`` whole days before ``before`` (default today, UTC), oldest first."""
    end = before or datetime.now(timezone.utc).date()
    return [end - timedelta(days=i) for i in range(count, 0, -1)]
