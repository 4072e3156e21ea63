"""The monthly fleet report by e-mail: real InfluxDB and SQL, a local SMTP sink (aiosmtpd), the
PDF read back from the message with pypdf; sent once per person and month, retried after a failure."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from fleet import seed
from fleet.delivery import SmtpMailer
from fleet.models import ReportDelivery, User
from fleet.report_mail import send_monthly_reports
from telemetry.store import TelemetryStore

from app_helpers import CUSTOMER, free_port
from portal_helpers import write_operating_days
from push_receiver import MailSink

pytestmark = pytest.mark.integration
ON_THE_FIRST = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)
OCTOBER_DAYS = [date(2026, 10, 13), date(2026, 10, 14)]


def test_subscribers_get_last_months_pdf_once_and_a_failed_send_is_retried(influx, session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    write_operating_days(influx, "EX-1001", OCTOBER_DAYS)
    with session_factory() as session:
        session.scalar(select(User).where(User.email == CUSTOMER)).monthly_report = True
        session.commit()
    store = TelemetryStore(influx)
    sink = MailSink()
    try:
        dead = SmtpMailer("127.0.0.1", free_port(), "reports@ironwatch.example", timeout_s=2)
        assert send_monthly_reports(session_factory, store, dead, now=ON_THE_FIRST) == 0
        with session_factory() as session:
            row = session.scalar(select(ReportDelivery))
            assert (row.month, row.status, row.attempts) == ("2026-10", "failed", 1) and row.last_error

        mailer = SmtpMailer("127.0.0.1", sink.port, "reports@ironwatch.example")
        assert send_monthly_reports(session_factory, store, mailer, now=ON_THE_FIRST, base_url="https://iw.example") == 1
        assert send_monthly_reports(session_factory, store, mailer, now=ON_THE_FIRST) == 0  # once per month
        (message,) = sink.to(CUSTOMER)  # only the subscriber; the engineer and Meridian's user are not subscribed
        assert len(sink.messages) == 1
        assert message["Subject"] == "Fleet report October 2026 · Granite Ridge Quarries"
        (pdf,) = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
        assert "Fleet report October 2026" in text and "1 Oct 2026 to 31 Oct 2026" in text
        assert "12.0 h" in text and "2.0 h" in text  # EX-1001: two days of 6 h working and 1 h idling
        with session_factory() as session:
            row = session.scalar(select(ReportDelivery))
            assert (row.status, row.attempts) == ("sent", 2)
    finally:
        sink.close()
