"""Work-order life-cycle actions from the web: who may ask, argument checks, error mapping.

The JSON API (``POST /api/v1/work-orders/<id>/actions``), the console's forms (the order's page and
the work-order board) and the technician page's plain-form fallback all go through
:func:`run_action`, which parses the fields and calls :func:`fleet.order_actions.perform` (the one
path of :mod:`fleet.lifecycle`: the step, its history entry, the machine status, the live events).
Every refusal becomes an :class:`ActionRefused` with an HTTP status and a message naming what was
wrong; nothing is changed then.
"""
from __future__ import annotations

from typing import Any, Mapping

from fleet.lifecycle import (ENGINEER_ROLES, FAULT_CONFIRMED, REASON_REQUIRED, SHARED_ACTIONS, TECHNICIAN_ACTIONS,
                             TRANSITIONS)

#: Which roles may request each action at all (the life cycle then checks the order: a technician
#: only on their own job, ``start`` only by the technician who has it, ...).
ACTION_ROLES = {action: ENGINEER_ROLES + (("technician",) if action in TECHNICIAN_ACTIONS + SHARED_ACTIONS else ())
                for action in TRANSITIONS}
MAX_ID = 2**63 - 1  # ids are SQL BIGINTs
MAX_TEXT = 2000
MAX_PARTS = 30
COMPLETING = ("complete", "complete_on_behalf")


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


def _bad(field: str, message: str) -> ActionRefused:
    return ActionRefused(400, "bad_field", message, field)


def _text(arguments: Mapping[str, Any], name: str, required: bool = False, limit: int = MAX_TEXT) -> str:
    value = arguments.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _bad(name, f"{name} must be text.")
    value = value.strip()
    if required and not value:
        raise ActionRefused(400, "missing_field", f"{name} is required.", name)
    if len(value) > limit:
        raise _bad(name, f"{name} is longer than {limit} characters.")
    return value


def _whole(arguments: Mapping[str, Any], name: str) -> int:
    value = arguments.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ActionRefused(400, "missing_field", f"{name} is required.", name)
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    # ASCII digits only ("²".isdigit() is true, int() refuses it) and within a SQL BIGINT
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID):
        raise _bad(name, f"{name} must be a whole number from 1 to {MAX_ID}.")
    return int(text)


def _number(arguments: Mapping[str, Any], name: str, low: float, high: float, default: float) -> float:
    raw = arguments.get(name, "")
    if raw in ("", None):
        return default
    if isinstance(raw, bool):
        raise _bad(name, f"{name} must be a number.")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _bad(name, f"{name} must be a number, got {str(raw)[:40]!r}.") from None
    if not low <= value <= high:  # also refuses NaN
        raise _bad(name, f"{name} must be between {low:g} and {high:g}.")
    return value


def _parts(arguments: Mapping[str, Any]):
    from fleet.lifecycle import PartUse

    raw = arguments.get("parts_used") or []
    if isinstance(raw, str):
        from telemetry.json_input import loads_untrusted

        try:
            raw = loads_untrusted(raw) if raw.strip() else []
        except ValueError:
            raise _bad("parts_used", "parts_used must be a JSON list of {part_number, quantity}.") from None
    if not isinstance(raw, list) or len(raw) > MAX_PARTS:
        raise _bad("parts_used", f"parts_used must be a list of at most {MAX_PARTS} {{part_number, quantity}}.")
    parts = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("part_number"), str) \
                or not item["part_number"].strip():
            raise _bad("parts_used", f"parts_used[{index}] must be {{part_number, quantity}}.")
        parts.append(PartUse(item["part_number"].strip()[:60], _number(item, "quantity", 0.001, 10_000, 1.0)))
    return tuple(parts)


def completion_from(arguments: Mapping[str, Any]):
    """A :class:`fleet.lifecycle.Completion` from posted fields (the technicians' app's names:
    ``problem_code``, ``cause_code``, ``remedy_code``, ``fault_confirmed`` yes / no / other,
    ``found_fault_mode`` when other, ``component_replaced``, ``parts_used``, ``labour_h``, ``notes``)."""
    from fleet.lifecycle import Completion

    confirmed = _text(arguments, "fault_confirmed", required=True, limit=8)
    if confirmed not in FAULT_CONFIRMED:
        raise _bad("fault_confirmed", f"fault_confirmed must be one of {', '.join(FAULT_CONFIRMED)}.")
    return Completion(
        problem_code=_text(arguments, "problem_code", required=True, limit=60),
        cause_code=_text(arguments, "cause_code", required=True, limit=60),
        remedy_code=_text(arguments, "remedy_code", required=True, limit=60),
        fault_confirmed=confirmed,
        found_fault_mode=_text(arguments, "found_fault_mode", required=confirmed == "other", limit=40),
        component_replaced=str(arguments.get("component_replaced", "")).lower() in ("1", "true", "yes", "on"),
        parts_used=_parts(arguments), labour_h=_number(arguments, "labour_h", 0, 48, 0.0),
        notes=_text(arguments, "notes"))


def hold_reason(arguments: Mapping[str, Any]) -> str:
    """``reason``, or ``hold_kind`` (parts / access / customer) with optional ``hold_details``
    joined as the life cycle wants it (``"parts: bearing on back order"``)."""
    kind = _text(arguments, "hold_kind", limit=20)
    if not kind:
        return _text(arguments, "reason", required=True, limit=240)
    details = _text(arguments, "hold_details", limit=200)
    return f"{kind}: {details}" if details else kind


def check_arguments(action: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``arguments`` for ``action``; return the keyword arguments of
    :func:`fleet.order_actions.step` (``technician_id``, ``reason``, ``completion``).

    Raises
    ------
    ActionRefused
        400 naming the unknown action or the missing / malformed field.
    """
    if action not in TRANSITIONS:
        raise ActionRefused(400, "bad_action", f"action must be one of {', '.join(TRANSITIONS)}; got {action[:40]!r}.",
                            "action")
    cleaned: dict[str, Any] = {}
    if action in ("assign", "reassign"):
        cleaned["technician_id"] = _whole(arguments, "technician_id")
    if action == "hold":
        cleaned["reason"] = hold_reason(arguments)
    else:
        cleaned["reason"] = _text(arguments, "reason", required=action in REASON_REQUIRED, limit=240)
    if action in COMPLETING:
        cleaned["completion"] = completion_from(arguments)
    return cleaned


def run_action(runtime, principal, order_id: int, action: str, arguments: Mapping[str, Any]) -> dict:
    """Run ``action`` on work order ``order_id`` as ``principal``; return the order's new view.

    Raises
    ------
    ActionRefused
        400 bad arguments or a rule of the step (a missing reason, codes not in the fault's list),
        403 role or not the technician's own order, 404 order not visible, 409 the step is not
        allowed from the order's current state.
    """
    from fleet import lifecycle, queries
    from fleet.order_actions import perform
    from fleet.work_order_service import OrderNotFound
    from fleet.workorders import DomainError

    if action in ACTION_ROLES and principal.role not in ACTION_ROLES[action]:
        raise ActionRefused(403, "forbidden", f"A {principal.role} may not {action.replace('_', ' ')} work orders.")
    cleaned = check_arguments(action, arguments)
    tenants = principal.scope
    with runtime.sessions() as session:
        order = queries.work_order(session, order_id, tenants) if 0 < order_id <= MAX_ID else None
        technician = queries.technician_for_user(session, principal.id)
        technician_id = technician.id if technician is not None else None
    if order is None:
        raise ActionRefused(404, "not_found", f"Work order {order_id} does not exist or is not visible to you.")
    if principal.role == "technician" and (technician_id is None or order["technician_id"] != technician_id):
        raise ActionRefused(403, "forbidden", "Technicians may only act on work orders assigned to them.")
    actor = lifecycle.Actor(principal.email, principal.role, technician_id)
    try:
        return perform(runtime.sessions, runtime.notifier, order_id, action, actor, tenants, **cleaned)
    except OrderNotFound:
        raise ActionRefused(404, "not_found", f"Work order {order_id} does not exist or is not visible to you.") from None
    except lifecycle.IllegalTransition as error:
        raise ActionRefused(409, "not_allowed", str(error)) from None
    except lifecycle.NotPermitted as error:
        raise ActionRefused(403, "forbidden", str(error)) from None
    except DomainError as error:
        raise ActionRefused(400, "bad_field", str(error)) from None


def form_action(order_id: int, back_url: str):
    """Handle an HTML form posting an action (``action`` plus its fields and ``csrf_token``): run
    it, flash the outcome and redirect to ``back_url`` (post/redirect/get); a refusal is an error
    page with its status (400, 403, 404, 409) naming what was wrong, and changes nothing."""
    from flask import abort, current_app, flash, redirect, request
    from flask_login import current_user

    from .auth import check_csrf

    check_csrf()
    action = request.form.get("action", "")
    try:
        order = run_action(current_app.extensions["ironwatch"], current_user, order_id, action, request.form)
    except ActionRefused as refused:
        abort(refused.status, description=refused.message)
    flash(f"{order['number']} is now {order['status'].replace('_', ' ').replace('done', 'completed')}.", "info")
    return redirect(back_url)
