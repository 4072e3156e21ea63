"""MQTT bridge: the same uploads from a broker, through the same validation and durable spool.

Topics (one set per machine)::

    ironwatch/<machine>/operating   operating-data batch
    ironwatch/<machine>/bursts      vibration burst (JSON, base64 samples)
    ironwatch/<machine>/faults      J1939 DM1 report
    ironwatch/<machine>/ack         our answers, one per message

A message is the upload exactly as the HTTP body (optionally gzip-compressed). No token travels in
it: the broker authenticates each gateway with its own credential (username ``<device_id>``,
password ``<secret>``, the halves of its token) and its ACL lets a device publish only to its own
machine's topics and read only its own ack topic (:mod:`telemetry.mqtt_broker` writes that
configuration from the device registry). So the bridge knows the device from the topic: MQTT
does not pass the publisher's username on, but only that machine's credentials may write there.
A message that still carries a ``"token"`` is refused (422): anything published is readable by the
broker's subscribers.

Every message gets one answer on ``.../ack``, the HTTP body the same upload would get plus
``"code"`` (the HTTP status): ``{"code": 202, "status": "accepted", "upload_id", "points"}``,
``{"code": 200, "status": "duplicate", ...}``, ``{"code": 4xx/503, "error", "field", "rule",
"message", "upload_id"?, "retry_after"?}``, or ``{"code": 500, ...}`` when the bridge itself failed
(retry later). A 503 or 500 means the gateway must publish again later. Subscriptions are QoS 1:
the broker redelivers what we did not acknowledge, and upload ids make a redelivery harmless.

``python -m app mqtt --host 127.0.0.1 --port 1883`` runs the bridge as its own process (the caller
gives it its device directory and spool, so this module knows nothing of the SQL store);
``python -m app mqtt-broker`` writes the broker configuration and runs Mosquitto on it.
"""
from __future__ import annotations

import json
import logging
import threading
import zlib
from typing import Any

import paho.mqtt.client as mqtt

from telemetry.ingest import IngestError, IngestService
from telemetry.payloads import parse_json_object

log = logging.getLogger(__name__)

TOPIC_ROOT = "ironwatch"
KINDS = ("operating", "bursts", "faults")
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def ack_topic(machine: str) -> str:
    return f"{TOPIC_ROOT}/{machine}/ack"


def upload_topic(machine: str, kind: str) -> str:
    return f"{TOPIC_ROOT}/{machine}/{kind}"


def handle_message(service: IngestService, topic: str, message: bytes) -> tuple[str, dict] | None:
    """Validate and spool one MQTT message; returns ``(ack_topic, answer)``, or None for topics
    that are not uploads (including our own acks).

    The device is the one the broker let publish on ``topic``: the identity of the topic's
    machine (``service.devices.machine_identity``).
    """
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != TOPIC_ROOT or parts[2] not in KINDS:
        return None
    machine, kind = parts[1], parts[2]
    upload_id = None
    try:
        payload = _decode(message, service.limits.max_decoded_bytes)
        upload_id = payload.get("upload_id")
        if "token" in payload:
            raise IngestError(422, "invalid", "token", "no_token_in_message",
                              "do not put the device token in MQTT messages (every subscriber could read "
                              "it): connect with username <device_id> and password <secret> and publish "
                              "the upload itself")
        if payload.get("machine") != machine:
            raise IngestError(403, "forbidden", "machine", "topic_machine",
                              f"payload machine {payload.get('machine')!r} does not match topic machine {machine!r}")
        identity = service.devices.machine_identity(machine)
        if identity is None:
            raise IngestError(403, "forbidden", "machine", "active_device",
                              f"machine {machine!r} has no active device credential")
        receipt = service.accept_object_as(identity, kind, payload)
        return ack_topic(machine), {"code": 200 if receipt.duplicate else 202, **receipt.to_dict()}
    except IngestError as error:
        answer: dict[str, Any] = {"code": error.status, **error.to_dict()}
        if isinstance(upload_id, str):
            answer["upload_id"] = upload_id
        if error.retry_after is not None:
            answer["retry_after"] = error.retry_after
        return ack_topic(machine), answer


def failure_answer(topic: str) -> tuple[str, dict] | None:
    """The ack for a message the bridge failed on (a bug, not the message's fault): 500, retry."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != TOPIC_ROOT or parts[2] not in KINDS:
        return None
    return ack_topic(parts[1]), {"code": 500, "error": "internal_server_error", "field": "message",
                                 "rule": "bridge", "message": "the upload was not stored; publish it again later"}


def _decode(message: bytes, max_bytes: int) -> dict:
    if len(message) > MAX_MESSAGE_BYTES:
        raise IngestError(413, "too_large", "message", "max_message_bytes", f"message over {MAX_MESSAGE_BYTES} bytes")
    if message[:2] == b"\x1f\x8b":
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            message = decompressor.decompress(message, max_bytes + 1)
        except zlib.error as exc:
            raise IngestError(422, "invalid", "message", "gzip", f"message is not valid gzip: {exc}") from exc
        if len(message) > max_bytes:
            raise IngestError(413, "too_large", "message", "max_decoded_bytes", f"decompressed message over {max_bytes} bytes")
    return parse_json_object(message)


class MqttBridge:
    """Subscribes to every machine's upload topics and feeds them to an :class:`IngestService`.

    Parameters
    ----------
    service : the ingest service (its spool and device directory)
    host, port : the broker
    client_id : MQTT client id; a fixed id with ``clean_session=False`` lets the broker keep QoS 1
        messages for us while the bridge restarts
    """

    def __init__(self, service: IngestService, host: str = "127.0.0.1", port: int = 1883,
                 client_id: str = "ironwatch-ingest", username: str | None = None, password: str | None = None):
        self.service = service
        self.host = host
        self.port = port
        self.handled = 0
        self._connected = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        if username:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_disconnect = lambda *args: self._connected.clear()

    def start(self, timeout: float = 10.0) -> "MqttBridge":
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self.stop()
            raise ConnectionError(f"MQTT broker {self.host}:{self.port} did not accept the connection")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties=None):
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        client.subscribe([(f"{TOPIC_ROOT}/+/{kind}", 1) for kind in KINDS])
        self._connected.set()

    def _on_message(self, client, _userdata, message):
        try:
            answer = handle_message(self.service, message.topic, message.payload)
        except Exception:  # noqa: BLE001 - one bad message must not kill the network loop
            log.exception("MQTT message on %s failed", message.topic)
            answer = failure_answer(message.topic)  # still answered: the gateway must not wait forever
        self.handled += 1
        if answer is not None:
            topic, body = answer
            client.publish(topic, json.dumps(body), qos=1)
