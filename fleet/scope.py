"""Who sees which machines: the one place where scoping is decided.

A user sees the machines of their own tenant and of every tenant below it (OEM → dealer →
customer; :func:`descendant_tenant_ids`). A customer's viewer may further be limited to some of the
customer's sites (``User.sites_limited`` and the ``user_site`` rows): then only the machines at
those sites are visible. :class:`Scope` carries both; every read model, report, API and the live
channel filters with :func:`row_clause` / :func:`machine_clause`, so a limited viewer's lists, map,
machine pages, CSV and PDF reports and Socket.IO rooms all come from the same rule.

A :class:`Scope` iterates over its tenant ids, so code that only asks "which tenants" (the admin
pages, the audience of an event) keeps working with it; any filter of machines, alarms or work
orders must go through :func:`row_clause`, which adds the site limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from sqlalchemy import and_, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Scope:
    """The machines a principal may see.

    Attributes
    ----------
    tenant_ids : tuple of int
        Tenants whose machines are visible (the user's own and every one below it).
    site_ids : tuple of int or None
        None: every site of those tenants (and machines with no site). A tuple: only machines at
        these sites, nothing else (an empty tuple sees no machine at all).
    """

    tenant_ids: tuple[int, ...] = ()
    site_ids: tuple[int, ...] | None = None

    def __iter__(self) -> Iterator[int]:
        return iter(self.tenant_ids)

    def __contains__(self, tenant_id: object) -> bool:
        return tenant_id in self.tenant_ids

    def __len__(self) -> int:
        return len(self.tenant_ids)

    @property
    def site_limited(self) -> bool:
        """True when only some sites' machines are visible."""
        return self.site_ids is not None

    def may_see(self, tenant_id: int | None, site_id: int | None) -> bool:
        """Whether a machine owned by ``tenant_id`` at ``site_id`` is visible (pure check)."""
        if tenant_id is None or int(tenant_id) not in self.tenant_ids:
            return False
        return self.site_ids is None or (site_id is not None and int(site_id) in self.site_ids)


def as_scope(visible: Scope | Iterable[int]) -> Scope:
    """``visible`` as a :class:`Scope`: itself, or a plain list of tenant ids (every site)."""
    if isinstance(visible, Scope):
        return visible
    return Scope(tuple(sorted({int(t) for t in visible})))


def machine_clause(visible: Scope | Iterable[int]):
    """The SQL condition on ``Machine`` rows that are visible."""
    from .models import Machine

    scope = as_scope(visible)
    clause = Machine.tenant_id.in_(list(scope.tenant_ids))
    if scope.site_ids is not None:
        clause = and_(clause, Machine.site_id.in_(list(scope.site_ids)))
    return clause


def visible_machine_ids(visible: Scope | Iterable[int]):
    """A sub-select of the ids of the visible machines."""
    from .models import Machine

    return select(Machine.id).where(machine_clause(visible))


def row_clause(visible: Scope | Iterable[int], tenant_column, machine_column):
    """The SQL condition for rows about a machine (alarms, work orders): the row's tenant is visible
    and, for a site-limited scope, its machine is at one of the sites."""
    scope = as_scope(visible)
    clause = tenant_column.in_(list(scope.tenant_ids))
    if scope.site_ids is not None:
        clause = and_(clause, machine_column.in_(visible_machine_ids(scope)))
    return clause


def visible_machine_uids(session: Session, visible: Scope | Iterable[int]) -> list[str]:
    """The uids of the visible machines, sorted (the live channel's machine rooms)."""
    from .models import Machine

    return list(session.scalars(select(Machine.uid).where(machine_clause(visible)).order_by(Machine.uid)))


def descendant_tenant_ids(session: Session, tenant_id: int) -> list[int]:
    """Every tenant below ``tenant_id`` (children, their children, ...)."""
    from .models import Tenant

    found: list[int] = []
    frontier = [tenant_id]
    while frontier:
        children = session.scalars(select(Tenant.id).where(Tenant.parent_id.in_(frontier))).all()
        frontier = [c for c in children if c not in found and c != tenant_id]
        found.extend(frontier)
    return found


def user_site_ids(session: Session, user) -> tuple[int, ...] | None:
    """The sites ``user`` is limited to (sorted), or None when they see every site of their tenant.

    Only a customer's user can be limited; the link rows of a site that was deleted go with it, so
    a viewer whose every site is gone sees nothing rather than everything.
    """
    from .models import Site, UserSite

    if not getattr(user, "sites_limited", False):
        return None
    rows = session.scalars(select(UserSite.site_id).join(Site, Site.id == UserSite.site_id)
                           .where(UserSite.user_id == user.id, Site.tenant_id == user.tenant_id))
    return tuple(sorted(rows))


def scope_of_user(session: Session, user) -> Scope:
    """The :class:`Scope` of ``user`` (a ``fleet.models.User`` row)."""
    tenants = [user.tenant_id] + descendant_tenant_ids(session, user.tenant_id)
    return Scope(tuple(sorted(set(tenants))), user_site_ids(session, user))


def scope_title(session: Session, company: str, visible: Scope | Iterable[int]) -> str:
    """How a report names what it covers: the company, and for a site-limited scope its sites
    (``Granite Ridge Quarries · Blackstone Quarry``)."""
    from .models import Site

    scope = as_scope(visible)
    if not scope.site_limited:
        return company
    names = list(session.scalars(select(Site.name).where(Site.id.in_(list(scope.site_ids))).order_by(Site.name)))
    return f"{company} · {', '.join(names) if names else 'no site'}"


def scope_zone_name(session: Session, visible: Scope | Iterable[int], tenant_id: int) -> str | None:
    """The time zone of the first site the scope sees of ``tenant_id`` (None: it has none)."""
    from .models import Site

    scope = as_scope(visible)
    stmt = select(Site.timezone).where(Site.tenant_id == tenant_id)
    if scope.site_limited:
        stmt = stmt.where(Site.id.in_(list(scope.site_ids)))
    return session.scalar(stmt.order_by(Site.id).limit(1))
