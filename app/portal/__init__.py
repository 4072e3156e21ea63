"""The customer portal: the signed-in customer's own machines (map, status in words), a page per
machine (location, hours, utilization, idle time and fuel per day, alarms, maintenance coming and
done), reports (CSV, monthly PDF) and the API clients of their fleet software (ISO 15143-3).

Views are thin: read models from :mod:`fleet.queries` and :mod:`fleet.usage`, always scoped to
``current_user.scope`` (:mod:`fleet.scope`: their company, or for a site-limited viewer some of
its sites; :mod:`app.auth` loads it once per request).
"""
from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")

#: Who uses the portal: the customer's own people.
PORTAL_ROLES = ("customer",)

from . import sites, views  # noqa: E402,F401  (registers the routes on bp)


@bp.context_processor
def _portal_links():
    # live.js and the map link machine uids to the portal's machine page.
    return {"machine_link_base": "/portal/machines/"}
