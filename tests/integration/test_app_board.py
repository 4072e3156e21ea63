"""The work-order board against the real stores: columns per state, filters, sort, CSV export."""
from __future__ import annotations

import csv
import io
import time

import pytest

from app_helpers import CUSTOMER, ENGINEER, FAULTY_GENSET, login
from test_app_plot_api import diagnose_bursts

pytestmark = pytest.mark.integration


def test_board_filters_sorts_and_exports_what_it_shows(app, provisioning):
    diagnose_bursts(app, provisioning, [time.time_ns() - 60 * 10**9])
    client = app.test_client()
    login(client, ENGINEER)
    page = client.get("/console/work-orders/board").get_data(as_text=True)
    assert 'data-state="open"' in page and 'data-state="cancelled"' in page
    assert "Bearing outer-race defect on alternator drive end" in page and "1 of 1 orders" in page
    assert "Northbridge General Hospital" in page  # the site, from the machine

    narrowed = client.get("/console/work-orders/board?customer=Northbridge+Health+%26+Data&priority=urgent").get_data(as_text=True)
    assert "1 of 1 orders" in narrowed
    other = client.get("/console/work-orders/board?priority=low").get_data(as_text=True)
    assert "0 of 1 orders" in other

    exported = client.get("/console/work-orders/board?format=csv&sort=priority")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [(r["machine"], r["component"], r["status"]) for r in rows] == [(FAULTY_GENSET, "alternator drive end", "open")]

    # A phone shows one state: the first that holds orders unless ?state= chose one; each state
    # in the picker links to itself with the filters kept.
    assert 'class="board-column chosen" data-state="open"' in page
    chosen = client.get("/console/work-orders/board?state=cancelled&priority=urgent").get_data(as_text=True)
    assert 'class="board-column chosen" data-state="cancelled"' in chosen
    assert 'class="board-column chosen" data-state="open"' not in chosen
    assert 'href="/console/work-orders/board?priority=urgent&amp;state=done"' in chosen

    for query in ("customer=Nobody+Ltd", "sort=colour", "priority=whenever", "state=lost"):
        response = client.get(f"/console/work-orders/board?{query}")
        assert response.status_code == 400, query
        assert "lost" not in query or "Unknown state &#39;lost&#39;" in response.get_data(as_text=True)
    customer = app.test_client()
    login(customer, CUSTOMER)
    assert customer.get("/console/work-orders/board").status_code == 403


def test_board_sorts_by_due_priority_and_machine():
    from app.console.board import apply_filters, columns, sort_orders

    orders = [{"number": "A", "priority": "low", "due_at": "2026-12-01", "machine": "EX-2", "status": "open"},
              {"number": "B", "priority": "urgent", "due_at": "2026-12-05", "machine": "EX-1", "status": "assigned"},
              {"number": "C", "priority": "high", "due_at": None, "machine": "EX-3", "status": "open"}]
    assert [o["number"] for o in sort_orders(orders, "due")] == ["A", "B", "C"]  # no due date last
    assert [o["number"] for o in sort_orders(orders, "priority")] == ["B", "C", "A"]
    assert [o["number"] for o in sort_orders(orders, "machine")] == ["B", "A", "C"]
    assert [o["number"] for o in apply_filters(orders, {"priority": "high"})] == ["C"]
    assert [(state, len(items)) for state, items in columns(orders)][:2] == [("open", 2), ("assigned", 1)]


def test_a_phone_opens_the_board_on_a_column_with_orders():
    from app.console.board import columns, phone_state

    assigned_only = columns([{"number": "B", "status": "assigned"}])
    assert phone_state(assigned_only) == "assigned"  # not the empty "open" column
    assert phone_state(assigned_only, acting_status="done") == "done"  # where the acted-on order went
    assert phone_state(assigned_only, requested="cancelled", acting_status="done") == "cancelled"
    assert phone_state(columns([])) == "open"
