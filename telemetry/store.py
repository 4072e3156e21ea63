"""Telemetry as the rest of the system reads and writes it (InfluxQL over :class:`InfluxClient`); the
burst metadata and the points bursts and DM1 messages become are in :mod:`telemetry.points`.

Everything time-valued is UTC nanoseconds since the Unix epoch. Results are plain dicts of lists
(``{"time": [...], "<column>": [...]}``), no pandas.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

import numpy as np

from telemetry.influx import InfluxClient
from telemetry.schema import (
    G_M_S2,
    M_BURSTS,
    M_DIAGNOSES,
    M_FAULTS,
    M_FEATURES,
    M_OPERATING,
    M_OPERATING_1H,
    M_OPERATING_1M,
    M_RUL,
    M_VIBRATION,
    OPERATING_FIELDS,
    RP_LIFE,
    RP_RAW,
    encode_json_field,
    encode_point,
    parse_burst_id,
    quote_ident,
    quote_literal,
    sample_times_ns,
)

from telemetry.points import (  # noqa: F401 - re-exported: the names callers import from here
    BurstMeta,
    _decode_codes,
    _meta_from_row,
    burst_meta_line,
    encode_codes,
    fault_lines,
)

TimeLike = int | float | str | datetime


@dataclass(frozen=True)
class Burst:
    """A burst read back: its metadata and samples (float32, shape (n_samples,), in ``meta.units``)."""

    meta: BurstMeta
    samples: np.ndarray

    def samples_m_s2(self) -> np.ndarray:
        """Samples as acceleration in m/s² (converted from g when uploaded in g), float64."""
        values = self.samples.astype(np.float64)
        return values * G_M_S2 if self.meta.units == "g" else values


class BurstNotFound(LookupError):
    """No burst with that id (never uploaded, or its raw samples are past retention)."""


_DURATION = re.compile(r"^\d+(ns|u|µ|ms|s|m|h|d|w)$")


def to_ns(value: TimeLike) -> int:
    """UTC ns from an int (ns), a float (seconds), an RFC 3339 string or an aware datetime."""
    if isinstance(value, bool):
        raise TypeError("a time cannot be a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(round(value * 1e9))
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone (UTC)")
        delta = value - datetime(1970, 1, 1, tzinfo=timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    raise TypeError(f"unsupported time {value!r}")


def to_duration(every: int | float | str) -> str:
    """An InfluxQL duration literal from seconds (``60`` → ``60s``) or a literal (``"5m"``)."""
    if isinstance(every, str):
        if not _DURATION.match(every):
            raise ValueError(f"not an InfluxQL duration: {every!r}")
        return every
    seconds = float(every)
    if seconds <= 0:
        raise ValueError("every must be positive")
    if seconds.is_integer():
        return f"{int(seconds)}s"
    return f"{int(round(seconds * 1000))}ms"


def _duration_seconds(literal: str) -> float:
    units = {"ns": 1e-9, "u": 1e-6, "µ": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    number = re.match(r"^\d+", literal).group(0)
    return int(number) * units[literal[len(number):]]


def _rows(series: dict) -> list[dict]:
    columns = series["columns"]
    return [dict(zip(columns, row)) for row in series["values"]]


class TelemetryStore:
    """Reads and writes of telemetry for diagnostics, prognostics, fleet and the app."""

    def __init__(self, influx: InfluxClient):
        self.influx = influx

    # ------------------------------------------------------------------ bursts

    def read_burst(self, burst_id: str) -> Burst:
        """The burst exactly as uploaded: metadata and float32 samples. Raises BurstNotFound."""
        try:
            machine, sensor, axis, start_ns = parse_burst_id(burst_id)
        except ValueError as exc:
            raise BurstNotFound(str(exc)) from exc
        where = (
            f"machine = {quote_literal(machine)} AND sensor = {quote_literal(sensor)} "
            f"AND axis = {quote_literal(axis)}"
        )
        meta_series = self.influx.query(
            f"SELECT * FROM {quote_ident(RP_LIFE)}.{M_BURSTS} WHERE {where} AND time = {start_ns}"
        )
        if not meta_series or not meta_series[0]["values"]:
            raise BurstNotFound(f"no burst {burst_id}")
        meta = _meta_from_row(_rows(meta_series[0])[0])
        end_ns = int(sample_times_ns(meta.start_ns, meta.n_samples, meta.sample_rate_hz)[-1])
        sample_series = self.influx.query(
            f"SELECT a FROM {quote_ident(RP_RAW)}.{M_VIBRATION} WHERE {where} "
            f"AND time >= {meta.start_ns} AND time <= {end_ns}"
        )
        values = sample_series[0]["values"] if sample_series else []
        if len(values) != meta.n_samples:
            raise BurstNotFound(
                f"burst {burst_id}: {len(values)} of {meta.n_samples} samples in InfluxDB "
                f"(not yet written, or past the raw retention)"
            )
        samples = np.fromiter((row[1] for row in values), dtype=np.float64, count=len(values)).astype(np.float32)
        return Burst(meta, samples)

    def bursts_since(self, t_ns: TimeLike, machine: str | None = None) -> list[BurstMeta]:
        """Metadata of bursts whose capture started at or after ``t_ns``, oldest first."""
        where = f"time >= {to_ns(t_ns)}"
        if machine:
            where += f" AND machine = {quote_literal(machine)}"
        series = self.influx.query(f"SELECT * FROM {quote_ident(RP_LIFE)}.{M_BURSTS} WHERE {where}")
        metas = [_meta_from_row(row) for s in series for row in _rows(s)]
        return sorted(metas, key=lambda m: (m.start_ns, m.burst_id))

    # ------------------------------------------------------------------ operating data

    def trend(
        self, machine: str, field: str, start: TimeLike, end: TimeLike, every: int | float | str = "1m"
    ) -> dict[str, list]:
        """Mean of an operating field per ``every`` bucket over ``[start, end)``.

        Returns ``{"time": [ns, ...], "value": [float | None, ...]}`` (see :meth:`operating_means`).
        """
        means = self.operating_means(machine, [field], start, end, every)
        return {"time": means["time"], "value": means[field]}

    def operating_means(
        self, machine: str, fields: list[str], start: TimeLike, end: TimeLike, every: int | float | str = "1m"
    ) -> dict[str, list]:
        """Means of several operating fields per ``every`` bucket over ``[start, end)``, one query.

        Buckets of a whole number of hours read the CQ-downsampled ``operating_1h``, whole minutes
        ``operating_1m`` (both kept for the machine's life), anything finer the 1 Hz data; so a
        year-long trend reads 8,760 hourly means, not 31 million samples. Empty buckets are None.

        Returns ``{"time": [ns, ...], field: [float | None, ...], ...}``.
        """
        unknown = [name for name in fields if name not in OPERATING_FIELDS]
        if unknown or not fields:
            raise ValueError(f"unknown operating field(s) {unknown!r}" if unknown else "no fields asked for")
        every_literal = to_duration(every)
        seconds = _duration_seconds(every_literal)
        if seconds >= 3600 and seconds % 3600 == 0:
            source, prefix = M_OPERATING_1H, "mean_"
        elif seconds >= 60 and seconds % 60 == 0:
            source, prefix = M_OPERATING_1M, "mean_"
        else:
            source, prefix = M_OPERATING, ""
        start_ns, end_ns = to_ns(start), to_ns(end)

        def bucket_means(measurement: str, column_prefix: str) -> list[dict]:
            selected = ", ".join(f"mean({quote_ident(column_prefix + name)})" for name in fields)
            return self.influx.query(
                f"SELECT {selected} FROM {quote_ident(RP_LIFE)}.{measurement} "
                f"WHERE machine = {quote_literal(machine)} AND time >= {start_ns} AND time < {end_ns} "
                f"GROUP BY time({every_literal})"
            )

        series = bucket_means(source, prefix)
        if not series and source != M_OPERATING:
            # downsampled series not computed yet (fresh data, CQ not run): fall back to 1 Hz data
            series = bucket_means(M_OPERATING, "")
        rows = series[0]["values"] if series else []
        means = {"time": [row[0] for row in rows]}
        for i, name in enumerate(fields):
            means[name] = [row[1 + i] for row in rows]
        return means

    def operating_lasts(
        self, machine: str, fields: list[str], start: TimeLike, end: TimeLike, every: int | float | str = "1h"
    ) -> dict[str, list]:
        """The last reading of each field per ``every`` bucket over ``[start, end)`` from the 1 Hz
        data (counters such as the hour meter, and positions, are read, never averaged); buckets
        without data are left out. Returns ``{"time": [ns, ...], field: [float | None, ...]}``."""
        unknown = [name for name in fields if name not in OPERATING_FIELDS]
        if unknown or not fields:
            raise ValueError(f"unknown operating field(s) {unknown!r}" if unknown else "no fields asked for")
        selected = ", ".join(f"last({quote_ident(name)})" for name in fields)
        series = self.influx.query(
            f"SELECT {selected} FROM {quote_ident(RP_LIFE)}.{M_OPERATING} "
            f"WHERE machine = {quote_literal(machine)} AND time >= {to_ns(start)} AND time < {to_ns(end)} "
            f"GROUP BY time({to_duration(every)}) fill(none)")
        rows = series[0]["values"] if series else []
        lasts = {"time": [row[0] for row in rows]}
        for i, name in enumerate(fields):
            lasts[name] = [row[1 + i] for row in rows]
        return lasts

    def minute_positions(self, machine: str, start: TimeLike, end: TimeLike) -> dict[str, list]:
        """Per minute of ``[start, end)`` with data, from the 1 Hz data: the median GNSS fix (a
        median, not a mean, so a few seconds of multipath jump do not move the minute) and the mean
        engine speed. Returns ``{"time": [ns], "lat": [deg | None], "lon": [deg | None],
        "engine_speed_rpm": [rpm | None]}``, oldest first; minutes without data are left out."""
        series = self.influx.query(
            f"SELECT median(lat), median(lon), mean(engine_speed_rpm) FROM {quote_ident(RP_LIFE)}.{M_OPERATING} "
            f"WHERE machine = {quote_literal(machine)} AND time >= {to_ns(start)} AND time < {to_ns(end)} "
            f"GROUP BY time(1m) fill(none)")
        rows = series[0]["values"] if series else []
        return {"time": [row[0] for row in rows], "lat": [row[1] for row in rows], "lon": [row[2] for row in rows],
                "engine_speed_rpm": [row[3] for row in rows]}

    def newest_operating_ns(self) -> int | None:
        """Time of the newest operating sample of any machine (ns), None when there is none."""
        series = self.influx.query(f"SELECT last(engine_speed_rpm) FROM {quote_ident(RP_LIFE)}.{M_OPERATING}")
        return int(series[0]["values"][0][0]) if series and series[0]["values"] else None

    def backfill_downsampled(self, start: TimeLike, end: TimeLike, chunk_s: int = 6 * 3600) -> None:
        """Compute ``operating_1m`` and ``operating_1h`` over ``[start, end)`` as the continuous
        queries would have.

        The CQs resample only their recent window (2 h, 1 d), so data that arrives later than
        that (a gateway's buffer after a long gap, a demo's backfill of days) never reaches the
        1-minute series. Same statements as the CQs, bounded in time, in chunks of ``chunk_s``
        seconds so no single query holds days of 1 Hz points; the ends are widened to whole hours.
        """
        life = quote_ident(RP_LIFE)
        db = quote_ident(self.influx.database)
        hour_ns = 3600 * 10**9
        first, last = to_ns(start) // hour_ns * hour_ns, -(-to_ns(end) // hour_ns) * hour_ns
        for t in range(first, last, chunk_s * 10**9):
            upto = min(t + chunk_s * 10**9, last)
            for target, every in ((M_OPERATING_1M, "1m"), (M_OPERATING_1H, "1h")):
                self.influx.query(
                    f"SELECT mean(*) INTO {db}.{life}.{target} FROM {db}.{life}.{M_OPERATING} "
                    f"WHERE time >= {t} AND time < {upto} GROUP BY time({every}), *")

    def latest(self, machine: str) -> dict:
        """Latest operating values of a machine: ``{"time": ns | None, "fields": {name: value}}``.

        ``time`` is the newest sample's; each field is its own latest value (gateways may send
        fields at different rates).
        """
        life = quote_ident(RP_LIFE)
        where = f"machine = {quote_literal(machine)}"
        newest = self.influx.query(f"SELECT * FROM {life}.{M_OPERATING} WHERE {where} ORDER BY time DESC LIMIT 1")
        if not newest:
            return {"time": None, "fields": {}}
        t_ns = newest[0]["values"][0][0]
        lasts = self.influx.query(f"SELECT last(*) FROM {life}.{M_OPERATING} WHERE {where}")
        fields = {}
        if lasts:
            row = _rows(lasts[0])[0]
            fields = {k[len("last_"):]: v for k, v in row.items() if k.startswith("last_") and v is not None}
        return {"time": t_ns, "fields": fields}

    def first_and_last(self, machine: str, field: str, start: TimeLike, end: TimeLike
                       ) -> tuple[tuple[int, float], tuple[int, float]] | None:
        """The first and the last reading ``(t_ns, value)`` of an operating field in ``[start, end)``,
        or None when there is none (e.g. the hour meter at both ends of a utilization window).

        Reads the 1 Hz data with ``LIMIT 1`` from each end, which InfluxDB answers from the index
        without scanning the window.
        """
        if field not in OPERATING_FIELDS:
            raise ValueError(f"unknown operating field {field!r}")
        base = (f"SELECT {quote_ident(field)} FROM {quote_ident(RP_LIFE)}.{M_OPERATING} "
                f"WHERE machine = {quote_literal(machine)} AND time >= {to_ns(start)} AND time < {to_ns(end)}")
        ends = []
        for order in ("ASC", "DESC"):
            series = self.influx.query(f"{base} ORDER BY time {order} LIMIT 1")
            if not series or not series[0]["values"]:
                return None
            t_ns, value = series[0]["values"][0][:2]
            ends.append((int(t_ns), float(value)))
        return ends[0], ends[1]

    # ------------------------------------------------------------------ fault codes

    def fault_history(self, machine: str, start: TimeLike, end: TimeLike) -> list[dict]:
        """DM1 messages of a machine in ``[start, end)``, oldest first.

        Each: ``{"time": ns, "upload_id", "lamps": {mil, red_stop, amber_warning, protect},
        "active": [{"spn", "fmi", "occurrence_count"}]}``; an empty ``active`` list records that
        the faults cleared.
        """
        series = self.influx.query(
            f"SELECT * FROM {quote_ident(RP_LIFE)}.{M_FAULTS} WHERE machine = {quote_literal(machine)} "
            f"AND time >= {to_ns(start)} AND time < {to_ns(end)}"
        )
        history = []
        for row in (r for s in series for r in _rows(s)):
            history.append(
                {
                    "time": row["time"],
                    "upload_id": row.get("upload_id") or "",
                    "lamps": {k: int(row.get(k) or 0) for k in ("mil", "red_stop", "amber_warning", "protect")},
                    "active": _decode_codes(row.get("codes") or ""),
                }
            )
        return history

    # ------------------------------------------------------------------ features, diagnoses, RUL

    def write_features(self, meta: BurstMeta, features: Mapping[str, object]) -> None:
        """Write a burst's features (floats; strings such as ``iso_zone`` kept as strings).

        Non-finite floats are left out (line protocol has no NaN). Timestamp: the burst's start.
        The burst's hour meter reading (when it came with one) is kept in the same row, so a feature
        history carries its place on the machine's operating-hour axis (``hour_meter_h``).
        """
        fields: dict[str, object] = {"burst_id": meta.burst_id}
        if meta.hour_meter_h is not None:
            features = {**features, "hour_meter_h": float(meta.hour_meter_h)}
        for name, value in features.items():
            if isinstance(value, str):
                fields[name] = value
            elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
                number = float(value)
                if math.isfinite(number):
                    fields[name] = number
        self.influx.write(encode_point(M_FEATURES, meta.tags(), fields, meta.start_ns) + "\n", rp=RP_LIFE)

    def write_diagnosis(self, meta: BurstMeta, finding: Mapping[str, object]) -> None:
        """Write one finding (``Finding.to_dict()``) of a burst; evidence and detail as JSON strings."""
        tags = {
            "machine": meta.machine,
            "component": str(finding.get("component") or meta.component),
            "fault_mode": str(finding["fault_mode"]),
            "location": str(finding.get("location") or "") or "-",
        }
        fields = {
            "burst_id": meta.burst_id,
            "sensor": meta.sensor,
            "severity": str(finding.get("severity", "")),
            "confidence": float(finding.get("confidence", 0.0)),
            "summary": str(finding.get("summary", "")),
            "evidence": encode_json_field(finding.get("evidence", [])),
        }
        if finding.get("score") is not None:
            fields["score"] = float(finding["score"])
        if finding.get("detail"):
            fields["detail"] = encode_json_field(finding["detail"])
        self.influx.write(encode_point(M_DIAGNOSES, tags, fields, meta.start_ns) + "\n", rp=RP_LIFE)

    def write_rul(
        self, machine: str, component: str, t_ns: int, p10: float, p50: float, p90: float, model_version: str
    ) -> None:
        """Write a remaining-useful-life estimate in hours (P10/P50/P90) and its model version."""
        fields = {"p10_h": float(p10), "p50_h": float(p50), "p90_h": float(p90), "model_version": model_version}
        self.influx.write(
            encode_point(M_RUL, {"machine": machine, "component": component}, fields, int(t_ns)) + "\n", rp=RP_LIFE
        )

    def feature_history(self, machine: str, component: str, start: TimeLike | None = None) -> dict[str, list]:
        """Features of a component over time: ``{"time": [ns...], "<feature>": [...], "burst_id": [...]}``.

        Columns are those present in InfluxDB; a feature missing at a time is None.
        """
        where = f"machine = {quote_literal(machine)} AND component = {quote_literal(component)}"
        if start is not None:
            where += f" AND time >= {to_ns(start)}"
        series = self.influx.query(f"SELECT * FROM {quote_ident(RP_LIFE)}.{M_FEATURES} WHERE {where}")
        history: dict[str, list] = {"time": []}
        if not series:
            return history
        tag_columns = {"machine", "component", "sensor", "axis"}
        columns = [c for c in series[0]["columns"] if c not in tag_columns]
        history = {c: [] for c in columns}
        for row in series[0]["values"]:
            record = dict(zip(series[0]["columns"], row))
            for c in columns:
                history[c].append(record[c])
        return history

    def rul_history(self, machine: str, component: str, start: TimeLike | None = None) -> dict[str, list]:
        """RUL estimates of a component: ``{"time", "p10_h", "p50_h", "p90_h", "model_version"}``."""
        where = f"machine = {quote_literal(machine)} AND component = {quote_literal(component)}"
        if start is not None:
            where += f" AND time >= {to_ns(start)}"
        series = self.influx.query(
            f"SELECT p10_h, p50_h, p90_h, model_version FROM {quote_ident(RP_LIFE)}.{M_RUL} WHERE {where}"
        )
        out: dict[str, list] = {c: [] for c in ("time", "p10_h", "p50_h", "p90_h", "model_version")}
        for row in series[0]["values"] if series else []:
            for c, v in zip(out, row):
                out[c].append(v)
        return out
