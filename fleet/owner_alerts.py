"""Owner alerts: a customer's users hear by push or e-mail of the alarms on their own machines.

Beside the OEM's escalation chains (:mod:`fleet.escalation`, which stay as they are), each customer
user subscribes on their Notifications page to kinds of alarm (:data:`ALERT_KINDS`):

- ``security``: the machine left its site or runs outside its allowed hours (source ``security``);
  on by default, since only the owner can act on a theft and a browser tab is not always open.
- ``faults``: ``off`` (the default: the OEM's service team gets faults through its own chain and
  dispatches the repair), ``alarm`` (severity alarm only) or ``warning`` (warning and above).

The bus subscribers :func:`alert_owners` (``AlarmRaised``; ``AlarmUpdated`` too, for an alarm whose
severity rose into a subscription) and :func:`tell_owners_all_clear` (``AlarmCleared`` of a
security alarm) hand the messages to :class:`fleet.delivery.DeliveryService`, which logs one
``delivery`` row per alarm, person and channel (kinds ``owner`` and ``owner_clear``): its unique key
makes a second raise event or a second run of the handler send nothing more.

Quiet hours: security alerts go through them. A curfew alarm fires *because* a machine runs at night,
which is when people set quiet hours, and a theft at 02:00 is exactly when the owner must hear of
it; the all-clear follows the alert it answers. Fault alerts follow the common rule (only severity
``alarm`` goes through quiet hours).
"""
from __future__ import annotations

import html
from datetime import datetime
from typing import Mapping

from sqlalchemy import select

from .alarms import is_urgent, local_time_text, severity_rank
from .delivery import DEFAULT_CHANNELS, AlarmMessage, portal_machine_url
from .events import AlarmCleared, AlarmEvent, AlarmUpdated
from .models import Delivery, Machine, User, UserPreference

OWNER_KIND, CLEAR_KIND = "owner", "owner_clear"
OWNER_KINDS = (OWNER_KIND, CLEAR_KIND)
SECURITY_SOURCE = "security"
#: Who may subscribe: the OEM's and dealers' people are reached through escalation chains.
OWNER_ROLES = ("customer",)
#: ``faults`` levels: the lowest severity that reaches the owner ("off": none).
FAULT_LEVELS = ("off", "alarm", "warning")
ALERT_KINDS = {
    "security": "Machine security: left its site, running outside allowed hours",
    "faults": "Machine faults",
}
FAULT_LEVEL_WORDS = {"off": "Not sent to me", "alarm": "Severity alarm only", "warning": "Warning and above"}
DEFAULT_SUBSCRIPTION = {"security": True, "faults": "off"}


class BadSubscription(ValueError):
    """A subscription field the form or API sent is not one we know; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def subscription_of(stored: Mapping | None) -> dict:
    """The stored subscription with the defaults filled in (None: never chosen)."""
    chosen = dict(DEFAULT_SUBSCRIPTION)
    chosen.update({k: v for k, v in (stored or {}).items() if k in DEFAULT_SUBSCRIPTION})
    return chosen


def clean_subscription(body) -> dict:
    """The settings ``body`` gives (``security``: bool, ``faults``: one of :data:`FAULT_LEVELS`),
    checked; :class:`BadSubscription` names the first wrong one. Settings left out are not returned."""
    if not isinstance(body, Mapping):
        raise BadSubscription("owner_alerts", "owner_alerts must be an object such as "
                              '{"security": true, "faults": "alarm"}.')
    unknown = sorted(set(body) - set(DEFAULT_SUBSCRIPTION))
    if unknown:
        raise BadSubscription(f"owner_alerts.{unknown[0]}", f"owner_alerts has no setting {unknown[0]!r}; "
                              f"known: {', '.join(DEFAULT_SUBSCRIPTION)}.")
    if "security" in body and not isinstance(body["security"], bool):
        raise BadSubscription("owner_alerts.security", "owner_alerts.security must be true or false.")
    if "faults" in body and body["faults"] not in FAULT_LEVELS:
        raise BadSubscription("owner_alerts.faults", f"owner_alerts.faults must be one of {', '.join(FAULT_LEVELS)}.")
    return dict(body)


def wants(subscription: Mapping, alarm: Mapping) -> bool:
    """Whether ``subscription`` (see :func:`subscription_of`) asks for ``alarm`` (an ``alarm_view``)."""
    if alarm["source"] == SECURITY_SOURCE:
        return bool(subscription["security"])
    level = subscription["faults"]
    return level != "off" and severity_rank(alarm["severity"]) >= severity_rank(level)


def urgent_for_owner(alarm: Mapping) -> bool:
    """Through quiet hours, high push urgency: security alarms and severity ``alarm`` (module docstring)."""
    return alarm["source"] == SECURITY_SOURCE or is_urgent(alarm["severity"])


def still_worth_sending(kind: str, alarm: Mapping) -> bool:
    """An alert not yet out when its alarm cleared is dropped (nor is its all-clear sent); the OEM's
    acknowledgement does not stop it: the owner still has to know."""
    return kind == CLEAR_KIND or alarm["state"] != "cleared"


# --- who -------------------------------------------------------------------------------------------------

def owner_recipients(session, alarm: Mapping, audience) -> list[int]:
    """Active customer users of the machine's tenants (``audience``) who may see the machine (their
    site scope) and subscribe to this alarm."""
    from .scope import scope_of_user

    machine = session.get(Machine, alarm["machine_id"])
    if machine is None:
        return []
    people = session.scalars(select(User).where(User.role.in_(OWNER_ROLES), User.active.is_(True),
                                                User.tenant_id.in_(list(audience))).order_by(User.id))
    chosen = []
    for user in people:
        if not scope_of_user(session, user).may_see(machine.tenant_id, machine.site_id):
            continue
        preference = session.get(UserPreference, user.id)
        if wants(subscription_of(preference.owner_alerts if preference else None), alarm):
            chosen.append(user.id)
    return chosen


def told_owners(session, alarm_id: int) -> list[tuple[int, str]]:
    """``(user id, channel)`` whose owner alert of the alarm went out: they get the all-clear."""
    return list(session.execute(select(Delivery.user_id, Delivery.channel).where(
        Delivery.alarm_id == alarm_id, Delivery.kind == OWNER_KIND, Delivery.status.in_(("sent", "digested")))
        .order_by(Delivery.user_id, Delivery.channel)).all())


# --- bus subscribers -------------------------------------------------------------------------------------

def alert_owners(event: AlarmEvent, deps) -> None:
    """``AlarmRaised`` / ``AlarmUpdated``: queue the subscribed owners' alert (once per alarm and person)."""
    if deps.delivery is None or deps.sessions is None or event.alarm.get("state") == "cleared":
        return
    if isinstance(event, AlarmUpdated) and not event.severity_raised:
        return  # a plain repeat: whoever wanted it was told at the raise
    with deps.sessions() as session:
        people = owner_recipients(session, event.alarm, event.tenant_ids)
    if people:
        deps.delivery.deliver_to(event.alarm_id, [(p, c) for p in people for c in DEFAULT_CHANNELS],
                                 kind=OWNER_KIND, urgent=urgent_for_owner(event.alarm))


def tell_owners_all_clear(event: AlarmCleared, deps) -> None:
    """A security alarm cleared: those told of it hear it is over, on the channels they were told on."""
    if deps.delivery is None or deps.sessions is None or event.alarm.get("source") != SECURITY_SOURCE:
        return
    with deps.sessions() as session:
        told = told_owners(session, event.alarm_id)
    if told:
        deps.delivery.deliver_to(event.alarm_id, told, kind=CLEAR_KIND, urgent=True)


# --- the words --------------------------------------------------------------------------------------------

def all_clear_words(alarm: Mapping) -> str:
    """``EX-1004 is back inside Holloway Top Pit``, or who cleared it and why."""
    site = (alarm.get("detail") or {}).get("site") or "its site"
    if alarm.get("clear_reason") == "condition_gone":
        if alarm["cause"] == "geofence_exit":
            return f"{alarm['machine']} is back inside {site}"
        return f"{alarm['machine']} has stopped running outside the allowed hours of {site}"
    by = alarm.get("cleared_by") or "the service team"
    comment = alarm.get("clear_comment") or ""
    return f"{alarm['machine']}: the security alarm was cleared by {by}" + (f" ({comment})" if comment else "")


def owner_message(alarm: Mapping, kind: str, timezone_name: str, base_url: str) -> AlarmMessage:
    """The push payload and e-mail of an owner alert (or its all-clear), linking to the portal."""
    url = portal_machine_url(base_url, alarm["machine"])
    first = local_time_text(datetime.fromisoformat(alarm["first_seen_at"].replace("Z", "+00:00")), timezone_name)
    if kind == CLEAR_KIND:
        headline = all_clear_words(alarm)
        lines = [f"{headline}.", "", f"It was reported as: {alarm['title']} (first seen {first})."]
    elif alarm["source"] == SECURITY_SOURCE:
        headline = alarm["title"]
        lines = [f"{headline}.", "", f"First seen {first}. See where it is and what it is doing:"]
    else:
        headline = f"{alarm['severity'].capitalize()} on {alarm['machine']}: {alarm['title']}"
        lines = [f"{headline}.", "", f"First seen {first}. The service team has been told as well."]
    setting = "Machine security" if alarm["source"] == SECURITY_SOURCE else "Machine faults"
    footer = (f"You get this because \u201c{setting}\u201d is on in your notification settings: "
              f"{base_url.rstrip('/')}/profile")
    text = "\n".join([*lines, url, "", footer]) + "\n"
    esc = html.escape
    html_body = ("".join(f"<p>{esc(line)}</p>" for line in lines if line)
                 + f"<p><a href=\"{esc(url)}\">Open {esc(alarm['machine'])} on the portal</a></p>"
                 + f"<p style=\"color:#667085\">{esc(footer)}</p>")
    push = {"title": headline[:120], "body": f"First seen {first}", "url": url, "alarm_id": alarm["id"],
            "severity": alarm["severity"], "tag": f"owner-{alarm['id']}"}
    return AlarmMessage(f"[Ironwatch] {headline}"[:200], text, html_body, push)
