"""The customer portal: the signed-in customer's own machines, their status, hours and open
maintenance, from the same read models as the console, scoped to the customer's tenant."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from ..auth import roles_required

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.get("/")
@roles_required("customer")
def index():
    from fleet import queries

    from ..console.views import fleet_counts, sort_by_urgency

    tenants = current_user.visible_tenant_ids
    with current_app.extensions["ironwatch"].sessions() as session:
        machines = sort_by_urgency(queries.fleet_overview(session, tenants))
        orders = queries.work_orders(session, tenants, status="active", limit=100)
    return render_template("portal/index.html", machines=machines, orders=orders,
                           counts=fleet_counts(machines), live=True)
