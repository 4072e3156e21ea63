"""Each site's geofence and curfew in the SQL store: read them (with the defaults when nobody set
them), list the sites a person may edit, and save a change.

Who may edit is who may see the site: the customer that owns it (a viewer limited to some sites:
only those) and the engineers above it (its dealer's, the OEM's), all through ``fleet.scope``. A
site outside the scope is answered exactly as one that does not exist (:class:`SiteNotFound`), so
nobody learns what other tenants have. A change is validated whole first (a bad field changes
nothing) and recorded in the audit log through the message bus (``AdminChanged``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from .db import transaction
from .events import AdminChanged
from .models import Machine, Site, SiteSecurity, utcnow
from .scope import Scope, as_scope
from .security_rules import DEFAULT_RADIUS_M, WORKING_WEEK, Curfew, Geofence


class SiteNotFound(LookupError):
    """No such site, or not one the person may see."""


@dataclass(frozen=True)
class SiteRules:
    """A site's security settings as the alarm job and the pages use them."""

    site_id: int
    site: str
    timezone: str
    fence: Geofence
    curfew: Curfew | None
    customized: bool  # False: nobody set them, these are the defaults


def rules_of(site: Site) -> SiteRules:
    """The settings of ``site`` (its ``security`` row loaded), defaults when it has none."""
    row = site.security
    if row is None:
        return SiteRules(site.id, site.name, site.timezone or "UTC", Geofence(site.lat, site.lon, DEFAULT_RADIUS_M),
                         None, False)
    return SiteRules(site.id, site.name, site.timezone or "UTC",
                     Geofence(row.fence_lat, row.fence_lon, row.fence_radius_m, row.fence_enabled),
                     Curfew.from_json(row.curfew), True)


def visible_site_clause(visible: Scope | Iterable[int]):
    """The SQL condition on ``Site`` rows the scope may see (and so edit)."""
    scope = as_scope(visible)
    clause = Site.tenant_id.in_(list(scope.tenant_ids))
    if scope.site_ids is not None:
        clause = clause & Site.id.in_(list(scope.site_ids))
    return clause


def site_view(site: Site, machine_count: int = 0) -> dict:
    """What the pages show of a site and its settings (JSON-ready)."""
    rules = rules_of(site)
    fence, curfew = rules.fence, rules.curfew
    return {"id": site.id, "name": site.name, "tenant": site.tenant.name, "address": site.address,
            "timezone": rules.timezone, "site_lat": site.lat, "site_lon": site.lon, "machines": machine_count,
            "fence": {"enabled": fence.enabled, "lat": fence.lat, "lon": fence.lon, "radius_m": fence.radius_m},
            "curfew": curfew.to_json() if curfew else None,
            "curfew_text": curfew.describe() if curfew else "no curfew",
            "curfew_form": (curfew or WORKING_WEEK).to_json(),
            "customized": rules.customized,
            "updated_by": site.security.updated_by if site.security else "",
            "updated_at": site.security.updated_at.isoformat() if site.security else None}


class SiteSecurityService:
    """Read and change the sites' security settings for a signed-in person.

    Parameters
    ----------
    sessions : sessionmaker
    bus : fleet.handlers.MessageBus
        Gets an ``AdminChanged`` per saved change (the audit log).
    """

    def __init__(self, sessions: sessionmaker, bus):
        self.sessions, self.bus = sessions, bus

    def sites(self, visible: Scope | Iterable[int]) -> list[dict]:
        """The visible sites in tenant and name order, with how many machines work at each."""
        with self.sessions() as db:
            counts = dict(db.execute(select(Machine.site_id, func.count()).group_by(Machine.site_id)).all())
            rows = db.scalars(select(Site).where(visible_site_clause(visible))
                              .options(selectinload(Site.security), selectinload(Site.tenant))
                              .order_by(Site.tenant_id, Site.name)).all()
            return [site_view(site, counts.get(site.id, 0)) for site in rows]

    def site(self, site_id: int, visible: Scope | Iterable[int]) -> dict:
        """One visible site's view; raises :class:`SiteNotFound`."""
        with self.sessions() as db:
            site = _visible_site(db, site_id, visible)
            count = db.scalar(select(func.count()).select_from(Machine).where(Machine.site_id == site.id))
            return site_view(site, count or 0)

    def update(self, site_id: int, visible: Scope | Iterable[int], actor: str, fence: Geofence,
               curfew: Curfew | None, now: datetime | None = None) -> dict:
        """Save a visible site's fence and curfew (already validated: ``fleet.security_rules.parse_*``);
        returns the new view. Raises :class:`SiteNotFound` (nothing changes then)."""
        now = now or utcnow()
        with transaction(self.sessions) as db:
            site = _visible_site(db, site_id, visible)
            before = site_view(site)
            row = site.security or SiteSecurity(site_id=site.id)
            row.fence_enabled, row.fence_lat, row.fence_lon = fence.enabled, fence.lat, fence.lon
            row.fence_radius_m, row.curfew = fence.radius_m, curfew.to_json() if curfew else None
            row.updated_at, row.updated_by = now, actor[:254]
            site.security = row
            db.flush()
            after = site_view(site)
            audience = (site.tenant_id,)
        self.bus.handle([AdminChanged(
            tenant_ids=audience, subject_type="site_security", subject_id=site_id, action="changed", actor=actor,
            detail={"site": after["name"], "before": _summary(before), "after": _summary(after)})])
        return after


def _visible_site(db: Session, site_id: int, visible) -> Site:
    site = db.scalar(select(Site).where(Site.id == int(site_id), visible_site_clause(visible))
                     .options(selectinload(Site.security), selectinload(Site.tenant)))
    if site is None:
        raise SiteNotFound(f"Site {site_id} does not exist or is not one you may see.")
    return site


def _summary(view: dict) -> dict:
    fence = view["fence"]
    return {"fence": (f"{fence['radius_m']:.0f} m around {fence['lat']:.5f}, {fence['lon']:.5f}"
                      if fence["enabled"] else "off"), "curfew": view["curfew_text"]}
