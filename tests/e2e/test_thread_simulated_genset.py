"""The whole thread, as in production: a simulated genset with a developing outer-race defect on its
alternator drive-end bearing uploads through the real ingest API (the simulator is a separate
process, a real HTTP client); the burst lands in InfluxDB; the app's own background worker diagnoses
it; a work order is opened in SQL; an engineer's Socket.IO client, connected over the network with
a login session, receives the events.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import DEMO_PASSWORD, ENGINEER, FAULTY_GENSET, machine_entry  # noqa: E402

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def engineer_session(base_url: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base_url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = session.post(f"{base_url}/login", timeout=10, allow_redirects=False,
                            data={"email": ENGINEER, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code in (302, 303), response.text
    return session


def test_simulated_genset_outer_race_becomes_a_work_order_seen_live(served_app, influx, session_factory, tmp_path):
    from fleet.models import Machine, WorkOrder
    from telemetry.schema import M_VIBRATION, RP_RAW

    base_url, provisioning = served_app
    genset = machine_entry(provisioning, FAULTY_GENSET)
    fault = next(f for f in genset["faults"] if f["component"] == "alternator_de")
    assert fault["fault"] == "bearing_outer_race"
    sensor = next(s for s in genset["sensors"] if s["component"] == "alternator_de")
    only_genset = tmp_path / "provisioning-genset.json"
    only_genset.write_text(json.dumps({**provisioning, "machines": [genset]}))

    # The engineer's live channel, opened before anything is uploaded so no event can be missed.
    received: list[tuple[str, dict]] = []
    diagnosed = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("*")
    def on_any(event, payload):
        received.append((event, payload))
        if (event == "diagnosis" and payload.get("machine") == FAULTY_GENSET
                and payload.get("component") == "alternator_de" and payload.get("findings")):
            diagnosed.set()

    cookies = engineer_session(base_url).cookies.get_dict()
    client.connect(base_url, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
                   transports=["websocket"], wait_timeout=20)
    simulator = None
    try:
        # Ten simulated minutes of this genset at 120x: its first bursts go out at once.
        simulator = subprocess.run(
            [sys.executable, "-m", "telemetry.simulator", "--url", base_url, "--provisioning", str(only_genset),
             "--speedup", "120", "--history", "10m", "--duration", "10m", "--no-gaps", "--memory-buffer",
             "--progress-every", "5", "--seed", "3"],
            cwd=REPO, capture_output=True, text=True, timeout=240)
        assert simulator.returncode == 0, simulator.stdout + simulator.stderr
        assert diagnosed.wait(timeout=120), f"no diagnosis event; received {[e for e, _ in received]}"
    finally:
        client.disconnect()

    # The burst is in InfluxDB, every sample of it, readable with plain InfluxQL.
    series = influx.query(f'SELECT count("a") FROM "{RP_RAW}"."{M_VIBRATION}" '
                          f"WHERE machine = '{FAULTY_GENSET}' AND sensor = '{sensor['name']}'")
    samples_stored = series[0]["values"][0][1] if series else 0
    assert samples_stored >= int(sensor["sample_rate_hz"]), series

    # The diagnosis names the outer race of the drive-end bearing of the alternator.
    diagnosis = next(p for e, p in received
                     if e == "diagnosis" and p.get("component") == "alternator_de" and p.get("findings"))
    top = diagnosis["findings"][0]
    assert (top["fault_mode"], top["location"]) == ("bearing_outer_race", fault["location"])
    assert any(ev["label"].startswith("BPFO") for ev in top["evidence"])

    # A work order exists for it in the SQL store, and the engineer was told live.
    with session_factory() as session:
        machine = session.query(Machine).filter_by(uid=FAULTY_GENSET).one()
        orders = session.query(WorkOrder).filter_by(machine_id=machine.id, fault_mode="bearing_outer_race").all()
    assert len(orders) == 1 and orders[0].status in ("open", "assigned")
    events = {e for e, p in received if p.get("machine") == FAULTY_GENSET}
    assert {"diagnosis", "work_order", "machine_status"} <= events
