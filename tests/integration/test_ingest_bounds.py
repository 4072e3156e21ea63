"""Issue 20, defect 5: one token cannot grow the InfluxDB series of a machine (distinct SPNs are
bounded per machine, in SQL) nor the device-auth cache (an LRU bound)."""
from __future__ import annotations

import json
import time

import pytest

from fleet import seed
from fleet.devices import SqlDeviceDirectory
from fleet.fault_codes import SqlFaultCodeRegister
from telemetry.ingest import IngestError, IngestService
from telemetry.spool import Position, Spool

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def seeded(session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    return session_factory


def faults(upload_id: str, spns, machine="GS-2001") -> bytes:
    return json.dumps({"upload_id": upload_id, "machine": machine, "time": time.time_ns(),
                       "active": [{"spn": spn, "fmi": 3, "occurrence_count": 1} for spn in spns]}).encode()


def test_distinct_spns_per_machine_are_bounded_in_sql(seeded, tmp_path):
    directory = SqlDeviceDirectory(seeded)
    token = directory.issue_credential("GS-2001")
    other = directory.issue_credential("GS-2002")
    spool = Spool(tmp_path / "spool")
    try:
        service = IngestService(spool, directory, fault_codes=SqlFaultCodeRegister(seeded, limit=8))
        service.accept_faults(token, faults("f-1", range(100, 106)), JSON)
        with pytest.raises(IngestError) as info:
            service.accept_faults(token, faults("f-2", range(200, 203)), JSON)  # 6 + 3 > 8
        assert (info.value.status, info.value.field, info.value.rule) == (422, "active", "max_spns_per_machine")
        assert "at most 8 distinct SPNs" in info.value.message
        # known codes keep flowing, a new one that fits is admitted, another machine has its own bound
        service.accept_faults(token, faults("f-3", [100, 101, 200, 201]), JSON)
        service.accept_faults(other, faults("f-1", range(300, 308), machine="GS-2002"), JSON)
        # a second process (its own register, same database) counts the same set
        second = SqlFaultCodeRegister(seeded, limit=8)
        assert second.admit("GS-2001", [999]) == [999]
        assert second.admit("GS-2001", [100, 200]) == []
        stored = [e.header["upload_id"] for e in spool.read(Position(0, 0))]
        assert stored == ["f-1", "f-3", "f-1"]  # the refused upload left nothing
    finally:
        spool.close()


def test_auth_cache_keeps_a_bounded_number_of_device_ids(seeded):
    directory = SqlDeviceDirectory(seeded, max_entries=50)
    token = directory.issue_credential("GS-2001")
    assert directory.authenticate(token) is not None
    for i in range(500):
        assert directory.authenticate(f"dev_junk{i:05d}.secret") is None
    assert directory.cached <= 50
    assert directory.authenticate(token) is not None  # the real one is looked up again, and works
