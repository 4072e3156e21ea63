"""The work-order board: orders in columns per state, filtered, sorted, exported as CSV, with
the engineer's actions per state and the week's dispatch proposal.

Pure helpers over the ``fleet.queries`` read models (no Flask): the view in
:mod:`app.console.views` reads the orders and the fleet rows, these filter and arrange them. The
actions themselves go through :func:`app.actions.run_action` (the one path of the life cycle).
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, Mapping

from fleet import lifecycle
from fleet.workorders import PRIORITIES, STATUSES
from fleet.wording import component_words, fault_words

#: Sort keys offered on the board: (key, label).
SORTS = (("due", "Due date"), ("priority", "Priority"), ("created", "Newest"), ("machine", "Machine"))
#: Filters: query parameter → the order field it matches (customer and site come from the machine).
FILTERS = ("customer", "site", "technician", "priority")
CSV_COLUMNS = ("number", "status", "priority", "severity", "machine", "component", "customer", "site",
               "title", "technician", "due_at", "created_at", "completed_at")


#: Column heads (the row's ``done`` is the life cycle's ``completed``).
STATE_LABELS = {"open": "Open", "assigned": "Assigned", "accepted": "Accepted", "in_progress": "In progress",
                "on_hold": "On hold", "done": "Completed", "closed": "Closed", "cancelled": "Cancelled"}
#: The engineer's actions in the order the action panel shows them, with their button words.
ACTION_LABELS = {"assign": "Assign", "reassign": "Reassign", "unassign": "Take back (unassign)",
                 "hold": "Put on hold", "resume": "Resume", "complete_on_behalf": "Complete on behalf of the technician",
                 "close": "Close after review", "reopen": "Reopen (review rejected)", "cancel": "Cancel"}
#: Query parameters the board keeps across an action (filters, sort, the order whose panel is
#: open, the state a phone shows).
KEPT = (*FILTERS, "sort", "act", "state")


def engineer_actions(row_status: str) -> list[str]:
    """The life cycle's engineer actions from an order's row status, in :data:`ACTION_LABELS` order."""
    status = lifecycle.ROW_TO_LIFE.get(row_status, row_status)
    allowed = set(lifecycle.actions_for(status, "engineer"))
    return [a for a in ACTION_LABELS if a in allowed]


def code_choices(fault_mode: str) -> dict:
    """What the complete-on-behalf form offers: the predicted fault's codes, and (for "another
    fault was found") the other fault modes and every concrete code, each ``{code: label}``."""
    try:
        own = lifecycle.code_list(fault_mode)
    except lifecycle.DomainError:
        own = lifecycle.code_list("")
    every = lifecycle.code_list("")
    other = {key: {c: label for c, label in getattr(every, key).items() if c not in getattr(own, key)}
             for key in ("problems", "causes", "remedies")}
    return {"own": {key: dict(getattr(own, key)) for key in ("problems", "causes", "remedies")}, "other": other,
            "fault_words": fault_words(fault_mode, "") if fault_mode else "the predicted fault",
            "found_modes": {m: fault_words(m, "") for m in lifecycle.CODE_LISTS if m != fault_mode}}


def kept_params(values: Mapping[str, str]) -> dict[str, str]:
    """The board's own parameters from a query or a posted form (unknown keys dropped, blanks too)."""
    return {key: str(values.get(key)).strip()[:120] for key in KEPT if (values.get(key) or "").strip()}


def proposal_for(plan: Mapping | None, order_id: int) -> dict | None:
    """Where a stored dispatch plan puts ``order_id``: ``{technician_id, technician, day, locked,
    reason}``, ``{"unplanned": reason}`` or None when the plan does not mention it."""
    if not plan:
        return None
    for a in plan.get("assignments", []):
        if order_id in a.get("work_order_ids", []):
            return {"technician_id": a["technician_id"], "technician": a["technician"], "day": a["day"],
                    "locked": a.get("locked", False), "reason": a.get("reason", "")}
    for u in plan.get("unplanned", []):
        if order_id in u.get("work_order_ids", []):
            return {"unplanned": u.get("reason", "")}
    return None


def proposal_summary(plan: Mapping | None, visible_order_ids: Iterable[int]) -> dict:
    """How many of the caller's orders a plan places, on how many visits, and how many it leaves."""
    visible = set(visible_order_ids)
    if not plan:
        return {"visits": 0, "orders": 0, "unplanned": 0}
    visits = [a for a in plan.get("assignments", []) if visible & set(a.get("work_order_ids", []))]
    return {"visits": len(visits), "orders": sum(len(visible & set(a["work_order_ids"])) for a in visits),
            "unplanned": sum(len(visible & set(u.get("work_order_ids", []))) for u in plan.get("unplanned", []))}


def with_places(orders: Iterable[dict], machines: Iterable[Mapping]) -> list[dict]:
    """Each order with its machine's ``customer`` and ``site`` (from the fleet overview rows)."""
    places = {m["uid"]: (m.get("customer"), m.get("site")) for m in machines}
    out = []
    for order in orders:
        customer, site = places.get(order.get("machine"), (None, None))
        out.append({**order, "customer": customer, "site": site})
    return out


def filter_choices(orders: list[dict], machines: Iterable[Mapping] = (),
                   technicians: Iterable[str] = ()) -> dict[str, list[str]]:
    """The values each filter can take (sorted, no blanks): from the orders, the visible machines'
    customers and sites and the technicians, so a filter still exists after its last order moved."""
    machines = list(machines)
    choices = {key: sorted({str(o[key]) for o in orders if o.get(key)} | {str(m[key]) for m in machines if m.get(key)})
               for key in ("customer", "site")}
    choices["technician"] = sorted({str(o["technician"]) for o in orders if o.get("technician")} | set(technicians))
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


def phone_state(columns: list[tuple[str, list[dict]]], requested: str = "", acting_status: str = "") -> str:
    """The one state column a phone shows (the others behind a picker with their counts).

    ``requested`` (``?state=``, already checked against :data:`STATE_LABELS`) wins; else the state
    of the order whose panel is open, so its card is in view after an action moved it; else the
    first state that holds orders, so a phone never opens on an empty column.
    """
    if requested:
        return requested
    if acting_status in dict(columns):
        return acting_status
    return next((state for state, orders in columns if orders), columns[0][0] if columns else "")


def to_csv(orders: Iterable[dict]) -> str:
    """The orders as CSV (one header row, :data:`CSV_COLUMNS`), component names in words."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for order in orders:
        row = {**order, "component": component_words(order.get("component")) if order.get("component") else ""}
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
    return buffer.getvalue()
