"""The alarm API (JSON, on the ``api`` blueprint): list and read alarms, acknowledge or clear one,
acknowledge all of a machine's, Web Push subscriptions of the signed-in user's devices, and the
user's notification preferences. The console, the technician app and integrations all use it.

Every refusal is a 4xx JSON body ``{"error", "message", "field"?}`` and changes nothing: an alarm
of a tenant the user may not see is 404 exactly like one that does not exist.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlparse

from flask import current_app, jsonify, request
from flask_login import current_user

from .api import bp, choice_param, int_param
from .auth import roles_required

ALL_ROLES = ("admin", "engineer", "technician", "customer")
#: Customers see their machines' alarms; answering them is the service organisation's job.
ACK_ROLES = ("admin", "engineer", "technician")
MAX_COMMENT = 500


class Refused(Exception):
    """Answered as ``status`` with ``{"error", "message", "field"?}``."""

    def __init__(self, status: int, error: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.error, self.message, self.field = status, error, message, field


@bp.errorhandler(Refused)
def _refused(refused: Refused):
    body = {"error": refused.error, "message": refused.message}
    if refused.field:
        body["field"] = refused.field
    return jsonify(body), refused.status


def _runtime():
    return current_app.extensions["ironwatch"]


def json_body(required: bool = False) -> dict[str, Any]:
    """The request's JSON object; an absent body is ``{}`` unless ``required``.

    The body must be declared JSON even when empty: these writes ride on the session cookie, and a
    page on another site can post a form or ``text/plain`` to us without asking, but cross-origin
    JSON needs a CORS preflight we never grant -- so the content type is this API's CSRF defence
    (the HTML forms carry a token instead, ``app.auth.check_csrf``).
    """
    if not request.is_json:
        raise Refused(400, "bad_content_type", "Send the body as JSON with Content-Type: application/json "
                      "(an empty object {} is fine).")
    if not request.get_data(cache=True) and not required:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Refused(400, "bad_body", "Send a JSON object, e.g. {\"comment\": \"on my way\"}.")
    return body


def comment_of(body: dict) -> str:
    comment = body.get("comment", "")
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise Refused(400, "bad_field", "comment must be text.", "comment")
    if len(comment) > MAX_COMMENT:
        raise Refused(400, "bad_field", f"comment may be at most {MAX_COMMENT} characters.", "comment")
    return comment.strip()


def _require_alarm_role() -> None:
    """Refuse, before the body is read or an alarm looked up, a role that never acts on alarms."""
    if current_user.role not in ACK_ROLES:
        raise Refused(403, "forbidden", f"A {current_user.role} may not acknowledge or clear alarms.")


def _answer_alarm(action):
    from fleet.alarms import AlarmNotFound, InvalidAlarmTransition

    try:
        return action()
    except AlarmNotFound as missing:
        raise Refused(404, "not_found", str(missing)[:1].upper() + str(missing)[1:] + ".") from None
    except InvalidAlarmTransition as refused:
        raise Refused(409, "not_allowed", str(refused)) from None


@bp.get("/alarms")
@roles_required(*ALL_ROLES)
def alarms():
    """``?state=open|active|acknowledged|cleared|all&machine=&source=&severity=&limit=``."""
    from fleet import queries
    from fleet.alarms import SEVERITIES, SOURCES

    state = choice_param("state", queries.ALARM_STATE_FILTERS) or "open"
    source = choice_param("source", SOURCES)
    severity = choice_param("severity", SEVERITIES)
    limit = int_param("limit", 100, 1, 500)
    with _runtime().sessions() as session:
        rows = queries.alarms(session, current_user.scope, state=state,
                              machine_uid=request.args.get("machine") or None, source=source, severity=severity,
                              limit=limit)
    return jsonify(alarms=rows)


@bp.get("/alarms/<int:alarm_id>")
@roles_required(*ALL_ROLES)
def alarm(alarm_id: int):
    from fleet import queries

    with _runtime().sessions() as session:
        view = queries.alarm(session, alarm_id, current_user.scope)
    if view is None:
        raise Refused(404, "not_found", f"Alarm {alarm_id} does not exist or is not visible to you.")
    return jsonify(view)


@bp.post("/alarms/<int:alarm_id>/acknowledge")
@roles_required(*ALL_ROLES)
def acknowledge(alarm_id: int):
    """Body ``{"comment"?}``; answers the alarm's new view."""
    from fleet import alarm_service

    _require_alarm_role()
    comment = comment_of(json_body())
    runtime = _runtime()
    return jsonify(_answer_alarm(lambda: alarm_service.acknowledge(
        runtime.sessions, runtime.notifier, alarm_id, current_user.scope, current_user.email,
        current_user.id, comment)))


@bp.post("/alarms/<int:alarm_id>/clear")
@roles_required(*ALL_ROLES)
def clear(alarm_id: int):
    """Body ``{"comment"}`` (why: fixed, false alarm); answers the alarm's new view."""
    from fleet import alarm_service

    _require_alarm_role()
    comment = comment_of(json_body(required=True))
    if not comment:
        raise Refused(400, "missing_field", "Say why the alarm is cleared (comment).", "comment")
    runtime = _runtime()
    return jsonify(_answer_alarm(lambda: alarm_service.clear(
        runtime.sessions, runtime.notifier, alarm_id, current_user.scope, current_user.email,
        current_user.id, comment)))


@bp.post("/machines/<uid>/alarms/acknowledge")
@roles_required(*ALL_ROLES)
def acknowledge_machine(uid: str):
    """Bulk: every active alarm of the machine; answers ``{"acknowledged": [views]}``."""
    from fleet import alarm_service

    _require_alarm_role()
    comment = comment_of(json_body())
    runtime = _runtime()
    views = _answer_alarm(lambda: alarm_service.acknowledge_machine(
        runtime.sessions, runtime.notifier, uid, current_user.scope, current_user.email,
        current_user.id, comment))
    return jsonify(acknowledged=views)


# --- Web Push subscriptions ----------------------------------------------------------------------------

def _b64url_bytes(value: Any, field: str, length: int) -> str:
    if not isinstance(value, str) or not value:
        raise Refused(400, "bad_subscription", f"keys.{field} must be base64url text.", f"keys.{field}")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise Refused(400, "bad_subscription", f"keys.{field} is not base64url.", f"keys.{field}") from None
    if len(raw) != length or (field == "p256dh" and raw[0] != 4):
        what = "an uncompressed P-256 point (65 bytes)" if field == "p256dh" else f"{length} bytes"
        raise Refused(400, "bad_subscription", f"keys.{field} must be {what}.", f"keys.{field}")
    return value


def subscription_from(body: dict) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) of a browser's ``PushSubscription.toJSON()``, validated."""
    endpoint = body.get("endpoint")
    parsed = urlparse(endpoint) if isinstance(endpoint, str) else None
    if parsed is None or parsed.scheme not in ("https", "http") or not parsed.netloc or len(endpoint) > 1000:
        raise Refused(400, "bad_subscription", "endpoint must be the push service URL the browser gave (https://…).",
                      "endpoint")
    keys = body.get("keys")
    if not isinstance(keys, dict):
        raise Refused(400, "bad_subscription", "keys must be an object with p256dh and auth.", "keys")
    return endpoint, _b64url_bytes(keys.get("p256dh"), "p256dh", 65), _b64url_bytes(keys.get("auth"), "auth", 16)


@bp.get("/push/key")
@roles_required(*ALL_ROLES)
def vapid_key():
    """The VAPID public key for ``PushManager.subscribe({applicationServerKey})``."""
    return jsonify(public_key=_runtime().vapid_public_key)


@bp.get("/push-subscriptions")
@roles_required(*ALL_ROLES)
def push_subscriptions():
    from fleet.models import PushSubscription
    from fleet.queries import iso
    from sqlalchemy import select

    with _runtime().sessions() as session:
        rows = session.scalars(select(PushSubscription).where(PushSubscription.user_id == current_user.id)
                               .order_by(PushSubscription.created_at)).all()
        return jsonify(subscriptions=[{"id": s.id, "device": s.device, "push_service": urlparse(s.endpoint).netloc,
                                       "created_at": iso(s.created_at), "last_success_at": iso(s.last_success_at)}
                                      for s in rows])


@bp.post("/push-subscriptions")
@roles_required(*ALL_ROLES)
def subscribe():
    """Body: the browser's ``PushSubscription`` JSON (``endpoint``, ``keys.p256dh``, ``keys.auth``);
    201 on a new device, 200 when the endpoint was known (its keys and owner are updated)."""
    from fleet.db import transaction
    from fleet.models import PushSubscription
    from sqlalchemy import select

    endpoint, p256dh, auth = subscription_from(json_body(required=True))
    device = (request.headers.get("User-Agent") or "")[:200]
    with transaction(_runtime().sessions) as session:
        row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
        created = row is None
        if created:
            row = PushSubscription(endpoint=endpoint, user_id=current_user.id, p256dh=p256dh, auth=auth, device=device)
            session.add(row)
        else:  # a browser re-subscribing (or another user signing in on it): the device is theirs now
            row.user_id, row.p256dh, row.auth, row.device = current_user.id, p256dh, auth, device
        session.flush()
        subscription_id = row.id
    return jsonify(id=subscription_id, endpoint=endpoint), 201 if created else 200


@bp.delete("/push-subscriptions/<int:subscription_id>")
@roles_required(*ALL_ROLES)
def unsubscribe(subscription_id: int):
    from fleet.db import transaction
    from fleet.models import PushSubscription

    with transaction(_runtime().sessions) as session:
        row = session.get(PushSubscription, subscription_id)
        if row is None or row.user_id != current_user.id:
            raise Refused(404, "not_found", f"Push subscription {subscription_id} is not one of your devices.")
        session.delete(row)
    return "", 204


# --- notification preferences --------------------------------------------------------------------------

def preferences_from(body: dict) -> dict[str, Any]:
    """Validated ``{"channels", "quiet_start", "quiet_end", "timezone"}`` (each optional)."""
    from zoneinfo import available_timezones

    from fleet.alarms import parse_clock
    from fleet.delivery import DEFAULT_CHANNELS

    cleaned: dict[str, Any] = {}
    if "channels" in body:
        channels = body["channels"]
        if not isinstance(channels, list) or not all(c in DEFAULT_CHANNELS for c in channels):
            raise Refused(400, "bad_field", f"channels must be a list of {', '.join(DEFAULT_CHANNELS)}.", "channels")
        cleaned["channels"] = sorted(set(channels), key=DEFAULT_CHANNELS.index)
    for field in ("quiet_start", "quiet_end"):
        if field in body:
            value = body[field]
            if value is not None and not isinstance(value, str):
                raise Refused(400, "bad_field", f"{field} must be a time of day such as 22:00, or null.", field)
            try:
                parsed = parse_clock(value)
            except ValueError as error:
                raise Refused(400, "bad_field", f"{field}: {error}.", field) from None
            cleaned[field] = parsed.strftime("%H:%M") if parsed else None
    if "timezone" in body:
        if body["timezone"] not in available_timezones() and body["timezone"] != "UTC":
            raise Refused(400, "bad_field", "timezone must be an IANA zone such as Europe/London.", "timezone")
        cleaned["timezone"] = body["timezone"]
    if "owner_alerts" in body:
        from fleet.owner_alerts import BadSubscription, clean_subscription

        try:
            cleaned["owner_alerts"] = clean_subscription(body["owner_alerts"])
        except BadSubscription as bad:
            raise Refused(400, "bad_field", str(bad), bad.field) from None
    return cleaned


def save_preferences(user_id: int, cleaned: dict[str, Any], owner: bool = False) -> dict[str, Any]:
    """Store ``cleaned`` (:func:`preferences_from`); ``owner``: a customer's user, whose answer
    includes their owner alerts (``fleet.owner_alerts``)."""
    from fleet.db import transaction
    from fleet.models import UserPreference, utcnow
    from fleet.owner_alerts import subscription_of

    with transaction(_runtime().sessions) as session:
        row = session.get(UserPreference, user_id)
        if row is None:
            row = UserPreference(user_id=user_id, channels=["push", "email"], timezone="UTC")
            session.add(row)
        for key, value in cleaned.items():
            if key == "owner_alerts":  # the settings left out keep their stored (or default) value
                value = {**subscription_of(row.owner_alerts), **value}
            setattr(row, key, value)
        row.updated_at = utcnow()
    return load_preferences(user_id, owner)


def load_preferences(user_id: int, owner: bool = False) -> dict[str, Any]:
    from fleet.delivery import preferences_of
    from fleet.models import UserPreference
    from fleet.owner_alerts import subscription_of

    with _runtime().sessions() as session:
        prefs = preferences_of(session, user_id)
        row = session.get(UserPreference, user_id)
        alerts = subscription_of(row.owner_alerts if row is not None else None)
    loaded = {"channels": list(prefs.channels), "quiet_start": prefs.quiet_start, "quiet_end": prefs.quiet_end,
              "timezone": prefs.timezone}
    return {**loaded, "owner_alerts": alerts} if owner else loaded


@bp.get("/me/preferences")
@roles_required(*ALL_ROLES)
def preferences():
    from fleet.owner_alerts import OWNER_ROLES

    return jsonify(load_preferences(current_user.id, owner=current_user.role in OWNER_ROLES))


@bp.put("/me/preferences")
@roles_required(*ALL_ROLES)
def update_preferences():
    """Body: any of ``channels`` (["push", "email"]), ``quiet_start``/``quiet_end`` ("22:00" or
    null), ``timezone`` (IANA), and for a customer's user ``owner_alerts`` ({"security": bool,
    "faults": "off"|"alarm"|"warning"}, either may be left out); answers the stored preferences."""
    from fleet.owner_alerts import OWNER_ROLES

    owner = current_user.role in OWNER_ROLES
    cleaned = preferences_from(json_body(required=True))
    if "owner_alerts" in cleaned and not owner:
        raise Refused(400, "bad_field", "owner_alerts are for customers' users: alarms reach the OEM's people "
                      "through the escalation chains (Admin → Alarm rules).", "owner_alerts")
    return jsonify(save_preferences(current_user.id, cleaned, owner))

