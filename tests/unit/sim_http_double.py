"""A stand-in ingest peer for the gateway and simulator unit tests (not a test module).

It speaks the HTTP contract of docs/contracts.md as seen from a gateway - 202 accepted, 200
duplicate for a repeated upload_id - and can be told to fail the next requests with a given status
and Retry-After, which the real server cannot be made to do on demand. It stores nothing: the
integration tests (tests/integration/test_sim_*.py) run the gateway against the real app.
"""
from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class IngestDouble:
    """Records every request: ``requests`` is a list of (path, headers dict, decoded body bytes)."""

    def __init__(self):
        self.requests: list[tuple[str, dict, bytes]] = []
        self.raw_bodies: list[bytes] = []
        self.seen: set[str] = set()
        self.failures: list[tuple[int, dict, dict]] = []   # (status, headers, json) for next requests
        self.poison: dict[str, int] = {}   # upload id -> the status it always gets (a server bug, say)
        self.lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"          # keep-alive, as the real server and gateways use
            disable_nagle_algorithm = True         # headers and body go in separate writes

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
                with double.lock:
                    double.requests.append((self.path, dict(self.headers), body))
                    double.raw_bodies.append(raw)
                    if self.headers.get("Content-Type") == "application/json":
                        upload_id = json.loads(body)["upload_id"]
                    else:
                        upload_id = self.headers["X-Ironwatch-Upload-Id"]
                    if double.failures:
                        status, headers, payload = double.failures.pop(0)
                    elif upload_id in double.poison:
                        status, headers = double.poison[upload_id], {}
                        payload = {"error": "internal_server_error", "message": "poison"}
                    else:
                        duplicate = upload_id in double.seen
                        double.seen.add(upload_id)
                        status, headers = (200 if duplicate else 202), {}
                        payload = {"status": "duplicate"} if duplicate else \
                            {"status": "accepted", "upload_id": upload_id, "points": 1}
                out = json.dumps(payload).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail_next(self, status: int, retry_after: str | None = None, payload: dict | None = None, times: int = 1):
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        for _ in range(times):
            self.failures.append((status, headers, payload or {"error": "unavailable"}))

    def json_bodies(self, path_suffix: str = "") -> list[dict]:
        return [json.loads(b) for p, h, b in self.requests
                if p.endswith(path_suffix) and h.get("Content-Type") == "application/json"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
