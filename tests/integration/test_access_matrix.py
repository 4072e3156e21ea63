"""The access matrix: every route of the Flask URL map, every operation of the OpenAPI document and
every Socket.IO event, tried as every principal, against an expected table (issue 20's guard).

Principals: ``anonymous``; ``device`` (a gateway's bearer token, nothing else); the OEM's
``admin``, ``engineer`` and ``technician``; ``customer`` (a user of Northbridge, which owns the
machine, order and burst the routes are tried on); ``foreign`` (a user of another customer,
Granite Ridge); ``dealer`` (an engineer of Pennine Plant Services, the dealer serving Granite Ridge and
Meridian, not Northbridge); ``viewer`` (a Northbridge user limited to its DC-1 data centre, while
the probe machine GS-2001 works at the hospital: its objects are hidden from them, 404). Each
answer is put in one class:

* ``ok``: passed access control (2xx, a redirect that is not to sign-in, or a 4xx about the input,
  such as the missing CSRF token or a transition the order's state forbids; what the route does
  with allowed input is tested elsewhere)
* ``login``: redirected to the sign-in page; ``401``, ``403``, ``404`` (hidden: answered as if
  the object did not exist)

A 5xx is always a failure. A route, operation or event without a row in :data:`EXPECTED` fails
the test with its name, so a new route cannot ship without someone deciding who may use it.
"""
from __future__ import annotations

import re
import time

import pytest

from app_helpers import DEMO_PASSWORD, FAULTY_GENSET, app_config, outer_race_burst, seed_demo_fleet

pytestmark = pytest.mark.integration

PRINCIPALS = ("anonymous", "device", "admin", "engineer", "technician", "customer", "foreign", "dealer", "viewer")
USERS = {"admin": "admin@ironwatch.example", "engineer": "engineer@ironwatch.example",
         "technician": "technician@ironwatch.example", "customer": "owner@northbridge.example",
         "foreign": "customer@graniteridge.example", "dealer": "service@pennineplant.example",
         "viewer": "dc1.viewer@northbridge.example"}
VIEWER_SITE = "Northbridge DC-1 Data Centre"  # not where the probe machine works


def row(anonymous, device, admin, engineer, technician, customer, foreign, dealer, viewer=None) -> dict[str, str]:
    """One route's expectations; ``viewer`` (the site-limited Northbridge user) answers as the
    ``customer`` unless said otherwise (objects of the probe machine are hidden from them)."""
    return dict(zip(PRINCIPALS, (anonymous, device, admin, engineer, technician, customer, foreign, dealer,
                                 customer if viewer is None else viewer)))


# ``dealer`` is an engineer of Pennine Plant Services, a dealer that serves two other customers:
# the console and API open for them, and the owner's (Northbridge's) objects are hidden (404).
PUBLIC = row("ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok")
CONSOLE_PAGE = row("login", "login", "ok", "ok", "403", "403", "403", "ok")
CONSOLE_OBJECT = row("login", "login", "ok", "ok", "403", "403", "403", "404")
SIGNED_IN = row("login", "login", "ok", "ok", "ok", "ok", "ok", "ok")
API_LIST = row("401", "401", "ok", "ok", "ok", "ok", "ok", "ok")
API_OBJECT = row("401", "401", "ok", "ok", "ok", "ok", "404", "404", viewer="404")
ADMIN_PAGE = row("login", "login", "ok", "403", "403", "403", "403", "403")

#: (endpoint or "METHOD /openapi/path" or "socket:<event>") → expected class per principal.
EXPECTED: dict[str, dict[str, str]] = {
    # Flask URL map
    "GET static": PUBLIC,
    "GET tech_static": PUBLIC,  # the technicians' app's own files (/static/tech/, IRONWATCH_TECH_STATIC)
    "GET auth.home": SIGNED_IN,
    "GET auth.login": PUBLIC,
    "POST auth.login": PUBLIC,  # sent without the CSRF token: 400 for everyone
    "POST auth.logout": PUBLIC,  # likewise
    "GET console.fleet": CONSOLE_PAGE,
    "GET console.machine": CONSOLE_OBJECT,
    "GET console.work_orders": CONSOLE_PAGE,
    "GET console.work_order": CONSOLE_OBJECT,
    "GET console.evidence_png": CONSOLE_OBJECT,
    "POST console.work_order_action": CONSOLE_PAGE,
    "GET console.machine_pm": CONSOLE_OBJECT,
    "GET console.dispatch_board": CONSOLE_PAGE,
    "POST console.dispatch_propose": CONSOLE_PAGE,  # without the CSRF token: 400 for console users
    "POST console.dispatch_accept": CONSOLE_PAGE,
    "POST console.dispatch_lock": CONSOLE_PAGE,
    "GET console.feedback_report": CONSOLE_PAGE,
    "GET portal.index": row("login", "login", "403", "403", "403", "ok", "ok", "403"),
    "GET tech.orders": row("login", "login", "403", "403", "ok", "403", "403", "403"),
    "POST tech.order_action": row("login", "login", "403", "403", "ok", "403", "403", "403"),
    # the technicians' app: the probe order is open (nobody's), so not one of the technician's jobs
    "GET tech.job": row("login", "login", "403", "403", "404", "403", "403", "403"),
    "GET tech.job_evidence": row("login", "login", "403", "403", "404", "403", "403", "403"),
    "GET tech.photo": row("login", "login", "404", "404", "404", "403", "403", "404"),  # no photo has that id
    "GET tech.manifest": PUBLIC,  # browsers fetch manifests without cookies; it holds no data
    "GET tech.service_worker": PUBLIC,
    # sent without the page's X-CSRF-Token: 400 for those whose role may call it
    "POST tech_api.actions": row("401", "401", "403", "403", "ok", "403", "403", "403"),
    "GET api.machines": API_LIST,
    "GET api.machine": API_OBJECT,
    "GET api.machine_diagnoses": API_OBJECT,
    "GET api.machine_trend": API_OBJECT,
    "GET api.work_orders": API_LIST,
    "GET api.work_order": API_OBJECT,
    # close on an open order: 409 for staff; technicians may not close (403); customers never
    "POST api.work_order_action": row("401", "401", "ok", "ok", "403", "403", "403", "404"),
    "GET auth.time_zone": SIGNED_IN,
    "POST auth.time_zone": SIGNED_IN,  # sent without the CSRF token: 400 for everyone signed in
    "GET api.machine_rul": API_OBJECT,
    # raw vibration evidence is for the OEM's analysts: refused before any look-up, so 403 for all others
    "GET api.burst_spectra": row("401", "401", "ok", "ok", "403", "403", "403", "404"),
    "GET api.machine_waterfall": row("401", "401", "ok", "ok", "403", "403", "403", "404"),
    "GET health.healthz": PUBLIC,
    "GET health.readyz": PUBLIC,
    "GET health.console_page": row("login", "login", "ok", "403", "403", "403", "403", "403"),
    # alarms (issue 14): staff act on the fleet's alarms; a technician on the alarms sent to them
    "GET console.alarms": CONSOLE_PAGE,
    "POST console.acknowledge": CONSOLE_PAGE,
    "POST console.clear": CONSOLE_PAGE,
    "POST console.acknowledge_machine": CONSOLE_PAGE,
    "GET console.outbox": CONSOLE_PAGE,
    "GET console.work_order_board": CONSOLE_PAGE,
    # the board's action panel posts here (reassign, hold, complete on behalf, close, cancel, ...); sent
    # without the CSRF token: 400 for console users; the dealer's engineer cannot see Northbridge's order
    "POST console.board_action": CONSOLE_PAGE,
    "POST tech.acknowledge_alarm": row("login", "login", "403", "403", "ok", "403", "403", "403"),
    "GET api.alarms": API_LIST,
    "GET api.alarm": API_OBJECT,
    # customers never act on alarms: refused before the body is read or the alarm looked up
    "POST api.acknowledge": row("401", "401", "ok", "ok", "ok", "403", "403", "404"),
    "POST api.clear": row("401", "401", "ok", "ok", "ok", "403", "403", "ok"),  # the empty body: 400 first
    "POST api.acknowledge_machine": row("401", "401", "ok", "ok", "ok", "403", "403", "404"),
    "GET api.vapid_key": API_LIST,
    "GET api.push_subscriptions": API_LIST,
    "POST api.subscribe": API_LIST,
    "DELETE api.unsubscribe": row("401", "401", "404", "404", "404", "404", "404", "404"),  # not theirs: none is
    "GET api.preferences": API_LIST,
    "PUT api.update_preferences": API_LIST,
    "GET profile.index": SIGNED_IN,
    "POST profile.save": SIGNED_IN,
    "GET profile.service_worker": PUBLIC,
    "GET openapi.openapi_json": PUBLIC,
    "GET openapi.docs": PUBLIC,
    # admin pages (issue 17): OEM admins; the users page also a customer's user administrator
    # (tests/integration/test_app_admin.py); the POSTs carry no CSRF token, so 400 for whoever passes
    "GET admin.users": ADMIN_PAGE,
    "POST admin.invite_user": ADMIN_PAGE,
    "POST admin.user_action": ADMIN_PAGE,
    # a viewer's sites (the probe user is Northbridge's owner): OEM admins, a customer's user administrator
    "GET admin.user_sites": ADMIN_PAGE,
    "POST admin.user_sites": ADMIN_PAGE,
    "GET admin.devices": ADMIN_PAGE,
    "POST admin.device_action": ADMIN_PAGE,
    "POST admin.machine_site": ADMIN_PAGE,
    "GET admin.zones": ADMIN_PAGE,
    "POST admin.set_zone_limits": ADMIN_PAGE,
    "GET admin.models": ADMIN_PAGE,
    "POST admin.model_action": ADMIN_PAGE,
    "GET admin.audit": ADMIN_PAGE,
    "GET admin.technicians": ADMIN_PAGE,
    "POST admin.update_technician": ADMIN_PAGE,
    "GET admin.alarm_rules": ADMIN_PAGE,
    "POST admin.set_escalation_chain": ADMIN_PAGE,
    "POST admin.add_fault_code_rule": ADMIN_PAGE,
    "POST admin.delete_fault_code_rule": ADMIN_PAGE,
    # an invitation or reset link: public, and a made-up token is not found, whoever asks
    "GET admin.account_link": row("404", "404", "404", "404", "404", "404", "404", "404"),
    "POST admin.account_link": row("404", "404", "404", "404", "404", "404", "404", "404"),
    # OpenAPI operations outside the URL map (device ingest is WSGI in front of Flask)
    "POST /api/v1/ingest/operating": row("401", "ok", "401", "401", "401", "401", "401", "401"),
    "POST /api/v1/ingest/bursts": row("401", "ok", "401", "401", "401", "401", "401", "401"),
    "POST /api/v1/ingest/faults": row("401", "ok", "401", "401", "401", "401", "401", "401"),
    # Socket.IO
    "socket:connect": row("refused", "refused", "ok", "ok", "ok", "ok", "ok", "ok"),
    # The customers' portal (issue 18): the customer's own people; a machine of another customer is hidden
    "GET portal.machine": row("login", "login", "403", "403", "403", "ok", "404", "403", viewer="404"),
    "GET portal.reports": row("login", "login", "403", "403", "403", "ok", "ok", "403"),
    "GET portal.report_csv": row("login", "login", "403", "403", "403", "ok", "ok", "403"),
    "GET portal.report_pdf": row("login", "login", "403", "403", "403", "ok", "ok", "403"),
    "POST portal.report_subscription": row("login", "login", "403", "403", "403", "ok", "ok", "403"),  # no CSRF: 400
    "GET portal.api_clients": row("login", "login", "403", "403", "403", "ok", "ok", "403"),
    # an API client reads the whole company: a site-limited viewer may not make or revoke one
    "POST portal.create_api_client": row("login", "login", "403", "403", "403", "ok", "ok", "403", viewer="403"),  # no CSRF: 400
    "POST portal.revoke_api_client": row("login", "login", "403", "403", "403", "ok", "ok", "403", viewer="403"),  # no CSRF: 400
    "GET api.machine_usage": API_OBJECT,
    # ISO 15143-3: only an API client's bearer token opens it (a session cookie or device token does not)
    "POST aemp.token": PUBLIC,  # no credentials: 400 invalid_request for everyone
    "GET aemp.fleet": row("401", "401", "401", "401", "401", "401", "401", "401"),
    "GET aemp.equipment": row("401", "401", "401", "401", "401", "401", "401", "401"),
    "GET aemp.time_series": row("401", "401", "401", "401", "401", "401", "401", "401"),
    # sites' geofence and curfew: the probe site is the hospital where GS-2001 works (Northbridge's);
    # another customer, the dealer that does not serve it and a viewer of DC-1 only are told it is not there
    "GET console.sites": CONSOLE_PAGE,
    "GET console.site_security": CONSOLE_OBJECT,
    "POST console.save_site_security": CONSOLE_OBJECT,  # no CSRF: 400 once the site is found
    "GET portal.sites": row("login", "login", "403", "403", "403", "ok", "ok", "403"),
    "GET portal.site_security": row("login", "login", "403", "403", "403", "ok", "404", "403", viewer="404"),
    "POST portal.save_site_security": row("login", "login", "403", "403", "403", "ok", "404", "403", viewer="404"),
    "GET api.sites": row("401", "401", "ok", "ok", "403", "ok", "ok", "ok"),
    "GET api.site_security": row("401", "401", "ok", "ok", "403", "ok", "404", "404", viewer="404"),
    "PUT api.update_site_security": row("401", "401", "ok", "ok", "403", "ok", "404", "404", viewer="404"),  # no body: 400
}


def classify(response) -> str:
    status = response.status_code
    assert status < 500, f"{response.request.method} {response.request.path}: {status} {response.data[:300]!r}"
    if status in (401, 403, 404):
        return str(status)
    if status in (301, 302, 303) and "/login" in response.headers.get("Location", ""):
        return "login"
    return "ok"


@pytest.fixture
def world(influx, sql_url, tmp_path):
    """The demo fleet plus a Northbridge customer user, one diagnosed burst of GS-2001 and the
    open work order it raised; yields (app, {placeholder: value}, device token)."""
    from app import create_app
    from fleet import passwords
    from fleet.db import transaction
    from fleet.models import Machine, Site, Tenant, User, UserSite
    from sqlalchemy import select

    provisioning = seed_demo_fleet(sql_url, tmp_path)
    app = create_app(app_config(influx, sql_url, tmp_path))
    runtime = app.extensions["ironwatch"]
    with transaction(runtime.sessions) as db:
        owner = db.scalar(select(Tenant).join(Machine, Machine.tenant_id == Tenant.id)
                          .where(Machine.uid == FAULTY_GENSET))
        db.add(User(email=USERS["customer"], name="Nadia Owen", role="customer", tenant_id=owner.id,
                    password_hash=passwords.hash_password(DEMO_PASSWORD)))
        viewer = User(email=USERS["viewer"], name="Tom Baines", role="customer", tenant_id=owner.id, sites_limited=True,
                      password_hash=passwords.hash_password(DEMO_PASSWORD))
        db.add(viewer)
        db.flush()
        db.add(UserSite(user_id=viewer.id, site_id=db.scalar(select(Site.id).where(Site.name == VIEWER_SITE))))
        owner_user_id = db.scalar(select(User.id).where(User.email == USERS["customer"]))
        db_site_id = db.scalar(select(Machine.site_id).where(Machine.uid == FAULTY_GENSET))
        owner_tenant_id = owner.id
    token, body = outer_race_burst(provisioning)
    assert app.test_client().post("/api/v1/ingest/bursts", json=body,
                                  headers={"Authorization": f"Bearer {token}"}).status_code == 202
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    assert runtime.diagnosis_queue.run_pending() == 1
    with runtime.sessions() as db:
        from fleet.models import Alarm, BurstDiagnosis, WorkOrder

        burst_id = db.scalar(select(BurstDiagnosis.burst_id))
        order_id = db.scalar(select(WorkOrder.id).where(WorkOrder.status == "open"))
        alarm_id = db.scalar(select(Alarm.id))
    assert burst_id and order_id and alarm_id
    values = {"uid": FAULTY_GENSET, "order_id": order_id, "burst_id": burst_id, "filename": "css/ironwatch.css", "tech_file": "tech.css",
              "id": order_id, "alarm_id": alarm_id, "subscription_id": 2**31 - 1, "page": 1, "series": "CumulativeOperatingHours",
              "start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z", "client_id": 1, "proposal_id": 1,
              "user_id": owner_user_id, "token": "no-such-link-token-0123456789", "technician_id": 1,
              "tenant_id": owner_tenant_id, "rule_id": 1,
              "site_id": db_site_id}
    yield app, values, token
    runtime.stop()


def signed_in(app, principal: str, token: str):
    client = app.test_client()
    if principal in USERS:
        client.get("/login")
        with client.session_transaction() as session:
            csrf = session["_csrf"]
        response = client.post("/login", data={"email": USERS[principal], "password": DEMO_PASSWORD,
                                               "csrf_token": csrf})
        assert response.status_code == 302, f"{principal} could not sign in"
    headers = {"Authorization": f"Bearer {token}"} if principal == "device" else {}
    return client, headers


def fill(path: str, values: dict) -> str:
    """``/x/<int:order_id>`` or ``/x/{id}`` with the test's objects put in."""
    path = re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: str(values[m.group(1)]), path)
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def operations(app) -> dict[str, tuple[str, str]]:
    """Every route and OpenAPI operation: name → (method, concrete path)."""
    found = {}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found[f"{method} {rule.endpoint}"] = (method, rule.rule)
    url_map_paths = {re.sub(r"<(?:[a-z]+:)?\w+>", "{}", rule.rule) for rule in app.url_map.iter_rules()}
    spec = app.test_client().get("/api/openapi.json").get_json()
    for path, item in spec["paths"].items():
        if re.sub(r"\{\w+\}", "{}", path) in url_map_paths:
            continue  # the same route, already listed under its endpoint
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                found[f"{method.upper()} {path}"] = (method.upper(), path)
    return found


BODIES = {"POST api.work_order_action": {"action": "close", "reason": "access matrix probe"}}


def test_every_route_operation_and_event_answers_each_principal_as_the_table_says(world):
    from app.extensions import socketio
    from app.notifier import SocketIONotifier

    app, values, token = world
    notifier = SocketIONotifier(socketio)
    routes = operations(app)
    events = [f"socket:{name}" for namespace in socketio.server.handlers.values() for name in namespace]
    missing = missing_entries(app)
    assert not missing, ("no entry in EXPECTED (tests/integration/test_access_matrix.py) for: "
                         + ", ".join(missing) + "; add a row saying what each principal may do")
    stale = [name for name in EXPECTED if name not in routes and name not in events]
    assert not stale, f"EXPECTED lists what the app no longer has: {stale}"

    wrong = []
    for principal in PRINCIPALS:
        client, headers = signed_in(app, principal, token)
        for name, (method, path) in routes.items():
            url = fill(path, values)
            if method == "GET":
                response = client.get(url, headers=headers)
            elif name in BODIES:
                response = client.open(url, method=method, headers=headers, json=BODIES[name])
            elif path.startswith("/api/v1/"):  # the JSON API: an empty JSON object, as a script would send
                response = client.open(url, method=method, headers=headers, json={})
            else:
                response = client.open(url, method=method, headers=headers, data={})  # no CSRF token
                if not form_post_is_guarded(path, response):
                    wrong.append(f"{name} ({method} {url}) as {principal}: a form post without the CSRF token "
                                 f"got past the token check ({response.status_code}); call check_csrf() first")
            got, want = classify(response), EXPECTED[name][principal]
            if got != want:
                wrong.append(f"{name} ({method} {url}) as {principal}: expected {want}, got {got} "
                             f"({response.status_code})")
        sock = socketio.test_client(app, flask_test_client=client, headers=headers)
        got = "ok" if sock.is_connected() else "refused"
        if got != EXPECTED["socket:connect"][principal]:
            wrong.append(f"socket:connect as {principal}: expected {EXPECTED['socket:connect'][principal]}, got {got}")
        if sock.is_connected():
            # A live event about the probe machine reaches the owner and the OEM, never another
            # customer nor a viewer of another site; one about a DC-1 machine reaches that viewer too.
            sock.get_received()
            for uid, kept_from in ((values["uid"], ("foreign", "dealer", "viewer")), (DC1_MACHINE, ("foreign", "dealer"))):
                notifier.publish("access_probe", {"principal": principal, "machine": uid}, _audience_of(app, uid))
                heard = [e for e in sock.get_received() if e["name"] == "access_probe"]
                if bool(heard) != (principal not in kept_from):
                    wrong.append(f"socket event about {uid} heard by {principal}: {bool(heard)}")
            sock.disconnect()
    assert not wrong, "\n".join(wrong)


#: What app.auth.check_csrf says when a form comes without this session's token.
CSRF_REFUSAL = "did not come from this site"


def form_post_is_guarded(path: str, response) -> bool:
    """A page's form write sent without the token must stop at the token check (a 400 saying so)
    whenever the principal gets that far (the JSON API's defence is its content type:
    tests/integration/test_csrf_guard.py)."""
    if response.status_code != 400:
        return True  # refused before (sign-in, role, scope) or a redirect back
    text = response.get_data(as_text=True)
    return path.startswith("/api/") or CSRF_REFUSAL in text


DC1_MACHINE = "GS-2004"  # Northbridge's, at the viewer's data centre


def _audience_of(app, uid: str) -> list[int]:
    """The tenants a live event about machine ``uid`` is published to (as the domain does)."""
    from fleet.models import Machine
    from sqlalchemy import select

    with app.extensions["ironwatch"].sessions() as db:
        return db.scalar(select(Machine).where(Machine.uid == uid)).tenant.audience()


def missing_entries(app) -> list[str]:
    from app.extensions import socketio

    events = [f"socket:{name}" for namespace in socketio.server.handlers.values() for name in namespace]
    return [name for name in list(operations(app)) + events if name not in EXPECTED]


def test_a_route_added_without_an_entry_is_named(influx, sql_url, tmp_path):
    from app import create_app

    app = create_app(app_config(influx, sql_url, tmp_path))
    try:
        app.add_url_rule("/console/new-report/<int:year>", "console_new_report", lambda year: "x",
                         methods=["GET", "POST"])
        assert missing_entries(app) == ["GET console_new_report", "POST console_new_report"]
    finally:
        app.extensions["ironwatch"].stop()
