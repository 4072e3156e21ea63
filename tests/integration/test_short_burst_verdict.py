"""Issue 20, defect 6: the shortest burst the contract accepts gets a verdict, and a stored burst the
pipeline refuses gets one final "not diagnosable" verdict naming why; the sweep never submits
either again."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from fleet import seed
from fleet.diagnosis_service import NOT_DIAGNOSABLE, DiagnosisService
from fleet.jobs import BurstSweep
from fleet.models import utcnow
from telemetry import schema
from telemetry.payloads import Limits
from telemetry.store import BurstMeta, TelemetryStore, burst_meta_line

from fleet_helpers import FS, T0

pytestmark = pytest.mark.integration


def write_short_burst(influx, n: int, shaft_rpm: float = 1500.0, upload_id: str = "short-1") -> BurstMeta:
    samples = np.random.default_rng(3).standard_normal(n).astype(np.float32)
    sensor = "alternator_de.acc"
    meta = BurstMeta(burst_id=schema.burst_id_for("GS-2001", sensor, "radial", T0), machine="GS-2001",
                     component="alternator_de", sensor=sensor, axis="radial", sample_rate_hz=FS, start_ns=T0,
                     n_samples=n, units="m/s2", shaft_rpm=shaft_rpm, upload_id=upload_id)
    influx.write("".join(schema.encode_vibration_lines(meta.tags(), samples, T0, FS)), rp=schema.RP_RAW)
    influx.write(burst_meta_line(meta), rp=schema.RP_LIFE)
    return meta


def never_resubmitted(influx, session_factory) -> None:
    submitted = []
    sweep = BurstSweep(TelemetryStore(influx), session_factory, submitted.append,
                       clock=lambda: utcnow() + timedelta(days=1))
    for _ in range(5):
        sweep()
    assert submitted == []


def test_the_shortest_burst_the_contract_accepts_is_diagnosed_once(influx, session_factory, tmp_path):
    from diagnostics.pipeline import MIN_SAMPLES

    seed.seed(session_factory, tmp_path)
    shortest = Limits().min_burst_samples  # what ingest accepts, per the contract
    assert shortest >= MIN_SAMPLES, "ingest accepts bursts the pipeline cannot analyse"
    meta = write_short_burst(influx, shortest)
    service = DiagnosisService(TelemetryStore(influx), session_factory)
    outcome = service.process_burst(meta.burst_id)
    assert NOT_DIAGNOSABLE not in [f["fault_mode"] for f in outcome.findings]
    assert service.process_burst(meta.burst_id).already_processed
    never_resubmitted(influx, session_factory)


def test_a_burst_the_pipeline_refuses_gets_a_final_verdict_and_is_not_retried(influx, session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    # stored without ingest's checks (an older gateway, a restore): a shaft speed of 0 rpm
    meta = write_short_burst(influx, 4096, shaft_rpm=0.0, upload_id="standstill-1")
    service = DiagnosisService(TelemetryStore(influx), session_factory)
    outcome = service.process_burst(meta.burst_id)
    [finding] = outcome.findings
    assert finding["fault_mode"] == NOT_DIAGNOSABLE and "shaft_rpm" in finding["summary"]
    assert outcome.opened == [] and service.process_burst(meta.burst_id).already_processed
    never_resubmitted(influx, session_factory)
