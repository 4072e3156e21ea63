"""Short bursts and dead sensors through the diagnosis thread (real InfluxDB, real SQL): every burst
the ingest contract accepts gets a verdict, and a dead sensor is not reported healthy (issue #20,
defect 6; issue #19)."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from diagnostics.synthesis import synthesize_burst
from fleet import seed
from fleet.diagnosis_service import DiagnosisService
from fleet.models import BurstDiagnosis, WorkOrder
from telemetry import schema
from telemetry.store import BurstMeta, TelemetryStore, burst_meta_line

from fleet_helpers import FS, T0, EventLog, kinematics_of

pytestmark = pytest.mark.integration


def store_samples(influx, machine, component, samples, start_ns, rpm=1500.0) -> BurstMeta:
    sensor = f"{component}.acc"
    meta = BurstMeta(burst_id=schema.burst_id_for(machine, sensor, "radial", start_ns), machine=machine,
                     component=component, sensor=sensor, axis="radial", sample_rate_hz=FS, start_ns=start_ns,
                     n_samples=len(samples), units="m/s2", shaft_rpm=rpm, upload_id=f"u-{start_ns}")
    influx.write("".join(schema.encode_vibration_lines(meta.tags(), np.asarray(samples, np.float32), start_ns, FS)),
                 rp=schema.RP_RAW)
    influx.write(burst_meta_line(meta), rp=schema.RP_LIFE)
    return meta


@pytest.fixture
def service(influx, session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    return DiagnosisService(TelemetryStore(influx), session_factory, EventLog()), session_factory


def test_a_512_sample_burst_is_diagnosed_once_not_refused(influx, service):
    svc, sessions = service
    samples = synthesize_burst(kinematics_of("GS-2001", "alternator_de"), 1500.0, fs=FS, duration_s=512 / FS, seed=2)
    meta = store_samples(influx, "GS-2001", "alternator_de", samples[:512], T0)
    outcome = svc.process_burst(meta.burst_id)
    assert outcome.iso_zone in "ABCD"
    with sessions() as session:
        record = session.scalar(select(BurstDiagnosis).where(BurstDiagnosis.burst_id == meta.burst_id))
        assert record is not None and record.features["velocity_rms_mm_s"] > 0
        assert not any(k.endswith("_evidence_db") and "comb" not in k for k in record.features)
    assert svc.process_burst(meta.burst_id).already_processed


def test_a_dead_sensor_gets_a_sensor_fault_verdict_not_healthy(influx, service):
    svc, sessions = service
    meta = store_samples(influx, "GS-2001", "alternator_nde", np.zeros(4096), T0 + 1)
    outcome = svc.process_burst(meta.burst_id)
    assert [f["fault_mode"] for f in outcome.findings] == ["sensor_fault"]
    assert "no signal" in outcome.findings[0]["summary"]
    with sessions() as session:
        record = session.scalar(select(BurstDiagnosis).where(BurstDiagnosis.burst_id == meta.burst_id))
        assert record.health_index is None and record.worst_severity == "warning"
        order = session.scalar(select(WorkOrder).where(WorkOrder.fault_mode == "sensor_fault"))
        assert order is not None and order.component.name == "alternator_nde"
