"""Helpers for the fleet's integration tests: bursts written to the real InfluxDB the way the
telemetry writer stores them, an event log for the notifier, and a throwaway PostgreSQL database."""
from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest

from diagnostics.synthesis import synthesize_burst
from fleet import demo_fleet
from telemetry import schema
from telemetry.store import BurstMeta, burst_meta_line

FS = 25600.0
T0 = (int(time.time()) // 60 * 60 - 3600) * 1_000_000_000  # an hour ago: inside the raw retention


class EventLog:
    """Keeps what was published, so the test can check events and their audience."""

    def __init__(self):
        self.events: list[tuple[str, dict, list[int]]] = []

    def publish(self, event, payload, tenant_ids):
        self.events.append((event, payload, list(tenant_ids)))

    def named(self, name):
        return [e for e in self.events if e[0] == name]


class Clock:
    """An injectable clock the test moves forward: ``clock()`` is aware UTC now."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **delta):
        from datetime import timedelta

        self.now += timedelta(**delta)
        return self.now


def kinematics_of(machine_uid: str, component: str) -> dict:
    kind = next(m.kind for m in demo_fleet.MACHINES if m.uid == machine_uid)
    return next(c.kinematics for c in demo_fleet.COMPONENTS_BY_KIND[kind] if c.name == component)


def write_burst(influx, machine: str, component: str, rpm: float, start_ns: int, fault=None, location=None,
                severity=0.0, seed_=0) -> BurstMeta:
    samples = synthesize_burst(kinematics_of(machine, component), rpm, fs=FS, fault=fault, severity=severity,
                               seed=seed_, fault_location=location)
    sensor = f"{component}.acc"
    meta = BurstMeta(burst_id=schema.burst_id_for(machine, sensor, "radial", start_ns), machine=machine,
                     component=component, sensor=sensor, axis="radial", sample_rate_hz=FS, start_ns=start_ns,
                     n_samples=len(samples), units="m/s2", shaft_rpm=rpm, upload_id=f"u-{start_ns}")
    influx.write("".join(schema.encode_vibration_lines(meta.tags(), samples, start_ns, FS)), rp=schema.RP_RAW)
    influx.write(burst_meta_line(meta), rp=schema.RP_LIFE)
    return meta


PG_URL = os.environ.get("IRONWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def throwaway_pg_database() -> Iterator[str]:
    """Create a fresh database on the server of ``PG_URL``, yield its URL, drop it afterwards."""
    psycopg = pytest.importorskip("psycopg")
    from sqlalchemy.engine import make_url

    base = make_url(PG_URL)
    admin_dsn = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"ironwatch_fleet_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def add_customer_site(session, customer: str, site: str, lat: float, lon: float):
    """An OEM, one customer of it and one site of that customer: ``(oem, customer, site)`` rows."""
    from fleet.models import Site, Tenant

    oem = Tenant(name="OEM", kind="oem")
    session.add(oem)
    session.flush()
    owner = Tenant(name=customer, kind="customer", parent_id=oem.id)
    session.add(owner)
    session.flush()
    place = Site(tenant_id=owner.id, name=site, lat=lat, lon=lon)
    session.add(place)
    session.flush()
    return oem, owner, place
