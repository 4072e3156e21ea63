"""fleet.scope: the one rule of who sees which machines (tenants, and a viewer's sites)."""
from __future__ import annotations

from sqlalchemy.dialects import sqlite

from fleet.scope import Scope, as_scope, machine_clause, row_clause


def sql(clause) -> str:
    return str(clause.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def test_scope_reads_as_its_tenants_and_checks_sites():
    every_site = Scope((1, 4))
    assert list(every_site) == [1, 4] and 4 in every_site and 2 not in every_site and len(every_site) == 2
    assert not every_site.site_limited and every_site.may_see(4, None) and every_site.may_see(1, 7)
    limited = Scope((4,), site_ids=(7, 8))
    assert limited.site_limited and limited.may_see(4, 7) and not limited.may_see(4, 9)
    assert not limited.may_see(4, None)  # a machine with no site is not at one of theirs
    assert not limited.may_see(5, 7) and not limited.may_see(None, 7)
    assert not Scope((4,), site_ids=()).may_see(4, 7)  # limited to no site: sees nothing


def test_a_list_of_tenants_is_a_scope_of_every_site():
    assert as_scope([3, 1, 3]) == Scope((1, 3))
    limited = Scope((4,), (7,))
    assert as_scope(limited) is limited


def test_sql_conditions_add_the_site_limit_only_when_limited():
    from fleet.models import Alarm, WorkOrder

    assert sql(machine_clause([1, 2])) == "machine.tenant_id IN (1, 2)"
    assert sql(machine_clause(Scope((4,), (7, 8)))) == "machine.tenant_id IN (4) AND machine.site_id IN (7, 8)"
    assert sql(row_clause([4], Alarm.tenant_id, Alarm.machine_id)) == "alarm.tenant_id IN (4)"
    limited = sql(row_clause(Scope((4,), (7,)), WorkOrder.tenant_id, WorkOrder.machine_id))
    assert limited.startswith("work_order.tenant_id IN (4) AND work_order.machine_id IN (SELECT machine.id")
    assert "machine.site_id IN (7)" in limited


def test_a_principal_carries_its_site_limit_into_its_scope():
    from types import SimpleNamespace

    from app.auth import principal_from_user

    user = SimpleNamespace(id=5, email="v@x", name="V", role="customer", active=True, timezone=None)
    tenant = SimpleNamespace(id=4, name="Quarry", kind="customer")
    every = principal_from_user(user, tenant, [])
    assert every.scope == Scope((4,)) and not every.site_limited
    limited = principal_from_user(user, tenant, [], site_ids=(9, 7))
    assert limited.scope == Scope((4,), (7, 9)) and limited.site_limited and limited.visible_tenant_ids == (4,)


def test_report_times_read_in_the_customers_zone():
    from zoneinfo import ZoneInfo

    from fleet.report_pdf import day_words, local_time

    assert local_time("2026-07-03T08:15:00Z", ZoneInfo("Europe/London")) == "3 Jul 2026 09:15"
    assert local_time("2026-12-31T23:30:00Z", ZoneInfo("Europe/Berlin"), with_time=False) == "1 Jan 2027"
    assert local_time("", ZoneInfo("UTC")) == "" and day_words("2026-12-01") == "1 Dec 2026"
