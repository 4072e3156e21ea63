"""An alarm reaches people: end to end on the real InfluxDB and SQL store, a local Web Push
service that decrypts what it gets, a local SMTP sink, and an injected clock for the escalation."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from fleet import alarm_service, queries, seed
from fleet.delivery import DeliveryService, InlineExecutor, SmtpMailer, WebPushSender, ensure_vapid_keys
from fleet.diagnosis_service import DiagnosisService
from fleet.escalation import run_escalation
from fleet.handlers import as_bus
from fleet.models import Delivery, PushSubscription, Tenant, User, UserPreference, from_ns, utcnow
from telemetry.store import TelemetryStore

from app_helpers import free_port
from fleet_helpers import T0, Clock, EventLog, write_burst
from push_receiver import MailSink, PushReceiver, wait_for

pytestmark = pytest.mark.integration
NS = 1_000_000_000
ENGINEER = "engineer@ironwatch.example"
ON_CALL_LEEDS = "technician@ironwatch.example"  # Sam Okafor, on call for the hospital site
MANAGER = "admin@ironwatch.example"


@pytest.fixture
def world(session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    push, mail = PushReceiver(), MailSink()
    yield session_factory, tmp_path, push, mail
    push.close()
    mail.close()


def subscribe(session_factory, email, info, device="test browser"):
    with session_factory() as session:
        user = session.scalar(select(User).where(User.email == email))
        session.add(PushSubscription(user_id=user.id, endpoint=info["endpoint"], p256dh=info["keys"]["p256dh"],
                                     auth=info["keys"]["auth"], device=device))
        session.commit()
        return user.id


def deliveries(session_factory, alarm_id):
    from sqlalchemy.orm import selectinload

    with session_factory() as session:
        return list(session.scalars(select(Delivery).where(Delivery.alarm_id == alarm_id)
                                    .options(selectinload(Delivery.user)).order_by(Delivery.id)))


def visible_all(session_factory):
    with session_factory() as session:
        return list(session.scalars(select(Tenant.id)))


def test_outer_race_alarm_pushes_mails_escalates_and_stops_at_acknowledgement(influx, world):
    sessions, var, push, mail = world
    clock = Clock(utcnow())
    executor = ThreadPoolExecutor(max_workers=2)
    delivery = DeliveryService(sessions, executor, WebPushSender(ensure_vapid_keys(var)),
                               SmtpMailer("127.0.0.1", mail.port, "alarms@ironwatch.example"),
                               base_url="http://ironwatch.test", clock=clock)
    events = EventLog()
    bus = as_bus(events, sessions, clock, delivery)
    sam_phone = push.subscription("sam-phone")
    subscribe(sessions, ON_CALL_LEEDS, sam_phone, "Sam's phone")
    subscribe(sessions, ON_CALL_LEEDS, push.subscription("sam-old-tablet", gone=True), "Sam's old tablet")
    subscribe(sessions, ENGINEER, push.subscription("elena-laptop"), "Elena's laptop")
    with sessions() as session:
        elena = session.scalar(select(User).where(User.email == ENGINEER))
        session.add(UserPreference(user_id=elena.id, channels=["push", "email"], timezone="Europe/Berlin"))
        session.commit()

    # GS-2001's drive-end bearing: healthy, then an outer-race defect growing over two hours
    service = DiagnosisService(TelemetryStore(influx), sessions, bus, clock=clock)
    for hour, severity in ((0, 0.0), (1, 0.6), (2, 0.8)):
        meta = write_burst(influx, "GS-2001", "alternator_de", 1500.0, T0 + hour * 3600 * NS,
                           "bearing_outer_race" if severity else None, "DE" if severity else None, severity,
                           seed_=hour)
        service.process_burst(meta.burst_id)

    with sessions() as session:
        alarms = queries.alarms(session, visible_all(sessions), state="all", machine_uid="GS-2001")
    assert len(alarms) == 1, [a["title"] for a in alarms]
    alarm = alarms[0]
    # one alarm per bearing (cause bearing:<location>), named after its leading fault mode
    assert (alarm["cause"], alarm["count"], alarm["state"]) == ("bearing:DE", 2, "active")
    assert alarm["detail"]["fault_mode"] == "bearing_outer_race"
    assert alarm["severity"] in ("warning", "alarm")

    # step 1 (at once): the site's on-call technician by push; the decrypted payload says what and where
    (payload,) = wait_for(lambda: push.for_name("sam-phone"), what="push to Sam")
    assert payload["alarm_id"] == alarm["id"] and payload["url"] == "http://ironwatch.test/console/machines/GS-2001"
    assert payload["title"].endswith("GS-2001 alternator drive end") and "outer" in payload["body"].lower()
    headers = next(r["headers"] for r in push.received if r["name"] == "sam-phone")
    assert headers["content-encoding"] == "aes128gcm" and headers["authorization"].startswith("vapid t=")
    (first,) = wait_for(lambda: [d for d in deliveries(sessions, alarm["id"]) if d.status == "sent"], what="log")
    assert push.refused == ["sam-old-tablet"]
    with sessions() as session:  # the push service said 410: that subscription is gone
        endpoints = set(session.scalars(select(PushSubscription.endpoint)))
    assert sam_phone["endpoint"] in endpoints and not any("/gone/" in e for e in endpoints)
    assert (first.channel, first.step, first.user.email) == ("push", 0, ON_CALL_LEEDS)
    assert mail.messages == [] and push.for_name("elena-laptop") == []

    # nobody acknowledges: at 14 min nothing more, at 15 min the service engineers by push and e-mail
    clock.advance(minutes=14)
    run_escalation(sessions, bus, clock)
    executor.shutdown(wait=True)
    executor = delivery.executor = ThreadPoolExecutor(max_workers=2)
    assert push.for_name("elena-laptop") == [] and mail.messages == []
    clock.advance(minutes=1)
    assert run_escalation(sessions, bus, clock) == 1
    wait_for(lambda: push.for_name("elena-laptop"), what="push to Elena")
    (message,) = wait_for(lambda: mail.to(ENGINEER), what="e-mail to Elena")
    assert "GS-2001" in message["Subject"] and message["Subject"].startswith("[Ironwatch]")
    text = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",)).get_content()
    assert "http://ironwatch.test/console/machines/GS-2001" in text and 'href="http://ironwatch.test/console/machines' \
        in html_part
    assert "Europe/Berlin" in text and "escalation step 2" in text
    # The title names the fault in one line (as the order does); the diagnosis's summary follows it.
    assert message["Subject"].endswith("GS-2001 alternator drive end: Bearing outer-race defect on alternator drive end")
    assert "Bearing outer-race defect on the drive-end bearing: " in text and "drive-end bearing: " in html_part

    # Elena acknowledges: the chain stops, the manager's 60 min e-mail never goes
    with sessions() as session:
        elena = session.scalar(select(User).where(User.email == ENGINEER))
    alarm_service.acknowledge(sessions, bus, alarm["id"], visible_all(sessions), elena.email, elena.id, "Sam is going")
    pushes, mails = len(push.received), len(mail.messages)
    clock.advance(minutes=60)
    assert run_escalation(sessions, bus, clock) == 0
    delivery.retry_due()
    executor.shutdown(wait=True)
    assert (len(push.received), len(mail.messages)) == (pushes, mails) and mail.to(MANAGER) == []
    log = [(d.channel, d.step, d.user.email, d.status) for d in deliveries(sessions, alarm["id"])]
    assert log == [("push", 0, ON_CALL_LEEDS, "sent"), ("push", 1, ENGINEER, "sent"), ("email", 1, ENGINEER, "sent")]
    changes = [p["change"] for name, p, _ in events.events if name == "alarm"]
    assert changes == ["raised", "escalated", "updated", "escalated", "acknowledged"]


def test_failed_mail_is_retried_with_back_off_and_sent_when_the_server_is_back(world):
    sessions, var, push, mail = world
    clock = Clock(from_ns(T0))
    dead = SmtpMailer("127.0.0.1", free_port(), "alarms@ironwatch.example", timeout_s=2)
    delivery = DeliveryService(sessions, InlineExecutor(), None, dead, "http://ironwatch.test", clock)
    alarm_id, event = _dm1_alarm(sessions, clock, channels=("email",), recipients=(ENGINEER,))
    delivery.deliver(event)
    (row,) = deliveries(sessions, alarm_id)
    assert (row.status, row.attempts) == ("retrying", 1) and "mail failed" in row.last_error
    assert row.next_attempt_at == clock() + timedelta(seconds=30)
    clock.advance(seconds=10)
    assert delivery.retry_due() == 0  # not yet
    delivery.mailer = SmtpMailer("127.0.0.1", mail.port, "alarms@ironwatch.example")
    clock.advance(seconds=25)
    assert delivery.retry_due() == 1
    (row,) = deliveries(sessions, alarm_id)
    assert (row.status, row.attempts) == ("sent", 2) and len(mail.to(ENGINEER)) == 1


def test_many_alarms_at_once_become_one_digest_and_quiet_hours_hold_back_the_non_urgent(world):
    sessions, var, push, mail = world
    clock = Clock(from_ns(T0))
    delivery = DeliveryService(sessions, InlineExecutor(), None,
                               SmtpMailer("127.0.0.1", mail.port, "alarms@ironwatch.example"),
                               "http://ironwatch.test", clock)
    for spn in (110, 100, 175, 96, 168):
        _, event = _dm1_alarm(sessions, clock, spn=spn, channels=("email",), recipients=(ENGINEER,))
        delivery.deliver(event)
    statuses = [d.status for d in _all_deliveries(sessions)]
    assert statuses == ["sent", "sent", "sent", "held", "held"]
    assert delivery.send_digests() == 0  # still inside the window
    clock.advance(minutes=11)
    assert delivery.send_digests() == 1
    digest = mail.to(ENGINEER)[-1]
    assert digest["Subject"] == "[Ironwatch] 2 alarms need attention" and len(mail.to(ENGINEER)) == 4
    assert [d.status for d in _all_deliveries(sessions)][-2:] == ["digested", "digested"]

    with sessions() as session:  # the manager sleeps 22:00-07:00 (all day, for the test's sake)
        manager = session.scalar(select(User).where(User.email == MANAGER))
        session.add(UserPreference(user_id=manager.id, channels=["email"], quiet_start="00:00", quiet_end="23:59",
                                   timezone="Asia/Tokyo"))
        session.commit()
    _, warning = _dm1_alarm(sessions, clock, spn=97, severity="warning", channels=("email", "push"),
                            recipients=(MANAGER,))
    _, urgent = _dm1_alarm(sessions, clock, spn=98, severity="alarm", channels=("email",), recipients=(MANAGER,))
    delivery.deliver(warning)
    delivery.deliver(urgent)
    manager_rows = [(d.channel, d.status, d.last_error) for d in _all_deliveries(sessions) if d.user_id == manager.id]
    assert manager_rows[0][:2] == ("email", "suppressed") and "quiet hours" in manager_rows[0][2]
    assert manager_rows[1][:2] == ("push", "suppressed") and "off" in manager_rows[1][2]
    assert manager_rows[2][:2] == ("email", "sent")  # urgent: through the quiet hours
    assert "Asia/Tokyo" in mail.to(MANAGER)[0].get_body(("plain",)).get_content()


def _all_deliveries(sessions):
    with sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def _dm1_alarm(sessions, clock, spn=110, severity="alarm", channels=("email",), recipients=(ENGINEER,)):
    """A fault-code alarm on EX-1001 and the escalation event that would tell ``recipients``."""
    from fleet.alarms import AlarmCondition
    from fleet.events import AlarmEscalated
    from fleet.models import Machine

    with sessions() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == "EX-1001"))
        condition = AlarmCondition(machine.id, "", "dm1", f"spn{spn}:fmi0", severity, f"SPN {spn} FMI 0", clock())
        (alarm,) = alarm_service.record_conditions(session, machine, [condition], clock())
        alarm.take_events()
        user_ids = tuple(session.scalar(select(User.id).where(User.email == e)) for e in recipients)
        session.commit()
        view = queries.alarm_view(alarm)
    return alarm.id, AlarmEscalated(tenant_ids=(), alarm=view, step=0, recipients=user_ids, channels=tuple(channels))
