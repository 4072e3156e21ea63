"""What: machines, their components (with kinematics), sensors and device credentials."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .org import Site, Tenant

MACHINE_KINDS = ("excavator", "genset")
#: Machine status, from the worst open work order; ``unknown`` until first diagnosed.
MACHINE_STATUSES = ("unknown", "ok", "watch", "warning", "alarm")


class Machine(Base):
    """One excavator or generator set, owned by a customer tenant and working at a site."""

    __tablename__ = "machine"
    __table_args__ = (CheckConstraint("kind IN ('excavator', 'genset')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)  # InfluxDB tag "machine", e.g. GS-2001
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(80))
    serial: Mapped[str] = mapped_column(String(80), unique=True)
    year: Mapped[int | None] = mapped_column(Integer)
    lat: Mapped[float | None] = mapped_column(Float)  # last known position, WGS-84 degrees
    lon: Mapped[float | None] = mapped_column(Float)
    hours: Mapped[float] = mapped_column(Float, default=0.0)  # hour meter, h
    nominal_shaft_rpm: Mapped[float] = mapped_column(Float)  # engine / alternator shaft, rpm
    rated_power_kw: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    iso_zone: Mapped[str | None] = mapped_column(String(1))  # worst latest ISO 20816 zone, A..D
    health_index: Mapped[float | None] = mapped_column(Float)  # lowest component health, 0..1
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How long it may stay silent (``fleet.alarms.ReportingPolicy.from_settings``); None = the default.
    reporting: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship()
    site: Mapped[Site | None] = relationship(back_populates="machines")
    components: Mapped[list["Component"]] = relationship(
        back_populates="machine", cascade="all, delete-orphan", order_by="Component.id")
    sensors: Mapped[list["Sensor"]] = relationship(
        back_populates="machine", cascade="all, delete-orphan", order_by="Sensor.id")
    credentials: Mapped[list["DeviceCredential"]] = relationship(
        back_populates="machine", cascade="all, delete-orphan")

    def component(self, name: str) -> "Component | None":
        """The component called ``name`` on this machine, or None."""
        return next((c for c in self.components if c.name == name), None)

    def __repr__(self) -> str:
        return f"<Machine {self.uid} {self.kind} {self.model}>"


class Component(Base):
    """A monitored part of a machine; ``kinematics`` is the contract's ComponentKinematics dict."""

    __tablename__ = "component"
    __table_args__ = (UniqueConstraint("machine_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machine.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))  # InfluxDB tag "component"
    kind: Mapped[str] = mapped_column(String(40))  # engine, hydraulic_pump, gearbox, ...
    description: Mapped[str] = mapped_column(String(240), default="")
    kinematics: Mapped[dict] = mapped_column(JSON, default=dict)
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Latest diagnosis summary, kept here so the overview is one query.
    iso_zone: Mapped[str | None] = mapped_column(String(1))
    velocity_rms_mm_s: Mapped[float | None] = mapped_column(Float)
    health_index: Mapped[float | None] = mapped_column(Float)
    last_burst_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the latest RUL scoring gave no number (None once it did): people are told, not left guessing.
    rul_note: Mapped[str | None] = mapped_column(String(240))

    machine: Mapped[Machine] = relationship(back_populates="components")
    sensors: Mapped[list["Sensor"]] = relationship(back_populates="component")

    def __repr__(self) -> str:
        return f"<Component {self.name} of machine {self.machine_id}>"


class Sensor(Base):
    """A vibration sensor (one per component) or another measuring point on a machine."""

    __tablename__ = "sensor"
    __table_args__ = (UniqueConstraint("machine_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machine.id", ondelete="CASCADE"), index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))  # InfluxDB tag "sensor", e.g. alternator_de.acc
    kind: Mapped[str] = mapped_column(String(32), default="accelerometer")
    axis: Mapped[str] = mapped_column(String(16), default="radial")
    sample_rate_hz: Mapped[float] = mapped_column(Float, default=25600.0)
    units: Mapped[str] = mapped_column(String(16), default="m/s2")
    position: Mapped[str] = mapped_column(String(160), default="")

    machine: Mapped[Machine] = relationship(back_populates="sensors")
    component: Mapped[Component] = relationship(back_populates="sensors")


class DeviceCredential(Base):
    """A gateway's credential: token ``<device_id>.<secret>``; only SHA-256(secret) is kept."""

    __tablename__ = "device_credential"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machine.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))  # hex digest
    # Mosquitto password-file hash of the same secret (telemetry.mqtt_broker), made at issue time
    # so the broker's password file can be written from the registry; None for older credentials.
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(80), default="gateway")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    machine: Mapped[Machine] = relationship(back_populates="credentials")

    @property
    def active(self) -> bool:
        return self.revoked_at is None
