"""The full work-order life cycle: every step recorded, illegal steps refused with a clear error."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fleet import lifecycle
from fleet.lifecycle import Actor, Completion, IllegalTransition, OrderLife, PartUse, apply
from fleet.workorders import DomainError

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)
ENGINEER = Actor("Elena Fischer", "engineer")
SAM = Actor("Sam Okafor", "technician", technician_id=2)
PRIYA = Actor("Priya Raman", "technician", technician_id=3)
SPALL = Completion("outer_race_spalled", "lubrication", "bearing_replaced", "yes", component_replaced=True,
                   parts_used=(PartUse("6312-C3", 1),), labour_h=3.5)


def order(status="open", **kw) -> OrderLife:
    return OrderLife(1, status, "bearing_outer_race", **kw)


def test_whole_story_with_who_when_why():
    life = order()
    steps = [("assign", ENGINEER, {"technician_id": 2}), ("accept", SAM, {}), ("start", SAM, {}),
             ("hold", SAM, {"reason": "parts: 6312-C3 not on the van"}), ("resume", SAM, {}),
             ("complete", SAM, {"completion": SPALL, "catalogue": ["6312-C3"]}), ("close", ENGINEER, {})]
    for minutes, (action, actor, kw) in enumerate(steps):
        life = apply(life, action, actor, T0 + timedelta(minutes=10 * minutes), **kw)
    assert life.status == "closed" and life.completion == SPALL
    assert [(t.from_status, t.to_status) for t in life.history] == [
        ("open", "assigned"), ("assigned", "accepted"), ("accepted", "in_progress"), ("in_progress", "on_hold"),
        ("on_hold", "in_progress"), ("in_progress", "completed"), ("completed", "closed")]
    hold = life.history[3]
    assert (hold.by, hold.at, hold.why) == ("Sam Okafor", T0 + timedelta(minutes=30), "parts: 6312-C3 not on the van")
    assert life.history[5].why == ("bearing outer race spalled / lubrication (lack, wrong or contaminated) / "
                                   "bearing replaced; fault confirmed")  # words, not codes: people read it
    assert life.history[0].to_dict()["technician_id"] == 2


@pytest.mark.parametrize("status, action", [
    ("open", "accept"), ("open", "start"), ("open", "complete"), ("assigned", "start"), ("accepted", "close"),
    ("in_progress", "accept"), ("on_hold", "complete"), ("completed", "cancel"), ("closed", "reopen"),
    ("cancelled", "assign"),
])
def test_illegal_transitions_are_refused(status, action):
    life = order(status, technician_id=2)
    with pytest.raises(IllegalTransition) as caught:
        apply(life, action, SAM if action in lifecycle.TECHNICIAN_ACTIONS else ENGINEER, T0, technician_id=2,
              reason="parts", completion=SPALL)
    message = str(caught.value)
    assert f"cannot {action} a work order that is {status.replace('_', ' ')}" in message
    assert "allowed:" in message
    assert life.status == status and life.history == ()  # unchanged


def test_final_states_say_so():
    with pytest.raises(IllegalTransition, match=r"allowed: nothing \(final state\)"):
        apply(order("closed"), "cancel", ENGINEER, T0, reason="x")


def test_who_may_do_what():
    assigned = order("assigned", technician_id=2)
    with pytest.raises(DomainError, match="only the assigned technician may accept"):
        apply(assigned, "accept", PRIYA, T0)
    with pytest.raises(DomainError, match="only a service engineer may close"):
        apply(order("completed", technician_id=2), "close", SAM, T0)


def test_decline_needs_a_reason_and_the_decliner_is_not_assigned_again():
    assigned = order("assigned", technician_id=2)
    with pytest.raises(DomainError, match="reason is required to decline"):
        apply(assigned, "decline", SAM, T0, reason="  ")
    back = apply(assigned, "decline", SAM, T0, reason="van in the garage")
    assert back.status == "open" and back.declined_by == {2}
    with pytest.raises(DomainError, match="technician 2 declined this order"):
        apply(back, "assign", ENGINEER, T0, technician_id=2)
    assert apply(back, "assign", ENGINEER, T0, technician_id=3).technician_id == 3


def test_hold_reason_must_be_parts_access_or_customer():
    started = order("in_progress", technician_id=2)
    with pytest.raises(DomainError, match="hold reason must start with one of parts, access, customer"):
        apply(started, "hold", SAM, T0, reason="lunch")
    assert apply(started, "hold", SAM, T0, reason="access: site gate locked").hold_reason == "access: site gate locked"


@pytest.mark.parametrize("completion, message", [
    (Completion("outer_race_spalled", "lubrication", "bearing_replaced", "maybe"), "fault_confirmed must be one of"),
    (Completion("tooth_broken", "wear", "bearing_replaced", "yes"), "problem_code 'tooth_broken' is not in the code list"),
    (Completion("outer_race_spalled", "bad luck", "bearing_replaced", "yes"), "cause_code 'bad luck'"),
    (Completion("no_fault_found", "unknown", "inspected_no_action", "yes"), "confirmed fault cannot"),
    (Completion("tooth_broken", "wear", "gear_set_replaced", "other"), "found_fault_mode is required"),
    (Completion("outer_race_spalled", "wear", "bearing_replaced", "other", found_fault_mode="bearing_outer_race"),
     "not another fault this order can find"),  # the predicted fault itself is "yes", not "other"
    (Completion("service_done", "scheduled", "service_completed", "other", found_fault_mode="preventive_maintenance"),
     "not another fault"),
    (Completion("shaft_misaligned", "wear", "realigned", "other", found_fault_mode="gremlins"), "not another fault"),
    (Completion("outer_race_spalled", "wear", "bearing_replaced", "yes", found_fault_mode="misalignment"),
     "found_fault_mode is only for fault_confirmed 'other'"),
    (Completion("outer_race_spalled", "wear", "bearing_replaced", "other", found_fault_mode="misalignment"),
     "problem_code 'outer_race_spalled' is not in the code list for misalignment"),
    (Completion("no_fault_found", "unknown", "inspected_no_action", "other", found_fault_mode="misalignment"),
     "another fault found cannot"),
    (Completion("outer_race_spalled", "unknown", "inspected_no_action", "no"), "no fault found cannot have"),
    (Completion("outer_race_spalled", "wear", "bearing_replaced", "yes", parts_used=(PartUse("X-1", 1),)),
     "part X-1 is not in this machine model's catalogue"),
])
def test_completion_codes_are_checked_against_the_fault_modes_list(completion, message):
    with pytest.raises(DomainError, match=message):
        apply(order("in_progress", technician_id=2), "complete", SAM, T0, completion=completion,
              catalogue=["6312-C3"])


def test_other_fault_found_uses_that_faults_codes_and_generic_orders_take_any():
    other = Completion("shaft_misaligned", "installation", "realigned", "other", found_fault_mode="misalignment")
    assert apply(order("in_progress", technician_id=2), "complete", SAM, T0, completion=other).status == "completed"
    rul_order = OrderLife(5, "in_progress", "low_remaining_life", technician_id=2)
    assert apply(rul_order, "complete", SAM, T0, completion=SPALL).completion == SPALL
    assert "bearing_replaced" in lifecycle.code_list("vibration_trend").remedies


def test_dedup_update_is_recorded_without_a_status_change():
    life = lifecycle.record_update(order("assigned", technician_id=2), Actor("rules", "rules"), T0,
                                   "new evidence from burst GS-2001:alternator_de.acc:radial:1 raised priority to high")
    assert life.status == "assigned" and life.history[-1].action == "update"


# --- the engineer's board actions and the one path's helpers ---------------------------------------

def test_reassign_needs_a_reason_and_another_technician_and_says_who_lost_it():
    accepted = order("accepted", technician_id=2)
    with pytest.raises(DomainError, match="a reason is required to reassign"):
        apply(accepted, "reassign", ENGINEER, T0, technician_id=3)
    with pytest.raises(DomainError, match="technician 2 already has this order"):
        apply(accepted, "reassign", ENGINEER, T0, technician_id=2, reason="again")
    with pytest.raises(lifecycle.NotPermitted, match="only a service engineer may reassign"):
        apply(accepted, "reassign", SAM, T0, technician_id=3, reason="swap with Priya")
    moved = apply(accepted, "reassign", ENGINEER, T0, technician_id=3, reason="Sam is off sick")
    assert (moved.status, moved.technician_id) == ("assigned", 3)  # Priya accepts it afresh
    step = moved.history[-1]
    assert (step.action, step.by, step.why, step.to_dict()["technician_id"]) == ("reassign", "Elena Fischer",
                                                                                 "Sam is off sick", 3)
    assert lifecycle.technician_change(accepted, moved) == (2, 3)
    assert lifecycle.technician_change(order("open"), apply(order("open"), "assign", ENGINEER, T0, technician_id=2)) \
        is None  # nobody lost anything
    back = apply(order("assigned", technician_id=2), "unassign", ENGINEER, T0, reason="wrong skills")
    assert lifecycle.technician_change(order("assigned", technician_id=2), back) == (2, None)


@pytest.mark.parametrize("status", ["assigned", "in_progress", "on_hold"])
def test_reassign_works_from_every_state_a_technician_holds_it_in(status):
    life = apply(order(status, technician_id=2, hold_reason="parts", held_from="in_progress"), "reassign",
                 ENGINEER, T0, technician_id=3, reason="nearer")
    assert (life.status, life.technician_id, life.hold_reason) == ("assigned", 3, "")


def test_engineer_puts_an_accepted_job_on_hold_and_resume_goes_back_to_accepted():
    accepted = order("accepted", technician_id=2)
    with pytest.raises(lifecycle.NotPermitted):
        apply(accepted, "hold", PRIYA, T0, reason="parts")  # another technician's job
    held = apply(accepted, "hold", ENGINEER, T0, reason="customer: site closed over Christmas")
    assert (held.status, held.held_from) == ("on_hold", "accepted")
    assert apply(held, "resume", ENGINEER, T0).status == "accepted"  # not started yet: back to accepted
    started = apply(order("in_progress", technician_id=2), "hold", SAM, T0, reason="parts")
    assert apply(started, "resume", SAM, T0).status == "in_progress"


def test_hold_and_resume_state_is_read_back_from_the_rows_history():
    class Row:
        id, status, fault_mode, technician_id = 1, "on_hold", "bearing_outer_race", 2
        history = [{"action": "accept", "from": "assigned", "to": "accepted"},
                   {"action": "hold", "from": "accepted", "to": "on_hold", "note": "access: gate locked"}]

    life = lifecycle.from_row(Row())
    assert (life.hold_reason, life.held_from) == ("access: gate locked", "accepted")
    Row.status = "done"
    assert lifecycle.from_row(Row()).status == "completed" and lifecycle.from_row(Row()).hold_reason == ""


@pytest.mark.parametrize("status", ["assigned", "accepted", "in_progress", "on_hold"])
def test_complete_on_behalf_takes_the_same_codes_and_names_the_technician(status):
    life = order(status, technician_id=2)
    with pytest.raises(lifecycle.NotPermitted, match="only a service engineer may complete on behalf"):
        apply(life, "complete_on_behalf", SAM, T0, completion=SPALL)
    with pytest.raises(DomainError, match="not in the code list"):
        apply(life, "complete_on_behalf", ENGINEER, T0,
              completion=Completion("tooth_broken", "wear", "bearing_replaced", "yes"))
    other = Completion("shaft_misaligned", "installation", "realigned", "other", found_fault_mode="misalignment")
    done = apply(life, "complete_on_behalf", ENGINEER, T0, completion=other, reason="phoned in")
    assert (done.status, done.completion, done.technician_id) == ("completed", other, 2)
    step = done.history[-1]
    assert step.by == "Elena Fischer" and step.why.startswith("on behalf of technician 2: shafts misaligned")
    assert step.why.endswith("phoned in") and step.to_dict()["technician_id"] == 2
    with pytest.raises(DomainError, match="nobody is assigned"):
        apply(order(status), "complete_on_behalf", ENGINEER, T0, completion=SPALL)


def test_close_after_review_and_cancel_with_reason():
    done = order("completed", technician_id=2)
    assert apply(done, "close", ENGINEER, T0).status == "closed"
    assert apply(done, "reopen", ENGINEER, T0, reason="still vibrating").status == "in_progress"
    with pytest.raises(DomainError, match="a reason is required to cancel"):
        apply(order("on_hold", technician_id=2), "cancel", ENGINEER, T0)
    cancelled = apply(order("on_hold", technician_id=2, hold_reason="parts"), "cancel", ENGINEER, T0,
                      reason="machine sold")
    assert (cancelled.status, cancelled.hold_reason) == ("cancelled", "")


@pytest.mark.parametrize("status, actions", [
    ("open", ["assign", "cancel"]),
    ("assigned", ["reassign", "unassign", "complete_on_behalf", "cancel"]),
    ("accepted", ["reassign", "unassign", "hold", "complete_on_behalf", "cancel"]),
    ("in_progress", ["reassign", "hold", "complete_on_behalf", "cancel"]),
    ("on_hold", ["reassign", "resume", "complete_on_behalf", "cancel"]),
    ("completed", ["reopen", "close"]),
    ("closed", []), ("cancelled", []),
])
def test_the_actions_an_engineer_gets_per_state(status, actions):
    assert list(lifecycle.actions_for(status, "engineer")) == actions
    assert lifecycle.actions_for(status, "technician") == ()


def test_every_action_has_a_past_tense_and_record_update_needs_a_note():
    assert set(lifecycle.PAST_TENSE) == set(lifecycle.TRANSITIONS)
    with pytest.raises(DomainError, match="needs a note"):
        lifecycle.record_update(order(), Actor("rules", "rules"), T0, "  ")
    life = lifecycle.record_update(order(), Actor("escalation", "rules"), T0, "overdue", action="escalate")
    assert life.history[-1].to_dict() == {"at": T0.isoformat(), "action": "escalate", "from": "open", "to": "open",
                                          "by": "escalation", "note": "overdue"}
