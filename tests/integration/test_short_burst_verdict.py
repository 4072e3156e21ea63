"""Issue 20, defect 6 (ingest side): a burst the contract accepts but the pipeline cannot analyse
gets one final "not diagnosable" verdict naming why, and the sweep never submits it again."""
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


def write_short_burst(influx, n: int) -> BurstMeta:
    samples = np.random.default_rng(3).standard_normal(n).astype(np.float32)
    sensor = "alternator_de.acc"
    meta = BurstMeta(burst_id=schema.burst_id_for("GS-2001", sensor, "radial", T0), machine="GS-2001",
                     component="alternator_de", sensor=sensor, axis="radial", sample_rate_hz=FS, start_ns=T0,
                     n_samples=n, units="m/s2", shaft_rpm=1500.0, upload_id="short-1")
    influx.write("".join(schema.encode_vibration_lines(meta.tags(), samples, T0, FS)), rp=schema.RP_RAW)
    influx.write(burst_meta_line(meta), rp=schema.RP_LIFE)
    return meta


def test_short_burst_gets_a_final_verdict_and_is_not_retried(influx, session_factory, tmp_path):
    from diagnostics.pipeline import MIN_SAMPLES

    seed.seed(session_factory, tmp_path)
    shortest = Limits().min_burst_samples  # what ingest accepts, per the contract
    if shortest >= MIN_SAMPLES:
        pytest.skip("the pipeline analyses every burst the contract accepts")
    meta = write_short_burst(influx, shortest)
    service = DiagnosisService(TelemetryStore(influx), session_factory)
    outcome = service.process_burst(meta.burst_id)
    [finding] = outcome.findings
    assert finding["fault_mode"] == NOT_DIAGNOSABLE and str(shortest) in finding["summary"]
    assert outcome.opened == [] and service.process_burst(meta.burst_id).already_processed

    submitted = []
    sweep = BurstSweep(TelemetryStore(influx), session_factory, submitted.append,
                       clock=lambda: utcnow() + timedelta(days=1))
    for _ in range(5):
        sweep()
    assert submitted == []
