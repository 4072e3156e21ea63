"""MQTT uploads through a real Mosquitto, started by the test on a free port with the configuration
Ironwatch writes from the device registry (per-device passwords and ACLs), landing in the real
InfluxDB; refusals come back on the ack topic; strangers, other devices' topics and forged acks are
stopped by the broker (issue 20, defect 8). Skipped when Mosquitto is not installed."""
import base64
import gzip
import json
import queue
import time
import uuid

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from app_helpers import free_port, machine_entry, seed_demo_fleet
from telemetry.ingest import IngestService
from telemetry.mqtt import MqttBridge, ack_topic, upload_topic
from telemetry.mqtt_broker import BRIDGE_USERNAME, BrokerConfig, MosquittoProcess, find_mosquitto
from telemetry.spool import Spool
from telemetry.store import TelemetryStore
from telemetry.writer import SpoolWriter

pytestmark = pytest.mark.integration

GENSET, EXCAVATOR = "GS-2001", "EX-1001"


@pytest.fixture
def broker(sql_url, session_factory, tmp_path):
    """The demo registry, its generated broker config and a Mosquitto running on it."""
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed (Debian: apt-get install mosquitto)")
    from fleet.devices import broker_accounts

    provisioning = seed_demo_fleet(sql_url, tmp_path)
    config = BrokerConfig(tmp_path / "mosquitto", free_port())
    config.write(broker_accounts(session_factory))
    process = MosquittoProcess(config).start()
    yield config, process, provisioning
    process.stop()


@pytest.fixture
def bridge_env(broker, session_factory, influx, tmp_path):
    from fleet.devices import SqlDeviceDirectory

    config, process, provisioning = broker
    spool = Spool(tmp_path / "spool")
    service = IngestService(spool, SqlDeviceDirectory(session_factory))
    writer = SpoolWriter(spool, influx).start()
    bridge = MqttBridge(service, port=config.port, client_id=f"bridge-{uuid.uuid4().hex[:6]}",
                        username=BRIDGE_USERNAME, password=config.bridge_password()).start()
    yield config, process, provisioning, bridge, writer
    bridge.stop()
    writer.stop()
    spool.close()


class Device:
    """A gateway on the broker: connects with its token's halves, listens on the given topics."""

    def __init__(self, port: int, username: str | None, password: str | None, listen: tuple[str, ...] = ()):
        self.messages: "queue.Queue[tuple[str, dict]]" = queue.Queue()
        self.connected: "queue.Queue[bool]" = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"gw-{uuid.uuid4().hex[:8]}")
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, u, f, reason, p=None: self.connected.put(not reason.is_failure)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, json.loads(m.payload)))
        subscribed = queue.Queue()
        self.client.on_subscribe = lambda *a: subscribed.put(True)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.accepted = self.connected.get(timeout=5)
        for topic in listen if self.accepted else ():
            self.client.subscribe(topic, qos=1)
            subscribed.get(timeout=5)

    def publish(self, topic: str, message: bytes) -> None:
        self.client.publish(topic, message, qos=1).wait_for_publish(5)

    def ack(self, timeout: float = 10) -> dict:
        return self.messages.get(timeout=timeout)[1]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def device_for(provisioning: dict, uid: str, port: int, **kwargs) -> Device:
    device_id, secret = machine_entry(provisioning, uid)["token"].split(".", 1)
    return Device(port, device_id, secret, **kwargs)


def test_mqtt_uploads_land_in_influxdb_without_a_token_in_the_message(bridge_env, influx):
    config, _process, provisioning, _bridge, writer = bridge_env
    gateway = device_for(provisioning, GENSET, config.port, listen=(ack_topic(GENSET),))
    t0 = (time.time_ns() // 10**9 - 600) * 10**9
    operating = {"upload_id": "mq-op-1", "machine": GENSET,
                 "samples": [{"time": t0 + i * 10**9, "fields": {"coolant_temp_c": 80.0 + i}} for i in range(30)]}
    gateway.publish(upload_topic(GENSET, "operating"), json.dumps(operating).encode())
    assert gateway.ack() == {"code": 202, "status": "accepted", "upload_id": "mq-op-1", "points": 30}
    gateway.publish(upload_topic(GENSET, "operating"), json.dumps(operating).encode())
    assert gateway.ack()["status"] == "duplicate"

    sensor = machine_entry(provisioning, GENSET)["sensors"][0]
    samples = np.linspace(-1, 1, 2048, dtype=np.float32)
    burst = {"upload_id": "mq-b-1", "machine": GENSET, "sensor": sensor["name"], "axis": sensor["axis"],
             "sample_rate_hz": sensor["sample_rate_hz"], "start": t0, "units": "m/s2", "shaft_rpm": 1500,
             "samples": base64.b64encode(samples.tobytes()).decode()}
    gateway.publish(upload_topic(GENSET, "bursts"), gzip.compress(json.dumps(burst).encode()))
    assert gateway.ack()["code"] == 202
    faults = {"upload_id": "mq-f-1", "machine": GENSET, "time": t0, "active": [{"spn": 97, "fmi": 3}]}
    gateway.publish(upload_topic(GENSET, "faults"), json.dumps(faults).encode())
    assert gateway.ack()["code"] == 202

    assert writer.wait_drained(30)
    store = TelemetryStore(influx)
    assert store.latest(GENSET)["fields"] == {"coolant_temp_c": 109.0}
    read = store.read_burst(f"{GENSET}:{sensor['name']}:{sensor['axis']}:{t0}")
    assert np.array_equal(read.samples, samples)
    assert store.fault_history(GENSET, t0, t0 + 1)[0]["active"] == [{"spn": 97, "fmi": 3, "occurrence_count": 0}]
    gateway.close()


def test_every_message_is_acknowledged_even_the_refused_ones(bridge_env, influx):
    config, _process, provisioning, _bridge, writer = bridge_env
    token = machine_entry(provisioning, GENSET)["token"]
    gateway = device_for(provisioning, GENSET, config.port, listen=(ack_topic(GENSET),))
    bad = {"upload_id": "mq-bad", "machine": GENSET,
           "samples": [{"time": time.time_ns(), "fields": {"coolant_temp_c": "warm"}}]}
    gateway.publish(upload_topic(GENSET, "operating"), json.dumps(bad).encode())
    assert gateway.ack() == {"code": 422, "error": "invalid", "field": "samples[0].fields.coolant_temp_c",
                             "rule": "number", "message": "samples[0].fields.coolant_temp_c must be a number",
                             "upload_id": "mq-bad"}
    # The old envelope with the token inside is refused, saying why.
    gateway.publish(upload_topic(GENSET, "operating"), json.dumps({**bad, "token": token}).encode())
    assert gateway.ack()["rule"] == "no_token_in_message"
    gateway.publish(upload_topic(GENSET, "operating"), b"not json")
    assert gateway.ack()["rule"] == "json"
    gateway.publish(upload_topic(GENSET, "operating"), json.dumps({**bad, "machine": EXCAVATOR}).encode())
    assert gateway.ack()["rule"] == "topic_machine"
    gateway.publish(upload_topic(GENSET, "operating"), b"[" * 100_000 + b"]" * 100_000)  # deeper than any parser
    assert gateway.ack()["code"] >= 400
    assert writer.wait_drained(10)
    assert influx.query("SELECT count(*) FROM operating") == []  # nothing of a refused message stored
    gateway.close()


def test_the_broker_keeps_strangers_out_and_devices_to_their_own_topics(bridge_env):
    config, _process, provisioning, bridge, _writer = bridge_env
    assert not Device(config.port, None, None).accepted  # anonymous
    device_id = machine_entry(provisioning, GENSET)["token"].split(".")[0]
    assert not Device(config.port, device_id, "not-the-secret").accepted
    assert not Device(config.port, BRIDGE_USERNAME, "guess").accepted

    genset = device_for(provisioning, GENSET, config.port, listen=(ack_topic(GENSET),))
    # The excavator's gateway tries to read every ack, the genset's in particular.
    snoop = device_for(provisioning, EXCAVATOR, config.port,
                       listen=(ack_topic(EXCAVATOR), "ironwatch/+/ack", ack_topic(GENSET), "ironwatch/#"))
    handled = bridge.handled
    t0 = time.time_ns() - 60 * 10**9
    forged = {"upload_id": "mq-forged", "machine": GENSET, "samples": [{"time": t0, "fields": {"coolant_temp_c": 1.0}}]}
    snoop.publish(upload_topic(GENSET, "operating"), json.dumps(forged).encode())  # not its machine
    snoop.publish(ack_topic(GENSET), json.dumps({"code": 202, "status": "accepted"}).encode())  # a forged ack
    own = {"upload_id": "mq-own", "machine": GENSET, "samples": [{"time": t0, "fields": {"coolant_temp_c": 2.0}}]}
    genset.publish(upload_topic(GENSET, "operating"), json.dumps(own).encode())
    assert genset.ack() == {"code": 202, "status": "accepted", "upload_id": "mq-own", "points": 1}
    time.sleep(1.0)  # anything the broker wrongly let through would have arrived by now
    assert genset.messages.empty()  # no forged ack reached the genset
    assert snoop.messages.empty()  # and the excavator's gateway heard nothing of the genset
    assert bridge.handled == handled + 1  # the upload to a foreign machine never reached the bridge
    genset.close()
    snoop.close()


def test_a_revoked_device_is_shut_out_once_the_config_is_rewritten(broker, session_factory):
    from fleet.devices import SqlDeviceDirectory, broker_accounts

    config, process, provisioning = broker
    assert device_for(provisioning, GENSET, config.port).accepted
    SqlDeviceDirectory(session_factory).revoke(machine_entry(provisioning, GENSET)["token"])
    assert config.write(broker_accounts(session_factory))  # the accounts changed
    assert not config.write(broker_accounts(session_factory))  # and a second write is a no-op
    process.reload()
    deadline = time.monotonic() + 5
    while device_for(provisioning, GENSET, config.port).accepted:
        assert time.monotonic() < deadline, "the revoked device still gets in"
        time.sleep(0.1)
    assert device_for(provisioning, EXCAVATOR, config.port).accepted


def test_a_message_the_bridge_fails_on_is_still_acknowledged(tmp_path):
    """A bug in the bridge (here: the directory raises) answers 500 on the ack topic instead of
    leaving the gateway waiting."""

    class BrokenDirectory:
        def authenticate(self, token):
            return None

        def machine_identity(self, machine):
            raise RuntimeError("directory down")

    class Message:
        topic, payload = upload_topic(GENSET, "operating"), json.dumps({"upload_id": "u", "machine": GENSET}).encode()

    published = []

    class Client:
        def publish(self, topic, body, qos):
            published.append((topic, json.loads(body)))

    spool = Spool(tmp_path / "spool")
    try:
        bridge = MqttBridge(IngestService(spool, BrokenDirectory()))
        bridge._on_message(Client(), None, Message())
    finally:
        spool.close()
    assert published == [(ack_topic(GENSET), {"code": 500, "error": "internal_server_error", "field": "message",
                                              "rule": "bridge",
                                              "message": "the upload was not stored; publish it again later"})]
