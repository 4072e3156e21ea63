"""How the fleet tells the outside world that something happened.

The domain only knows the :class:`Notifier` protocol; the app passes in its Socket.IO
implementation (``app.notifier.SocketIONotifier``), a CLI or a batch job passes
:class:`NullNotifier`. Events and their payloads:

``diagnosis``       a burst was diagnosed: ``{"machine", "component", "burst_id", "time", "iso_zone",
                    "velocity_rms_mm_s", "health_index", "findings": [Finding.to_dict()]}``
``work_order``      a work order was opened, updated or changed state: ``fleet.queries.work_order_view``
                    plus ``"change": "opened" | "updated" | "escalated" | "assigned" | ...``
``machine_status``  ``fleet.queries.machine_status_view``
``rul``             ``{"machine", "component", "p10_h", "p50_h", "p90_h", "model_version"}``
"""
from __future__ import annotations

import logging
from typing import Iterable, Protocol

log = logging.getLogger(__name__)

EVENTS = ("diagnosis", "work_order", "machine_status", "rul")


class Notifier(Protocol):
    def publish(self, event: str, payload: dict, tenant_ids: Iterable[int]) -> None:
        """Deliver ``event`` with ``payload`` to everyone allowed to see ``tenant_ids``."""


class NullNotifier:
    """Delivers nothing (command-line runs, batch re-processing); logs at debug level."""

    def publish(self, event: str, payload: dict, tenant_ids: Iterable[int]) -> None:
        log.debug("event %s for tenants %s not delivered (NullNotifier)", event, list(tenant_ids))


class FanoutNotifier:
    """Publish to several notifiers (e.g. Socket.IO and Web Push); one failing does not stop the rest."""

    def __init__(self, *notifiers: Notifier):
        self.notifiers = notifiers

    def publish(self, event: str, payload: dict, tenant_ids: Iterable[int]) -> None:
        tenant_ids = list(tenant_ids)
        for notifier in self.notifiers:
            try:
                notifier.publish(event, payload, tenant_ids)
            except Exception:  # a broken channel must not lose the others' delivery
                log.exception("notifier %r failed on %s", notifier, event)


def safe_publish(notifier: Notifier, event: str, payload: dict, tenant_ids: Iterable[int]) -> None:
    """Publish, logging instead of raising: the SQL work is committed and must not be undone by a
    notification failure."""
    try:
        notifier.publish(event, payload, list(tenant_ids))
    except Exception:
        log.exception("publishing %s failed", event)
