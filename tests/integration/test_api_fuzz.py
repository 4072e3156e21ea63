"""OpenAPI-driven fuzzing (Schemathesis) of the running app (issue 20).

``python -m app serve`` on the test's own stores; every operation of ``/api/openapi.json`` gets
cases that fit its schema and cases that do not, sent as a device (the ingest API, bearer token)
and as a signed-in engineer (the read API, session cookie). Every answer must be below 500, and
every refusal a 4xx JSON object with ``error`` and ``message``; nothing of a refused upload may be
stored: afterwards InfluxDB holds no series of the device's machine beyond what was acknowledged,
and each refused upload id is still free (a valid upload with it is accepted, not a duplicate).
Bounded: ``CASES_PER_OPERATION`` cases per operation and generation mode; the counts are printed.
"""
from __future__ import annotations

import json
import time

from collections import Counter

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings

from app_helpers import DEMO_PASSWORD, ENGINEER, FAULTY_GENSET, free_port, machine_entry, seed_demo_fleet
from drill_helpers import sign_in, start_server, stop_server

schemathesis = pytest.importorskip("schemathesis")
pytestmark = pytest.mark.integration

CASES_PER_OPERATION = 20


@pytest.fixture
def served(influx, sql_url, tmp_path):
    provisioning = seed_demo_fleet(sql_url, tmp_path)
    port = free_port()
    env = {"IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database,
           "IRONWATCH_DATABASE_URL": sql_url, "IRONWATCH_VAR": str(tmp_path)}
    process = start_server(port, env, tmp_path / "app.log")
    yield f"http://127.0.0.1:{port}", provisioning, tmp_path / "app.log"
    stop_server(process)


def test_no_input_from_the_openapi_spec_gets_a_5xx(served, influx, report_line):
    from schemathesis import GenerationMode

    base_url, provisioning, log_path = served
    token = machine_entry(provisioning, FAULTY_GENSET)["token"]
    engineer = sign_in(base_url, ENGINEER, DEMO_PASSWORD)
    device = requests.Session()
    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    counts: Counter = Counter()
    acknowledged, refused_ids, failures = [], set(), []

    def run(case, session, headers):
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        key = f"{case.method} {case.path}"
        counts[key] += 1
        counts[f"status {response.status_code // 100}xx"] += 1
        body_id = case.body.get("upload_id") if isinstance(case.body, dict) else None
        if response.status_code >= 500:
            failures.append(f"{key} -> {response.status_code}: {response.text[:200]} (body {str(case.body)[:200]})")
            return
        if response.status_code >= 400:
            try:
                answer = response.json()
            except ValueError:
                answer = None
            if not (isinstance(answer, dict) and answer.get("error") and answer.get("message")):
                failures.append(f"{key} -> {response.status_code} without a JSON error: {response.text[:200]}")
            if isinstance(body_id, str):
                refused_ids.add(body_id)
        elif case.path.startswith("/api/v1/ingest/"):
            acknowledged.append(body_id)

    for result in schema.get_all_operations():
        operation = result.ok()
        as_device = operation.path.startswith("/api/v1/ingest/")
        session = device if as_device else engineer
        headers = {"Authorization": f"Bearer {token}"} if as_device else {}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(max_examples=CASES_PER_OPERATION, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def fuzz(case):
                run(case, session, headers)

            fuzz()

    total = sum(v for k, v in counts.items() if not k.startswith("status"))
    report_line(f"Schemathesis: {total} cases over {len([k for k in counts if not k.startswith('status')])} "
                f"operations; answers {dict(sorted((k, v) for k, v in counts.items() if k.startswith('status')))}; "
                f"{len(acknowledged)} uploads acknowledged, {len(refused_ids)} refused upload ids")
    assert not failures, "\n".join(failures[:20]) + f"\n{log_path.read_text()[-2000:]}"

    # Nothing of a refused request stored: once the spool is drained, no series of the device's
    # machine exists unless an upload was acknowledged, and a refused id is still free.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if requests.get(f"{base_url}/readyz", timeout=10).json()["checks"]["spool"]["undrained_bytes"] == 0:
            break
        time.sleep(0.2)
    if not acknowledged:
        series = influx.query(f"SHOW SERIES WHERE machine = '{FAULTY_GENSET}'")
        assert not series, series
    now = time.time_ns()
    for upload_id in sorted(i for i in refused_ids if i and len(i) <= 64)[:20]:
        valid = {"upload_id": upload_id, "machine": FAULTY_GENSET, "times": [now - 10**9],
                 "fields": {"engine_speed_rpm": [1500.0]}}
        answer = device.post(f"{base_url}/api/v1/ingest/operating", data=json.dumps(valid),
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        if answer.status_code == 422 and answer.json()["field"] == "upload_id":
            continue  # an id the rules refuse in any upload
        assert answer.status_code == 202 and answer.json()["status"] == "accepted", (upload_id, answer.text)

