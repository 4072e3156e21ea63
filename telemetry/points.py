"""A burst's metadata and the InfluxDB points that bursts and DM1 messages become.

Split from :mod:`telemetry.store` (which re-exports these names): the ingest path writes these
points (:mod:`telemetry.records`) and the store reads them back.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

from telemetry.schema import M_BURSTS, M_FAULT_CODES, M_FAULTS, burst_id_for, encode_point


@dataclass(frozen=True)
class BurstMeta:
    """What was captured: where, when, how fast, in which units, at which shaft speed.

    ``start_ns`` is the time of sample 0 (UTC ns); ``units`` is ``"m/s2"`` or ``"g"`` as uploaded;
    ``shaft_rpm`` is the reference shaft speed at capture; ``hour_meter_h`` the engine hour meter
    at capture (h), None when the gateway did not send it.
    """

    burst_id: str
    machine: str
    component: str
    sensor: str
    axis: str
    sample_rate_hz: float
    start_ns: int
    n_samples: int
    units: str
    shaft_rpm: float
    encoding: str = "float32le"
    scale: float | None = None
    upload_id: str = ""
    hour_meter_h: float | None = None

    def tags(self) -> dict[str, str]:
        return {"machine": self.machine, "component": self.component, "sensor": self.sensor, "axis": self.axis}

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz


def _meta_from_row(row: Mapping[str, object]) -> BurstMeta:
    start_ns = int(row["time"])
    scale = row.get("scale")
    hour_meter = row.get("hour_meter_h")
    return BurstMeta(
        burst_id=str(row.get("burst_id") or burst_id_for(row["machine"], row["sensor"], row["axis"], start_ns)),
        machine=str(row["machine"]),
        component=str(row.get("component") or ""),
        sensor=str(row["sensor"]),
        axis=str(row["axis"]),
        sample_rate_hz=float(row["sample_rate_hz"]),
        start_ns=start_ns,
        n_samples=int(row["n_samples"]),
        units=str(row["units"]),
        shaft_rpm=float(row["shaft_rpm"]),
        encoding=str(row.get("encoding") or "float32le"),
        scale=float(scale) if scale is not None else None,
        upload_id=str(row.get("upload_id") or ""),
        hour_meter_h=float(hour_meter) if hour_meter is not None else None,
    )


def encode_codes(active: list[Mapping[str, int]]) -> str:
    """DM1 active codes as a compact string field: ``"spn:fmi:oc;spn:fmi:oc"``."""
    return ";".join(f"{int(c['spn'])}:{int(c['fmi'])}:{int(c['occurrence_count'])}" for c in active)


def _decode_codes(text: str) -> list[dict]:
    codes = []
    for part in filter(None, text.split(";")):
        spn, fmi, count = (int(x) for x in part.split(":"))
        codes.append({"spn": spn, "fmi": fmi, "occurrence_count": count})
    return codes


def burst_meta_line(meta: BurstMeta) -> str:
    """The ``bursts`` point of a burst (time = start of capture), with newline."""
    fields: dict[str, object] = {
        "burst_id": meta.burst_id,
        "upload_id": meta.upload_id,
        "n_samples": int(meta.n_samples),
        "sample_rate_hz": float(meta.sample_rate_hz),
        "shaft_rpm": float(meta.shaft_rpm),
        "units": meta.units,
        "encoding": meta.encoding,
    }
    if meta.scale is not None:
        fields["scale"] = float(meta.scale)
    if meta.hour_meter_h is not None:
        fields["hour_meter_h"] = float(meta.hour_meter_h)
    return encode_point(M_BURSTS, meta.tags(), fields, meta.start_ns) + "\n"


def fault_lines(machine: str, t_ns: int, upload_id: str, lamps: Mapping[str, int], active: list[Mapping[str, int]]) -> list[str]:
    """The ``faults`` point of a DM1 message and one ``fault_codes`` point per active code."""
    fields: dict[str, object] = {k: int(lamps.get(k, 0)) for k in ("mil", "red_stop", "amber_warning", "protect")}
    fields.update({"active_count": len(active), "codes": encode_codes(active), "upload_id": upload_id})
    lines = [encode_point(M_FAULTS, {"machine": machine}, fields, t_ns) + "\n"]
    for code in active:
        lines.append(
            encode_point(
                M_FAULT_CODES,
                {"machine": machine, "spn": str(int(code["spn"]))},
                {"fmi": int(code["fmi"]), "occurrence_count": int(code["occurrence_count"]), "upload_id": upload_id},
                t_ns,
            )
            + "\n"
        )
    return lines
