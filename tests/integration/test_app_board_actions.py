"""The work-order board's actions against the real SQL database and InfluxDB: each engineer action
per state through the one life-cycle path, recorded in the order's history (who, when, why), the
reassignment event reaching the audit log and the live sockets of the tenants allowed to see it;
bad input is a 400 page that changes nothing, the wrong role is refused; the week's dispatch
proposal is shown, accepted and changed from the board."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app_helpers import CUSTOMER, ENGINEER, HeldBackground, app_config, replanned_week, seed_demo_fleet
from field_helpers import OTHER_TECHNICIAN_NAME, TECHNICIAN, open_job, technician_id_by_name
from test_tech_app import sign_in

pytestmark = pytest.mark.integration
DEALER = "service@pennineplant.example"  # Pennine Plant Services: does not serve GS-2001's owner
BOARD = "/console/work-orders/board"


@pytest.fixture
def world(influx, sql_url, tmp_path):
    from app import create_app

    seed_demo_fleet(sql_url, tmp_path)
    app = create_app(app_config(influx, sql_url, tmp_path))
    runtime = app.extensions["ironwatch"]
    yield app, runtime
    runtime.stop()


def row(runtime, order_id: int) -> dict:
    """What must not change when an action is refused: status, technician, history, finding."""
    from fleet.models import WorkOrder, WorkOrderFinding

    with runtime.sessions() as session:
        order = session.get(WorkOrder, order_id)
        return {"status": order.status, "technician_id": order.technician_id, "history": list(order.history),
                "finding": session.get(WorkOrderFinding, order_id) is not None}


def act(client, csrf, order_id: int, **fields):
    return client.post(f"{BOARD}/{order_id}/actions", data={"csrf_token": csrf, **fields})


def as_technician(runtime, order_id: int, action: str, **kw) -> dict:
    """A step by the demo technician (Sam Okafor), through the same one path as the phone."""
    from fleet.lifecycle import Actor
    from fleet.models import Machine
    from fleet.order_actions import perform

    sam = technician_id_by_name(runtime.sessions, "Sam Okafor")
    with runtime.sessions() as session:
        tenants = [t for (t,) in session.execute(select(Machine.tenant_id))]
    return perform(runtime.sessions, runtime.notifier, order_id, action, Actor(TECHNICIAN, "technician", sam), tenants,
                   **kw)


def test_reassign_from_the_board_is_recorded_audited_and_told_live_to_those_who_may_see_it(world):
    from app.extensions import socketio
    from fleet.models import AuditEntry

    app, runtime = world
    order_id = open_job(runtime.sessions, runtime.notifier)
    engineer, csrf = sign_in(app, ENGINEER)
    priya = technician_id_by_name(runtime.sessions, OTHER_TECHNICIAN_NAME)
    sam = technician_id_by_name(runtime.sessions, "Sam Okafor")

    page = engineer.get(f"{BOARD}?act={order_id}").get_data(as_text=True)
    assert 'id="actions"' in page and "Reassign" in page and "Complete on behalf of the technician" in page
    assert "Close after review" not in page  # not from "assigned"
    assert engineer.get(f"{BOARD}?act=abc").status_code == 400
    assert engineer.get(f"{BOARD}?act=999999").status_code == 404

    # Refused: no reason, the same technician, an unknown one, no CSRF token; nothing changes.
    before = row(runtime, order_id)
    for fields, words in (({"technician_id": priya}, "reason is required"),
                          ({"technician_id": sam, "reason": "x"}, "already has this order"),
                          ({"technician_id": "12x", "reason": "x"}, "technician_id must be a whole number"),
                          ({"technician_id": 999999, "reason": "x"}, "does not exist")):
        response = act(engineer, csrf, order_id, action="reassign", **fields)
        assert response.status_code == 400 and words in response.get_data(as_text=True), fields
    assert engineer.post(f"{BOARD}/{order_id}/actions", data={"action": "reassign", "technician_id": priya,
                                                             "reason": "x"}).status_code == 400  # no CSRF
    assert act(engineer, csrf, order_id, action="repaint").status_code == 400
    assert row(runtime, order_id) == before

    # Wrong role or tenant: refused, nothing changes.
    technician, tech_csrf = sign_in(app, TECHNICIAN)
    customer, customer_csrf = sign_in(app, CUSTOMER)
    dealer, dealer_csrf = sign_in(app, DEALER)
    assert act(technician, tech_csrf, order_id, action="reassign", technician_id=priya, reason="x").status_code == 403
    assert act(customer, customer_csrf, order_id, action="reassign", technician_id=priya, reason="x").status_code == 403
    assert act(dealer, dealer_csrf, order_id, action="reassign", technician_id=priya, reason="x").status_code == 404
    assert row(runtime, order_id) == before

    # Live sockets: the OEM engineer hears it, the other customer and the other dealer do not.
    listeners = {name: socketio.test_client(app, flask_test_client=client)
                 for name, client in (("engineer", engineer), ("customer", customer), ("dealer", dealer))}
    for sock in listeners.values():
        sock.get_received()
    response = act(engineer, csrf, order_id, action="reassign", technician_id=priya, reason="Sam is off sick",
                   sort="priority", act=str(order_id), colour="red")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{BOARD}?sort=priority&act={order_id}")  # filters kept
    after = row(runtime, order_id)
    assert (after["status"], after["technician_id"]) == ("assigned", priya)
    step = after["history"][-1]
    assert (step["action"], step["from"], step["to"], step["by"], step["note"], step["technician_id"]) == (
        "reassign", "assigned", "assigned", ENGINEER, "Sam is off sick", priya)
    heard = {name: [e for e in sock.get_received() if e["name"] == "work_order_reassigned"]
             for name, sock in listeners.items()}
    assert not heard["customer"] and not heard["dealer"]
    (event,) = heard["engineer"]
    payload = event["args"][0]
    assert (payload["id"], payload["from_technician_id"], payload["to_technician_id"], payload["reason"],
            payload["actor"], payload["technician"]) == (order_id, sam, priya, "Sam is off sick", ENGINEER,
                                                         OTHER_TECHNICIAN_NAME)
    for sock in listeners.values():
        sock.disconnect()
    with runtime.sessions() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "work_order",
                                                         AuditEntry.subject_id == order_id,
                                                         AuditEntry.action == "reassigned")).all()
    assert [(a.actor, a.comment, a.detail["from_technician_id"], a.detail["to_technician_id"]) for a in audit] == [
        (ENGINEER, "Sam is off sick", sam, priya)]
    # The order's page shows the step with who and why; the board shows the new technician.
    page = engineer.get(f"/console/work-orders/{order_id}").get_data(as_text=True)
    assert "Sam is off sick" in page and 'data-history-action="reassign"' in page
    assert OTHER_TECHNICIAN_NAME in engineer.get(f"{BOARD}?technician={OTHER_TECHNICIAN_NAME.replace(' ', '+')}"
                                                 ).get_data(as_text=True)
    # Sam's filter still exists although his last order moved away.
    assert engineer.get(f"{BOARD}?technician=Sam+Okafor").status_code == 200


def test_hold_resume_complete_on_behalf_close_and_cancel_from_the_board(world):
    from fleet.models import Technician, WorkOrderFinding

    app, runtime = world
    order_id = open_job(runtime.sessions, runtime.notifier)
    engineer, csrf = sign_in(app, ENGINEER)
    as_technician(runtime, order_id, "accept")

    # Hold needs one of the three reasons.
    before = row(runtime, order_id)
    for fields in ({}, {"hold_kind": "lunch"}, {"hold_kind": "", "hold_details": "no kind"}):
        response = act(engineer, csrf, order_id, action="hold", **fields)
        assert response.status_code == 400, fields
    assert act(engineer, csrf, order_id, action="close").status_code == 409  # not from accepted
    assert row(runtime, order_id) == before
    assert act(engineer, csrf, order_id, action="hold", hold_kind="parts",
               hold_details="6312-2Z-C3 on back order").status_code == 302
    held = row(runtime, order_id)
    assert held["status"] == "on_hold" and held["history"][-1]["note"] == "parts: 6312-2Z-C3 on back order"
    page = engineer.get(f"{BOARD}?act={order_id}").get_data(as_text=True)
    assert "On hold: parts: 6312-2Z-C3 on back order" in page and "Resume" in page
    assert act(engineer, csrf, order_id, action="resume").status_code == 302
    assert row(runtime, order_id)["status"] == "accepted"  # held before the start: back to accepted

    # Complete on behalf: the tech app's codes, checked the same way.
    codes = {"problem_code": "outer_race_spalled", "cause_code": "lubrication", "remedy_code": "bearing_replaced",
             "fault_confirmed": "yes", "labour_h": "2.5", "notes": "Sam phoned it in"}
    before = row(runtime, order_id)
    for bad, words in (({"problem_code": "tooth_broken"}, "not in the code list"),
                       ({"fault_confirmed": "maybe"}, "fault_confirmed must be one of"),
                       ({"fault_confirmed": "other"}, "found_fault_mode is required"),
                       ({"labour_h": "-1"}, "labour_h must be between"),
                       ({"parts_used": '[{"part_number": "NOPE-1", "quantity": 1}]'}, "catalogue"),
                       ({"cause_code": ""}, "cause_code is required")):
        response = act(engineer, csrf, order_id, action="complete_on_behalf", **{**codes, **bad})
        assert response.status_code == 400 and words in response.get_data(as_text=True), bad
    assert row(runtime, order_id) == before
    response = act(engineer, csrf, order_id, action="complete_on_behalf", **codes, component_replaced="yes",
                   parts_used='[{"part_number": "6312-2Z-C3", "quantity": 1}]')
    assert response.status_code == 302
    done = row(runtime, order_id)
    assert done["status"] == "done" and done["finding"]
    assert done["history"][-1]["note"].startswith("on behalf of Sam Okafor: bearing outer race spalled / lubrication")
    with runtime.sessions() as session:
        finding = session.get(WorkOrderFinding, order_id)
        sam = session.scalar(select(Technician).where(Technician.name == "Sam Okafor"))
        assert (finding.problem_code, finding.fault_confirmed, finding.labour_h, finding.component_replaced) == (
            "outer_race_spalled", "yes", 2.5, True)
        assert finding.recorded_by == f"{ENGINEER} for {sam.name}"

    # Close after review: the engineer's, never the technician's.
    technician, tech_csrf = sign_in(app, TECHNICIAN)
    assert technician.post(f"/api/v1/work-orders/{order_id}/actions", json={"action": "close"}).status_code == 403
    assert act(engineer, csrf, order_id, action="close", reason="findings checked").status_code == 302
    assert row(runtime, order_id)["status"] == "closed"
    assert act(engineer, csrf, order_id, action="cancel", reason="x").status_code == 409  # final state

    # Cancel needs a reason; the alarms of the order close with it.
    other = open_job(runtime.sessions, runtime.notifier, component="alternator_nde", location="NDE")
    assert act(engineer, csrf, other, action="cancel", reason="  ").status_code == 400
    assert act(engineer, csrf, other, action="cancel", reason="duplicate of the DE order").status_code == 302
    cancelled = row(runtime, other)
    assert cancelled["status"] == "cancelled" and cancelled["history"][-1]["note"] == "duplicate of the DE order"
    # The board puts each in its column.
    page = engineer.get(BOARD).get_data(as_text=True)
    closed_column = page.split('data-state="closed"')[1].split('data-state="cancelled"')[0]
    assert f'data-work-order="{order_id}"' in closed_column
    assert f'data-work-order="{other}"' in page.split('data-state="cancelled"')[1]


def test_the_weeks_dispatch_proposal_is_shown_accepted_and_changed_from_the_board(world):
    from app.console.planning import _week_start
    from fleet import dispatch_service
    from fleet.models import DispatchLock, utcnow

    app, runtime = world
    engineer, csrf = sign_in(app, ENGINEER)
    assert "No dispatch proposal stored" in engineer.get(BOARD).get_data(as_text=True)
    order_id = open_job(runtime.sessions, runtime.notifier)  # assigned to Sam
    week = _week_start(utcnow().date())
    proposal = dispatch_service.propose(runtime.sessions, week, 5)
    page = engineer.get(f"{BOARD}?act={order_id}").get_data(as_text=True)
    assert f"Dispatch proposal, week from {week.isoformat()}" in page and 'id="board-accept-proposal"' in page

    # Lock the order to Priya on the week's second day from the board: it is reassigned to her.
    priya = technician_id_by_name(runtime.sessions, OTHER_TECHNICIAN_NAME)
    day = (week + timedelta(days=1)).isoformat()
    lock = {"csrf_token": csrf, "back": "board", "act": str(order_id), "start": week.isoformat(),
            "work_order_id": str(order_id), "technician_id": str(priya), "day": day}
    before = row(runtime, order_id)
    for bad in ({"day": "tomorrow"}, {"technician_id": "0"}, {"day": (week + timedelta(days=30)).isoformat()}):
        assert engineer.post("/console/dispatch/lock", data={**lock, **bad}).status_code == 400, bad
    assert row(runtime, order_id) == before
    response = engineer.post("/console/dispatch/lock", data=lock)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{BOARD}?act={order_id}")
    after = row(runtime, order_id)
    assert after["technician_id"] == priya and after["history"][-1]["action"] == "reassign"
    assert f"locked to {OTHER_TECHNICIAN_NAME} on {day}" in after["history"][-1]["note"]
    with runtime.sessions() as session:
        held = session.get(DispatchLock, order_id)
        assert (held.technician_id, held.day.isoformat()) == (priya, day)
    # the week is re-planned in the background, into the same proposal row
    assert replanned_week(runtime, week).id == proposal.id

    # Accept the (re-planned) proposal from the board: back to the board, the proposal accepted.
    response = engineer.post(f"/console/dispatch/{proposal.id}/accept", data={"csrf_token": csrf, "back": "board"})
    assert response.status_code == 302 and response.headers["Location"].endswith(BOARD)
    page = engineer.get(BOARD).get_data(as_text=True)
    assert f"Accepted by {ENGINEER}" in page and 'id="board-accept-proposal"' not in page
    assert engineer.post(f"/console/dispatch/{proposal.id}/accept", data={"csrf_token": csrf}).status_code == 409
    # An order somebody accepted is no longer the planner's: a lock on it is refused.
    as_other = dict(lock, technician_id=str(technician_id_by_name(runtime.sessions, "Sam Okafor")))
    from fleet.lifecycle import Actor
    from fleet.models import Machine
    from fleet.order_actions import perform

    with runtime.sessions() as session:
        tenants = [t for (t,) in session.execute(select(Machine.tenant_id))]
    perform(runtime.sessions, runtime.notifier, order_id, "accept", Actor("priya", "technician", priya), tenants)
    response = engineer.post("/console/dispatch/lock", data=as_other)
    assert response.status_code == 400 and "reassign it on the work-order board" in response.get_data(as_text=True)
    assert row(runtime, order_id)["technician_id"] == priya


def test_a_weeks_first_dispatch_board_answers_at_once_and_plans_it_in_the_background(world):
    from concurrent.futures import ThreadPoolExecutor

    from app.console.planning import _week_start
    from fleet.models import DispatchProposal, utcnow

    app, runtime = world
    order_id = open_job(runtime.sessions, runtime.notifier)  # something for the plan to place
    week = _week_start(utcnow().date()) + timedelta(days=7)
    # two engineers open the unplanned week at once: both pages answer "being planned", one plan runs
    clients = [sign_in(app, ENGINEER)[0] for _ in range(2)]
    runtime.background = held = HeldBackground(runtime.background)  # the plan waits until both pages are read
    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(lambda c: c.get(f"/console/dispatch?start={week.isoformat()}"), clients))
    for response in pages:
        text = response.get_data(as_text=True)
        assert response.status_code == 200 and "Planning this week for the first time" in text
        assert 'id="accept-proposal"' not in text and 'id="replan"' in text  # Re-plan and store stays
    with runtime.sessions() as session:
        assert len(session.scalars(select(DispatchProposal).where(DispatchProposal.start_day == week)).all()) == 1
    assert held.release() == 1  # one request won the claim and started the plan
    stored = replanned_week(runtime, week)
    assert "planning" not in stored.plan and order_id in {i for a in stored.plan["assignments"] for i in a["work_order_ids"]}
    with runtime.sessions() as session:
        assert len(session.scalars(select(DispatchProposal).where(DispatchProposal.start_day == week)).all()) == 1
    text = clients[0].get(f"/console/dispatch?start={week.isoformat()}").get_data(as_text=True)
    assert "Planning this week for the first time" not in text and 'id="accept-proposal"' in text
