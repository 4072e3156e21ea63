"""The SQL schema and the demo fleet, on SQLite and on a throwaway PostgreSQL database."""
from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from diagnostics.kinematics import ComponentKinematics
from fleet import db, passwords, seed
from fleet.devices import token_is_valid_in
from fleet.models import Base, Component, DeviceCredential, Machine, Sensor, Technician, Tenant, User
from fleet_helpers import throwaway_pg_database

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_url():
    with throwaway_pg_database() as url:
        yield url


def _schema_diff(url: str) -> list:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _counts(factory) -> dict[str, int]:
    with factory() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model))
                for model in (Tenant, Machine, Component, Sensor, User, Technician, DeviceCredential)}


def _check_seed_round_trip(url: str, var) -> None:
    db.upgrade(url)
    assert _schema_diff(url) == [], "migration head differs from the models"
    engine = db.make_engine(url)
    factory = db.session_factory(engine)
    try:
        first = seed.seed(factory, var)
        counts = _counts(factory)
        tokens = {m["uid"]: m["token"] for m in json.loads((var / "provisioning.json").read_text())["machines"]}
        second = seed.seed(factory, var)
        assert _counts(factory) == counts, "re-seeding must not add rows"
        assert second.tokens_kept == first.machines and second.tokens_issued == 0
        again = {m["uid"]: m["token"] for m in json.loads((var / "provisioning.json").read_text())["machines"]}
        assert again == tokens
        with factory() as session:
            for machine in session.scalars(select(Machine)):
                assert token_is_valid_in(session, machine, tokens[machine.uid])
    finally:
        engine.dispose()
    db.downgrade(url)
    db.upgrade(url)


def test_migration_and_seed_on_sqlite(tmp_path):
    _check_seed_round_trip(f"sqlite:///{tmp_path / 'fleet.db'}", tmp_path)


def test_migration_and_seed_on_postgresql(pg_url, tmp_path):
    _check_seed_round_trip(pg_url, tmp_path)


def test_demo_fleet_contents(session_factory, tmp_path):
    report = seed.seed(session_factory, tmp_path, password="pw-for-test")
    assert report.machines >= 20
    with session_factory() as session:
        tenants = session.scalars(select(Tenant)).all()
        oems = [t for t in tenants if t.kind == "oem"]
        customers = [t for t in tenants if t.kind == "customer"]
        assert len(oems) == 1 and len(customers) == 3
        dealers = {t.id: t for t in tenants if t.kind == "dealer"}
        assert dealers and all(d.parent_id == oems[0].id for d in dealers.values())
        assert all(c.parent_id == oems[0].id or dealers[c.parent_id].parent_id == oems[0].id for c in customers)
        assert sorted(c.name for c in customers if c.parent_id in dealers) == ["Granite Ridge Quarries",
                                                                              "Meridian Civil Engineering"]
        machines = session.scalars(select(Machine)).all()
        kinds = {m.kind for m in machines}
        assert kinds == {"excavator", "genset"}
        expected = {"excavator": {"engine", "hydraulic_pump", "swing_gearbox", "travel_motor"},
                    "genset": {"engine", "alternator_de", "alternator_nde"}}
        for machine in machines:
            assert machine.tenant.kind == "customer"
            assert {c.name for c in machine.components} == expected[machine.kind]
            assert {s.name for s in machine.sensors} == {f"{c}.acc" for c in expected[machine.kind]}
            for component in machine.components:
                ComponentKinematics.from_dict(component.kinematics)  # raises on a bad dict
        roles = {u.role for u in session.scalars(select(User))}
        assert roles == {"admin", "engineer", "technician", "customer"}
        customer_user = session.scalar(select(User).where(User.role == "customer"))
        assert customer_user.tenant.kind == "customer"
        assert passwords.verify(customer_user.password_hash, "pw-for-test").ok
        assert customer_user.password_hash.startswith("$argon2id$")
        assert "pw-for-test" not in customer_user.password_hash
        assert all(t.skills and t.home_lat for t in session.scalars(select(Technician)))

    provisioning = json.loads((tmp_path / "provisioning.json").read_text())
    assert (tmp_path / "provisioning.json").stat().st_mode & 0o077 == 0, "secrets file must be private"
    faults = [(m["uid"], m["kind"], f["component"], f["fault"]) for m in provisioning["machines"] for f in m["faults"]]
    assert len({f[0] for f in faults}) >= 3
    assert any(kind == "genset" and comp == "alternator_de" and fault == "bearing_outer_race"
               for _, kind, comp, fault in faults)
    assert any(fault.startswith("gear_") for *_, fault in faults)
    assert any(fault == "bearing_inner_race" for *_, fault in faults)
    for machine in provisioning["machines"]:
        assert "base_url" not in machine and machine["token"].count(".") == 1
        sensor_names = {s["name"] for s in machine["sensors"]}
        assert all(f["sensor"] in sensor_names for f in machine["faults"])
        for fault in machine["faults"]:
            kin = next(s["kinematics"] for s in machine["sensors"] if s["name"] == fault["sensor"])
            names = [b["name"] for b in kin.get("bearings", [])] + [g["name"] for g in kin.get("gears", [])]
            assert fault["location"] in names


def test_reset_empties_and_reseeds(session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    old_tokens = json.loads((tmp_path / "provisioning.json").read_text())
    seed.reset(session_factory)
    assert _counts(session_factory)["Machine"] == 0
    report = seed.seed(session_factory, tmp_path)
    # The old tokens' credentials are gone with the reset, so every machine gets a new one.
    assert report.tokens_issued == report.machines
    new_tokens = json.loads((tmp_path / "provisioning.json").read_text())
    assert {m["token"] for m in new_tokens["machines"]}.isdisjoint({m["token"] for m in old_tokens["machines"]})


def test_print_logins_reads_the_database(sql_url, tmp_path, capsys):
    assert seed.print_logins(sql_url, "pw") == 1  # migrated but not seeded
    assert "no demo users" in capsys.readouterr().err
    assert seed.main(["--database-url", sql_url, "--var", str(tmp_path), "--password", "pw"]) == 0
    capsys.readouterr()
    assert seed.main(["--database-url", sql_url, "--print-logins", "--password", "pw"]) == 0
    out = capsys.readouterr().out
    for email in ("admin@ironwatch.example", "engineer@ironwatch.example", "technician@ironwatch.example",
                  "customer@graniteridge.example"):
        assert email in out
    assert seed.print_logins(f"sqlite:///{tmp_path / 'empty.db'}", "pw") == 1
