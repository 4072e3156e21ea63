"""A burst's engine hour meter (``hour_meter_h``) through the real ingest path, InfluxDB and SQL:
validated on the way in (bad input: a 422 naming it, nothing stored), kept with the burst and its
features, and the axis the RUL job ages the component on."""
from __future__ import annotations

import time

import numpy as np
import pytest

from diagnostics.prognostics.history import OPERATING_HOURS, WALL_CLOCK
from fleet.model_registry import ModelRegistry
from fleet.rul_scoring import score_fleet
from telemetry.gateway.payloads import burst_binary_upload
from telemetry.schema import burst_id_for
from telemetry.store import BurstMeta

from app_helpers import FAULTY_GENSET, outer_race_burst
from test_rul_scoring import HOUR_NS, fleet_model, wear_features

pytestmark = pytest.mark.integration


def post_burst(app, token, body):
    return app.test_client().post("/api/v1/ingest/bursts", json=body, headers={"Authorization": f"Bearer {token}"})


def test_the_hour_meter_travels_with_the_burst_into_its_feature_row(app, provisioning):
    runtime = app.extensions["ironwatch"]
    token, body = outer_race_burst(provisioning)
    body["hour_meter_h"] = 2140.25
    assert post_burst(app, token, body).status_code == 202
    # the same over octet-stream, metadata in headers
    binary = burst_binary_upload(body["machine"], body["sensor"], body["axis"], body["sample_rate_hz"],
                                 body["start"] - 3600 * 10**9 // 2, body["shaft_rpm"], np.zeros(4096, dtype=np.float32),
                                 hour_meter_h=2139.75)
    assert binary.headers["X-Ironwatch-Hour-Meter-H"] == "2139.75"
    sent = app.test_client().post("/api/v1/ingest/bursts", data=binary.body,
                                  headers={**binary.headers, "Authorization": f"Bearer {token}"})
    assert sent.status_code == 202, sent.get_json()
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()

    burst = runtime.store.read_burst(burst_id_for(body["machine"], body["sensor"], body["axis"], body["start"]))
    assert burst.meta.hour_meter_h == 2140.25
    assert runtime.diagnosis_queue.run_pending() == 2
    history = runtime.store.feature_history(body["machine"], "alternator_de")
    assert history["hour_meter_h"] == [2139.75, 2140.25]


@pytest.mark.parametrize("value, rule", [("2140", "number"), (-1.0, "range"), (2.0e6, "range"), (True, "number")])
def test_a_bad_hour_meter_is_refused_by_name_and_nothing_is_stored(app, provisioning, value, rule):
    runtime = app.extensions["ironwatch"]
    token, body = outer_race_burst(provisioning)
    body["hour_meter_h"] = value
    answer = post_burst(app, token, body)
    assert answer.status_code == 422
    assert answer.get_json()["field"] == "hour_meter_h" and answer.get_json()["rule"] == rule
    assert "hour_meter_h" in answer.get_json()["message"]
    body["hour_meter_h"] = 2140.0    # the corrected retry is a new upload, not a duplicate of the refusal
    assert post_burst(app, token, body).status_code == 202
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    stored = runtime.store.bursts_since(0, machine=FAULTY_GENSET)
    assert [m.hour_meter_h for m in stored] == [2140.0]     # only the good one


def test_a_non_numeric_hour_meter_header_is_refused(app, provisioning):
    token, body = outer_race_burst(provisioning)
    binary = burst_binary_upload(body["machine"], body["sensor"], body["axis"], body["sample_rate_hz"], body["start"],
                                 body["shaft_rpm"], np.zeros(4096, dtype=np.float32))
    answer = app.test_client().post("/api/v1/ingest/bursts", data=binary.body,
                                    headers={**binary.headers, "X-Ironwatch-Hour-Meter-H": "nan",
                                             "Authorization": f"Bearer {token}"})
    assert answer.status_code == 422 and answer.get_json()["field"] == "hour_meter_h"
    assert answer.get_json()["rule"] == "number"
    runtime = app.extensions["ironwatch"]
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    assert runtime.store.bursts_since(0, machine=FAULTY_GENSET) == []


def test_the_rul_job_ages_a_day_shift_machine_on_its_hour_meter(app, tmp_path):
    """Against InfluxDB: the same wear written as a day-shift history with hour meter readings, and
    as a round-the-clock history, gives the same estimate; without the meter it ages on the clock."""
    runtime = app.extensions["ironwatch"]
    sessions, store = runtime.sessions, runtime.store
    registry = ModelRegistry(sessions, var_dir=tmp_path)
    registry.promote("alternator_bearing", registry.register("alternator_bearing", fleet_model()).version)
    rng = np.random.default_rng(1)
    now = time.time_ns() // HOUR_NS * HOUR_NS
    n = 60
    features = [wear_features(0.6 - 0.005 * k, rng) for k in range(n)]
    working = [h for h in range(7, 17) if h != 12]           # 9 running hours a day
    shift = [now - 10 * 24 * HOUR_NS + (k // 9) * 24 * HOUR_NS + working[k % 9] * HOUR_NS for k in range(n)]
    continuous = [now - n * HOUR_NS + k * HOUR_NS for k in range(n)]

    def write(machine, times, meter):
        for k, t in enumerate(times):
            meta = BurstMeta(f"{machine}.alternator_de.acc.radial.{t}", machine, "alternator_de", "alternator_de.acc",
                             "radial", 25600.0, t, 25600, "m/s2", 1500.0,
                             hour_meter_h=None if meter is None else 5000.0 + k)
            store.write_features(meta, features[k])

    write("GS-2001", shift, meter=True)
    write("GS-2002", continuous, meter=None)
    write("GS-2003", shift, meter=None)
    # these alternator bearings would take the bearing path with a bearing life model; this model has none
    results = {r.machine: r for r in score_fleet(store, sessions, registry) if r.component == "alternator_de"}
    on_meter, round_the_clock, on_clock = results["GS-2001"], results["GS-2002"], results["GS-2003"]
    assert on_meter.scored and round_the_clock.scored and on_clock.scored
    assert on_meter.age_axis == OPERATING_HOURS and on_meter.history_h == 59.0
    assert (on_meter.p10_h, on_meter.p50_h, on_meter.p90_h) == (round_the_clock.p10_h, round_the_clock.p50_h,
                                                               round_the_clock.p90_h)
    assert on_clock.age_axis == WALL_CLOCK and on_clock.history_h == 150.0   # nights stretch it
    assert on_clock.p50_h != on_meter.p50_h
    assert "operating hours (hour meter)" in on_meter.note and "wall-clock" in on_clock.note
