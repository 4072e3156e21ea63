"""Portal routes of the customer's sites: ``/portal/sites`` and each site's geofence and curfew
(``app.site_security_pages``; the customer's own sites only, a site-limited viewer's own sites)."""
from __future__ import annotations

from ..auth import roles_required
from ..site_security_pages import save_site, site_page, sites_page
from . import PORTAL_ROLES, bp


@bp.get("/sites")
@roles_required(*PORTAL_ROLES)
def sites():
    return sites_page("portal")


@bp.get("/sites/<int:site_id>/security")
@roles_required(*PORTAL_ROLES)
def site_security(site_id: int):
    return site_page("portal", site_id)


@bp.post("/sites/<int:site_id>/security")
@roles_required(*PORTAL_ROLES)
def save_site_security(site_id: int):
    return save_site("portal", site_id)
