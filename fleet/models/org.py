"""Who: tenants (the OEM and its customers), their sites, users and technicians."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

TENANT_KINDS = ("oem", "dealer", "customer")
ROLES = ("admin", "engineer", "technician", "customer")


class Tenant(Base):
    """An organisation: the OEM (kind ``oem``), a dealer (``dealer``, parent = OEM: a service partner
    that sells to and serves its customers) or a customer (``customer``, parent = its dealer or the
    OEM itself). Who may see a tenant's machines is the chain of its parents (:meth:`audience`)."""

    __tablename__ = "tenant"
    __table_args__ = (CheckConstraint("kind IN ('oem', 'dealer', 'customer')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped["Tenant | None"] = relationship(remote_side=[id], back_populates="customers")
    customers: Mapped[list["Tenant"]] = relationship(back_populates="parent")
    sites: Mapped[list["Site"]] = relationship(back_populates="tenant")

    def audience(self) -> list[int]:
        """Tenant ids that may see this tenant's machines: itself, its dealer (if any) and the OEM."""
        ids, parent = [self.id], self.parent
        while parent is not None and parent.id not in ids:
            ids.append(parent.id)
            parent = parent.parent
        return ids

    def __repr__(self) -> str:
        return f"<Tenant {self.id} {self.name!r} {self.kind}>"


class Site(Base):
    """A place where machines work: a quarry, a construction site, a hospital plant room."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(240), default="")
    lat: Mapped[float] = mapped_column(Float)  # WGS-84 degrees
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    contact_name: Mapped[str] = mapped_column(String(120), default="")  # who meets the technician
    contact_phone: Mapped[str] = mapped_column(String(40), default="")

    tenant: Mapped[Tenant] = relationship(back_populates="sites")
    machines: Mapped[list["Machine"]] = relationship(back_populates="site")  # noqa: F821
    security: Mapped["SiteSecurity | None"] = relationship(back_populates="site", cascade="all, delete-orphan")


class SiteSecurity(Base):
    """A site's geofence and curfew (``fleet.security_rules``), as its owner or an engineer set
    them. No row: the default fence (the site's own location, 500 m) and no curfew."""

    __tablename__ = "site_security"

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), primary_key=True)
    fence_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    fence_lat: Mapped[float] = mapped_column(Float)  # centre, WGS-84 degrees
    fence_lon: Mapped[float] = mapped_column(Float)
    fence_radius_m: Mapped[float] = mapped_column(Float)  # m
    # {"mon": ["06:00", "20:00"], ..., "sun": null} in the site's time zone; None: no curfew
    curfew: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")

    site: Mapped[Site] = relationship(back_populates="security")


class User(Base):
    """A person who logs in. ``role`` decides what they see; ``tenant`` scopes customers."""

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (CheckConstraint("role IN ('admin', 'engineer', 'technician', 'customer')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA zone for times shown; None: the browser's
    monthly_report: Mapped[bool] = mapped_column(Boolean, default=False)  # e-mail the monthly fleet report
    # A customer's user administrator: may invite, deactivate and reset their own tenant's users.
    manages_users: Mapped[bool] = mapped_column(Boolean, default=False)
    # A viewer limited to some of the customer's sites (the ``user_site`` rows); False: every site.
    sites_limited: Mapped[bool] = mapped_column(Boolean, default=False)

    tenant: Mapped[Tenant] = relationship()
    technician: Mapped["Technician | None"] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class UserSite(Base):
    """A site a site-limited viewer may see (``User.sites_limited``); ``fleet.scope`` reads them."""

    __tablename__ = "user_site"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), primary_key=True, index=True)


class Technician(Base):
    """A field technician: skills, home base and (optionally) the login they use."""

    __tablename__ = "technician"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # e.g. ["engine", "hydraulics", "gearbox", "bearings", "electrical", "vibration"]
    skills: Mapped[list] = mapped_column(JSON, default=list)
    home_base: Mapped[str] = mapped_column(String(120), default="")
    home_lat: Mapped[float] = mapped_column(Float)
    home_lon: Mapped[float] = mapped_column(Float)
    phone: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    user: Mapped[User | None] = relationship(back_populates="technician")

    def __repr__(self) -> str:
        return f"<Technician {self.id} {self.name}>"
