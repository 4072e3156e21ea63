"""A throwaway private influxd (own directory and ports): start is idempotent, stop is clean and
data survives a restart. The shared instance on 8186 is never touched here."""
import pytest

from telemetry import influxd
from telemetry.influx import InfluxClient, InfluxUnavailable

from app_helpers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def instance(tmp_path):
    inst = influxd.InfluxdInstance(tmp_path / "influxdb", free_port(), free_port())
    yield inst
    influxd.stop(inst)


def test_start_stop_restart_keeps_data(instance):
    url = influxd.start(instance)
    assert url == instance.url
    pid = influxd.status(instance)["pid"]
    assert influxd.start(instance) == url and influxd.status(instance)["pid"] == pid  # idempotent
    config = instance.config_path.read_text()
    assert f'bind-address = "127.0.0.1:{instance.rpc_port}"' in config and "reporting-disabled = true" in config

    client = InfluxClient(url, "probe")
    influxd.prepare_database(client)
    influxd.prepare_database(client)  # idempotent
    policies = {s["values"][i][0] for s in client.query('SHOW RETENTION POLICIES ON "probe"') for i in range(len(s["values"]))}
    assert {"raw", "life"} <= policies
    client.write("operating,machine=M1 engine_speed_rpm=1500 1000000000\n")

    assert influxd.stop(instance) is True
    assert influxd.status(instance) == {"running": False, "pid": None, "url": url, "answers_ping": False}
    with pytest.raises(InfluxUnavailable):
        client.ping()
    assert influxd.stop(instance) is False

    influxd.start(instance)
    assert client.query("SELECT engine_speed_rpm FROM operating")[0]["values"] == [[1000000000, 1500.0]]


def test_prepare_database_alters_changed_raw_retention(instance):
    client = InfluxClient(influxd.start(instance), "probe")
    influxd.prepare_database(client, raw_days=30)
    influxd.prepare_database(client, raw_days=7)
    rows = client.query('SHOW RETENTION POLICIES ON "probe"')[0]["values"]
    assert [r[1] for r in rows if r[0] == "raw"] == ["168h0m0s"]
