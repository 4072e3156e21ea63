"""The work-order board: orders in columns per state, filtered, sorted, exported as CSV.

Pure helpers over the ``fleet.queries`` read models (no Flask): the view in
:mod:`app.console.views` reads the orders and the fleet rows, these filter and arrange them.
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, Mapping

from fleet.workorders import PRIORITIES, STATUSES
from fleet.wording import component_words

#: Sort keys offered on the board: (key, label).
SORTS = (("due", "Due date"), ("priority", "Priority"), ("created", "Newest"), ("machine", "Machine"))
#: Filters: query parameter → the order field it matches (customer and site come from the machine).
FILTERS = ("customer", "site", "technician", "priority")
CSV_COLUMNS = ("number", "status", "priority", "severity", "machine", "component", "customer", "site",
               "title", "technician", "due_at", "created_at", "completed_at")


def with_places(orders: Iterable[dict], machines: Iterable[Mapping]) -> list[dict]:
    """Each order with its machine's ``customer`` and ``site`` (from the fleet overview rows)."""
    places = {m["uid"]: (m.get("customer"), m.get("site")) for m in machines}
    out = []
    for order in orders:
        customer, site = places.get(order.get("machine"), (None, None))
        out.append({**order, "customer": customer, "site": site})
    return out


def filter_choices(orders: list[dict]) -> dict[str, list[str]]:
    """The values each filter can take, from the orders themselves (sorted, no blanks)."""
    choices = {key: sorted({str(o[key]) for o in orders if o.get(key)}) for key in ("customer", "site", "technician")}
    choices["priority"] = list(PRIORITIES)
    return choices


def apply_filters(orders: list[dict], chosen: Mapping[str, str]) -> list[dict]:
    """Orders matching every chosen filter exactly (an empty choice matches all)."""
    return [o for o in orders if all(not chosen.get(k) or str(o.get(k) or "") == chosen[k] for k in FILTERS)]


def sort_orders(orders: list[dict], key: str) -> list[dict]:
    """Orders by ``key`` (one of :data:`SORTS`): due soonest, most urgent, newest, or machine."""
    rank = {p: i for i, p in enumerate(PRIORITIES)}
    far = "9999"
    keys = {
        "due": lambda o: (o.get("due_at") or far, -rank.get(o.get("priority"), 0)),
        "priority": lambda o: (-rank.get(o.get("priority"), 0), o.get("due_at") or far),
        "created": lambda o: tuple(-ord(c) for c in (o.get("created_at") or "")),
        "machine": lambda o: (o.get("machine") or "", o.get("due_at") or far),
    }
    return sorted(orders, key=keys[key])


def columns(orders: list[dict]) -> list[tuple[str, list[dict]]]:
    """``[(state, orders in that state), ...]`` in the life cycle's order."""
    return [(state, [o for o in orders if o.get("status") == state]) for state in STATUSES]


def to_csv(orders: Iterable[dict]) -> str:
    """The orders as CSV (one header row, :data:`CSV_COLUMNS`), component names in words."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for order in orders:
        row = {**order, "component": component_words(order.get("component")) if order.get("component") else ""}
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
    return buffer.getvalue()
