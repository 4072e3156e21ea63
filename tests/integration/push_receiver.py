"""Local stand-ins for the outside world of alarm delivery, both real servers: a Web Push service
that decrypts what it receives with the subscription's private key (RFC 8291 aes128gcm, through
``http_ece``, the library pywebpush encrypts with), and an SMTP sink (``aiosmtpd``)."""
from __future__ import annotations

import base64
import email
import json
import os
import threading
import time
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class BrowserKeys:
    """What a browser's ``PushManager.subscribe`` makes: a P-256 key pair and a 16-byte auth secret."""

    def __init__(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)
        self.p256dh = b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
        self.auth = b64url(self.auth_secret)


class PushReceiver:
    """An HTTP push service on 127.0.0.1. ``/push/<name>`` accepts (201) and decrypts with the keys
    registered for ``name``; ``/gone/<name>`` answers 410 like a service whose subscription expired."""

    def __init__(self):
        self.keys: dict[str, BrowserKeys] = {}
        self.received: list[dict] = []  # {"name", "payload", "headers"}
        self.refused: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                import http_ece

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind, _, name = self.path.strip("/").partition("/")
                if kind == "gone":
                    receiver.refused.append(name)
                    self.send_response(410)
                    self.end_headers()
                    return
                keys = receiver.keys[name]
                plain = http_ece.decrypt(body, private_key=keys.private_key, auth_secret=keys.auth_secret,
                                         version="aes128gcm")
                receiver.received.append({"name": name, "payload": json.loads(plain), "headers": {k.lower(): v for k, v in self.headers.items()}})
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def subscription(self, name: str, gone: bool = False) -> dict:
        """A browser's PushSubscription JSON whose endpoint is this receiver."""
        keys = self.keys.setdefault(name, BrowserKeys())
        return {"endpoint": f"{self.url}/{'gone' if gone else 'push'}/{name}",
                "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}

    def for_name(self, name: str) -> list[dict]:
        return [r["payload"] for r in self.received if r["name"] == name]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class MailSink:
    """aiosmtpd on a free port; ``messages`` are parsed ``email.message.EmailMessage`` objects."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                sink.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        from app_helpers import free_port

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]

    def close(self):
        self.controller.stop()


def wait_for(predicate, timeout_s: float = 20.0, what: str = "condition"):
    """Poll ``predicate`` until it is truthy (deliveries run on a background executor)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
