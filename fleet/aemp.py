"""ISO 15143-3 (AEMP 2.0 telematics) documents of the fleet: the fleet and equipment snapshots and
the time series, with the standard's element names and paging links.

Element names follow the standard's data dictionary: ``EquipmentHeader`` (``OEMName``, ``Model``,
``EquipmentID``, ``SerialNumber``), ``Location`` (``Latitude``, ``Longitude``), ``CumulativeOperatingHours``
and ``CumulativeIdleHours`` (``Hour``), ``FuelUsed`` and ``FuelUsedLast24`` (``FuelUnits``,
``FuelConsumed``), ``FuelRemaining`` (``Percent``), ``EngineStatus`` (``Running``), ``FaultCode``
(``CodeIdentifier``, ``CodeDescription``, ``CodeSeverity``, ``CodeSource``); every reading carries its
``datetime`` (ISO 8601, UTC). Documents start with ``Links`` (``rel``/``href``: self, first, next,
last) and ``Version``.

Ironwatch's machines have no odometer (excavators track a few metres on site, gensets stand), so
``Distance`` does not apply to any of them and is not offered.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from . import usage, utilization

VERSION = "2"
OEM_NAME = "Ironwatch"
FLEET_PAGE_SIZE = 100
SERIES_PAGE_SIZE = 500
#: How far back cumulative idle hours and fuel are summed from the operating data.
CUMULATIVE_HISTORY_DAYS = usage.MAX_DAYS
SERIES = ("Locations", "CumulativeOperatingHours", "CumulativeIdleHours", "FuelUsed", "FaultCodes")
RUNNING_FRESH_S = 600  # a running engine older than this is not reported as running now
UTC = ZoneInfo("UTC")


def iso_utc(t_ns: int | float) -> str:
    return datetime.fromtimestamp(int(t_ns) / 1e9, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def page_links(base: str, page: int, last_page: int, suffix: str = "") -> list[dict]:
    """``Links`` of page ``page`` of ``last_page``: ``{base}/{n}{suffix}`` for self, first, next, last."""
    links = [{"rel": "self", "href": f"{base}/{page}{suffix}"}, {"rel": "first", "href": f"{base}/1{suffix}"}]
    if page < last_page:
        links.append({"rel": "next", "href": f"{base}/{page + 1}{suffix}"})
    if page > 1:
        links.append({"rel": "previous", "href": f"{base}/{page - 1}{suffix}"})
    links.append({"rel": "last", "href": f"{base}/{last_page}{suffix}"})
    return links


def last_page(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))


def equipment_header(machine: dict) -> dict:
    return {"OEMName": OEM_NAME, "Model": machine["model"], "EquipmentID": machine["uid"],
            "SerialNumber": machine["serial"]}


def equipment_snapshot(store, machine: dict, now_ns: int, cumulative: bool = False) -> dict:
    """One ``Equipment`` element: header and the latest readings (what is known of them).

    ``machine`` is a ``fleet.queries.fleet_overview`` row. With ``cumulative`` also the cumulative
    idle hours and fuel (summed over up to :data:`CUMULATIVE_HISTORY_DAYS` days of data).
    """
    latest = store.latest(machine["uid"])
    fields, t_ns = latest.get("fields", {}), latest.get("time")
    element = {"EquipmentHeader": equipment_header(machine)}
    if t_ns:
        when = iso_utc(t_ns)
        if fields.get("lat") is not None and fields.get("lon") is not None:
            element["Location"] = {"datetime": when, "Latitude": fields["lat"], "Longitude": fields["lon"]}
        if fields.get("hour_meter_h") is not None:
            element["CumulativeOperatingHours"] = {"datetime": when, "Hour": round(fields["hour_meter_h"], 2)}
        if fields.get("fuel_level_pct") is not None:
            element["FuelRemaining"] = {"datetime": when, "Percent": round(fields["fuel_level_pct"], 1)}
        thresholds = utilization.thresholds_for(machine["kind"], machine["model"])
        running = (fields.get("engine_speed_rpm") or 0.0) >= thresholds.running_rpm and \
            now_ns - t_ns <= RUNNING_FRESH_S * 10**9
        element["EngineStatus"] = {"datetime": when, "Running": bool(running)}
        means = store.operating_means(machine["uid"], ["engine_speed_rpm", "engine_load_pct", "fuel_rate_l_h"],
                                      now_ns - 86400 * 10**9, now_ns, every="60s")
        fuel_24 = sum(rate / 60.0 for rate, rpm in zip(means["fuel_rate_l_h"], means["engine_speed_rpm"])
                      if rate is not None and rpm is not None and rpm >= thresholds.running_rpm)
        element["FuelUsedLast24"] = {"datetime": iso_utc(now_ns), "FuelUnits": "litre",
                                     "FuelConsumed": round(fuel_24, 1)}
    if cumulative and t_ns:
        days = cumulative_days(store, machine, datetime.fromtimestamp(t_ns / 1e9, tz=timezone.utc).date())
        if days:
            end_of_day, idle_h, fuel_l = days[-1]
            element["CumulativeIdleHours"] = {"datetime": end_of_day, "Hour": round(idle_h, 2)}
            element["FuelUsed"] = {"datetime": end_of_day, "FuelUnits": "litre", "FuelConsumed": round(fuel_l, 1)}
    return element


def cumulative_days(store, machine: dict, last_day: date) -> list[tuple[str, float, float]]:
    """``(end of UTC day, cumulative idle h, cumulative fuel L)`` for each day of data up to
    ``last_day``, summed from the machine's first operating data (at most
    :data:`CUMULATIVE_HISTORY_DAYS` back)."""
    first_day = last_day - timedelta(days=CUMULATIVE_HISTORY_DAYS - 1)
    span = store.first_and_last(machine["uid"], "engine_speed_rpm", _day_ns(first_day), _day_ns(last_day + timedelta(days=1)))
    if span is None:
        return []
    first_day = datetime.fromtimestamp(span[0][0] / 1e9, tz=timezone.utc).date()
    rows = usage.machine_days(store, machine["uid"], machine["kind"], machine["model"], first_day, last_day, UTC)
    idle = fuel = 0.0
    out = []
    for row in rows:
        idle += row.idle_h
        fuel += row.fuel_l
        out.append((iso_utc(_day_ns(row.day + timedelta(days=1))), idle, fuel))
    return out


def series_points(store, machine: dict, series: str, start_ns: int, end_ns: int, fault_text) -> list[dict]:
    """The readings of time series ``series`` (one of :data:`SERIES`) in ``[start_ns, end_ns)``,
    oldest first, as the standard's elements. ``fault_text(spn, fmi)`` describes a fault code."""
    uid = machine["uid"]
    if series == "Locations":
        lasts = store.operating_lasts(uid, ["lat", "lon"], start_ns, end_ns, every="1h")
        return [{"datetime": iso_utc(t), "Latitude": lat, "Longitude": lon}
                for t, lat, lon in zip(lasts["time"], lasts["lat"], lasts["lon"]) if lat is not None and lon is not None]
    if series == "CumulativeOperatingHours":
        lasts = store.operating_lasts(uid, ["hour_meter_h"], start_ns, end_ns, every="1h")
        return [{"datetime": iso_utc(t), "Hour": round(h, 2)} for t, h in zip(lasts["time"], lasts["hour_meter_h"])
                if h is not None]
    if series in ("CumulativeIdleHours", "FuelUsed"):
        last_day = datetime.fromtimestamp((end_ns - 1) / 1e9, tz=timezone.utc).date()
        points = []
        for when, idle_h, fuel_l in cumulative_days(store, machine, last_day):
            t = datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp() * 1e9
            if start_ns < t <= end_ns:
                points.append({"datetime": when, "Hour": round(idle_h, 2)} if series == "CumulativeIdleHours"
                              else {"datetime": when, "FuelUnits": "litre", "FuelConsumed": round(fuel_l, 1)})
        return points
    if series == "FaultCodes":
        return fault_codes(store.fault_history(uid, start_ns, end_ns), fault_text)
    raise ValueError(f"unknown series {series!r}")


def fault_codes(history: list[dict], fault_text) -> list[dict]:
    """A ``FaultCode`` element each time a J1939 DM1 code becomes active (not at every repeat)."""
    active_before: set[tuple[int, int]] = set()
    codes = []
    for message in history:
        lamps = message.get("lamps", {})
        severity = "High" if lamps.get("red_stop") else "Medium" if lamps.get("amber_warning") else "Low"
        now_active = set()
        for code in message.get("active", []):
            key = (int(code["spn"]), int(code["fmi"]))
            now_active.add(key)
            if key not in active_before:
                codes.append({"datetime": iso_utc(message["time"]), "CodeIdentifier": f"SPN {key[0]} FMI {key[1]}",
                              "CodeDescription": fault_text(*key), "CodeSeverity": severity,
                              "CodeSource": "J1939 DM1"})
        active_before = now_active
    return codes


def _day_ns(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()) * 10**9
