"""The technicians' app's JSON endpoint (``/api/v1/tech/actions``): actions from the phone.

(The app's Web Push subscription goes to the one general endpoint, ``POST /api/v1/push-subscriptions``
in :mod:`app.alarm_api`, which the console's profile page uses too.)

``POST /api/v1/tech/actions`` takes one action as ``multipart/form-data`` (a photo is a file part)
or JSON, with the header ``X-CSRF-Token`` (the page's token, checked by ``app.auth.check_csrf`` like every
form's: a multipart form could otherwise be posted from another site). Fields: ``client_action_id`` (8-64 of ``A-Za-z0-9_-``, made on the
phone), ``order_id``, ``action`` and the action's own fields. Answers 200 with the outcome
(``applied`` or ``conflict``, ``duplicate`` for a resend), 400 naming the bad field, 404 for an
order that is not visible.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from ..auth import check_csrf, roles_required

api_bp = Blueprint("tech_api", __name__, url_prefix="/api/v1/tech")

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_TEXT = 2000
MAX_PARTS = 30


class BadRequest(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@api_bp.errorhandler(BadRequest)
def _bad(error: BadRequest):
    return jsonify(error="bad_field", field=error.field, message=error.message), 400


def _runtime():
    return current_app.extensions["ironwatch"]


def _fields() -> dict:
    if request.mimetype == "multipart/form-data" or request.mimetype == "application/x-www-form-urlencoded":
        return request.form.to_dict()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("body", "Send multipart/form-data or a JSON object.")
    return body


def _text(fields: dict, name: str, required: bool = False, limit: int = MAX_TEXT) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(name, f"{name} must be text.")
    value = value.strip()
    if required and not value:
        raise BadRequest(name, f"{name} is required.")
    if len(value) > limit:
        raise BadRequest(name, f"{name} is longer than {limit} characters.")
    return value


def _number(fields: dict, name: str, low: float, high: float, default: float | None = None) -> float:
    raw = fields.get(name, "")
    if raw in ("", None):
        if default is None:
            raise BadRequest(name, f"{name} is required.")
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise BadRequest(name, f"{name} must be a number, got {raw!r}.") from None
    if not low <= value <= high:  # also refuses NaN
        raise BadRequest(name, f"{name} must be between {low:g} and {high:g}, got {value:g}.")
    return value


def _whole(fields: dict, name: str) -> int:
    raw = str(fields.get(name, "")).strip()
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**63):
        raise BadRequest(name, f"{name} must be a whole number from 1, got {raw!r}.")
    return int(raw)


def _taken_at(fields: dict) -> datetime | None:
    raw = fields.get("taken_at")
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("taken_at", f"taken_at must be an ISO 8601 time, got {raw!r}.") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _parts(fields: dict):
    from fleet.lifecycle import PartUse

    raw = fields.get("parts_used") or []
    if isinstance(raw, str):
        from telemetry.json_input import loads_untrusted

        try:
            raw = loads_untrusted(raw) if raw.strip() else []
        except ValueError:
            raise BadRequest("parts_used", "parts_used must be a JSON list.") from None
    if not isinstance(raw, list) or len(raw) > MAX_PARTS:
        raise BadRequest("parts_used", f"parts_used must be a list of at most {MAX_PARTS} parts.")
    parts = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("part_number"), str):
            raise BadRequest("parts_used", f"parts_used[{index}] must be {{part_number, quantity}}.")
        quantity = _number(item, "quantity", 0.001, 10_000)
        parts.append(PartUse(item["part_number"].strip()[:60], quantity))
    return tuple(parts)


def parse_request(fields: dict, photo: bytes | None):
    """A :class:`fleet.field_service.FieldRequest` from the posted fields, or :class:`BadRequest`."""
    from fleet.field_service import FIELD_ACTIONS, FieldRequest
    from fleet.lifecycle import Completion

    client_id = _text(fields, "client_action_id", required=True, limit=64)
    if not CLIENT_ID.match(client_id):
        raise BadRequest("client_action_id", "client_action_id must be 8 to 64 letters, digits, '-' or '_'.")
    action = _text(fields, "action", required=True, limit=32)
    if action not in FIELD_ACTIONS:
        raise BadRequest("action", f"action must be one of {', '.join(FIELD_ACTIONS)}; got {action!r}.")
    arguments = {"client_action_id": client_id, "order_id": _whole(fields, "order_id"), "action": action,
                 "taken_at": _taken_at(fields), "reason": _text(fields, "reason")}
    if action == "complete":
        confirmed = _text(fields, "fault_confirmed", required=True, limit=8)
        arguments["completion"] = Completion(
            problem_code=_text(fields, "problem_code", required=True, limit=60),
            cause_code=_text(fields, "cause_code", required=True, limit=60),
            remedy_code=_text(fields, "remedy_code", required=True, limit=60),
            fault_confirmed=confirmed, found_fault_mode=_text(fields, "found_fault_mode", limit=40),
            component_replaced=str(fields.get("component_replaced", "")).lower() in ("1", "true", "yes", "on"),
            parts_used=_parts(fields), labour_h=_number(fields, "labour_h", 0, 48, default=0.0),
            notes=_text(fields, "notes"))
    elif action == "photo":
        if not photo:
            raise BadRequest("photo", "photo needs a picture file in the 'photo' part.")
        arguments.update(photo=photo, caption=_text(fields, "caption", limit=200))
    elif action == "acknowledge_alarm":
        arguments["alarm_id"] = _whole(fields, "alarm_id")
    return FieldRequest(**arguments)


@api_bp.post("/actions")
@roles_required("technician")
def actions():
    """One action from the phone (see the module docstring)."""
    from fleet.field_service import BadFieldInput, OrderNotVisible, take_action

    check_csrf()
    fields = _fields()
    upload = request.files.get("photo")
    photo = upload.read() if upload is not None else None
    parsed = parse_request(fields, photo)
    runtime = _runtime()
    try:
        outcome = take_action(runtime.sessions, runtime.notifier, current_app.config["IRONWATCH_VAR"],
                              current_user.id, current_user.scope, parsed)
    except OrderNotVisible as missing:
        return jsonify(error="not_found", message=str(missing)), 404
    except BadFieldInput as bad:
        return jsonify(error="bad_field", field=bad.field, message=str(bad)), 400
    return jsonify(outcome.to_dict())
