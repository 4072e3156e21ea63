"""Work-order life-cycle actions from the web: who may do what, argument checks, error mapping.

Both the JSON API (``POST /api/v1/work-orders/<id>/actions``) and the HTML forms of the console
and the technician page go through :func:`run_action`, which calls
``fleet.work_order_service.perform`` (the domain does the transition, the machine status update
and the live events) and turns every refusal into an :class:`ActionRefused` with an HTTP status and
a message naming what was wrong.
"""
from __future__ import annotations

from typing import Any, Mapping

#: Which roles may request each action. Technicians act only on orders assigned to them.
ACTION_ROLES = {
    "assign": ("admin", "engineer"),
    "cancel": ("admin", "engineer"),
    "start": ("admin", "engineer", "technician"),
    "complete": ("admin", "engineer", "technician"),
}
MAX_ID = 2**63 - 1  # ids are SQL BIGINTs
REQUIRED_FIELDS = {"assign": ("technician_id",), "complete": ("findings",), "cancel": ("reason",)}


class ActionRefused(Exception):
    """The action was not run; ``status`` is the HTTP status, ``field`` what was wrong (if one)."""

    def __init__(self, status: int, error: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.error, self.message, self.field = status, error, message, field

    def to_dict(self) -> dict[str, Any]:
        body = {"error": self.error, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


def check_arguments(action: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``arguments`` for ``action``; return them cleaned (ids as int, text stripped).

    Raises
    ------
    ActionRefused
        400 naming the unknown action or the missing / malformed field.
    """
    if action not in ACTION_ROLES:
        raise ActionRefused(400, "bad_action", f"action must be one of {', '.join(ACTION_ROLES)}; got {action!r}.",
                            "action")
    cleaned: dict[str, Any] = {}
    for field in REQUIRED_FIELDS.get(action, ()):
        value = arguments.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ActionRefused(400, "missing_field", f"{action} needs {field}.", field)
        cleaned[field] = value.strip() if isinstance(value, str) else value
    if "technician_id" in cleaned:
        value = cleaned["technician_id"]
        text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        # ASCII digits only ("²".isdigit() is true, int() refuses it) and within a SQL BIGINT
        if not (text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID):
            raise ActionRefused(400, "bad_field", f"technician_id must be a whole number from 1 to {MAX_ID}.",
                                "technician_id")
        cleaned["technician_id"] = int(text)
    parts = arguments.get("parts")
    if action == "complete" and parts:
        if not isinstance(parts, list) or not all(isinstance(p, Mapping) for p in parts):
            raise ActionRefused(400, "bad_field", "parts must be a list of {part_number, quantity} objects.", "parts")
        cleaned["parts"] = [dict(p) for p in parts]
    return cleaned


def run_action(runtime, principal, order_id: int, action: str, arguments: Mapping[str, Any]) -> dict:
    """Run ``action`` on work order ``order_id`` as ``principal``; return the order's new view.

    Raises
    ------
    ActionRefused
        400 bad arguments, 403 role or not the technician's own order, 404 order not visible,
        409 the transition is not allowed from the order's current state (or another domain rule).
    """
    from fleet import queries
    from fleet.work_order_service import OrderNotFound, perform
    from fleet.workorders import DomainError

    cleaned = check_arguments(action, arguments)
    if principal.role not in ACTION_ROLES[action]:
        raise ActionRefused(403, "forbidden", f"A {principal.role} may not {action} work orders.")
    tenants = principal.scope
    if principal.role == "technician":
        with runtime.sessions() as session:
            order = queries.work_order(session, order_id, tenants)
            technician = queries.technician_for_user(session, principal.id)
            technician_id = technician.id if technician is not None else None
        if order is None:
            raise ActionRefused(404, "not_found", f"Work order {order_id} does not exist or is not visible to you.")
        if technician_id is None or order["technician_id"] != technician_id:
            raise ActionRefused(403, "forbidden", "Technicians may only act on work orders assigned to them.")
    try:
        return perform(runtime.sessions, runtime.notifier, order_id, action, tenants,
                       actor=principal.email, **cleaned)
    except OrderNotFound:
        raise ActionRefused(404, "not_found", f"Work order {order_id} does not exist or is not visible to you.") from None
    except DomainError as error:
        raise ActionRefused(409, "not_allowed", str(error)) from None


def form_action(order_id: int, back_url: str):
    """Handle an HTML form posting an action (``action`` plus its fields and ``csrf_token``):
    run it, flash the outcome, and redirect to ``back_url`` (post/redirect/get)."""
    from flask import current_app, flash, redirect, request
    from flask_login import current_user

    from .auth import check_csrf

    check_csrf()
    action = request.form.get("action", "")
    try:
        order = run_action(current_app.extensions["ironwatch"], current_user, order_id, action, request.form)
    except ActionRefused as refused:
        flash(refused.message, "error")
        return redirect(back_url)
    flash(f"{order['number']} is now {order['status'].replace('_', ' ')}.", "info")
    return redirect(back_url)
