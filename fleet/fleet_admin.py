"""Fleet configuration for the admin pages: device credentials, zone limits per machine group and
the RUL model registry.

Each service changes rows through the existing domain pieces (:class:`fleet.devices.SqlDeviceDirectory`,
:class:`fleet.model_registry.ModelRegistry`) and records an :class:`~fleet.events.AdminChanged`
event that the audit subscriber writes down. Tokens are returned to the caller once and never
recorded (the audit log names the credential by its device id).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from diagnostics.iso20816 import zone_limits

from .db import transaction
from .devices import SqlDeviceDirectory, UnknownMachine
from .events import AdminChanged
from .models import Component, DeviceCredential, Machine, RulModel, Tenant, ZoneLimitSet, utcnow


class ConfigError(ValueError):
    """The change was refused; the message says why in words for the admin."""


def _audit(bus, actor: str, tenant_id: int | None, subject_type: str, subject_id: int, action: str,
           detail: dict) -> None:
    bus.handle([AdminChanged(tenant_ids=(tenant_id,) if tenant_id else (), subject_type=subject_type,
                             subject_id=subject_id, action=action, actor=actor, detail=detail)])


# --- device credentials -----------------------------------------------------------------------------------

class DeviceAdmin:
    """Issue, rotate and revoke the gateway tokens of machines (``directory`` does the SQL)."""

    def __init__(self, sessions: sessionmaker, directory: SqlDeviceDirectory, bus):
        self.sessions, self.directory, self.bus = sessions, directory, bus

    def machines(self, tenant_ids) -> list[dict]:
        """Every machine of ``tenant_ids`` with its active credentials (device id, label, since)."""
        with self.sessions() as db:
            machines = db.scalars(select(Machine).where(Machine.tenant_id.in_(list(tenant_ids)))
                                  .options(selectinload(Machine.credentials), selectinload(Machine.tenant))
                                  .order_by(Machine.uid)).all()
            return [{"uid": m.uid, "model": m.model, "customer": m.tenant.name, "tenant_id": m.tenant_id, "site_id": m.site_id,
                     "credentials": [{"device_id": c.device_id, "label": c.label, "created_at": c.created_at,
                                      "broker": c.mqtt_password_hash is not None}
                                     for c in sorted(m.credentials, key=lambda c: c.created_at)
                                     if c.revoked_at is None],
                     "revoked": sum(1 for c in m.credentials if c.revoked_at is not None)} for m in machines]

    def issue(self, actor: str, machine_uid: str, label: str = "gateway") -> str:
        """A new, additional credential for the machine; the token (shown once)."""
        label = self._label(label)
        token = self._call(self.directory.issue_credential, machine_uid, label)
        self._record(actor, machine_uid, "issued", {"device_id": token.split(".", 1)[0], "label": label})
        return token

    def rotate(self, actor: str, machine_uid: str, label: str = "gateway") -> str:
        """Revoke the machine's credentials and issue one new one; the token (shown once).

        The old token is refused at ingest at once in this process (the directory's cache is
        invalidated) and within its cache time elsewhere; the broker's password file, rewritten
        from the credential rows, drops the old account and gains the new one.
        """
        label = self._label(label)
        revoked = self._active_device_ids(machine_uid)
        token = self._call(self.directory.rotate, machine_uid, label)
        self._record(actor, machine_uid, "rotated", {"device_id": token.split(".", 1)[0], "revoked": revoked,
                                                     "label": label})
        return token

    def revoke(self, actor: str, machine_uid: str, device_id: str) -> None:
        """Revoke one credential of the machine (by device id)."""
        if device_id not in self._active_device_ids(machine_uid):
            raise ConfigError(f"{machine_uid} has no active credential {device_id!r}.")
        self.directory.revoke(device_id)
        self._record(actor, machine_uid, "revoked", {"device_id": device_id})

    def _call(self, method, machine_uid: str, label: str) -> str:
        try:
            return method(machine_uid, label)
        except UnknownMachine:
            raise ConfigError(f"There is no machine {machine_uid!r}.") from None

    @staticmethod
    def _label(label: str) -> str:
        label = (label or "gateway").strip()
        if len(label) > 60:
            raise ConfigError("The label may have at most 60 characters.")
        return label

    def _active_device_ids(self, machine_uid: str) -> list[str]:
        with self.sessions() as db:
            return list(db.scalars(select(DeviceCredential.device_id).join(Machine)
                                   .where(Machine.uid == machine_uid, DeviceCredential.revoked_at.is_(None))))

    def _record(self, actor: str, machine_uid: str, action: str, detail: dict) -> None:
        with self.sessions() as db:
            machine = db.scalar(select(Machine).where(Machine.uid == machine_uid))
            machine_id, tenant_id = machine.id, machine.tenant_id
        _audit(self.bus, actor, tenant_id, "device", machine_id, action, {"machine": machine_uid, **detail})


# --- zone limits per machine group -------------------------------------------------------------------------

def group_limits_in(session: Session, machine_uid: str, component_name: str) -> tuple[float, float, float] | None:
    """The zone limits set for the machine's group (its model) and this component, or None."""
    row = session.scalar(select(ZoneLimitSet).join(Machine, Machine.model == ZoneLimitSet.machine_model)
                         .where(Machine.uid == machine_uid, ZoneLimitSet.component_name == component_name))
    return row.limits if row is not None else None


@dataclass(frozen=True)
class ZoneGroup:
    """One machine group's component: how many machines, the limits in force and where they come from."""

    machine_model: str
    component_name: str
    machines: int
    limits_mm_s: tuple[float, float, float]
    source: str  # "group" (set here), "kinematics" (per component) or "ISO class <x>"
    updated_by: str = ""


class ZoneLimits:
    """ISO 20816 zone boundaries per machine group (machine model) and component."""

    def __init__(self, sessions: sessionmaker, bus):
        self.sessions, self.bus = sessions, bus

    def groups(self, tenant_ids) -> list[ZoneGroup]:
        """Every (model, component) among the machines of ``tenant_ids``, with the limits in force."""
        with self.sessions() as db:
            rows = db.execute(select(Machine.model, Component.name, func.count(Machine.id.distinct()),
                                     func.min(Component.id))
                              .join(Component, Component.machine_id == Machine.id)
                              .where(Machine.tenant_id.in_(list(tenant_ids)))
                              .group_by(Machine.model, Component.name).order_by(Machine.model, Component.name)).all()
            sets = {(s.machine_model, s.component_name): s for s in db.scalars(select(ZoneLimitSet))}
            groups = []
            for model, component, count, sample_id in rows:
                override = sets.get((model, component))
                if override is not None:
                    groups.append(ZoneGroup(model, component, count, override.limits, "group", override.updated_by))
                    continue
                kinematics = db.get(Component, sample_id).kinematics or {}
                own = kinematics.get("zone_limits_mm_s")
                limits = zone_limits(own, kinematics.get("iso_class"))
                source = "kinematics" if own else f"ISO class {kinematics.get('iso_class') or 'default'}"
                groups.append(ZoneGroup(model, component, count, tuple(float(v) for v in limits), source))
            return groups

    def set_limits(self, actor: str, machine_model: str, component_name: str, limits_mm_s) -> ZoneGroup:
        """Set the group's A/B, B/C, C/D boundaries (mm/s RMS); the next diagnosis uses them."""
        limits = self._checked(limits_mm_s)
        with transaction(self.sessions) as db:
            exists = db.scalar(select(func.count()).select_from(Machine).join(Component)
                               .where(Machine.model == machine_model, Component.name == component_name))
            if not exists:
                raise ConfigError(f"No machine of model {machine_model!r} has a component {component_name!r}.")
            row = db.scalar(select(ZoneLimitSet).where(ZoneLimitSet.machine_model == machine_model,
                                                       ZoneLimitSet.component_name == component_name))
            before = row.limits if row is not None else None
            if row is None:
                row = ZoneLimitSet(machine_model=machine_model, component_name=component_name)
                db.add(row)
            row.a_b_mm_s, row.b_c_mm_s, row.c_d_mm_s = limits
            row.updated_by, row.updated_at = actor, utcnow()
            db.flush()
            row_id, oem_id = row.id, db.scalar(select(Tenant.id).where(Tenant.kind == "oem").limit(1))
        _audit(self.bus, actor, oem_id, "zone_limits", row_id, "changed",
               {"machine_model": machine_model, "component": component_name, "limits_mm_s": list(limits),
                "before_mm_s": list(before) if before else None})
        return ZoneGroup(machine_model, component_name, exists, limits, "group", actor)

    @staticmethod
    def _checked(limits_mm_s) -> tuple[float, float, float]:
        try:
            values = tuple(float(v) for v in limits_mm_s)
        except (TypeError, ValueError):
            raise ConfigError("The boundaries must be numbers in mm/s.") from None
        if len(values) != 3:
            raise ConfigError("Give three boundaries: A/B, B/C and C/D.")
        if not all(math.isfinite(v) and 0 < v <= 1000 for v in values):
            raise ConfigError("Each boundary must be a number above 0 and at most 1000 mm/s.")
        if not values[0] < values[1] < values[2]:
            raise ConfigError("The boundaries must increase: A/B < B/C < C/D.")
        return values


# --- RUL model registry -----------------------------------------------------------------------------------

class ModelAdmin:
    """Promote and roll back RUL models through ``registry``, with an audit entry each time."""

    def __init__(self, sessions: sessionmaker, registry, bus):
        self.sessions, self.registry, self.bus = sessions, registry, bus

    def models(self):
        return self.registry.list()

    def promote(self, actor: str, component_kind: str, version: str):
        from .model_registry import RegistryError

        before = self.registry.active(component_kind)
        try:
            record = self.registry.promote(component_kind, version)
        except RegistryError as error:
            raise ConfigError(str(error)) from None
        self._record(actor, record, "promoted", before)
        return record

    def rollback(self, actor: str, component_kind: str):
        from .model_registry import RegistryError

        before = self.registry.active(component_kind)
        try:
            record = self.registry.rollback(component_kind)
        except RegistryError as error:
            raise ConfigError(str(error)) from None
        self._record(actor, record, "rolled_back", before)
        return record

    def _record(self, actor: str, record, action: str, before) -> None:
        with self.sessions() as db:
            row_id = db.scalar(select(RulModel.id).where(RulModel.component_kind == record.component_kind,
                                                         RulModel.version == record.version))
            oem_id = db.scalar(select(Tenant.id).where(Tenant.kind == "oem").limit(1))
        _audit(self.bus, actor, oem_id, "model", row_id, action,
               {"component_kind": record.component_kind, "version": record.version,
                "previous": before.version if before else None})
