"""SqlDeviceDirectory against a real (migrated SQLite) database."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from fleet.devices import SqlDeviceDirectory, UnknownMachine
from fleet.models import DeviceCredential

from app_helpers import seed_demo_fleet

pytestmark = pytest.mark.integration


class FakeClock:
    """Monotonic seconds the test advances by hand (the cache TTL is what is under test)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seeded(session_factory, sql_url, tmp_path):
    seed_demo_fleet(sql_url, tmp_path)
    return session_factory


def test_issue_and_authenticate_gives_the_machine_and_its_sensors(seeded):
    directory = SqlDeviceDirectory(seeded)
    token = directory.issue_credential("GS-2001")
    identity = directory.authenticate(token)
    assert identity is not None and identity.machine == "GS-2001"
    assert identity.device_id == token.split(".")[0]
    sensor = identity.sensors["alternator_de.acc"]
    assert (sensor.component, sensor.axis, sensor.sample_rate_hz) == ("alternator_de", "radial", 25600.0)
    assert set(identity.sensors) == {"engine.acc", "alternator_de.acc", "alternator_nde.acc"}


def test_only_the_hash_is_stored(seeded):
    directory = SqlDeviceDirectory(seeded)
    token = directory.issue_credential("EX-1001")
    device_id, secret = token.split(".")
    with seeded() as session:
        row = session.scalar(select(DeviceCredential).where(DeviceCredential.device_id == device_id))
    assert secret not in row.secret_sha256 and len(row.secret_sha256) == 64


@pytest.mark.parametrize("bad", ["", "no-dot", "dev_x.", ".secret", "dev_unknown.abcdefghijklmnopqrstuvwxyz", "x" * 5000])
def test_malformed_or_unknown_tokens_are_refused(seeded, bad):
    assert SqlDeviceDirectory(seeded).authenticate(bad) is None


def test_wrong_secret_is_refused(seeded):
    directory = SqlDeviceDirectory(seeded)
    token = directory.issue_credential("EX-1001")
    device_id, secret = token.split(".")
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert directory.authenticate(f"{device_id}.{flipped}") is None
    assert directory.authenticate(token) is not None


def test_revocation_in_this_process_bites_at_once(seeded):
    directory = SqlDeviceDirectory(seeded, ttl_s=60.0)
    token = directory.issue_credential("EX-1002")
    assert directory.authenticate(token) is not None  # now cached
    assert directory.revoke(token) is True
    assert directory.authenticate(token) is None
    assert directory.revoke(token) is False  # already revoked


def test_revocation_elsewhere_bites_after_the_ttl(seeded):
    clock = FakeClock()
    gateway_side = SqlDeviceDirectory(seeded, ttl_s=5.0, clock=clock)
    admin_side = SqlDeviceDirectory(seeded)  # e.g. another process
    token = admin_side.issue_credential("EX-1003")
    assert gateway_side.authenticate(token) is not None
    admin_side.revoke(token.split(".")[0])
    clock.now += 4.0
    assert gateway_side.authenticate(token) is not None, "within the TTL the cached answer stands"
    clock.now += 1.5
    assert gateway_side.authenticate(token) is None


def test_rotate_revokes_old_and_issues_new(seeded):
    directory = SqlDeviceDirectory(seeded)
    old = directory.issue_credential("GS-2002")
    new = directory.rotate("GS-2002")
    assert directory.authenticate(old) is None
    assert directory.authenticate(new).machine == "GS-2002"
    assert directory.revoke_machine("GS-2002") >= 1
    assert directory.authenticate(new) is None


def test_unknown_machine(seeded):
    with pytest.raises(UnknownMachine):
        SqlDeviceDirectory(seeded).issue_credential("XX-9999")
