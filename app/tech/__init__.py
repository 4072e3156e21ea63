"""The technician's view: the work orders assigned to them, most urgent first, with where to go."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from ..auth import roles_required

bp = Blueprint("tech", __name__, url_prefix="/tech")


@bp.get("/")
@roles_required("technician")
def orders():
    from fleet import queries

    include_closed = request.args.get("closed") == "1"
    with current_app.extensions["ironwatch"].sessions() as session:
        technician = queries.technician_for_user(session, current_user.id)
        orders = ([] if technician is None else
                  queries.technician_orders(session, technician.id, include_closed=include_closed))
        name = technician.name if technician is not None else None
    return render_template("tech/orders.html", orders=orders, technician_name=name,
                           include_closed=include_closed, live=True)


@bp.post("/orders/<int:order_id>/actions")
@roles_required("technician")
def order_action(order_id: int):
    from flask import url_for

    from ..actions import form_action

    return form_action(order_id, url_for("tech.orders"))
