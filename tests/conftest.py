"""Shared fixtures: the real InfluxDB and a real SQL database, one fresh database per test.

Integration tests use both stores for real, never a stand-in: each test gets its own InfluxDB
database on the project's private influxd and its own SQLite file migrated by Alembic.
"""
from __future__ import annotations

import os
import uuid

import pytest

from database_templates import migrated_database


@pytest.fixture(scope="session")
def influx_url():
    from telemetry import influxd

    return influxd.ensure_running()


@pytest.fixture
def influx(influx_url):
    """An InfluxClient on a fresh database (with the retention policies), dropped afterwards."""
    from telemetry import influxd
    from telemetry.influx import InfluxClient

    client = InfluxClient(influx_url, f"ironwatch_test_{uuid.uuid4().hex[:10]}")
    influxd.prepare_database(client)
    yield client
    client.drop_database()


@pytest.fixture
def sql_url(tmp_path):
    """A migrated SQL database: SQLite in tmp_path (a copy of one migrated once per process:
    ``database_templates``), or IRONWATCH_TEST_DATABASE_URL, migrated, when set."""
    from fleet import db

    url = os.environ.get("IRONWATCH_TEST_DATABASE_URL")
    if url:
        db.upgrade(url)
        return url
    path = tmp_path / "ironwatch.db"
    migrated_database(path)
    return f"sqlite:///{path}"


@pytest.fixture
def session_factory(sql_url):
    from fleet import db

    engine = db.make_engine(sql_url)
    yield db.session_factory(engine)
    engine.dispose()


SUMMARY_LINE = "summary_line"


@pytest.fixture
def report_line(request):
    """``report_line(text)``: one line of the test's counts (fuzz cases, drill tallies) for the
    "counts" section at the end of the run. Kept on the test's report rather than printed, so
    that it reaches the summary from pytest-xdist's workers too (their output is not shown)."""
    return lambda text: request.node.user_properties.append((SUMMARY_LINE, text))


def pytest_terminal_summary(terminalreporter):
    lines: dict[str, list[str]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) == "call":
                lines.setdefault(report.nodeid, []).extend(
                    value for name, value in report.user_properties if name == SUMMARY_LINE)
    if any(lines.values()):
        terminalreporter.section("counts")
        for nodeid in sorted(lines):
            for line in lines[nodeid]:
                terminalreporter.write_line(line)
