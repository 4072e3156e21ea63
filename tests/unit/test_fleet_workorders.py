"""Work-order priorities and the row's notion of "active" (the life cycle is tests/unit/test_fleet_lifecycle.py)."""
from __future__ import annotations

import pytest

from fleet.lifecycle import ACTIVE, LIFE_TO_ROW, STATUSES as LIFE_STATUSES
from fleet.models import WorkOrder
from fleet.workorders import ACTIVE_STATUSES, STATUSES, max_priority, raise_priority


def test_priority_helpers():
    assert raise_priority("low") == "medium"
    assert raise_priority("urgent") == "urgent"
    assert max_priority("medium", "urgent", "low") == "urgent"


def test_row_statuses_are_the_life_cycles_and_the_old_state_machine_is_gone():
    assert STATUSES == tuple(LIFE_TO_ROW.get(s, s) for s in LIFE_STATUSES)
    assert ACTIVE_STATUSES == ACTIVE
    for method in ("assign", "start", "complete", "cancel"):  # one way to change an order: fleet.order_actions
        assert not hasattr(WorkOrder, method)


@pytest.mark.parametrize("status, active", [("open", True), ("on_hold", True), ("done", False), ("closed", False)])
def test_is_active(status, active):
    assert WorkOrder(status=status).is_active is active
