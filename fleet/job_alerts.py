"""Web Push to the technician a job concerns: a new job, a changed one, one taken away.

Message-bus subscribers: :func:`push_job_change` (``WorkOrderChanged``) tells the assigned
technician of a new, changed, escalated or cancelled job; :func:`push_job_reassigned`
(``WorkOrderReassigned``) tells the technician who lost a job that it was moved (a tap opens
"My day", where it is gone). The technician who gets the job hears "New job" once, from the
``WorkOrderChanged`` ``assigned`` that every assignment publishes beside the reassignment. It reuses the alarm
delivery's push adapter and executor (``deps.delivery.push`` / ``.executor``): the same VAPID key,
the same subscriptions (``push_subscription``), sending off the request thread. A technician's
own actions are not pushed back to them. A tap on the notification opens ``url``, the job's page in
the technicians' app (the service worker's ``notificationclick``).
"""
from __future__ import annotations

import logging
from typing import Mapping

from sqlalchemy import select

log = logging.getLogger(__name__)

#: Work-order changes a technician is told about, and the notification's first words.
JOB_CHANGES = {"assigned": "New job", "updated": "Job changed", "escalated": "Job escalated",
               "cancelled": "Job cancelled", "reopened": "Job reopened"}


def job_url(base_url: str, order_id: int) -> str:
    return f"{base_url.rstrip('/')}/tech/jobs/{order_id}"


def my_day_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/tech/"


def _where(order: Mapping) -> str:
    from .wording import component_words

    where = order.get("machine") or ""
    if order.get("component"):
        where += f", {component_words(order['component'])}"
    return where


def moved_push_payload(order: Mapping, to_someone: bool, base_url: str) -> dict:
    """The push message for the technician who lost ``order`` (a work-order view): it was moved
    to someone else (``to_someone``) or taken back by the service engineer. A tap opens My day."""
    from .wording import fault_words

    what = fault_words(order.get("fault_mode"), order.get("location")) if order.get("fault_mode") else order["title"]
    gone = "was moved to someone else" if to_someone else "was taken back by the service engineer"
    return {"title": f"Job moved: {order['number']}",
            "body": f"{order['number']} ({_where(order)}: {what}) {gone}. It is off your day; no need to go.",
            "url": my_day_url(base_url), "tag": f"job-{order['id']}", "kind": "job_moved", "change": "moved",
            "moved_work_order_id": int(order["id"])}


def job_push_payload(order: Mapping, change: str, base_url: str) -> dict:
    """The push message (JSON the service worker shows) for one change of ``order`` (a work-order view)."""
    from .wording import fault_words

    what = fault_words(order.get("fault_mode"), order.get("location")) if order.get("fault_mode") else order["title"]
    where = _where(order)
    return {"title": f"{JOB_CHANGES[change]}: {order['number']}", "body": f"{where}: {what} ({order['priority']} priority)",
            "url": job_url(base_url, int(order["id"])), "work_order_id": int(order["id"]),
            "tag": f"job-{order['id']}", "kind": "job", "change": change}


def push_job_change(event, deps) -> None:
    """Queue the push for one ``WorkOrderChanged`` to the assigned technician's devices."""
    delivery = getattr(deps, "delivery", None)
    order = event.order
    if delivery is None or delivery.push is None or deps.sessions is None or event.change not in JOB_CHANGES:
        return
    if order.get("technician_id") is None:
        return
    payload = job_push_payload(order, event.change, delivery.base_url)
    _push_to_technician(deps, int(order["technician_id"]), event.actor, payload, order.get("priority") == "urgent")


def push_job_reassigned(event, deps) -> None:
    """Queue the "job moved" push for one ``WorkOrderReassigned`` to the devices of the technician
    who lost the job (not when they gave it up themselves: a decline)."""
    delivery = getattr(deps, "delivery", None)
    if (delivery is None or delivery.push is None or deps.sessions is None or event.from_technician_id is None
            or event.from_technician_id == event.to_technician_id):
        return
    payload = moved_push_payload(event.order, event.to_technician_id is not None, delivery.base_url)
    _push_to_technician(deps, int(event.from_technician_id), event.actor, payload, False)


def _push_to_technician(deps, technician_id: int, actor: str | None, payload: dict, urgent: bool) -> None:
    """Send ``payload`` to every device of an active technician's user, unless ``actor`` (their
    e-mail or name) is that technician: their own step, they know."""
    from .models import PushSubscription, Technician

    delivery = deps.delivery
    with deps.sessions() as session:
        technician = session.get(Technician, technician_id)
        if technician is None or technician.user is None or not technician.user.active:
            return
        if actor and actor in (technician.user.email, technician.name):
            return
        subscriptions = [(s.id, s.subscription_info()) for s in session.scalars(
            select(PushSubscription).where(PushSubscription.user_id == technician.user_id))]
    for subscription_id, info in subscriptions:
        delivery.executor.submit(_send, delivery, subscription_id, info, payload, urgent)


def _send(delivery, subscription_id: int, info: dict, payload: dict, urgent: bool) -> str:
    from .db import transaction
    from .delivery import DeliveryFailed, SubscriptionGone
    from .models import PushSubscription

    try:
        delivery.push.send(info, payload, urgent=urgent)
    except SubscriptionGone:
        with transaction(delivery.sessions) as session:
            row = session.get(PushSubscription, subscription_id)
            if row is not None:
                session.delete(row)
        return "dropped"
    except DeliveryFailed as exc:  # a job alert is not retried: the app shows the job at next open
        log.warning("job push to subscription %s failed: %s", subscription_id, exc)
        return "failed"
    return "sent"
