"""Which site a machine works at: the admin moves it between its owner's sites.

A machine's site decides who of a customer's site-limited viewers sees it (:mod:`fleet.scope`),
and which site's on-call technicians its alarms reach. A move is recorded in the audit log and
answers the ids of the viewers whose scope it changed, so the caller can move their open live
sockets to the rooms they may hear now (``app.live_sessions``).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from .db import transaction
from .events import AdminChanged
from .models import Machine, Site, User


class MoveRefused(ValueError):
    """The move was refused; the message says why in words for the admin."""


@dataclass(frozen=True)
class Move:
    """A machine moved: where from and to, and the site-limited viewers it concerns."""

    machine_uid: str
    from_site: str | None
    to_site: str
    viewer_ids: tuple[int, ...]


class MachineSites:
    """Sites per tenant for the admin's choice, and the move itself.

    Parameters
    ----------
    sessions : sessionmaker
    bus : fleet.handlers.MessageBus
        Gets an :class:`~fleet.events.AdminChanged` per move (the audit log).
    """

    def __init__(self, sessions: sessionmaker, bus):
        self.sessions, self.bus = sessions, bus

    def sites_by_tenant(self, tenant_ids) -> dict[int, list[dict]]:
        """Tenant id -> its sites (``id``, ``name``) in name order, for the tenants given."""
        by_tenant: dict[int, list[dict]] = {}
        with self.sessions() as db:
            for site in db.scalars(select(Site).where(Site.tenant_id.in_(list(tenant_ids))).order_by(Site.name)):
                by_tenant.setdefault(site.tenant_id, []).append({"id": site.id, "name": site.name})
        return by_tenant

    def move(self, actor: str, machine_uid: str, site_id: int | None, tenant_ids) -> Move | None:
        """Put machine ``machine_uid`` at site ``site_id`` (one of its owner's sites).

        Parameters
        ----------
        actor : str
            Who moves it (the audit log).
        machine_uid : str
        site_id : int or None
            The new site; None or a site of another tenant is refused.
        tenant_ids : iterable of int
            The tenants the actor may configure: a machine outside them is "no such machine".

        Returns
        -------
        Move or None
            None when the machine was at that site already (nothing changed, nothing recorded).
        """
        with transaction(self.sessions) as db:
            machine = db.scalar(select(Machine).where(Machine.uid == machine_uid,
                                                      Machine.tenant_id.in_(list(tenant_ids))))
            if machine is None:
                raise MoveRefused(f"There is no machine {machine_uid!r}.")
            known_id = site_id is not None and 0 < site_id < 2**31  # beyond an SQL integer: no site
            site = db.get(Site, site_id) if known_id else None
            if site is None or site.tenant_id != machine.tenant_id:
                raise MoveRefused(f"Choose one of {machine_uid}'s owner's sites.")
            if machine.site_id == site.id:
                return None
            before = db.get(Site, machine.site_id) if machine.site_id is not None else None
            machine.site_id = site.id
            # The customer's viewers limited to some sites: the move may add or take away this machine.
            viewers = tuple(db.scalars(select(User.id).where(User.tenant_id == machine.tenant_id,
                                                             User.sites_limited.is_(True)).order_by(User.id)))
            move = Move(machine_uid, before.name if before else None, site.name, viewers)
            machine_id, tenant_id = machine.id, machine.tenant_id
        self.bus.handle([AdminChanged(tenant_ids=(tenant_id,), subject_type="machine", subject_id=machine_id,
                                      action="moved", actor=actor,
                                      detail={"machine": machine_uid, "from": move.from_site, "to": move.to_site})])
        return move
