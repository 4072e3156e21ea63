"""The ingest benchmark's workload (:mod:`app.ingest_bench`): one machine's hours of data at the
reference cadence, as the HTTP requests a gateway sends and as the line protocol InfluxDB's own
``/write`` is given, so that both phases of the bench carry the same points."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import numpy as np

from telemetry.devices import DeviceIdentity, SensorSpec
from telemetry.gateway.payloads import operating_upload
from telemetry.operating_payloads import parse_operating
from telemetry.payloads import Limits, decode_body, parse_burst, parse_faults
from telemetry.records import chunk_blocks, records_blocks, to_record
from telemetry.schema import OPERATING_FIELDS

BURSTS_PER_MACHINE_HOUR = 4  # excavator: engine, hydraulic pump, swing gearbox, travel motor
BURST_SAMPLES = 25_600
FS_HZ = 25_600.0
OPERATING_FIELD_NAMES = [n for n in OPERATING_FIELDS if n not in ("power_kw", "voltage_v", "current_a", "frequency_hz",
                                                                   "power_factor", "winding_temp_c")][:20]
SENSORS = {name: SensorSpec(name, name.split(".")[0], "radial", FS_HZ)
           for name in ("engine.acc", "hydraulic_pump.acc", "swing_gearbox.acc", "travel_motor.acc")}
BENCH_LIMITS = Limits(max_past_s=2 * 86400.0)  # the workload spans up to a day of machine-hours


@dataclass
class Request:
    path: str
    body: bytes
    headers: dict
    points: int


def points_per_machine_second() -> float:
    """InfluxDB points per machine per second at the reference cadence (see docs/telemetry.md)."""
    per_hour = BURSTS_PER_MACHINE_HOUR * (BURST_SAMPLES + 1) + 3600 + 1 + 1  # + one DM1 with one code
    return per_hour / 3600.0


def build_workload(machine_hours: int, seed: int = 0,
                   operating_layout: str = "columns") -> tuple[list[Request], str, DeviceIdentity]:
    """HTTP requests for ``machine_hours`` hours of one machine's data, ending an hour ago; the
    operating batches as the simulator's gateway builds them (``telemetry.gateway.payloads``), in
    ``operating_layout`` ("columns", the gateway's default, or "rows")."""
    from diagnostics.synthesis import synthesize_burst

    rng = np.random.default_rng(seed)
    machine = "EX-BENCH"
    identity = DeviceIdentity("gw-bench", machine, SENSORS)
    hour0 = (time.time_ns() // 3_600_000_000_000 - machine_hours - 1) * 3_600_000_000_000
    kinematics = {"shaft_ratio": 1.0, "bearings": [{"name": "DE", "n_rolling": 9, "ball_diameter_mm": 7.94,
                                                     "pitch_diameter_mm": 39.04, "contact_angle_deg": 0.0}]}
    requests_: list[Request] = []
    for hour in range(machine_hours):
        t_hour = hour0 + hour * 3_600_000_000_000
        for k, sensor in enumerate(SENSORS):
            samples = synthesize_burst(kinematics, 1800.0, fs=FS_HZ, seed=seed + hour * 10 + k).astype("<f4")
            headers = {"Content-Type": "application/octet-stream", "X-Ironwatch-Upload-Id": str(uuid.uuid4()),
                       "X-Ironwatch-Machine": machine, "X-Ironwatch-Sensor": sensor, "X-Ironwatch-Axis": "radial",
                       "X-Ironwatch-Sample-Rate-Hz": str(FS_HZ), "X-Ironwatch-Start": str(t_hour + k * 900 * 10**9),
                       "X-Ironwatch-Units": "m/s2", "X-Ironwatch-Shaft-Rpm": "1800"}
            requests_.append(Request("/api/v1/ingest/bursts", samples.tobytes(), headers, BURST_SAMPLES + 1))
        base = {name: float(rng.uniform(OPERATING_FIELDS[name].minimum, OPERATING_FIELDS[name].maximum) * 0.5)
                for name in OPERATING_FIELD_NAMES}
        for minute in range(60):
            t_min = t_hour + minute * 60 * 10**9
            samples = [(t_min + s * 10**9, {n: round(v + float(rng.normal(0, 0.01)) * abs(v), 3) for n, v in base.items()})
                       for s in range(60)]
            upload = operating_upload(machine, samples, str(uuid.uuid4()), layout=operating_layout)
            requests_.append(Request(upload.path, upload.body, upload.headers, 60))
        faults = {"upload_id": str(uuid.uuid4()), "machine": machine, "time": t_hour,
                  "lamps": {"amber_warning": 1}, "active": [{"spn": 110, "fmi": 0, "occurrence_count": 1}]}
        requests_.append(Request("/api/v1/ingest/faults", json.dumps(faults).encode(), {"Content-Type": "application/json"}, 2))
    return requests_, machine, identity


def prebuilt_bodies(requests_: list[Request], identity: DeviceIdentity, batch_lines: int) -> list[tuple[str, bytes, int]]:
    """The workload's line protocol as ``/write`` bodies of at most ``batch_lines`` lines: ``(rp, body, lines)``."""
    now = time.time_ns()
    records = []
    for request in requests_:
        if request.path.endswith("bursts"):
            meta = {k[len("X-Ironwatch-"):].lower().replace("-", "_"): v for k, v in request.headers.items()
                    if k.startswith("X-Ironwatch-")}
            meta.update(sample_rate_hz=float(meta["sample_rate_hz"]), shaft_rpm=float(meta["shaft_rpm"]),
                        start=int(meta["start"]))
            upload = parse_burst(meta, request.body, identity, BENCH_LIMITS, now)
        elif request.path.endswith("operating"):
            upload = parse_operating(json.loads(decode_body(request.body, request.headers, BENCH_LIMITS)), identity,
                                     BENCH_LIMITS, now)
        else:
            upload = parse_faults(json.loads(request.body), identity, BENCH_LIMITS, now)
        records.append(to_record(upload))
    # the writer's own encoding and chunking, so both phases post the same lines
    return [(rp, body, lines) for rp, blocks in records_blocks(records).items()
            for body, lines in chunk_blocks(blocks, batch_lines)]
