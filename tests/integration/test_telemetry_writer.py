"""Spool → writer → the real InfluxDB: everything accepted arrives once, read back exactly;
an InfluxDB stopped and restarted during uploads loses nothing (a throwaway influxd, never the
shared one)."""
import json
import threading
import time
import uuid

import numpy as np
import pytest

from telemetry import influxd
from telemetry.devices import DeviceIdentity, SensorSpec, StaticDeviceDirectory
from telemetry.gateway.payloads import operating_payload
from telemetry.influx import InfluxClient
from telemetry.ingest import IngestService
from telemetry.spool import Spool
from telemetry.store import TelemetryStore
from telemetry.writer import SpoolWriter

from app_helpers import free_port

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}
SENSORS = {"engine.acc": SensorSpec("engine.acc", "engine", "radial", 25600.0),
           "pump.acc": SensorSpec("pump.acc", "hydraulic_pump", "radial", 25600.0)}


def make_service(tmp_path):
    devices = StaticDeviceDirectory()
    token = devices.add(DeviceIdentity("gw-1", "EX-9", SENSORS))
    spool = Spool(tmp_path / "spool")
    return IngestService(spool, devices), token, spool


def operating_body(t0_ns, n=60, upload_id=None):
    return json.dumps({"upload_id": upload_id or str(uuid.uuid4()), "machine": "EX-9",
                       "samples": [{"time": t0_ns + i * 10**9, "fields": {"engine_speed_rpm": 1000.0 + i}}
                                   for i in range(n)]}).encode()


def burst_body(start_ns, samples, upload_id=None, sensor="engine.acc"):
    return json.dumps({"upload_id": upload_id or str(uuid.uuid4()), "machine": "EX-9", "sensor": sensor,
                       "axis": "radial", "sample_rate_hz": 25600, "start": start_ns, "units": "m/s2",
                       "shaft_rpm": 1790.5, "samples": __import__("base64").b64encode(samples.astype("<f4").tobytes()).decode()}).encode()


def count(influx, query):
    series = influx.query(query)
    return series[0]["values"][0][1] if series else 0


def test_everything_accepted_arrives_once_and_reads_back_exactly(influx, tmp_path):
    service, token, spool = make_service(tmp_path)
    events = []
    writer = SpoolWriter(spool, influx, on_stored=events.extend, batch_lines=5000).start()
    t0 = (time.time_ns() // 10**9 - 3600) * 10**9
    samples = (np.random.default_rng(7).standard_normal(25600) * 4).astype(np.float32)
    burst = burst_body(t0, samples, upload_id="burst-1")
    assert not service.accept_burst(token, burst, JSON, {}).duplicate
    assert service.accept_burst(token, burst, JSON, {}).duplicate  # sent twice, stored once
    op = operating_body(t0, upload_id="op-1")
    service.accept_operating(token, op, JSON)
    service.accept_operating(token, op, JSON)
    service.accept_faults(token, json.dumps({"upload_id": "f-1", "machine": "EX-9", "time": t0,
                                             "active": [{"spn": 190, "fmi": 2, "occurrence_count": 1}]}).encode(), JSON)
    assert writer.wait_drained(60)
    writer.stop()
    spool.close()

    assert sorted((e.kind, e.upload_id) for e in events) == [("burst", "burst-1"), ("faults", "f-1"), ("operating", "op-1")]
    [burst_event] = [e for e in events if e.kind == "burst"]
    burst_read = TelemetryStore(influx).read_burst(burst_event.burst_id)
    assert np.array_equal(burst_read.samples.view(np.uint32), samples.view(np.uint32))
    assert burst_read.meta.shaft_rpm == 1790.5 and burst_read.meta.upload_id == "burst-1"
    assert count(influx, "SELECT count(a) FROM raw.vibration") == 25600
    assert count(influx, "SELECT count(burst_id) FROM bursts") == 1
    assert count(influx, "SELECT count(engine_speed_rpm) FROM operating") == 60
    assert TelemetryStore(influx).fault_history("EX-9", t0, t0 + 1)[0]["active"] == [{"spn": 190, "fmi": 2, "occurrence_count": 1}]


def test_both_operating_layouts_store_the_same_points(influx, tmp_path):
    service, token, spool = make_service(tmp_path)
    writer = SpoolWriter(spool, influx, batch_lines=5000).start()
    t0 = (time.time_ns() // 10**9 - 7200) * 10**9
    hour = 3600 * 10**9

    def samples(start):  # every third second without the coolant temperature
        return [(start + i * 10**9, {"engine_speed_rpm": 1000.5 + i, **({"coolant_temp_c": 80.25 - i} if i % 3 else {})})
                for i in range(30)]

    for layout, start in (("rows", t0), ("columns", t0 + hour)):
        body = json.dumps(operating_payload(f"op-{layout}", "EX-9", samples(start), layout)).encode()
        assert service.accept_operating(token, body, JSON).points == 30
    assert writer.wait_drained(60)
    writer.stop()
    spool.close()

    def stored(start):
        [series] = influx.query(f"SELECT engine_speed_rpm, coolant_temp_c FROM operating "
                                f"WHERE time >= {start} AND time < {start + 60 * 10**9}")
        return [(t - start, *values) for t, *values in series["values"]]

    expected = [(t - t0, fields["engine_speed_rpm"], fields.get("coolant_temp_c")) for t, fields in samples(t0)]
    assert stored(t0) == expected
    assert stored(t0 + hour) == expected


def test_influxdb_stopped_and_restarted_during_uploads_loses_nothing(tmp_path):
    instance = influxd.InfluxdInstance(tmp_path / "influxdb", free_port(), free_port())
    influx = InfluxClient(influxd.start(instance), "outage", timeout=(1.0, 10.0))
    try:
        influxd.prepare_database(influx)
        service, token, spool = make_service(tmp_path)
        writer = SpoolWriter(spool, influx, batch_lines=5000, initial_backoff_s=0.05, max_backoff_s=0.5).start()
        t0 = (time.time_ns() // 10**9 - 7200) * 10**9
        accepted = []
        stop_uploads = threading.Event()

        def gateway():
            i = 0
            while not stop_uploads.is_set() or i < 40:
                service.accept_operating(token, operating_body(t0 + i * 10 * 10**9, n=10, upload_id=f"op-{i}"), JSON)
                accepted.append(i)
                if i % 10 == 0:
                    rng = np.random.default_rng(i)
                    service.accept_burst(token, burst_body(t0 + i * 10 * 10**9, rng.standard_normal(4096).astype(np.float32),
                                                           upload_id=f"b-{i}"), JSON, {})
                i += 1
                time.sleep(0.01)

        uploader = threading.Thread(target=gateway)
        uploader.start()
        time.sleep(0.3)
        assert influxd.stop(instance)  # outage in the middle of the stream
        during = len(accepted)
        time.sleep(1.0)
        assert len(accepted) > during  # the API kept accepting into the spool
        assert writer.stats.retries > 0
        influxd.start(instance)
        stop_uploads.set()
        uploader.join()
        assert writer.wait_drained(120), writer.stats
        writer.stop()
        spool.close()

        n = len(accepted)
        assert count(influx, "SELECT count(engine_speed_rpm) FROM operating") == 10 * n
        bursts = len([i for i in accepted if i % 10 == 0])
        assert count(influx, "SELECT count(a) FROM raw.vibration") == 4096 * bursts
        assert count(influx, "SELECT count(n_samples) FROM bursts") == bursts
    finally:
        influxd.stop(instance)


def test_points_influxdb_refuses_are_kept_not_retried_for_ever(influx, tmp_path):
    """A record InfluxDB can never take (here: a burst older than a 1-day raw retention) is kept
    in spool/rejected/ and the drain goes on with the next record."""
    influx.query(f'ALTER RETENTION POLICY "raw" ON "{influx.database}" DURATION 1d')
    spool = Spool(tmp_path / "spool")
    from telemetry.payloads import BurstUpload, OperatingBatch
    from telemetry.records import to_record

    old = BurstUpload("old", "EX-9", "engine", "engine.acc", "radial", 25600.0,
                      time.time_ns() - 3 * 86400 * 10**9, "m/s2", 1500.0, "float32le", None,
                      np.ones(300, dtype=np.float32))
    fresh = OperatingBatch.from_samples("fresh", "EX-9", ((time.time_ns(), {"engine_speed_rpm": 900.0}),))
    for upload in (old, fresh):
        spool.append(upload.upload_id, *to_record(upload))
    writer = SpoolWriter(spool, influx).start()
    assert writer.wait_drained(30)
    writer.stop()
    spool.close()
    assert writer.stats.rejected_posts == 1
    [kept] = (tmp_path / "spool" / "rejected").glob("*-raw.lp")
    assert kept.read_text().count("\nvibration,") == 300
    assert count(influx, "SELECT count(engine_speed_rpm) FROM operating") == 1


def test_missing_database_is_created_not_given_up(influx_url, tmp_path):
    """A fresh InfluxDB without the database (or a dropped one): the writer prepares it and
    delivers, instead of setting the data aside."""
    client = InfluxClient(influx_url, f"ironwatch_test_{uuid.uuid4().hex[:10]}")
    try:
        service, token, spool = make_service(tmp_path)
        t0 = (time.time_ns() // 10**9 - 600) * 10**9
        service.accept_burst(token, burst_body(t0, np.arange(512, dtype=np.float32)), JSON, {})
        writer = SpoolWriter(spool, client, initial_backoff_s=0.05).start()
        assert writer.wait_drained(30)
        writer.stop()
        spool.close()
        assert writer.stats.rejected_posts == 0
        assert count(client, "SELECT count(a) FROM raw.vibration") == 512
        policies = {row[0] for row in client.query(f'SHOW RETENTION POLICIES ON "{client.database}"')[0]["values"]}
        assert {"raw", "life"} <= policies
    finally:
        client.drop_database()


def test_a_writer_left_running_against_a_dead_influxdb_does_not_hold_the_process(tmp_path):
    """A writer backing off from an unreachable InfluxDB must not keep the interpreter alive at
    exit (the spool keeps the data): otherwise a crashed test or a forgotten stop hangs the run."""
    import subprocess
    import sys
    from pathlib import Path

    script = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
import numpy as np
from pathlib import Path
from test_telemetry_writer import JSON, burst_body, make_service
from telemetry.influx import InfluxClient
from telemetry.writer import SpoolWriter
service, token, spool = make_service(Path({str(tmp_path)!r}))
service.accept_burst(token, burst_body((time.time_ns() // 10**9 - 600) * 10**9, np.arange(512, dtype=np.float32)), JSON, {{}})
writer = SpoolWriter(spool, InfluxClient("http://127.0.0.1:9", "nowhere"), initial_backoff_s=0.05).start()
while writer.stats.retries < 2:
    time.sleep(0.05)
print("leaving with the writer still retrying")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "leaving with the writer still retrying" in done.stdout
