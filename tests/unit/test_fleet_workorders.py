"""The work-order life cycle (pure: the model class needs no database to change state)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fleet.models import Technician, WorkOrder
from fleet.workorders import (DomainError, InvalidTransition, can_transition, max_priority, raise_priority)

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


def new_order() -> WorkOrder:
    return WorkOrder(id=7, status="open", title="Outer race", history=[], parts=[])


def tech(id_=3, name="Sam Okafor") -> Technician:
    return Technician(id=id_, name=name, skills=["bearings"], home_lat=0.0, home_lon=0.0)


def test_happy_path_records_each_step():
    order = new_order()
    order.assign(tech(), actor="engineer@x", when=T0)
    order.start(actor="technician@x", when=T0.replace(hour=12))
    order.complete("Outer race spalled; bearing replaced", [{"part_number": "6312-C3", "quantity": 1}],
                   actor="technician@x", when=T0.replace(hour=15))
    assert order.status == "done"
    assert order.technician_id == 3
    assert (order.assigned_at, order.started_at, order.completed_at) == (T0, T0.replace(hour=12), T0.replace(hour=15))
    assert order.parts == [{"part_number": "6312-C3", "quantity": 1.0}]
    assert [(h["from"], h["to"]) for h in order.history] == [("open", "assigned"), ("assigned", "in_progress"),
                                                             ("in_progress", "done")]
    assert order.history[0]["by"] == "engineer@x" and "Sam Okafor" in order.history[0]["note"]
    assert not order.is_active


@pytest.mark.parametrize("steps, illegal", [
    ([], "start"),                       # open → in_progress skips assignment
    ([], "complete"),                    # open → done
    (["assign"], "complete"),            # assigned → done without starting
    (["assign", "start", "complete"], "cancel"),
    (["cancel"], "assign"),
])
def test_invalid_transitions_raise_and_change_nothing(steps, illegal):
    order = new_order()
    actions = {"assign": lambda: order.assign(tech()), "start": order.start,
               "complete": lambda: order.complete("done it"), "cancel": lambda: order.cancel("false alarm")}
    for step in steps:
        actions[step]()
    before = (order.status, list(order.history))
    with pytest.raises(InvalidTransition) as info:
        actions[illegal]()
    assert (order.status, order.history) == before
    assert info.value.current == order.status and "work order 7" in str(info.value)


def test_reassignment_is_allowed_while_assigned():
    order = new_order()
    order.assign(tech(3))
    order.assign(tech(4, "Priya Raman"))
    assert order.status == "assigned" and order.technician_id == 4


def test_complete_needs_findings_and_valid_parts():
    order = new_order()
    order.assign(tech())
    order.start()
    with pytest.raises(DomainError, match="findings"):
        order.complete("  ")
    with pytest.raises(DomainError, match=r"parts\[0\].quantity"):
        order.complete("replaced", [{"part_number": "6312", "quantity": 0}])
    with pytest.raises(DomainError, match=r"parts\[1\].part_number"):
        order.complete("replaced", [{"part_number": "6312", "quantity": 1}, {"quantity": 2}])
    assert order.status == "in_progress"


def test_cancel_needs_a_reason():
    order = new_order()
    with pytest.raises(DomainError, match="reason"):
        order.cancel("")
    order.cancel("duplicate of WO-000003")
    assert order.status == "cancelled" and order.cancel_reason == "duplicate of WO-000003"


def test_assign_needs_a_technician():
    with pytest.raises(DomainError):
        new_order().assign(None)


def test_priority_helpers():
    assert raise_priority("low") == "medium"
    assert raise_priority("urgent") == "urgent"
    assert max_priority("medium", "urgent", "low") == "urgent"
    assert can_transition("open", "assigned") and not can_transition("done", "open")
