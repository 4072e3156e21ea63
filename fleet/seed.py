"""Seed the demo fleet and write the gateway provisioning file.

``python -m fleet.seed [--reset] [--database-url URL] [--var DIR] [--password PW]``

Idempotent: running it again changes nothing that is already there (machines, users, sensors are
matched by their natural keys) and keeps the device tokens already in ``var/provisioning.json`` as
long as they still authenticate; a machine without a working token gets a fresh credential.
``--reset`` first deletes every fleet row (trained RUL models are kept: they are costly to make).
"""
from __future__ import annotations

import argparse
import json
import functools
import os
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from telemetry.files import replace_atomically

from . import db, demo_fleet, passwords
from .devices import add_broker_hash_in, issue_credential_in, token_is_valid_in
from .models import (Base, Component, DeviceCredential, EscalationPolicy, EscalationStep, Machine, MachinePmState,
                     OnCallShift, Part, PmPlan, RulModel, Sensor, Site, Technician, TechnicianWorkweek, Tenant, User,
                     utcnow)
from .preventive import PlanRule, initial_counter

DEFAULT_PASSWORD = "ironwatch-demo"
PROVISIONING_FILE = "provisioning.json"
PROVISIONING_VERSION = 1


@dataclass
class SeedReport:
    """What a seeding run did, for the CLI's summary and for tests."""

    created: dict[str, int] = field(default_factory=dict)
    machines: int = 0
    tokens_issued: int = 0
    tokens_kept: int = 0
    provisioning_path: str = ""
    logins: list[dict[str, str]] = field(default_factory=list)

    def count(self, what: str) -> None:
        self.created[what] = self.created.get(what, 0) + 1


def _get_or_create(session: Session, report: SeedReport, model, lookup: dict[str, Any], **values):
    """The row matching ``lookup`` (updated with ``values``), or a new one."""
    row = session.scalar(select(model).filter_by(**lookup))
    if row is None:
        row = model(**lookup, **values)
        session.add(row)
        session.flush()
        report.count(model.__name__)
    else:
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
    return row


@functools.lru_cache(maxsize=4)
def _demo_password_hash(password: str) -> str:
    # The demo users share one (printed) password, so one Argon2id hash serves them all: seeding
    # costs one deliberately slow hash instead of one per user.
    return passwords.hash_password(password)


def _ensure_user(session: Session, report: SeedReport, email: str, name: str, role: str,
                 tenant: Tenant, password: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, password_hash=_demo_password_hash(password))
        session.add(user)
        report.count("User")
    elif user.password_hash != _demo_password_hash(password):
        # Hashing is deliberately slow: only re-hash when the demo password changed (or the
        # stored hash is of an older scheme, which verify() answers with a fresh Argon2id one).
        checked = passwords.verify(user.password_hash, password)
        if not checked.ok or checked.new_hash:
            user.password_hash = _demo_password_hash(password)
    user.name, user.role, user.tenant_id, user.active = name, role, tenant.id, True
    session.flush()
    return user


def _seed_organisations(session: Session, report: SeedReport, password: str) -> dict[str, Tenant]:
    oem = _get_or_create(session, report, Tenant, {"name": demo_fleet.OEM_NAME}, kind="oem", parent_id=None)
    tenants = {oem.name: oem}
    dealer_of = {}
    for dealer_name, customer_names in demo_fleet.DEALERS.items():
        tenants[dealer_name] = _get_or_create(session, report, Tenant, {"name": dealer_name}, kind="dealer",
                                              parent_id=oem.id)
        dealer_of.update({name: tenants[dealer_name] for name in customer_names})
    for customer in demo_fleet.CUSTOMERS:
        tenant = _get_or_create(session, report, Tenant, {"name": customer.name}, kind="customer",
                                parent_id=dealer_of.get(customer.name, oem).id)
        tenants[tenant.name] = tenant
        for spec in customer.sites:
            _get_or_create(session, report, Site, {"tenant_id": tenant.id, "name": spec.name},
                           address=spec.address, lat=spec.lat, lon=spec.lon, timezone="Europe/London",
                           contact_name=spec.contact_name, contact_phone=spec.contact_phone)
    for spec in demo_fleet.DEMO_USERS:
        user = _ensure_user(session, report, spec.email, spec.name, spec.role, tenants[spec.tenant], password)
        report.logins.append({"email": user.email, "role": user.role, "tenant": spec.tenant})
    for spec in demo_fleet.TECHNICIANS:
        user = _ensure_user(session, report, spec.email, spec.name, "technician", oem, password)
        _get_or_create(session, report, Technician, {"name": spec.name}, tenant_id=oem.id, user_id=user.id,
                       skills=list(spec.skills), home_base=spec.home_base, home_lat=spec.home_lat,
                       home_lon=spec.home_lon, phone=spec.phone, active=True)
        if spec is demo_fleet.TECHNICIANS[0]:
            report.logins.append({"email": user.email, "role": "technician", "tenant": oem.name})
    return tenants


def _seed_machine(session: Session, report: SeedReport, spec: demo_fleet.MachineSpec,
                  tenants: dict[str, Tenant]) -> Machine:
    customer_name, site_spec = demo_fleet.site_index()[spec.site]
    tenant = tenants[customer_name]
    site = session.scalar(select(Site).where(Site.tenant_id == tenant.id, Site.name == site_spec.name))
    machine = session.scalar(select(Machine).where(Machine.uid == spec.uid))
    if machine is None:
        machine = Machine(uid=spec.uid, hours=spec.hours, lat=site_spec.lat, lon=site_spec.lon, status="unknown")
        session.add(machine)
        report.count("Machine")
    # Identity fields follow the catalogue; operating state (hours, position, status) is left
    # alone on re-seed because telemetry owns it once the machine reports.
    machine.tenant_id, machine.site_id, machine.kind = tenant.id, site.id, spec.kind
    machine.model, machine.serial, machine.year = spec.model, f"{spec.model}-{spec.uid}-{spec.year}", spec.year
    machine.nominal_shaft_rpm, machine.rated_power_kw = spec.nominal_shaft_rpm, spec.rated_power_kw
    session.flush()
    for template in demo_fleet.COMPONENTS_BY_KIND[spec.kind]:
        component = _get_or_create(session, report, Component, {"machine_id": machine.id, "name": template.name},
                                   kind=template.kind, description=template.description,
                                   kinematics=demo_fleet.component_kinematics(template))
        _get_or_create(session, report, Sensor, {"machine_id": machine.id, "name": demo_fleet.sensor_name(template.name)},
                       component_id=component.id, kind="accelerometer", axis=template.axis,
                       sample_rate_hz=25600.0, units="m/s2", position=template.sensor_position)
    return machine


def _seed_planning(session: Session, report: SeedReport) -> None:
    """Parts, PM plans and their counters, technicians' working weeks. Counters and hours are
    created once and then left alone: completed services and engineers' edits own them."""
    now = utcnow()
    for model, parts in demo_fleet.PARTS_BY_MODEL.items():
        for part in parts:
            _get_or_create(session, report, Part, {"machine_model": model, "part_number": part.part_number},
                           description=part.description)
    plans: dict[str, list[PmPlan]] = {}
    for model, specs in demo_fleet.PM_PLANS_BY_MODEL.items():
        for spec in specs:
            plans.setdefault(model, []).append(_get_or_create(
                session, report, PmPlan, {"machine_model": model, "code": spec.code}, name=spec.name, kind=spec.kind,
                interval_h=spec.interval_h, interval_days=spec.interval_days, lead_days=spec.lead_days,
                duration_h=spec.duration_h, skills=list(spec.skills), tasks=list(spec.tasks),
                kit=[{"part_number": n, "quantity": q} for n, q in spec.kit]))
    for machine in session.scalars(select(Machine)):
        for plan in plans.get(machine.model, []):
            if session.scalar(select(MachinePmState.id).where(MachinePmState.machine_id == machine.id,
                                                              MachinePmState.plan_id == plan.id)) is not None:
                continue
            history = demo_fleet.PM_HISTORY.get((machine.uid, plan.code))
            if plan.kind == "calendar":
                age = history if history is not None else demo_fleet.DEFAULT_CALENDAR_AGE_DAYS
                hours, done_at = machine.hours, now - timedelta(days=age)
            elif history is not None:
                hours, done_at = history, None
            else:
                rule = PlanRule(plan.id, plan.code, plan.name, plan.kind, plan.interval_h, plan.interval_days)
                hours, done_at = initial_counter(rule, machine.hours, now).last_done_hours, None
            session.add(MachinePmState(machine_id=machine.id, plan_id=plan.id, last_done_hours=hours,
                                       last_done_at=done_at))
            report.count("MachinePmState")
    for technician in session.scalars(select(Technician)):
        if session.get(TechnicianWorkweek, technician.id) is None:
            start, end, weekdays = demo_fleet.TECHNICIAN_HOURS.get(technician.name, (8 * 60, 17 * 60, (1, 2, 3, 4, 5)))
            session.add(TechnicianWorkweek(technician_id=technician.id, start_minute=start, end_minute=end,
                                           weekdays=list(weekdays)))
            report.count("TechnicianWorkweek")
    session.flush()


def _load_provisioning(path: Path) -> dict[str, str]:
    """``machine uid → token`` from an earlier provisioning file (empty if none or unreadable)."""
    try:
        data = json.loads(path.read_text())
        return {m["uid"]: m["token"] for m in data.get("machines", []) if m.get("uid") and m.get("token")}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def _ensure_token(session: Session, report: SeedReport, machine: Machine, previous: str | None) -> str:
    if previous and token_is_valid_in(session, machine, previous):
        report.tokens_kept += 1
        add_broker_hash_in(session, previous)  # a credential from before broker hashes existed
        return previous
    # The old token is lost (only its hash is stored): retire it and issue a new one.
    for credential in session.scalars(select(DeviceCredential).where(DeviceCredential.machine_id == machine.id,
                                                                      DeviceCredential.revoked_at.is_(None))):
        credential.revoked_at = utcnow()
    report.tokens_issued += 1
    return issue_credential_in(session, machine, label="demo gateway")


def standby_provisioning(machine: Machine) -> dict[str, Any]:
    """A standby set's duty and the exercise schedule its controller keeps (the one its reporting
    policy expects, in the site's time zone); nothing for any other machine."""
    reporting = machine.reporting or {}
    if not reporting.get("standby"):
        return {}
    entry: dict[str, Any] = {"duty": "standby",
                             "timezone": (machine.site.timezone if machine.site else None) or "UTC"}
    if reporting.get("exercise"):
        entry["exercise"] = dict(reporting["exercise"])
    return entry


def excavator_provisioning(machine: Machine, site_key: str | None) -> dict[str, Any]:
    """An excavator's working day (when its operators key it on, ``demo_fleet.SITE_SHIFTS``) in its
    site's time zone; nothing for any other machine or a site without a pattern."""
    shift = demo_fleet.SITE_SHIFTS.get(site_key or "")
    if machine.kind != "excavator" or shift is None:
        return {}
    return {"timezone": (machine.site.timezone if machine.site else None) or "UTC", "shift": dict(shift)}


def provisioning_entry(machine: Machine, token: str, faults: list[demo_fleet.FaultSpec],
                       site_key: str | None = None) -> dict[str, Any]:
    """What a gateway for ``machine`` is provisioned with (the ingest base URL is not part of it)."""
    components = {c.id: c for c in machine.components}
    return {
        "uid": machine.uid,
        "kind": machine.kind,
        "model": machine.model,
        "serial": machine.serial,
        "token": token,
        "nominal_shaft_rpm": machine.nominal_shaft_rpm,
        "rated_power_kw": machine.rated_power_kw,
        "hours": machine.hours,
        "lat": machine.lat,
        "lon": machine.lon,
        **standby_provisioning(machine),
        **excavator_provisioning(machine, site_key),
        "sensors": [
            {"name": s.name, "component": components[s.component_id].name, "axis": s.axis,
             "sample_rate_hz": s.sample_rate_hz, "units": s.units, "position": s.position,
             "kinematics": components[s.component_id].kinematics}
            for s in machine.sensors
        ],
        "faults": [
            {"component": f.component, "sensor": demo_fleet.sensor_name(f.component), "fault": f.fault,
             "location": f.location, "severity_start": f.severity_start, "severity_end": f.severity_end,
             "ramp_hours": f.ramp_hours}
            for f in faults
        ],
    }



def _seed_alarm_routing(session: Session, report: SeedReport, oem: Tenant) -> None:
    """The OEM's escalation chain (created once; later edits by an admin are kept) and a year of
    on-call shifts for each site from now (renewed when the current one has run out)."""
    if session.scalar(select(EscalationPolicy).where(EscalationPolicy.tenant_id == oem.id)) is None:
        policy = EscalationPolicy(tenant_id=oem.id, name="Service escalation",
                                  min_severity=demo_fleet.ESCALATION_MIN_SEVERITY)
        for position, step in enumerate(demo_fleet.ESCALATION_STEPS):
            user_id = (session.scalar(select(User.id).where(User.email == step.target_email))
                       if step.target_email else None)
            policy.steps.append(EscalationStep(position=position, after_minutes=step.after_minutes,
                                               target_kind=step.target_kind, target_role=step.target_role,
                                               target_user_id=user_id, channels=list(step.channels)))
        session.add(policy)
        report.count("EscalationPolicy")
    now = utcnow()
    for key, (customer_name, site_spec) in demo_fleet.site_index().items():
        site = session.scalar(select(Site).join(Tenant).where(Tenant.name == customer_name, Site.name == site_spec.name))
        current = session.scalar(select(OnCallShift.id).where(OnCallShift.site_id == site.id,
                                                              OnCallShift.starts_at <= now, OnCallShift.ends_at > now))
        if current is None:
            technician = session.scalar(select(Technician).where(Technician.name == demo_fleet.ON_CALL[key]))
            session.add(OnCallShift(site_id=site.id, technician_id=technician.id, starts_at=now - timedelta(days=1),
                                    ends_at=now + timedelta(days=365)))
            report.count("OnCallShift")
    session.flush()


def reset(session_factory: sessionmaker) -> None:
    """Delete every fleet row except the RUL model registry, children first."""
    with db.transaction(session_factory) as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == Tenant.__tablename__:
                # Self-referencing: customers before their dealer, dealers before the OEM.
                session.execute(delete(Tenant).where(Tenant.kind == "customer"))
                session.execute(delete(Tenant).where(Tenant.parent_id.is_not(None)))
            if table.name != RulModel.__tablename__:
                session.execute(delete(table))


def seed(session_factory: sessionmaker, var: Path, password: str = DEFAULT_PASSWORD) -> SeedReport:
    """Seed the demo fleet into the database and write ``<var>/provisioning.json``.

    Parameters
    ----------
    session_factory : sessionmaker
        A migrated database.
    var : Path
        Instance folder for the provisioning file.
    password : str
        The demo users' password (only its hash is stored).
    """
    report = SeedReport()
    path = Path(var) / PROVISIONING_FILE
    previous_tokens = _load_provisioning(path)
    faults_by_machine: dict[str, list] = {}
    for fault in demo_fleet.FAULTS:
        faults_by_machine.setdefault(fault.machine, []).append(fault)
    entries = []
    with db.transaction(session_factory) as session:
        tenants = _seed_organisations(session, report, password)
        for spec in demo_fleet.MACHINES:
            machine = _seed_machine(session, report, spec, tenants)
            session.flush()
            session.refresh(machine)
            token = _ensure_token(session, report, machine, previous_tokens.get(spec.uid))
            if machine.reporting in (None, demo_fleet.LEGACY_STANDBY_REPORTING) and demo_fleet.is_standby(spec):
                machine.reporting = dict(demo_fleet.STANDBY_REPORTING)
            elif machine.reporting is None and spec.kind == "excavator":   # its key-off heartbeat's window
                machine.reporting = dict(demo_fleet.EXCAVATOR_REPORTING)
            # after the reporting policy: a standby set's controller keeps the schedule it expects
            entries.append(provisioning_entry(machine, token, faults_by_machine.get(spec.uid, []), spec.site))
        report.machines = len(entries)
        _seed_alarm_routing(session, report, tenants[demo_fleet.OEM_NAME])
        _seed_planning(session, report)
    document = {"version": PROVISIONING_VERSION, "oem": demo_fleet.OEM_NAME, "machines": entries}
    # 0600: the file holds the devices' secrets
    replace_atomically(path, json.dumps(document, indent=2) + "\n", mode=0o600)
    report.provisioning_path = str(path)
    return report


def seed_url(url: str, var: Path, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    """Migrate the database at ``url``, seed it (:func:`seed`) and return the provisioning document."""
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        seed(db.session_factory(engine), var, password)
    finally:
        engine.dispose()
    return json.loads((Path(var) / PROVISIONING_FILE).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="delete all fleet rows first (keeps RUL models)")
    parser.add_argument("--database-url", default=None, help="default: IRONWATCH_DATABASE_URL or var/ironwatch.db")
    parser.add_argument("--var", default=None, help="instance folder for provisioning.json (default IRONWATCH_VAR)")
    parser.add_argument("--password", default=os.environ.get("IRONWATCH_DEMO_PASSWORD", DEFAULT_PASSWORD),
                        help="demo users' password (default: IRONWATCH_DEMO_PASSWORD or ironwatch-demo)")
    parser.add_argument("--print-logins", action="store_true",
                        help="only print the demo logins found in the database (seeds nothing)")
    args = parser.parse_args(argv)
    if args.print_logins:
        return print_logins(args.database_url or db.database_url(), args.password)

    url = args.database_url or db.database_url()
    var = Path(args.var) if args.var else db.var_dir()
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        factory = db.session_factory(engine)
        if args.reset:
            reset(factory)
            print("reset: fleet tables emptied (RUL models kept)")
        report = seed(factory, var, args.password)
    finally:
        engine.dispose()
    created = ", ".join(f"{n} {k}" for k, n in sorted(report.created.items())) or "nothing new"
    print(f"seeded {report.machines} machines into {url} ({created})")
    print(f"device tokens: {report.tokens_kept} kept, {report.tokens_issued} issued; "
          f"provisioning file {report.provisioning_path}")
    _print_login_table(report.logins, args.password)
    return 0


def _print_login_table(logins: list[dict[str, str]], password: str) -> None:
    print(f"demo logins (password {password!r}):")
    for login in logins:
        print(f"  {login['role']:<10} {login['email']:<34} {login['tenant']}")


def print_logins(url: str, password: str) -> int:
    """Print the demo users present in the database; 1 (with a hint) when none are."""
    emails = [u.email for u in demo_fleet.DEMO_USERS] + [demo_fleet.TECHNICIANS[0].email]
    engine = db.make_engine(url)
    try:
        with db.session_factory(engine)() as session:
            users = {u.email: u for u in session.scalars(select(User).where(User.email.in_(emails)))}
            logins = [{"email": e, "role": users[e].role, "tenant": users[e].tenant.name} for e in emails if e in users]
    except Exception as exc:  # no schema yet, unreachable server, ...
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"cannot read the demo logins from {url}: {first_line} (run `python -m fleet.seed`)", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if not logins:
        print(f"no demo users in {url}: run `python -m fleet.seed` first", file=sys.stderr)
        return 1
    _print_login_table(logins, password)
    return 0


if __name__ == "__main__":
    sys.exit(main())
