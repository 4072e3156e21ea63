"""MQTT uploads through the real Mosquitto on 127.0.0.1:1883 land in the real InfluxDB; refusals
come back on the ack topic with field and rule."""
import base64
import gzip
import json
import queue
import time
import uuid

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from telemetry.devices import DeviceIdentity, SensorSpec, StaticDeviceDirectory
from telemetry.ingest import IngestService
from telemetry.mqtt import MqttBridge, ack_topic, upload_topic
from telemetry.spool import Spool
from telemetry.store import TelemetryStore
from telemetry.writer import SpoolWriter

pytestmark = pytest.mark.integration


@pytest.fixture
def bridge_env(influx, tmp_path):
    machine = f"EX-{uuid.uuid4().hex[:6]}"  # own topics: parallel test runs do not cross
    devices = StaticDeviceDirectory()
    token = devices.add(DeviceIdentity("gw-m", machine, {"engine.acc": SensorSpec("engine.acc", "engine", "radial", 25600.0)}))
    spool = Spool(tmp_path / "spool")
    service = IngestService(spool, devices)
    writer = SpoolWriter(spool, influx).start()
    bridge = MqttBridge(service, client_id=f"ironwatch-test-{uuid.uuid4().hex[:8]}").start()

    acks: "queue.Queue[dict]" = queue.Queue()
    gateway = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"gw-{uuid.uuid4().hex[:8]}")
    subscribed = queue.Queue()
    gateway.on_message = lambda c, u, m: acks.put(json.loads(m.payload))
    gateway.on_subscribe = lambda *a: subscribed.put(True)
    gateway.connect("127.0.0.1", 1883)
    gateway.loop_start()
    gateway.subscribe(ack_topic(machine), qos=1)
    subscribed.get(timeout=5)
    yield machine, token, gateway, acks, writer
    gateway.loop_stop()
    gateway.disconnect()
    bridge.stop()
    writer.stop()
    spool.close()


def publish(gateway, topic, message: bytes):
    gateway.publish(topic, message, qos=1).wait_for_publish(5)


def test_mqtt_uploads_land_in_influxdb(bridge_env, influx):
    machine, token, gateway, acks, writer = bridge_env
    t0 = (time.time_ns() // 10**9 - 600) * 10**9
    operating = {"upload_id": "mq-op-1", "machine": machine,
                 "samples": [{"time": t0 + i * 10**9, "fields": {"coolant_temp_c": 80.0 + i}} for i in range(30)]}
    publish(gateway, upload_topic(machine, "operating"), json.dumps({"token": token, "payload": operating}).encode())
    assert acks.get(timeout=10) == {"code": 202, "status": "accepted", "upload_id": "mq-op-1", "points": 30}
    publish(gateway, upload_topic(machine, "operating"), json.dumps({"token": token, "payload": operating}).encode())
    assert acks.get(timeout=10)["status"] == "duplicate"
    columns = {"upload_id": "mq-op-2", "machine": machine, "times": [t0 + (30 + i) * 10**9 for i in range(30)],
               "fields": {"coolant_temp_c": [110.0 + i for i in range(30)]}}
    publish(gateway, upload_topic(machine, "operating"), json.dumps({"token": token, "payload": columns}).encode())
    assert acks.get(timeout=10) == {"code": 202, "status": "accepted", "upload_id": "mq-op-2", "points": 30}

    samples = np.linspace(-1, 1, 2048, dtype=np.float32)
    burst = {"upload_id": "mq-b-1", "machine": machine, "sensor": "engine.acc", "axis": "radial",
             "sample_rate_hz": 25600, "start": t0, "units": "g", "shaft_rpm": 1500,
             "samples": base64.b64encode(samples.tobytes()).decode()}
    publish(gateway, upload_topic(machine, "bursts"), gzip.compress(json.dumps({"token": token, "payload": burst}).encode()))
    assert acks.get(timeout=10)["code"] == 202
    faults = {"upload_id": "mq-f-1", "machine": machine, "time": t0, "active": [{"spn": 97, "fmi": 3}]}
    publish(gateway, upload_topic(machine, "faults"), json.dumps({"token": token, "payload": faults}).encode())
    assert acks.get(timeout=10)["code"] == 202

    assert writer.wait_drained(30)
    store = TelemetryStore(influx)
    assert store.latest(machine)["fields"] == {"coolant_temp_c": 139.0}
    series = influx.query("SELECT count(coolant_temp_c) FROM operating")
    assert series[0]["values"][0][1] == 60
    read = store.read_burst(f"{machine}:engine.acc:radial:{t0}")
    assert np.array_equal(read.samples, samples) and read.meta.units == "g"
    assert store.fault_history(machine, t0, t0 + 1)[0]["active"] == [{"spn": 97, "fmi": 3, "occurrence_count": 0}]


def test_mqtt_refusals_answer_on_ack_topic(bridge_env, influx):
    machine, token, gateway, acks, writer = bridge_env
    bad = {"upload_id": "mq-bad", "machine": machine,
           "samples": [{"time": time.time_ns(), "fields": {"coolant_temp_c": "warm"}}]}
    publish(gateway, upload_topic(machine, "operating"), json.dumps({"token": token, "payload": bad}).encode())
    assert acks.get(timeout=10) == {"code": 422, "error": "invalid", "field": "samples[0].fields.coolant_temp_c",
                                    "rule": "number", "message": "samples[0].fields.coolant_temp_c must be a number",
                                    "upload_id": "mq-bad"}
    publish(gateway, upload_topic(machine, "operating"), json.dumps({"token": "x.y", "payload": bad}).encode())
    assert acks.get(timeout=10)["code"] == 401
    publish(gateway, upload_topic(machine, "operating"), json.dumps({"token": 42, "payload": bad}).encode())
    assert acks.get(timeout=10)["code"] == 401
    publish(gateway, upload_topic(machine, "operating"), b"not json")
    assert acks.get(timeout=10)["rule"] == "json"
    other = {**bad, "machine": "EX-other"}
    publish(gateway, upload_topic(machine, "operating"), json.dumps({"token": token, "payload": other}).encode())
    assert acks.get(timeout=10)["rule"] == "topic_machine"
    assert writer.wait_drained(10)
    assert influx.query("SELECT count(*) FROM operating") == []  # nothing of a refused message stored
