"""The technicians' app's server side, on the real SQL database and InfluxDB: actions from a phone
applied once through the life cycle, conflicts recorded and answered, photos on disk, bad input
refused with 4xx JSON and no change, the pages in words, and a new job pushed (encrypted) to a
local push service that decrypts it."""
from __future__ import annotations

import io
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app_helpers import DEMO_PASSWORD, ENGINEER, app_config, seed_demo_fleet
from field_helpers import OTHER_TECHNICIAN_NAME, TECHNICIAN, accepted_plan, open_job, technician_id_by_name

pytestmark = pytest.mark.integration


@pytest.fixture
def field(influx, sql_url, tmp_path):
    from app import create_app

    seed_demo_fleet(sql_url, tmp_path)
    app = create_app(app_config(influx, sql_url, tmp_path))
    runtime = app.extensions["ironwatch"]
    yield app, runtime, tmp_path
    runtime.stop()


def sign_in(app, email):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        csrf = session["_csrf"]
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf}).status_code == 302
    client.get("/", follow_redirects=True)  # the first page after sign-in makes the new session's token
    with client.session_transaction() as session:
        return client, session["_csrf"]


def photo_bytes(size=(2400, 1800)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (120, 90, 60)).save(out, "JPEG", quality=70)
    return out.getvalue()


def post(client, csrf, fields, photo: bytes | None = None):
    data = {k: (v if isinstance(v, str) else str(v)) for k, v in fields.items()}
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), "photo.jpg")
    return client.post("/api/v1/tech/actions", data=data, headers={"X-CSRF-Token": csrf},
                       content_type="multipart/form-data")


def new_id() -> str:
    return uuid.uuid4().hex


COMPLETE = {"action": "complete", "problem_code": "outer_race_spalled", "cause_code": "lubrication",
            "remedy_code": "bearing_replaced", "fault_confirmed": "yes", "labour_h": "2.5",
            "notes": "Outer race spalled at 6 o'clock; bearing replaced, regreased.", "component_replaced": "yes"}


def test_a_day_of_actions_is_applied_once_each_in_order_with_the_photo_on_disk(field):
    from fleet.models import FieldAction, WorkOrder, WorkOrderFinding, WorkOrderPhoto

    app, runtime, var = field
    order_id = open_job(runtime.sessions, runtime.notifier)
    client, csrf = sign_in(app, TECHNICIAN)
    ids = {step: new_id() for step in ("accept", "start", "photo", "complete")}
    for step in ("accept", "start"):
        answer = post(client, csrf, {"client_action_id": ids[step], "order_id": order_id, "action": step})
        assert answer.status_code == 200 and answer.get_json()["outcome"] == "applied", answer.get_json()
    answer = post(client, csrf, {"client_action_id": ids["photo"], "order_id": order_id, "action": "photo",
                                 "caption": "bearing"}, photo=photo_bytes())
    assert answer.get_json()["outcome"] == "applied"
    fields = {"client_action_id": ids["complete"], "order_id": order_id, **COMPLETE,
              "parts_used": '[{"part_number": "6312-2Z-C3", "quantity": 1}]'}
    first = post(client, csrf, fields)
    again = post(client, csrf, fields)  # the answer was lost on the way back: the phone sends it again
    photo_again = post(client, csrf, {"client_action_id": ids["photo"], "order_id": order_id, "action": "photo"},
                       photo=photo_bytes())
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["outcome"] == "applied" and first.get_json()["status"] == "done"
    assert again.get_json()["duplicate"] is True and again.get_json()["outcome"] == "applied"
    assert photo_again.get_json()["duplicate"] is True

    with runtime.sessions() as session:
        order = session.get(WorkOrder, order_id)
        assert order.status == "done" and order.resolution.startswith("Outer race spalled")
        assert [e.get("action") for e in order.history][-3:] == ["accept", "start", "complete"]
        finding = session.get(WorkOrderFinding, order_id)
        assert (finding.problem_code, finding.fault_confirmed, finding.labour_h) == ("outer_race_spalled", "yes", 2.5)
        assert session.scalar(select(func.count()).select_from(FieldAction)) == 4
        (photo,) = session.scalars(select(WorkOrderPhoto)).all()
        assert max(photo.width_px, photo.height_px) == 1600  # shrunk again on the server, EXIF dropped
        stored = var / "photos" / photo.relative_path
    assert stored.is_file() and stored.read_bytes()[:2] == b"\xff\xd8"
    assert client.get(f"/tech/photos/{photo.id}").status_code == 200


def test_a_step_on_a_job_reassigned_meanwhile_is_a_conflict_kept_and_answered_again(field):
    from fleet.models import FieldAction, WorkOrder
    from fleet.lifecycle import Actor
    from fleet.order_actions import perform

    app, runtime, _ = field
    order_id = open_job(runtime.sessions, runtime.notifier)
    client, csrf = sign_in(app, TECHNICIAN)
    other = technician_id_by_name(runtime.sessions, OTHER_TECHNICIAN_NAME)
    with runtime.sessions() as session:
        tenant = session.get(WorkOrder, order_id).tenant_id
    perform(runtime.sessions, runtime.notifier, order_id, "reassign", Actor(ENGINEER, "engineer"), [tenant],
            technician_id=other, reason="Sam is needed at the quarry")
    step = {"client_action_id": new_id(), "order_id": order_id, "action": "accept"}
    answer = post(client, csrf, step)
    body = answer.get_json()
    assert answer.status_code == 200 and body["outcome"] == "conflict"
    assert "reassigned" in body["message"] and OTHER_TECHNICIAN_NAME in body["message"]
    assert post(client, csrf, step).get_json() | {"order": None} == body | {"duplicate": True, "order": None}
    with runtime.sessions() as session:
        order = session.get(WorkOrder, order_id)
        assert (order.status, order.technician_id) == ("assigned", other)
        (row,) = session.scalars(select(FieldAction)).all()
        assert row.outcome == "conflict"
    # the job page still opens for the first technician and says who has it now
    page = client.get(f"/tech/jobs/{order_id}").get_data(as_text=True)
    assert "no longer yours" in page and OTHER_TECHNICIAN_NAME in page


@pytest.mark.parametrize("fields, photo, status, field_name", [
    ({"client_action_id": "", "action": "accept"}, None, 400, "client_action_id"),
    ({"client_action_id": "short", "action": "accept"}, None, 400, "client_action_id"),
    ({"action": "fly"}, None, 400, "action"),
    ({"action": "accept", "order_id": "abc"}, None, 400, "order_id"),
    ({"action": "accept", "order_id": str(2**64)}, None, 400, "order_id"),
    ({**COMPLETE, "problem_code": "gremlins"}, None, 400, None),
    ({**COMPLETE, "labour_h": "nan"}, None, 400, "labour_h"),
    ({**COMPLETE, "labour_h": "-1"}, None, 400, "labour_h"),
    ({**COMPLETE, "parts_used": "[{"}, None, 400, "parts_used"),
    ({**COMPLETE, "parts_used": '[{"part_number": "NOT-IN-CATALOGUE", "quantity": 1}]'}, None, 400, None),
    ({**COMPLETE, "fault_confirmed": "maybe"}, None, 400, None),
    ({**COMPLETE, "fault_confirmed": "other"}, None, 400, None),  # which other fault?
    ({**COMPLETE, "fault_confirmed": "other", "found_fault_mode": "bearing_outer_race"}, None, 400, None),
    ({**COMPLETE, "fault_confirmed": "other", "found_fault_mode": "misalignment"}, None, 400, None),  # bearing codes
    ({**COMPLETE, "found_fault_mode": "misalignment"}, None, 400, None),  # "yes" with another fault
    ({"action": "photo"}, None, 400, "photo"),
    ({"action": "photo"}, b"GIF89a not really", 400, "photo"),
    ({"action": "hold", "reason": "lunch"}, None, 400, "reason"),
    ({"action": "decline"}, None, 400, "reason"),
    ({"action": "acknowledge_alarm", "alarm_id": "999999"}, None, 400, "alarm_id"),
    ({"action": "accept", "order_id": "999999"}, None, 404, None),
])
def test_bad_input_answers_4xx_json_naming_the_problem_and_changes_nothing(field, fields, photo, status, field_name):
    from fleet.models import FieldAction, WorkOrder

    app, runtime, _ = field
    order_id = open_job(runtime.sessions, runtime.notifier)
    client, csrf = sign_in(app, TECHNICIAN)
    if fields.get("action") == "complete" or fields.get("action") == "hold":  # reach the state these need
        for step in ("accept", "start"):
            post(client, csrf, {"client_action_id": new_id(), "order_id": order_id, "action": step})
    with runtime.sessions() as session:
        before = (session.get(WorkOrder, order_id).status, session.scalar(select(func.count()).select_from(FieldAction)))
    body = {"client_action_id": new_id(), "order_id": order_id, **fields}
    answer = post(client, csrf, body, photo=photo)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.is_json and answer.get_json()["message"]
    if field_name:
        assert answer.get_json().get("field") == field_name
    with runtime.sessions() as session:
        after = (session.get(WorkOrder, order_id).status, session.scalar(select(func.count()).select_from(FieldAction)))
    assert after == before


def test_requests_without_the_page_token_or_as_json_garbage_are_refused(field):
    app, runtime, _ = field
    order_id = open_job(runtime.sessions, runtime.notifier)
    client, csrf = sign_in(app, TECHNICIAN)
    no_token = client.post("/api/v1/tech/actions", data={"client_action_id": new_id(), "order_id": order_id,
                                                         "action": "accept"})
    assert no_token.status_code == 400 and no_token.get_json()["field"] == "X-CSRF-Token"
    garbage = client.post("/api/v1/tech/actions", data="[[[", headers={"X-CSRF-Token": csrf},
                          content_type="application/json")
    assert garbage.status_code == 400 and garbage.is_json
    bad_sub = client.post("/api/v1/push-subscriptions", json={"endpoint": "ftp://x", "keys": {}},
                          headers={"X-CSRF-Token": csrf})
    assert bad_sub.status_code == 400 and bad_sub.get_json()["field"] == "endpoint"
    # the app's own subscription endpoint was folded into the general one
    assert client.post("/api/v1/tech/push-subscription", json={}, headers={"X-CSRF-Token": csrf}).status_code == 404
    engineer, engineer_csrf = sign_in(app, ENGINEER)
    assert post(engineer, engineer_csrf, {"client_action_id": new_id(), "order_id": order_id,
                                          "action": "accept"}).status_code == 403


def test_my_day_and_the_job_page_speak_in_words_with_the_site_time_contact_and_directions(field):
    app, runtime, _ = field
    order_id = open_job(runtime.sessions, runtime.notifier)
    client, _ = sign_in(app, TECHNICIAN)
    day = client.get("/tech/").get_data(as_text=True)
    assert f'href="/tech/jobs/{order_id}"' in day
    assert "Alternator drive end: bearing outer-race defect" in day and "getting worse" in day
    assert "alternator_de" not in day and "Europe/London" in day and "km by road" in day
    job = client.get(f"/tech/jobs/{order_id}").get_data(as_text=True)
    assert "geo:53.8" in job and 'href="tel:+44113' in job  # Northbridge General Hospital's plant room
    assert 'capture="environment"' in job and "Bearing outer race spalled" in job
    assert "alternator_de" not in job
    manifest = client.get("/tech/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    spec = manifest.get_json(force=True)
    assert spec["display"] == "standalone" and spec["start_url"] == "/tech/"
    for icon in spec["icons"]:
        assert client.get(icon["src"]).data[:8] == b"\x89PNG\r\n\x1a\n"
    worker = client.get("/tech/sw.js")
    assert worker.headers["Service-Worker-Allowed"] == "/tech/" and b"workbox" in worker.data
    # the shell's version and files, prepended by the server (app/tech/shell.py)
    version = worker.headers["X-Ironwatch-Asset-Version"]
    assert f'var SHELL_VERSION = "{version}";'.encode() in worker.data and b'"/static/tech/js/queue.js": "' in worker.data
    assert client.get("/tech/jobs/999999").status_code == 404


def test_a_new_job_is_pushed_encrypted_to_the_technicians_phone_and_names_the_job(field):
    from push_receiver import PushReceiver, wait_for

    app, runtime, _ = field
    receiver = PushReceiver()
    try:
        client, csrf = sign_in(app, TECHNICIAN)
        day = client.get("/tech/").get_data(as_text=True)
        assert 'data-subscribe-url="/api/v1/push-subscriptions"' in day  # the one endpoint, as the console's
        answer = client.post("/api/v1/push-subscriptions", json=receiver.subscription("sam-phone"),
                             headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 201
        order_id = open_job(runtime.sessions, runtime.notifier)
        (payload,) = wait_for(lambda: receiver.for_name("sam-phone"), what="the new-job push")
        assert payload["title"] == f"New job: WO-{order_id:06d}"
        assert payload["url"].endswith(f"/tech/jobs/{order_id}") and payload["work_order_id"] == order_id
        assert "alternator drive end" in payload["body"] and "bearing outer-race defect" in payload["body"]
    finally:
        receiver.close()


OTHER_TECHNICIAN = "priya.raman@ironwatch.example"


def visit_cards(page: str) -> list[str]:
    import re

    return re.findall(r'<li class="visit-card.*?</li>', page, flags=re.S)


def test_my_day_follows_the_accepted_dispatch_plan_bundles_a_sites_jobs_and_says_which_it_is(field):
    from datetime import timedelta

    from fleet import dispatch_service
    from fleet.models import utcnow

    app, runtime, _ = field
    sam = technician_id_by_name(runtime.sessions, "Sam Okafor")
    # the plan puts the excavator first although the genset jobs are due sooner and nearer home
    quarry = open_job(runtime.sessions, runtime.notifier, uid="EX-1001", component="swing_gearbox",
                      fault_mode="gear_wear", location="stage1", due_days=6.0)
    hospital_de = open_job(runtime.sessions, runtime.notifier, due_days=1.0)
    hospital_nde = open_job(runtime.sessions, runtime.notifier, component="alternator_nde", location="NDE",
                            due_days=2.0)
    by_hand = open_job(runtime.sessions, runtime.notifier, uid="GS-2004", component="alternator_de", due_days=0.5)
    tomorrow = (utcnow() + timedelta(days=1)).date()
    accepted_plan(runtime.sessions, runtime.notifier, [(sam, tomorrow, [hospital_de, hospital_nde], 11 * 60), (sam, tomorrow, [quarry], 8 * 60)],
                  tomorrow)
    client, _ = sign_in(app, TECHNICIAN)
    page = client.get("/tech/").get_data(as_text=True)
    cards = visit_cards(page)
    assert len(cards) == 3, cards  # 4 jobs, 3 stops: the hospital's two jobs are one visit
    day = dispatch_service.day_words(tomorrow)
    assert f'href="/tech/jobs/{quarry}"' in cards[0] and f"Planned by dispatch for tomorrow, {day}, 1st visit" in cards[0]
    assert f'href="/tech/jobs/{hospital_de}"' in cards[1] and f'href="/tech/jobs/{hospital_nde}"' in cards[1]
    assert f"Planned by dispatch for tomorrow, {day}, 2nd visit" in cards[1] and "2 jobs at" in cards[1]
    assert f'href="/tech/jobs/{by_hand}"' in cards[2] and "Not in a dispatch plan yet" in cards[2]
    assert "4 jobs at 3 stops" in page

    # the engineer moves the quarry job to another day after accepting: the plan no longer says when
    dispatch_service.lock(runtime.sessions, quarry, sam, tomorrow + timedelta(days=2), ENGINEER, runtime.notifier)
    cards = visit_cards(client.get("/tech/").get_data(as_text=True))
    assert f'href="/tech/jobs/{hospital_de}"' in cards[0] and "2nd visit" in cards[0]  # still the plan's 2nd stop
    assert any(f'href="/tech/jobs/{quarry}"' in c and "Not in a dispatch plan yet" in c for c in cards)


def test_a_job_moved_by_dispatch_tells_the_one_who_lost_it_and_the_new_one_once_each(field):
    from datetime import timedelta

    from fleet.models import WorkOrder, utcnow
    from push_receiver import PushReceiver, wait_for

    app, runtime, _ = field
    receiver = PushReceiver()
    try:
        sam_client, sam_csrf = sign_in(app, TECHNICIAN)
        priya_client, priya_csrf = sign_in(app, OTHER_TECHNICIAN)
        for client, csrf, name in ((sam_client, sam_csrf, "sam"), (priya_client, priya_csrf, "priya")):
            assert client.post("/api/v1/push-subscriptions", json=receiver.subscription(name),
                               headers={"X-CSRF-Token": csrf}).status_code == 201
        order_id = open_job(runtime.sessions, runtime.notifier)
        wait_for(lambda: receiver.for_name("sam"), what="Sam's new-job push")
        priya = technician_id_by_name(runtime.sessions, OTHER_TECHNICIAN_NAME)
        tomorrow = (utcnow() + timedelta(days=1)).date()
        assert accepted_plan(runtime.sessions, runtime.notifier, [(priya, tomorrow, [order_id], 9 * 60)], tomorrow) == [order_id]

        moved = wait_for(lambda: [p for p in receiver.for_name("sam") if p.get("kind") == "job_moved"],
                         what="the job-moved push")
        (new_job,) = wait_for(lambda: receiver.for_name("priya"), what="Priya's new-job push")
        time.sleep(0.5)  # anything sent twice would have arrived by now
        assert len(moved) == 1 and len(receiver.for_name("priya")) == 1 and len(receiver.for_name("sam")) == 2
        number = f"WO-{order_id:06d}"
        assert moved[0]["title"] == f"Job moved: {number}" and "moved to someone else" in moved[0]["body"]
        assert moved[0]["url"].endswith("/tech/") and "work_order_id" not in moved[0]  # a tap opens My day
        assert "alternator drive end" in moved[0]["body"] and "alternator_de" not in moved[0]["body"]
        assert new_job["title"] == f"New job: {number}" and new_job["url"].endswith(f"/tech/jobs/{order_id}")
        with runtime.sessions() as session:
            assert session.get(WorkOrder, order_id).technician_id == priya

        # Sam's phone, offline meanwhile, sends its accept: a conflict, kept and shown, never lost
        answer = post(sam_client, sam_csrf, {"client_action_id": new_id(), "order_id": order_id, "action": "accept"})
        assert answer.get_json()["outcome"] == "conflict" and OTHER_TECHNICIAN_NAME in answer.get_json()["message"]
        assert f'href="/tech/jobs/{order_id}"' not in sam_client.get("/tech/").get_data(as_text=True)
        assert "Planned by dispatch for tomorrow" in priya_client.get("/tech/").get_data(as_text=True)

        # Priya declines (her own step): nobody is told the job moved; the order goes back to dispatch
        assert post(priya_client, priya_csrf, {"client_action_id": new_id(), "order_id": order_id,
                                               "action": "decline", "reason": "van at the garage"}
                    ).get_json()["outcome"] == "applied"
        time.sleep(0.5)
        assert len(receiver.for_name("priya")) == 1 and len(receiver.for_name("sam")) == 2
    finally:
        receiver.close()


def test_another_fault_found_is_offered_in_words_stored_and_counted_apart_by_the_feedback(field):
    from fleet import feedback
    from fleet.models import WorkOrderFinding

    app, runtime, _ = field
    order_id = open_job(runtime.sessions, runtime.notifier)
    client, csrf = sign_in(app, TECHNICIAN)
    page = client.get(f"/tech/jobs/{order_id}").get_data(as_text=True)
    assert 'value="other"' in page and "I found another fault" in page
    assert '<option value="misalignment">Misalignment</option>' in page
    assert '<option value="bearing_inner_race">Bearing inner-race defect</option>' in page
    assert '<option value="bearing_outer_race">' not in page  # the predicted fault is "yes", not "other"
    for step in ("accept", "start"):
        post(client, csrf, {"client_action_id": new_id(), "order_id": order_id, "action": step})
    answer = post(client, csrf, {"client_action_id": new_id(), "order_id": order_id, "action": "complete",
                                 "problem_code": "shaft_misaligned", "cause_code": "installation",
                                 "remedy_code": "realigned", "fault_confirmed": "other",
                                 "found_fault_mode": "misalignment", "labour_h": "3",
                                 "notes": "Bearing fine; coupling 0.4 mm out, realigned."})
    assert answer.get_json()["outcome"] == "applied", answer.get_json()
    with runtime.sessions() as session:
        finding = session.get(WorkOrderFinding, order_id)
        assert (finding.fault_confirmed, finding.found_fault_mode, finding.problem_code) == (
            "other", "misalignment", "shaft_misaligned")
        report = feedback.summarize(feedback.load_outcomes(session))
    (mode,) = report.modes
    assert (mode.fault_mode, mode.confirmed, mode.other_fault, mode.no_fault) == ("bearing_outer_race", 0, 1, 0)
    assert mode.found_instead == (("misalignment", 1),) and report.hit_rate == 0 and report.false_alarm_rate == 0
