"""Shared helpers of the app's integration and browser tests (real InfluxDB, real SQL database)."""
from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from pathlib import Path

import numpy as np

DEMO_PASSWORD = "ironwatch-demo"
ENGINEER = "engineer@ironwatch.example"
CUSTOMER = "customer@graniteridge.example"  # Granite Ridge Quarries: does not own GS-2001
FAULTY_GENSET = "GS-2001"  # Northbridge's genset, seeded with an outer-race defect on alternator_de


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed_demo_fleet(sql_url: str, var: Path) -> dict:
    """Seed the demo fleet into ``sql_url`` and return the provisioning document it wrote.

    An empty SQLite database becomes a copy of a fleet seeded moments before in this process
    (``database_templates``: seeding is tested in test_fleet_seed.py); any other is seeded."""
    # Imported here, not at the top: scripts that put only tests/integration on sys.path import
    # this module too (test_telemetry_writer's subprocess, for free_port).
    from database_templates import seeded_database, sqlite_path
    from fleet.seed import PROVISIONING_FILE, seed_url

    var, path = Path(var), sqlite_path(sql_url)
    if path is not None and seeded_database(path, var, DEMO_PASSWORD):
        return json.loads((var / PROVISIONING_FILE).read_text())
    return seed_url(sql_url, var, DEMO_PASSWORD)


def login(client, email: str, password: str = DEMO_PASSWORD):
    """Sign a Flask test client in through the login form (with the session's CSRF token); the
    form's response (302 when it worked)."""
    client.get("/login")
    with client.session_transaction() as session:
        token = session["_csrf"]
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def login_for_forms(client, email: str, password: str = DEMO_PASSWORD) -> str:
    """Sign a Flask test client in (the sign-in must work) and return the signed-in session's
    form token: signing in starts a new session with a new token, which any page renders."""
    assert login(client, email, password).status_code == 302
    client.get("/profile")
    with client.session_transaction() as session:
        return session["_csrf"]


def app_config(influx, sql_url: str, var: Path, start_background: bool = False) -> dict:
    """Settings for ``create_app`` pointing at the test's own InfluxDB database and SQL file."""
    return {"IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database,
            "IRONWATCH_DATABASE_URL": sql_url, "IRONWATCH_VAR": str(var),
            "START_BACKGROUND": start_background,
            "TESTING": True, "SECRET_KEY": "test-" + uuid.uuid4().hex}


def machine_entry(provisioning: dict, uid: str) -> dict:
    return next(m for m in provisioning["machines"] if m["uid"] == uid)


def outer_race_burst(provisioning: dict, uid: str = FAULTY_GENSET, component: str = "alternator_de",
                     severity: float = 0.9, seed: int = 7, rpm: float | None = None,
                     start_ns: int | None = None) -> tuple[str, dict]:
    """A burst JSON body (docs/contracts.md) with the seeded fault of ``uid``'s ``component`` (an
    outer-race defect on the default genset) synthesised from its kinematics, at ``rpm`` (default
    the machine's nominal speed), captured at ``start_ns`` (default 5 s ago); and the machine's
    device token."""
    from diagnostics.synthesis import synthesize_burst

    machine = machine_entry(provisioning, uid)
    sensor = next(s for s in machine["sensors"] if s["component"] == component)
    fault = next(f for f in machine["faults"] if f["component"] == component)
    rpm = float(rpm or machine["nominal_shaft_rpm"])
    samples = synthesize_burst(sensor["kinematics"], rpm, fs=float(sensor["sample_rate_hz"]), duration_s=1.0,
                               fault=fault["fault"], fault_location=fault["location"], severity=severity,
                               seed=seed)
    body = {"upload_id": str(uuid.uuid4()), "machine": uid, "sensor": sensor["name"], "axis": sensor["axis"],
            "sample_rate_hz": float(sensor["sample_rate_hz"]),
            "start": start_ns if start_ns is not None else time.time_ns() - 5 * 10**9,
            "units": "m/s2", "shaft_rpm": rpm, "encoding": "float32le",
            "samples": base64.b64encode(np.asarray(samples, dtype="<f4").tobytes()).decode("ascii")}
    return machine["token"], body


def replanned_week(runtime, start, timeout_s: float = 60.0):
    """The week's stored proposal once the re-plan a lock (or a first board load) started in the background has stored it
    (no lock newer than it: ``dispatch_service.pending_locks``); fails after ``timeout_s``."""
    from sqlalchemy import select

    from fleet import dispatch_service
    from fleet.models import DispatchProposal

    deadline = time.monotonic() + timeout_s
    while True:
        with runtime.sessions() as session:
            proposal = session.scalar(select(DispatchProposal).where(DispatchProposal.start_day == start))
            if (proposal is not None and not (proposal.plan or {}).get("planning")  # a first plan's claim
                    and not dispatch_service.pending_locks(session, proposal)):
                session.expunge(proposal)
                return proposal
        assert time.monotonic() < deadline, f"the week of {start} was not re-planned within {timeout_s:.0f} s"
        time.sleep(0.05)


class HeldBackground:
    """A stand-in for ``runtime.background`` (a ``concurrent.futures.Executor``) that keeps each
    submitted call until :meth:`release`, so a test can look at the "being planned" state before the
    background work can finish it (a small week's plan takes milliseconds: without this, a second
    request can find the plan already stored)."""

    def __init__(self, executor):
        self._executor = executor
        self._held: list = []

    def submit(self, fn, *args, **kwargs):
        self._held.append((fn, args, kwargs))

    def release(self) -> int:
        """Hand the held calls to the real executor; returns how many there were."""
        held, self._held = self._held, []
        for fn, args, kwargs in held:
            self._executor.submit(fn, *args, **kwargs)
        return len(held)

    def shutdown(self, *args, **kwargs):
        self._executor.shutdown(*args, **kwargs)
