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

    for query in ("customer=Nobody+Ltd", "sort=colour", "priority=whenever"):
        response = client.get(f"/console/work-orders/board?{query}")
        assert response.status_code == 400, query
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
