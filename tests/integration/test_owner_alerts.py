"""Owner alerts end to end on the real SQL store: a security alarm raised on a Granite Ridge machine
reaches the Granite Ridge users who subscribed and may see the machine, by the local SMTP sink and
a local Web Push service that decrypts what it gets, once, through quiet hours; its all-clear reaches
those told. Fault alerts follow each user's chosen level."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from fleet import alarm_service, seed
from fleet.alarms import AlarmCondition
from fleet.db import transaction
from fleet.delivery import DeliveryService, InlineExecutor, SmtpMailer, WebPushSender, ensure_vapid_keys
from fleet.handlers import as_bus
from fleet.models import Delivery, Machine, PushSubscription, Site, User, UserPreference, UserSite
from fleet.passwords import hash_password

from fleet_helpers import Clock, EventLog
from push_receiver import MailSink, PushReceiver

pytestmark = pytest.mark.integration
UID = "EX-1004"  # an excavator at Holloway Top Pit (Granite Ridge Quarries)
OWNER = "customer@graniteridge.example"  # Callum Reid: never saved his page, so the defaults apply
OTHER_TENANT = "customer@meridiancivil.example"
#: 02:00 in London: inside the owner's quiet hours (22:00-07:00)
NIGHT = datetime(2026, 12, 8, 2, 0, tzinfo=timezone.utc)
BASE = "http://ironwatch.test"


@pytest.fixture
def world(session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    push, mail = PushReceiver(), MailSink()
    clock = Clock(NIGHT)
    delivery = DeliveryService(session_factory, InlineExecutor(), WebPushSender(ensure_vapid_keys(tmp_path)),
                               SmtpMailer("127.0.0.1", mail.port, "alarms@ironwatch.example"), base_url=BASE,
                               clock=clock)
    yield session_factory, as_bus(EventLog(), session_factory, clock, delivery), push, mail
    push.close()
    mail.close()


def add_user(sessions, email: str, tenant_of: str, owner_alerts=None, sites: tuple[str, ...] | None = None,
             role: str = "customer") -> int:
    """A user of ``tenant_of``'s tenant; ``sites``: limited to these sites of it."""
    with transaction(sessions) as session:
        tenant_id = session.scalar(select(User.tenant_id).where(User.email == tenant_of))
        user = User(tenant_id=tenant_id, email=email, name=email.split("@")[0], role=role,
                    password_hash=hash_password("not-used-here-1"), sites_limited=sites is not None)
        session.add(user)
        session.flush()
        for name in sites or ():
            session.add(UserSite(user_id=user.id, site_id=session.scalar(select(Site.id).where(Site.name == name))))
        if owner_alerts is not None:
            session.add(UserPreference(user_id=user.id, channels=["push", "email"], timezone="UTC",
                                       owner_alerts=owner_alerts))
        return user.id


def set_preferences(sessions, email: str, **values) -> None:
    with transaction(sessions) as session:
        user_id = session.scalar(select(User.id).where(User.email == email))
        row = session.get(UserPreference, user_id) or UserPreference(user_id=user_id, channels=["push", "email"],
                                                                     timezone="UTC")
        for key, value in values.items():
            setattr(row, key, value)
        session.merge(row)


def subscribe(sessions, email: str, info: dict) -> None:
    with transaction(sessions) as session:
        user_id = session.scalar(select(User.id).where(User.email == email))
        session.add(PushSubscription(user_id=user_id, endpoint=info["endpoint"], p256dh=info["keys"]["p256dh"],
                                     auth=info["keys"]["auth"], device="phone"))


def condition(sessions, source="security", cause="geofence_exit", severity="alarm", component="",
              title=f"{UID} left Holloway Top Pit: 2.3 km from the site") -> AlarmCondition:
    with sessions() as session:
        machine_id = session.scalar(select(Machine.id).where(Machine.uid == UID))
    return AlarmCondition(machine_id=machine_id, component=component, source=source, cause=cause, severity=severity,
                          title=title, observed_at=NIGHT, detail={"site": "Holloway Top Pit", "distance_m": 2300.0})


def raise_alarm(sessions, found: AlarmCondition) -> tuple[int, list]:
    """The alarm service's path (as the security check takes it): (alarm id, events for the bus)."""
    with transaction(sessions) as session:
        machine = session.get(Machine, found.machine_id)
        touched = alarm_service.record_conditions(session, machine, [found], NIGHT)
        return touched[0].id, alarm_service.take_events(touched)


def clear_alarm(sessions, machine_uid: str = UID) -> list:
    with transaction(sessions) as session:
        machine = session.scalar(select(Machine).where(Machine.uid == machine_uid))
        return alarm_service.take_events(alarm_service.clear_gone(session, machine, "security", [], NIGHT))


def owner_rows(sessions, alarm_id: int) -> list[tuple[str, str, str, str]]:
    with sessions() as session:
        return [(email, channel, kind, status) for email, channel, kind, status in session.execute(
            select(User.email, Delivery.channel, Delivery.kind, Delivery.status).join(User, User.id == Delivery.user_id)
            .where(Delivery.alarm_id == alarm_id, Delivery.kind.in_(("owner", "owner_clear")))
            .order_by(User.email, Delivery.kind, Delivery.channel))]


def test_a_security_alarm_reaches_the_subscribed_owner_once_and_nobody_else(world):
    sessions, bus, push, mail = world
    set_preferences(sessions, OWNER, quiet_start="22:00", quiet_end="07:00", timezone="Europe/London")
    subscribe(sessions, OWNER, push.subscription("callum-phone"))
    add_user(sessions, "nights@graniteridge.example", OWNER, sites=("Blackstone Quarry",))  # another site
    add_user(sessions, "accounts@graniteridge.example", OWNER, owner_alerts={"security": False, "faults": "off"})
    add_user(sessions, "holloway@graniteridge.example", OWNER, sites=("Holloway Top Pit",))
    subscribe(sessions, OTHER_TENANT, push.subscription("maya-phone"))

    alarm_id, events = raise_alarm(sessions, condition(sessions))
    bus.handle(events)
    bus.handle(events)  # the handler run twice: the delivery log's key stops the second
    _, repeat = raise_alarm(sessions, condition(sessions))  # the same condition again: an update
    bus.handle(repeat)

    (callum,) = mail.to(OWNER)
    assert callum["Subject"] == f"[Ironwatch] {UID} left Holloway Top Pit: 2.3 km from the site"
    body = callum.get_body(("plain",)).get_content()
    assert f"{BASE}/portal/machines/{UID}" in body and "/console/" not in body
    assert "2026-12-08 02:00 Europe/London" in body  # the reader's zone, not UTC
    (payload,) = push.for_name("callum-phone")
    assert payload["url"] == f"{BASE}/portal/machines/{UID}" and UID in payload["title"]
    assert len(mail.to("holloway@graniteridge.example")) == 1  # limited to the machine's own site
    for nobody in ("nights@graniteridge.example", "accounts@graniteridge.example", OTHER_TENANT):
        assert mail.to(nobody) == []
    assert push.for_name("maya-phone") == []
    assert owner_rows(sessions, alarm_id) == [
        (OWNER, "email", "owner", "sent"), (OWNER, "push", "owner", "sent"),
        ("holloway@graniteridge.example", "email", "owner", "sent"),
        ("holloway@graniteridge.example", "push", "owner", "suppressed")]  # no device subscribed

    bus.handle(clear_alarm(sessions))  # back inside the fence
    back = [m for m in mail.to(OWNER) if "back inside" in m["Subject"]]
    assert [m["Subject"] for m in back] == [f"[Ironwatch] {UID} is back inside Holloway Top Pit"]
    assert push.for_name("callum-phone")[-1]["title"] == f"{UID} is back inside Holloway Top Pit"
    assert mail.to("nights@graniteridge.example") == [] and mail.to(OTHER_TENANT) == []
    # the all-clear goes only where the alert went: not to the site viewer's push, which never reached a device
    assert ("holloway@graniteridge.example", "push", "owner_clear", "sent") not in owner_rows(sessions, alarm_id)


def test_the_oems_acknowledgement_does_not_hold_back_the_owners_alert(world):
    sessions, bus, push, mail = world
    alarm_id, events = raise_alarm(sessions, condition(sessions))
    with sessions() as session:
        engineer = session.scalar(select(User).where(User.email == "engineer@ironwatch.example"))
        tenants = [t for t in events[0].tenant_ids]
    alarm_service.acknowledge(sessions, bus, alarm_id, tenants, engineer.email, user_id=engineer.id,
                              comment="we are calling the site")
    bus.handle(events)  # delivered after the acknowledgement (a slow worker, say)
    assert len(mail.to(OWNER)) == 1


def test_fault_alerts_follow_each_users_level_and_quiet_hours(world):
    sessions, bus, push, mail = world
    add_user(sessions, "fitter@graniteridge.example", OWNER, owner_alerts={"security": True, "faults": "warning"})
    add_user(sessions, "manager@graniteridge.example", OWNER, owner_alerts={"security": True, "faults": "alarm"})
    set_preferences(sessions, "manager@graniteridge.example", quiet_start="22:00", quiet_end="07:00")
    fault = condition(sessions, source="dm1", cause="spn110:fmi0", severity="warning",
                      title="Engine coolant temperature high")

    alarm_id, events = raise_alarm(sessions, fault)
    bus.handle(events)
    (fitter,) = mail.to("fitter@graniteridge.example")
    assert fitter["Subject"] == f"[Ironwatch] Warning on {UID}: Engine coolant temperature high"
    assert mail.to("manager@graniteridge.example") == [] and mail.to(OWNER) == []  # below level; default off

    # the same fault, now severity alarm: the manager's level is reached, through his quiet hours
    _, rising = raise_alarm(sessions, condition(sessions, source="dm1", cause="spn110:fmi0", severity="alarm",
                                                title="Engine coolant temperature high"))
    bus.handle(rising)
    assert len(mail.to("manager@graniteridge.example")) == 1
    assert len(mail.to("fitter@graniteridge.example")) == 1  # told once per alarm
    assert mail.to(OWNER) == []


def test_a_warning_fault_waits_out_quiet_hours_but_a_curfew_alarm_does_not(world):
    sessions, bus, push, mail = world
    set_preferences(sessions, OWNER, quiet_start="22:00", quiet_end="07:00", timezone="Europe/London",
                    owner_alerts={"security": True, "faults": "warning"})
    fault_id, events = raise_alarm(sessions, condition(sessions, source="dm1", cause="spn110:fmi0", severity="warning",
                                                       title="Engine coolant temperature high"))
    bus.handle(events)
    curfew_id, events = raise_alarm(sessions, condition(sessions, cause="curfew", severity="warning",
                                                        title=f"{UID} running outside allowed hours (Tue 02:00)"))
    bus.handle(events)
    assert [m["Subject"] for m in mail.to(OWNER)] == [f"[Ironwatch] {UID} running outside allowed hours (Tue 02:00)"]
    assert (OWNER, "email", "owner", "suppressed") in owner_rows(sessions, fault_id)


def test_the_security_check_job_tells_the_owner_of_a_machine_carried_off_and_brought_back(influx, world):
    """The real path: positions in InfluxDB, the ``security_check`` job, the bus, the mail sink."""
    from fleet.models import from_ns
    from fleet.security_alarms import check_security
    from telemetry.store import TelemetryStore
    from test_security_alarms import NS, north_of, site_of, write_minutes

    sessions, bus, push, mail = world
    store, site = TelemetryStore(influx), site_of(sessions)
    t = (int(datetime.now(timezone.utc).timestamp()) // 60 - 40) * 60 * NS  # 40 min ago, on a minute
    t = write_minutes(influx, t, 5, *north_of(site, 120.0))
    check_security(store, sessions, bus, lambda: from_ns(t))
    assert mail.to(OWNER) == []  # working on site: nothing to tell
    t = write_minutes(influx, t, 3, *north_of(site, 2300.0), rpm=0.0)
    check_security(store, sessions, bus, lambda: from_ns(t))
    check_security(store, sessions, bus, lambda: from_ns(t))  # a second run (or scheduler): nothing more
    assert [m["Subject"] for m in mail.to(OWNER)] == [f"[Ironwatch] {UID} left Holloway Top Pit: 2.3 km from the site"]
    t = write_minutes(influx, t, 3, *north_of(site, 80.0))
    check_security(store, sessions, bus, lambda: from_ns(t))
    assert [m["Subject"] for m in mail.to(OWNER)][1:] == [f"[Ironwatch] {UID} is back inside Holloway Top Pit"]
    assert mail.to(OTHER_TENANT) == []
