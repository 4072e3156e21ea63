"""Fixtures shared by the app's integration tests: the demo fleet seeded into the test's own SQL
database, and the app (``create_app``, background services off) on it and the test's own InfluxDB
database."""
from __future__ import annotations

import pytest

from app_helpers import app_config, seed_demo_fleet


@pytest.fixture
def provisioning(sql_url, tmp_path):
    """The demo fleet in the test's database; the provisioning document (device tokens, sensors)."""
    return seed_demo_fleet(sql_url, tmp_path)


@pytest.fixture
def app_settings() -> dict:
    """Settings ``app`` adds to :func:`app_helpers.app_config`; a module overrides this fixture to
    run its app with other limits."""
    return {}


@pytest.fixture
def app(influx, sql_url, tmp_path, provisioning, app_settings):
    """The app on the seeded fleet; its runtime is stopped afterwards."""
    from app import create_app

    application = create_app({**app_config(influx, sql_url, tmp_path), **app_settings})
    yield application
    application.extensions["ironwatch"].stop()
