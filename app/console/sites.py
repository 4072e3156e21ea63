"""Console routes of the sites the engineer serves: ``/console/sites`` and each site's geofence and
curfew (``app.site_security_pages``; scoped like every console page: an OEM's engineers see every
site, a dealer's those of its customers)."""
from __future__ import annotations

from ..auth import roles_required
from ..site_security_pages import save_site, site_page, sites_page
from . import bp
from .views import CONSOLE_ROLES


@bp.get("/sites")
@roles_required(*CONSOLE_ROLES)
def sites():
    return sites_page("console")


@bp.get("/sites/<int:site_id>/security")
@roles_required(*CONSOLE_ROLES)
def site_security(site_id: int):
    return site_page("console", site_id)


@bp.post("/sites/<int:site_id>/security")
@roles_required(*CONSOLE_ROLES)
def save_site_security(site_id: int):
    return save_site("console", site_id)
