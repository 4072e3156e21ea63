"""Sign-in hardening against the real SQL store: lock-outs every process agrees on, equal work for
unknown e-mails, sessions that die at sign-out, Argon2id hashes, cookie flags and security headers
on every kind of response (issue 20, defect 7)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app_helpers import DEMO_PASSWORD, ENGINEER, app_config

pytestmark = pytest.mark.integration


def make_app(influx, sql_url, var, **extra):
    from app import create_app

    return create_app({**app_config(influx, sql_url, var), **extra})


def sign_in(client, email, password=DEMO_PASSWORD, address="198.51.100.10"):
    client.get("/login", environ_base={"REMOTE_ADDR": address})
    with client.session_transaction() as session:
        token = session["_csrf"]
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_five_wrong_passwords_lock_the_account_and_a_second_process_agrees(app, influx, sql_url, tmp_path):
    client = app.test_client()
    for _ in range(4):
        assert sign_in(client, ENGINEER, "guess").status_code == 401
    locked = sign_in(client, ENGINEER, "guess")  # the fifth failure locks
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 60
    right = sign_in(client, ENGINEER)  # the right password no longer helps, from any address
    assert right.status_code == 429 and b"Too many failed sign-ins" in right.data
    assert sign_in(client, ENGINEER.upper(), address="192.0.2.99").status_code == 429
    other_process = make_app(influx, sql_url, tmp_path / "other")  # own engine, memory and spool; same SQL
    try:
        assert sign_in(other_process.test_client(), ENGINEER, address="192.0.2.50").status_code == 429
    finally:
        other_process.extensions["ironwatch"].stop()


def test_the_lock_runs_out_and_a_success_clears_the_account_count(app):
    from fleet.accounts import ACCOUNT_MAX_FAILURES, LOCK_DURATION, SignInService
    from fleet.models import utcnow

    runtime = app.extensions["ironwatch"]
    now = utcnow()
    service = SignInService(runtime.sessions, clock=lambda: now)
    for _ in range(ACCOUNT_MAX_FAILURES):
        service.sign_in(ENGINEER, "guess", "203.0.113.1")
    assert service.sign_in(ENGINEER, DEMO_PASSWORD, "203.0.113.1").status == "locked"
    later = SignInService(runtime.sessions, clock=lambda: now + LOCK_DURATION + timedelta(seconds=1))
    assert later.sign_in(ENGINEER, DEMO_PASSWORD, "203.0.113.1").status == "ok"
    for _ in range(ACCOUNT_MAX_FAILURES - 1):  # counting starts again from zero after the success
        assert later.sign_in(ENGINEER, "guess", "203.0.113.1").status == "refused"
    assert later.sign_in(ENGINEER, DEMO_PASSWORD, "203.0.113.1").status == "ok"


def test_one_address_trying_many_accounts_is_locked_out(app):
    from fleet.accounts import ADDRESS_MAX_FAILURES

    attacker, colleague = app.test_client(), app.test_client()
    for i in range(ADDRESS_MAX_FAILURES - 1):
        assert sign_in(attacker, f"nobody{i}@example.com", "guess", address="203.0.113.7").status_code == 401
    assert sign_in(attacker, "nobody-last@example.com", "guess", address="203.0.113.7").status_code == 429
    assert sign_in(attacker, ENGINEER, address="203.0.113.7").status_code == 429
    assert sign_in(colleague, ENGINEER, address="203.0.113.8").status_code == 302


def test_an_unknown_email_costs_the_same_password_hash_work(app, monkeypatch):
    """The response time must not tell which e-mails exist: both cases run exactly one Argon2
    verification (timing itself belongs in a benchmark, not an assert)."""
    from fleet import passwords

    calls = []
    real_verify = passwords._verify_argon2
    monkeypatch.setattr(passwords, "_verify_argon2", lambda *a: calls.append(1) or real_verify(*a))
    client = app.test_client()
    assert sign_in(client, "no-such-user@example.com", "guess").status_code == 401
    unknown = len(calls)
    assert sign_in(client, ENGINEER, "guess").status_code == 401
    assert unknown == 1 and len(calls) - unknown == 1


def test_a_copied_session_cookie_stops_working_at_sign_out(app):
    from app.extensions import socketio

    client = app.test_client()
    assert sign_in(client, ENGINEER).status_code == 302
    stolen = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/console/").status_code == 200
    assert client.get("/console/").status_code == 200  # the page's sign-out form makes the token
    live = socketio.test_client(app, flask_test_client=thief)
    assert live.is_connected()
    with client.session_transaction() as session:
        token = session["_csrf"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    # The cookie's signature is still valid, but its server-side session is revoked.
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/console/").status_code == 302
    assert replay.get("/api/v1/machines").status_code == 401
    assert not socketio.test_client(app, flask_test_client=replay).is_connected()
    assert not live.is_connected()  # the socket opened before sign-out was closed by it


def test_passwords_are_argon2id_and_older_hashes_are_upgraded_at_sign_in(app):
    from werkzeug.security import generate_password_hash

    from fleet.db import transaction
    from fleet.models import User

    sessions = app.extensions["ironwatch"].sessions
    with transaction(sessions) as db:
        user = db.scalar(select(User).where(User.email == ENGINEER))
        assert user.password_hash.startswith("$argon2id$")
        user.password_hash = generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256")
    assert sign_in(app.test_client(), ENGINEER).status_code == 302
    with sessions() as db:
        assert db.scalar(select(User.password_hash).where(User.email == ENGINEER)).startswith("$argon2id$")


def test_cookie_flags_and_security_headers_on_every_kind_of_response(app):
    client = app.test_client()
    cookie = sign_in(client, ENGINEER).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    responses = {"page": client.get("/console/"), "static": client.get("/static/css/ironwatch.css"),
                 "api error": client.get("/api/v1/no-such-route"), "error page": client.get("/no-such-page"),
                 "device ingest": client.post("/api/v1/ingest/operating", json={})}
    for name, response in responses.items():
        csp = response.headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], name
        assert "frame-ancestors 'none'" in csp, name
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert response.headers.get("Referrer-Policy") == "same-origin", name
        assert "Strict-Transport-Security" not in response.headers, name


def test_behind_tls_cookies_are_secure_hsts_is_sent_and_the_proxy_address_counts(influx, sql_url, tmp_path,
                                                                                  provisioning):
    from fleet.accounts import ADDRESS_MAX_FAILURES

    app = make_app(influx, sql_url, tmp_path, IRONWATCH_BEHIND_TLS="1", IRONWATCH_PROXY_HOPS=1)
    try:
        forwarded = {"X-Forwarded-For": "203.0.113.77", "X-Forwarded-Proto": "https"}

        def post_login(client, email, password):
            client.get("/login", headers=forwarded, base_url="https://localhost")
            with client.session_transaction() as session:
                token = session["_csrf"]
            return client.post("/login", headers=forwarded, base_url="https://localhost",
                               data={"email": email, "password": password, "csrf_token": token})

        response = post_login(app.test_client(), ENGINEER, DEMO_PASSWORD)
        assert response.status_code == 302
        assert "Secure" in response.headers["Set-Cookie"]
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        # The throttle counts the client behind the proxy, not the proxy itself.
        for i in range(ADDRESS_MAX_FAILURES):
            post_login(app.test_client(), f"x{i}@example.com", "guess")
        from fleet.models import SignInThrottle

        with app.extensions["ironwatch"].sessions() as db:
            row = db.get(SignInThrottle, "address:203.0.113.77")
            assert row is not None and row.locked_until is not None
            assert db.get(SignInThrottle, "address:127.0.0.1") is None
    finally:
        app.extensions["ironwatch"].stop()
