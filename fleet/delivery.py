"""Delivering alarms to people: Web Push and e-mail, with a delivery log, retries and digests.

:class:`DeliveryService` is the message bus's delivery subscriber. For each ``AlarmEscalated``
it writes one ``delivery`` row per recipient and channel (the log, unique per alarm, step, person
and channel, so two processes cannot both send), deciding first whether the message goes now
(``queued``), waits for the next digest (``held``: the recipient had ``EMAIL_LIMIT`` e-mails in
the last ``EMAIL_WINDOW``) or not at all (``suppressed``: the channel is off in the person's
preferences, or quiet hours and the alarm is not urgent). Sending happens on the executor passed
in (a thread pool in the app; Celery later), never on the thread that ingests or diagnoses.
A failed send is retried with doubling back-off by the ``delivery_retry`` job; a push service that
answers 404 or 410 has dropped the subscription, which is deleted.

Adapters, passed in: :class:`WebPushSender` (``pywebpush``: RFC 8291 encryption and the VAPID
RFC 8292 signature) and :class:`SmtpMailer` (``smtplib``: host, port, TLS and credentials from the
environment, see :func:`mailer_from_env`).
"""
from __future__ import annotations

import base64
import html
import json
import logging
import os
import smtplib
import ssl
import uuid
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from .alarms import in_quiet_hours, is_urgent, local_time_text, parse_clock
from .db import insert_unless_exists, transaction
from .models import Alarm, Delivery, PushSubscription, User, UserPreference, utcnow
from .wording import component_words

log = logging.getLogger(__name__)

#: More e-mails than this to one person within EMAIL_WINDOW wait for one digest.
EMAIL_LIMIT = 3
EMAIL_WINDOW = timedelta(minutes=10)
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(minutes=30)
DEFAULT_CHANNELS = ("push", "email")


class DeliveryFailed(Exception):
    """The channel did not take the message; it will be retried."""


class SubscriptionGone(DeliveryFailed):
    """The push service no longer knows the subscription (HTTP 404 or 410): drop it."""


def retry_delay(attempts: int) -> timedelta:
    """Back-off before attempt ``attempts + 1``: 30 s, 1 min, 2 min, … capped at 30 min."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


class InlineExecutor(Executor):
    """Runs each task at once on the caller's thread (command-line runs, deterministic tests)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the Future carries it, as a pool's would
            future.set_exception(exc)
        return future


# --- adapters ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VapidKeys:
    """The server's VAPID key pair: the private key file (PEM) and the public key as the
    base64url uncompressed P-256 point browsers take as ``applicationServerKey``."""

    private_key_path: Path
    public_key: str


def ensure_vapid_keys(var_dir: Path) -> VapidKeys:
    """Load ``<var>/vapid_private.pem``, generating it (P-256, mode 0600) at first start."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = Path(var_dir) / "vapid_private.pem"
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting together keep one key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
        except FileExistsError:
            pass
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return VapidKeys(path, base64.urlsafe_b64encode(point).rstrip(b"=").decode("ascii"))


class WebPushSender:
    """Sends one encrypted push message to one subscription through its push service."""

    def __init__(self, keys: VapidKeys, subject: str = "mailto:alarms@ironwatch.example", ttl_s: int = 24 * 3600,
                 timeout_s: float = 10.0):
        self.keys, self.subject, self.ttl_s, self.timeout_s = keys, subject, ttl_s, timeout_s

    def send(self, subscription_info: Mapping, payload: Mapping, urgent: bool = False) -> None:
        from pywebpush import WebPushException, webpush

        try:
            webpush(dict(subscription_info), json.dumps(payload), vapid_private_key=str(self.keys.private_key_path),
                    vapid_claims={"sub": self.subject}, ttl=self.ttl_s, timeout=self.timeout_s,
                    headers={"Urgency": "high" if urgent else "normal"})
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                raise SubscriptionGone(f"push service answered {status}") from None
            raise DeliveryFailed(f"push failed: {status or ''} {exc.message if hasattr(exc, 'message') else exc}"
                                 .strip()[:400]) from None
        except Exception as exc:  # connection refused, timeout, bad key material
            raise DeliveryFailed(f"push failed: {type(exc).__name__}: {exc}"[:400]) from None


class SmtpMailer:
    """Sends e-mail through an SMTP server. ``security`` is ``none``, ``starttls`` or ``ssl``."""

    def __init__(self, host: str, port: int, sender: str, security: str = "none", username: str | None = None,
                 password: str | None = None, timeout_s: float = 15.0):
        if security not in ("none", "starttls", "ssl"):
            raise ValueError(f"SMTP security must be none, starttls or ssl, got {security!r}")
        self.host, self.port, self.sender, self.security = host, int(port), sender, security
        self.username, self.password, self.timeout_s = username, password, timeout_s

    def send(self, to: str, subject: str, text: str, html_body: str,
             attachments: tuple[tuple[str, str, bytes], ...] = ()) -> None:
        """``attachments``: ``(filename, MIME type, bytes)`` each (the monthly report's PDF)."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message["Message-ID"] = f"<{uuid.uuid4().hex}@{self.sender.split('@')[-1]}>"
        message.set_content(text)
        message.add_alternative(html_body, subtype="html")
        for filename, mime, data in attachments:
            maintype, subtype = mime.split("/", 1)
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        try:
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with client:
                if self.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"mail failed: {type(exc).__name__}: {exc}"[:400]) from None


def mailer_from_env(environ: Mapping[str, str] | None = None) -> SmtpMailer | None:
    """``IRONWATCH_SMTP_HOST`` (none: e-mail is off), ``_PORT`` (25), ``_SECURITY`` (none |
    starttls | ssl), ``_USER``, ``_PASSWORD``, ``_FROM`` (alarms@ironwatch.example)."""
    environ = os.environ if environ is None else environ
    host = environ.get("IRONWATCH_SMTP_HOST")
    if not host:
        return None
    return SmtpMailer(host, int(environ.get("IRONWATCH_SMTP_PORT") or 25),
                      environ.get("IRONWATCH_SMTP_FROM") or "Ironwatch alarms <alarms@ironwatch.example>",
                      environ.get("IRONWATCH_SMTP_SECURITY") or "none", environ.get("IRONWATCH_SMTP_USER"),
                      environ.get("IRONWATCH_SMTP_PASSWORD"))


# --- what the messages say ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class AlarmMessage:
    subject: str
    text: str
    html: str
    push: dict


def machine_url(base_url: str, machine_uid: str) -> str:
    return f"{base_url.rstrip('/')}/console/machines/{machine_uid}"


def portal_machine_url(base_url: str, machine_uid: str) -> str:
    """Where a customer opens the machine: the portal (the console is the OEM's)."""
    return f"{base_url.rstrip('/')}/portal/machines/{machine_uid}"


def alarm_message(alarm: Mapping, timezone_name: str, base_url: str, escalated_step: int = 0) -> AlarmMessage:
    """The push payload and e-mail of one alarm for a reader in ``timezone_name``."""
    severity = str(alarm["severity"]).upper()
    # A phone's notification and a subject line show this: the component in words, not its identifier.
    where = alarm["machine"] + (f" {component_words(alarm['component'])}" if alarm.get("component") else "")
    first = local_time_text(datetime.fromisoformat(alarm["first_seen_at"].replace("Z", "+00:00")), timezone_name)
    url = machine_url(base_url, alarm["machine"])
    reminder = "" if escalated_step == 0 else f"Still unacknowledged (escalation step {escalated_step + 1}). "
    # What the diagnosis saw, when the alarm is a finding's (its title names only the fault).
    summary = str(((alarm.get("detail") or {}).get("finding") or {}).get("summary") or "")
    # A bearing's alarm with another fault mode in the same burst says which is more likely.
    verdict = str((alarm.get("detail") or {}).get("verdict") or "")
    summary = f"{verdict} {summary}".strip()
    lines = [f"{severity}: {alarm['title']}", *([summary] if summary else []), "",
             f"Machine: {alarm['machine']} ({alarm.get('customer') or ''})",
             f"Source: {alarm.get('source_label', alarm['source'])}",
             f"First seen: {first}, seen {alarm['count']} time{'s' if alarm['count'] != 1 else ''}",
             f"Alarm: {alarm['number']}", "", reminder + "Acknowledge it on the machine page:", url]
    text = "\n".join(lines) + "\n"
    esc = html.escape
    html_body = (f"<p><strong style=\"color:{'#b42318' if alarm['severity'] == 'alarm' else '#b54708'}\">{esc(severity)}"
                 f"</strong>: {esc(alarm['title'])}</p>" + (f"<p>{esc(summary)}</p>" if summary else "") + "<table>"
                 f"<tr><td>Machine</td><td>{esc(alarm['machine'])} ({esc(alarm.get('customer') or '')})</td></tr>"
                 f"<tr><td>Source</td><td>{esc(alarm.get('source_label', alarm['source']))}</td></tr>"
                 f"<tr><td>First seen</td><td>{esc(first)}</td></tr>"
                 f"<tr><td>Alarm</td><td>{esc(alarm['number'])}</td></tr></table>"
                 f"<p>{esc(reminder)}<a href=\"{esc(url)}\">Open {esc(alarm['machine'])} and acknowledge</a></p>")
    push = {"title": f"{severity} {where}", "body": f"{alarm['title']} (first seen {first})", "url": url,
            "alarm_id": alarm["id"], "severity": alarm["severity"], "tag": f"alarm-{alarm['id']}",
            "work_order_id": alarm.get("work_order_id")}  # the technicians' app opens the job
    return AlarmMessage(f"[Ironwatch] {severity} {where}: {alarm['title']}"[:200], text, html_body, push)


def digest_message(alarms: list[Mapping], timezone_name: str, base_url: str,
                   link: Callable[[str, str], str] = machine_url) -> tuple[str, str, str]:
    """(subject, text, html) of one e-mail summarising several alarms; ``link(base_url, uid)`` is
    the machine page (the portal's for a customer)."""
    subject = f"[Ironwatch] {len(alarms)} alarms need attention"
    rows = []
    for alarm in alarms:
        first = local_time_text(datetime.fromisoformat(alarm["first_seen_at"].replace("Z", "+00:00")), timezone_name)
        rows.append((alarm, first, link(base_url, alarm["machine"])))
    text = "\n".join([f"{len(alarms)} alarms fired close together:", ""] +
                     [f"- {a['severity'].upper()} {a['machine']}: {a['title']} (first seen {first})\n  {url}"
                      for a, first, url in rows]) + "\n"
    esc = html.escape
    html_body = (f"<p>{len(alarms)} alarms fired close together:</p><ul>" +
                 "".join(f"<li><strong>{esc(a['severity'].upper())}</strong> <a href=\"{esc(url)}\">{esc(a['machine'])}"
                         f"</a>: {esc(a['title'])} (first seen {esc(first)})</li>" for a, first, url in rows) + "</ul>")
    return subject, text, html_body


# --- the service -------------------------------------------------------------------------------------------

@dataclass
class Preferences:
    channels: tuple[str, ...]
    quiet_start: str | None
    quiet_end: str | None
    timezone: str


def preferences_of(session, user_id: int) -> Preferences:
    pref = session.get(UserPreference, user_id)
    if pref is None:
        return Preferences(DEFAULT_CHANNELS, None, None, "UTC")
    return Preferences(tuple(pref.channels or ()), pref.quiet_start, pref.quiet_end, pref.timezone or "UTC")


class DeliveryService:
    """Decides, logs and sends alarm messages (see the module docstring).

    Parameters
    ----------
    session_factory : sessionmaker
    executor : concurrent.futures.Executor
        Where sends run (a thread pool in the app; :class:`InlineExecutor` runs them at once).
    push : WebPushSender or None
        None: push is not configured; push deliveries are logged as failed with the reason.
    mailer : SmtpMailer or None
        None: e-mail is not configured (no ``IRONWATCH_SMTP_HOST``).
    base_url : str
        Public address of the console, for links in the messages.
    clock : callable
        Aware UTC now.
    """

    def __init__(self, session_factory: sessionmaker, executor: Executor, push: WebPushSender | None,
                 mailer: SmtpMailer | None, base_url: str, clock: Callable[[], datetime] = utcnow):
        self.sessions, self.executor, self.push, self.mailer = session_factory, executor, push, mailer
        self.base_url, self.clock = base_url, clock

    # -- deciding
    def deliver(self, event) -> list[int]:
        """Log and queue the messages of one ``AlarmEscalated``; returns the queued delivery ids."""
        return self.deliver_to(event.alarm_id, [(user_id, channel) for user_id in event.recipients
                                                for channel in event.channels],
                               kind="escalated" if event.step else "raised", step=event.step,
                               urgent=is_urgent(event.alarm["severity"]))

    def deliver_to(self, alarm_id: int, recipients: list[tuple[int, str]], kind: str, step: int = 0,
                   urgent: bool = False) -> list[int]:
        """Log and queue one message of ``alarm_id`` per ``(user id, channel)``; ``urgent`` ones go
        through quiet hours. The log's unique key (alarm, step, person, channel, kind) makes a second
        call with the same arguments send nothing. Returns the queued delivery ids."""
        now = self.clock()
        queued: list[int] = []
        channels_of: dict[int, list[str]] = {}
        for user_id, channel in recipients:
            channels_of.setdefault(user_id, []).append(channel)
        with transaction(self.sessions) as session:
            for user_id, channels in channels_of.items():
                user = session.get(User, user_id)
                if user is None or not user.active:
                    continue
                prefs = preferences_of(session, user_id)
                quiet = in_quiet_hours(now, parse_clock(prefs.quiet_start), parse_clock(prefs.quiet_end),
                                       prefs.timezone)
                for channel in channels:
                    status, reason = "queued", ""
                    if channel not in prefs.channels:
                        status, reason = "suppressed", f"{channel} is off in {user.name}'s preferences"
                    elif quiet and not urgent:
                        status, reason = "suppressed", "quiet hours (not urgent)"
                    elif channel == "email" and self._emails_recently(session, user_id, now) >= EMAIL_LIMIT:
                        status, reason = "held", f"more than {EMAIL_LIMIT} e-mails in {EMAIL_WINDOW}: next digest"
                    delivery_id = insert_unless_exists(session, Delivery, dict(
                        alarm_id=alarm_id, user_id=user_id, channel=channel, kind=kind, step=step,
                        address=user.email if channel == "email" else "", status=status, last_error=reason,
                        attempts=0, created_at=now), ["alarm_id", "step", "user_id", "channel", "kind"])
                    # None: another process logged (and sends) this message already
                    if delivery_id is not None and status == "queued":
                        queued.append(delivery_id)
        for delivery_id in queued:
            self.executor.submit(self.attempt, delivery_id)
        return queued

    @staticmethod
    def _emails_recently(session, user_id: int, now: datetime) -> int:
        return session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.user_id == user_id, Delivery.channel == "email", Delivery.status.in_(("sent", "queued", "retrying")),
            Delivery.created_at > now - EMAIL_WINDOW)) or 0

    # -- sending
    def attempt(self, delivery_id: int) -> str:
        """Try one delivery now; returns its new status. Runs on the executor."""
        now = self.clock()
        with self.sessions() as session:
            row = session.get(Delivery, delivery_id)
            if row is None or row.status not in ("queued", "retrying"):
                return row.status if row is not None else "gone"
            alarm = session.get(Alarm, row.alarm_id)
            from .queries import alarm_view

            view = alarm_view(alarm)
            user = session.get(User, row.user_id)
            prefs = preferences_of(session, row.user_id)
            subscriptions = [(s.id, s.subscription_info(), urlparse(s.endpoint).netloc) for s in session.scalars(
                select(PushSubscription).where(PushSubscription.user_id == row.user_id))]
            channel, step, email, kind = row.channel, row.step, user.email, row.kind
        from .owner_alerts import OWNER_KINDS, owner_message, still_worth_sending, urgent_for_owner

        owner = kind in OWNER_KINDS
        # answered or cleared meanwhile: nobody needs telling (an owner still does, unless it cleared)
        if not (still_worth_sending(kind, view) if owner else view["state"] == "active"):
            return self._finish(delivery_id, "suppressed", f"alarm {view['state']} before delivery")
        message = (owner_message(view, kind, prefs.timezone, self.base_url) if owner
                   else alarm_message(view, prefs.timezone, self.base_url, escalated_step=step))
        urgent = urgent_for_owner(view) if owner else is_urgent(view["severity"])
        try:
            if channel == "push":
                return self._push(delivery_id, subscriptions, message.push, urgent, now)
            if self.mailer is None:
                raise DeliveryFailed("e-mail is not configured (IRONWATCH_SMTP_HOST)")
            self.mailer.send(email, message.subject, message.text, message.html)
            return self._finish(delivery_id, "sent", "", sent_at=now)
        except DeliveryFailed as exc:
            return self._failed(delivery_id, str(exc), now)

    def _push(self, delivery_id: int, subscriptions: list, payload: dict, urgent: bool, now: datetime) -> str:
        if self.push is None:
            raise DeliveryFailed("Web Push is not configured")
        if not subscriptions:
            return self._finish(delivery_id, "suppressed", "no device has subscribed to push")
        delivered, gone, errors = [], [], []
        for subscription_id, info, host in subscriptions:
            try:
                self.push.send(info, payload, urgent=urgent)
                delivered.append((subscription_id, host))
            except SubscriptionGone as exc:
                gone.append(subscription_id)
                errors.append(f"{host}: {exc} (subscription dropped)")
            except DeliveryFailed as exc:
                errors.append(f"{host}: {exc}")
        with transaction(self.sessions) as session:
            for subscription_id in gone:
                subscription = session.get(PushSubscription, subscription_id)
                if subscription is not None:
                    session.delete(subscription)
            for subscription_id, _ in delivered:
                subscription = session.get(PushSubscription, subscription_id)
                if subscription is not None:
                    subscription.last_success_at = now
        address = ", ".join(h for _, h in delivered) or ", ".join(h for _, _, h in subscriptions)
        if delivered:
            return self._finish(delivery_id, "sent", "; ".join(errors), sent_at=now, address=address)
        if len(gone) == len(subscriptions):
            return self._finish(delivery_id, "dropped", "; ".join(errors), address=address)
        raise DeliveryFailed("; ".join(errors))

    def _finish(self, delivery_id: int, status: str, note: str, sent_at: datetime | None = None,
                address: str | None = None) -> str:
        with transaction(self.sessions) as session:
            row = session.get(Delivery, delivery_id)
            row.status, row.last_error, row.next_attempt_at = status, note[:500], None
            row.attempts += 0 if status == "suppressed" else 1
            if sent_at is not None:
                row.sent_at = sent_at
            if address is not None:
                row.address = address[:400]
        return status

    def _failed(self, delivery_id: int, error: str, now: datetime) -> str:
        with transaction(self.sessions) as session:
            row = session.get(Delivery, delivery_id)
            row.attempts += 1
            row.last_error = error[:500]
            if row.attempts >= MAX_ATTEMPTS:
                row.status, row.next_attempt_at = "failed", None
            else:
                row.status, row.next_attempt_at = "retrying", now + retry_delay(row.attempts)
            status = row.status
        log.warning("delivery %d: %s (%s)", delivery_id, error, status)
        return status

    def retry_due(self) -> int:
        """The ``delivery_retry`` job: resubmit deliveries whose back-off has passed."""
        now = self.clock()
        with self.sessions() as session:
            due = list(session.scalars(select(Delivery.id).where(Delivery.status == "retrying",
                                                                 Delivery.next_attempt_at <= now)))
        for delivery_id in due:
            self.executor.submit(self.attempt, delivery_id)
        return len(due)

    def cancel_pending(self, alarm_id: int, reason: str, keep_kinds: tuple[str, ...] = ()) -> int:
        """Messages of an alarm still waiting (retry, digest) are not sent: someone answered.
        ``keep_kinds`` are left waiting (an owner's alert outlives the OEM's acknowledgement)."""
        with transaction(self.sessions) as session:
            waiting = select(Delivery).where(Delivery.alarm_id == alarm_id, Delivery.status.in_(("retrying", "held")))
            rows = list(session.scalars(waiting.where(Delivery.kind.not_in(keep_kinds)) if keep_kinds else waiting))
            for row in rows:
                row.status, row.last_error, row.next_attempt_at = "suppressed", reason[:500], None
        return len(rows)

    def send_digests(self) -> int:
        """The ``delivery_digest`` job: one e-mail per person for the alarms held back by the rate
        limit; returns how many digests were sent."""
        from .queries import alarm_view

        now = self.clock()
        sent = 0
        with self.sessions() as session:
            held = session.execute(select(Delivery.user_id, Delivery.id, Delivery.alarm_id)
                                   .where(Delivery.status == "held", Delivery.channel == "email")
                                   .order_by(Delivery.user_id, Delivery.created_at)).all()
            per_user: dict[int, list[tuple[int, dict]]] = {}
            for user_id, delivery_id, alarm_id in held:
                per_user.setdefault(user_id, []).append((delivery_id, alarm_view(session.get(Alarm, alarm_id))))
            people = list(session.scalars(select(User).where(User.id.in_(list(per_user)))))
            addresses = {u.id: u.email for u in people}
            links = {u.id: portal_machine_url if u.role == "customer" else machine_url for u in people}
            zones = {user_id: preferences_of(session, user_id).timezone for user_id in per_user}
        for user_id, items in per_user.items():
            if self._emails_recently_now(user_id, now) >= EMAIL_LIMIT:
                continue  # still over the limit: the next run sends it
            digest_id = uuid.uuid4().hex
            subject, text, html_body = digest_message([v for _, v in items], zones[user_id], self.base_url,
                                                      links[user_id])
            try:
                if self.mailer is None:
                    raise DeliveryFailed("e-mail is not configured (IRONWATCH_SMTP_HOST)")
                self.mailer.send(addresses[user_id], subject, text, html_body)
            except DeliveryFailed as exc:
                log.warning("digest to %s failed: %s", addresses[user_id], exc)
                continue
            with transaction(self.sessions) as session:
                for delivery_id, _ in items:
                    row = session.get(Delivery, delivery_id)
                    row.status, row.digest_id, row.sent_at, row.attempts = "digested", digest_id, now, row.attempts + 1
            sent += 1
        return sent

    def _emails_recently_now(self, user_id: int, now: datetime) -> int:
        with self.sessions() as session:
            return self._emails_recently(session, user_id, now)
