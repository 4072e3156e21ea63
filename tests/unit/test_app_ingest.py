"""The device ingest endpoints map the service's answers to HTTP: 202/200, error JSON, Retry-After;
other paths go on to the app behind them."""
import gzip
import io
import json
import time
import pytest
from flask import Flask

from app.ingest import DeviceIngestApp
from telemetry.devices import DeviceIdentity, StaticDeviceDirectory
from telemetry.ingest import IngestService, Limits
from telemetry.spool import Spool


@pytest.fixture
def client(tmp_path):
    devices = StaticDeviceDirectory()
    token = devices.add(DeviceIdentity("gw", "GS-1", {}))
    spool = Spool(tmp_path, max_bytes=4000, retry_after_s=12)
    web = Flask(__name__)
    web.get("/behind")(lambda: {"served_by": "flask"})
    web.wsgi_app = DeviceIngestApp(web.wsgi_app, IngestService(spool, devices, Limits(max_request_bytes=100_000)))
    yield web.test_client(), {"Authorization": f"Bearer {token}"}
    spool.close()


def body(upload_id, n=1):
    return {"upload_id": upload_id, "machine": "GS-1",
            "samples": [{"time": time.time_ns() - i * 10**9, "fields": {"power_kw": 100.0}} for i in range(n)]}


def test_accepted_duplicate_and_errors(client):
    http, auth = client
    first = http.post("/api/v1/ingest/operating", json=body("a"), headers=auth)
    assert first.status_code == 202 and first.json == {"status": "accepted", "upload_id": "a", "points": 1}
    again = http.post("/api/v1/ingest/operating", data=gzip.compress(json.dumps(body("a")).encode()),
                      headers={**auth, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert again.status_code == 200 and again.json["status"] == "duplicate"

    anonymous = http.post("/api/v1/ingest/operating", json=body("b"))
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.json["field"] == "Authorization"
    wrong_type = http.post("/api/v1/ingest/faults", data=b"x", headers={**auth, "Content-Type": "text/csv"})
    assert wrong_type.status_code == 415 and wrong_type.json["rule"] == "application_json"
    too_big = http.post("/api/v1/ingest/bursts", data=b"\0" * 100_001,
                        headers={**auth, "Content-Type": "application/octet-stream"})
    assert too_big.status_code == 413 and too_big.json["rule"] == "max_request_bytes"


def test_spool_full_answers_503_with_retry_after(client):
    http, auth = client
    codes = [http.post("/api/v1/ingest/operating", json=body(f"u{i}", 20), headers=auth).status_code for i in range(10)]
    assert 202 in codes and codes[-1] == 503
    full = http.post("/api/v1/ingest/operating", json=body("late", 20), headers=auth)
    assert full.status_code == 503 and full.headers["Retry-After"] == "12"
    assert full.json["error"] == "spool_full" and "retry" in full.json["message"]


def test_only_post_to_the_three_kinds_is_served_and_every_other_path_goes_on(client):
    http, auth = client
    assert http.get("/behind").json == {"served_by": "flask"}
    unknown = http.post("/api/v1/ingest/telemetry", json=body("c"), headers=auth)
    assert unknown.status_code == 404 and unknown.json["error"] == "not_found"
    wrong_method = http.get("/api/v1/ingest/operating", headers=auth)
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"
    assert wrong_method.json["error"] == "method_not_allowed"


def test_a_chunked_body_over_the_limit_is_refused_and_one_within_is_accepted(client):
    http, auth = client
    headers = {**auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}  # no Content-Length
    small = http.post("/api/v1/ingest/operating", input_stream=io.BytesIO(json.dumps(body("d")).encode()), headers=headers)
    assert small.status_code == 202
    big = http.post("/api/v1/ingest/operating", input_stream=io.BytesIO(b" " * 120_000), headers=headers)
    assert big.status_code == 413 and big.json["rule"] == "max_request_bytes"


def test_burst_metadata_is_read_from_the_query_string(client):
    http, auth = client
    refused = http.post("/api/v1/ingest/bursts?machine=GS-1&sensor=nope&upload_id=e", data=b"\0" * 4096,
                        headers={**auth, "Content-Type": "application/octet-stream"})
    assert refused.status_code == 404 and (refused.json["field"], refused.json["rule"]) == ("sensor", "known_sensor")


def test_a_bug_behind_the_endpoint_answers_500_json_and_is_logged(caplog):
    class Broken:
        limits = Limits()

        def accept_faults(self, *args):
            raise RuntimeError("boom")

    web = Flask(__name__)
    web.wsgi_app = DeviceIngestApp(web.wsgi_app, Broken())
    answer = web.test_client().post("/api/v1/ingest/faults", json={}, headers={"Authorization": "Bearer x.y"})
    assert answer.status_code == 500 and answer.json["error"] == "internal_server_error"
    assert "device upload to /api/v1/ingest/faults failed" in caplog.text and "boom" in caplog.text
