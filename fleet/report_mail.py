"""The monthly fleet report by e-mail: on the 1st, each subscribed customer user gets last month's
PDF (:mod:`fleet.report_pdf`) through the SMTP mailer of :mod:`fleet.delivery`.

Each person and month is claimed with a row in ``report_delivery`` (unique per user and month), so
two processes or two runs never send twice; a failed send is tried again by the next run (the job
runs on the 1st to the 3rd), at most :data:`MAX_ATTEMPTS` times.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload, sessionmaker

from . import reports
from .models import ReportDelivery, Tenant, User, utcnow
from .report_pdf import render_monthly_pdf
from .scope import scope_of_user, scope_title
from .usage import zone_of

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


def _claim(session_factory: sessionmaker, user_id: int, month: str) -> bool:
    """True when this run may send ``month`` to ``user_id`` (a new row, or a failed one to retry)."""
    with session_factory() as session:
        try:
            session.add(ReportDelivery(user_id=user_id, month=month, status="sending", attempts=1))
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
        retried = session.execute(update(ReportDelivery)
                                  .where(ReportDelivery.user_id == user_id, ReportDelivery.month == month,
                                         ReportDelivery.status == "failed", ReportDelivery.attempts < MAX_ATTEMPTS)
                                  .values(status="sending", attempts=ReportDelivery.attempts + 1))
        session.commit()
        return retried.rowcount == 1


def _finish(session_factory: sessionmaker, user_id: int, month: str, error: str | None) -> None:
    with session_factory() as session:
        row = session.scalar(select(ReportDelivery).where(ReportDelivery.user_id == user_id,
                                                          ReportDelivery.month == month))
        row.status, row.last_error = ("failed", error[:500]) if error else ("sent", "")
        row.sent_at = None if error else utcnow()
        session.commit()


def send_monthly_reports(session_factory: sessionmaker, store, mailer, now: datetime | None = None,
                         base_url: str = "") -> int:
    """Send last month's report to every subscribed, active customer user not yet sent it;
    returns how many e-mails went out. Does nothing without a mailer (e-mail is off)."""
    from .delivery import DeliveryFailed

    if mailer is None:
        return 0
    now = now or utcnow()
    with session_factory() as session:
        people = session.scalars(select(User).join(Tenant, User.tenant_id == Tenant.id)
                                 .where(User.monthly_report.is_(True), User.active.is_(True), Tenant.kind == "customer")
                                 .options(selectinload(User.tenant)).order_by(User.id)).all()
    rendered: dict[tuple, bytes] = {}
    sent = 0
    for person in people:
        with session_factory() as session:
            scope = scope_of_user(session, person)  # a site-limited viewer gets their sites' report
            zone = zone_of(session, person.timezone, person.tenant_id, scope)
            title_of = scope_title(session, person.tenant.name, scope)
        month = reports.previous_month(now.astimezone(zone).date())
        if not _claim(session_factory, person.id, month):
            continue
        first, last = reports.month_range(month)
        key = (scope, zone.key, month)
        try:
            if key not in rendered:
                with session_factory() as session:
                    report = reports.fleet_usage(session, store, scope, first, last, zone, with_upcoming=True)
                rendered[key] = render_monthly_pdf(report, title_of, f"{first:%B %Y}")
            title = f"{first:%B %Y}"
            link = f"{base_url.rstrip('/')}/portal/reports" if base_url else "the portal's Reports page"
            mailer.send(person.email, f"Fleet report {title} · {person.tenant.name}",
                        f"Hello {person.name},\n\nattached is the fleet report of {person.tenant.name} for {title}: "
                        f"utilization, idle time and fuel per machine, alarms, maintenance done and due.\n\n"
                        f"Other months and CSV exports: {link}\nTo stop these e-mails, untick the box there.\n",
                        f"<p>Hello {person.name},</p><p>attached is the fleet report of {person.tenant.name} for "
                        f"{title}: utilization, idle time and fuel per machine, alarms, maintenance done and due.</p>"
                        f"<p>Other months and CSV exports: {link}. To stop these e-mails, untick the box there.</p>",
                        attachments=((f"ironwatch-fleet-report-{month}.pdf", "application/pdf", rendered[key]),))
        except (DeliveryFailed, OSError) as error:
            log.warning("monthly report %s to %s failed: %s", month, person.email, error)
            _finish(session_factory, person.id, month, str(error))
            continue
        _finish(session_factory, person.id, month, None)
        sent += 1
    return sent
