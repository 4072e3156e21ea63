"""Web Push to the technician a job concerns: a new job, a changed one, one taken away.

A message-bus subscriber (``handlers.EVENT_HANDLERS[WorkOrderChanged]``). It reuses the alarm
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


def job_push_payload(order: Mapping, change: str, base_url: str) -> dict:
    """The push message (JSON the service worker shows) for one change of ``order`` (a work-order view)."""
    from .wording import component_words, fault_words

    what = fault_words(order.get("fault_mode"), order.get("location")) if order.get("fault_mode") else order["title"]
    where = order.get("machine") or ""
    if order.get("component"):
        where += f", {component_words(order['component'])}"
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
    from .models import PushSubscription, Technician

    with deps.sessions() as session:
        technician = session.get(Technician, int(order["technician_id"]))
        if technician is None or technician.user is None or not technician.user.active:
            return
        if event.actor and event.actor == technician.user.email:
            return  # their own step: they know
        subscriptions = [(s.id, s.subscription_info()) for s in session.scalars(
            select(PushSubscription).where(PushSubscription.user_id == technician.user_id))]
    payload = job_push_payload(order, event.change, delivery.base_url)
    urgent = order.get("priority") == "urgent"
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
