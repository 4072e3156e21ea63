"""Property-based guard (Hypothesis) on line-protocol encoding of identifiers, against the real
InfluxDB (issue 20): a tag value, tag key, measurement or string field made of quotes, commas,
spaces, equals signs, backslashes, newlines or any Unicode either reads back exactly (written by
``encode_point``, found again with ``quote_literal``) or is refused by the encoder with a
``ValueError`` before anything is written: never a line InfluxDB misreads or rejects."""
from __future__ import annotations

import itertools
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from telemetry.schema import encode_point, quote_ident, quote_literal

pytestmark = pytest.mark.integration

SPECIAL = list(" ,=\"'\\\n\r\t") + ["é", "ü", "中", "\U0001f600", "\u2028", "²"]
IDENTIFIER = st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(codec="utf-8", exclude_categories=("Cs",)),
                     min_size=1, max_size=16)
TIMES = itertools.count(1_700_000_000_000_000_000)


@pytest.fixture(scope="module")
def lp_influx(influx_url):
    from telemetry.influx import InfluxClient

    # A name of its own, like the ``influx`` fixture's: parallel workers share the influxd.
    client = InfluxClient(influx_url, f"ironwatch_test_line_protocol_{uuid.uuid4().hex[:10]}")
    client.create_database()
    yield client
    client.drop_database()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tag_value=IDENTIFIER, field_text=IDENTIFIER)
@example(tag_value="end\\", field_text="a\\")
@example(tag_value="a\\b", field_text="line\nbreak")
@example(tag_value="x\\,y", field_text='q"uote')
@example(tag_value="sp ace,co=mma", field_text="back\\\\slash")
def test_identifiers_read_back_exactly_or_are_refused(lp_influx, tag_value, field_text):
    t_ns = next(TIMES)
    try:
        line = encode_point("lp_probe", {"machine": tag_value}, {"text": field_text, "seq": t_ns}, t_ns)
    except ValueError:
        assert any(c in tag_value for c in "\\\n\r\x00"), (tag_value, field_text)
        return
    lp_influx.write(line + "\n")
    series = lp_influx.query(f"SELECT {quote_ident('text')}, seq FROM lp_probe "
                             f"WHERE machine = {quote_literal(tag_value)} AND time = {t_ns}")
    assert series and series[0]["values"] == [[t_ns, field_text, t_ns]], (line, series)


def test_a_record_line_protocol_cannot_carry_is_set_aside_and_the_drain_goes_on(influx, tmp_path):
    import json
    import time

    from telemetry.devices import DeviceIdentity, StaticDeviceDirectory
    from telemetry.ingest import IngestService
    from telemetry.spool import Spool
    from telemetry.writer import SpoolWriter

    devices = StaticDeviceDirectory()
    bad = devices.add(DeviceIdentity("gw-bad", "EX\\9"))  # a machine uid with a backslash
    good = devices.add(DeviceIdentity("gw-good", "EX-9"))
    spool = Spool(tmp_path / "spool")
    service = IngestService(spool, devices)
    now = time.time_ns() - 10**9
    for token, machine in ((bad, "EX\\9"), (good, "EX-9")):
        body = {"upload_id": "u-1", "machine": machine, "times": [now], "fields": {"engine_speed_rpm": [900.0]}}
        service.accept_operating(token, json.dumps(body).encode(), {"Content-Type": "application/json"})
    writer = SpoolWriter(spool, influx).start()
    try:
        assert writer.wait_drained(20) and writer.is_alive()
    finally:
        writer.stop()
        spool.close()
    assert influx.query("SELECT engine_speed_rpm FROM life.operating WHERE machine = 'EX-9'")
    [kept] = (tmp_path / "spool" / "rejected").iterdir()
    assert "backslash" in kept.read_text(errors="replace").splitlines()[0]
