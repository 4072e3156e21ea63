"""Device ingest endpoints: thin HTTP over ``telemetry.ingest.IngestService``.

``POST /api/v1/ingest/operating|bursts|faults`` with ``Authorization: Bearer <device token>``.
202 ``{"status": "accepted", "upload_id", "points"}`` once the upload is fsync'd in the spool;
200 ``{"status": "duplicate", ...}`` for an upload id seen before; errors are
``{"error", "field", "rule", "message"}`` with the status the service chose (503 adds
``Retry-After``, 401 ``WWW-Authenticate``).

Plain WSGI in front of the Flask app rather than a blueprint. Device uploads are the requests the
service gets most of (every gateway, every minute), machine to machine, and they use nothing
Flask gives pages and the JSON API: no session, login, CSRF, templates or Socket.IO. Flask's
request context, URL matching and response object cost about 100 µs of CPU per upload in the
server, 0.06 CPU-seconds per million points of ``python -m app.ingest_bench`` (docs/telemetry.md).
Every other path goes on to Flask.
"""
from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Callable, Iterable
from urllib.parse import parse_qsl

import orjson
from werkzeug.datastructures import EnvironHeaders

from telemetry.ingest import IngestService, Receipt
from telemetry.payloads import IngestError

log = logging.getLogger(__name__)

PREFIX = "/api/v1/ingest/"


class DeviceIngestApp:
    """WSGI middleware: answers ``POST /api/v1/ingest/<kind>`` itself and hands every other
    request to ``app``.

    Parameters
    ----------
    app : the WSGI app of every other path (the Flask app's ``wsgi_app``)
    service : the ingest service uploads go to
    """

    def __init__(self, app: Callable, service: IngestService):
        self.app = app
        self.service = service
        self._kinds = {"operating": self._operating, "bursts": self._bursts, "faults": self._faults}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self.app(environ, start_response)
        accept = self._kinds.get(path[len(PREFIX):])
        if accept is None:
            return _respond(start_response, 404, {"error": "not_found", "message": f"no device endpoint {path}; "
                                                  f"uploads go to {PREFIX}operating, bursts or faults"})
        if environ.get("REQUEST_METHOD") != "POST":
            return _respond(start_response, 405, {"error": "method_not_allowed", "message": f"{path} takes POST"},
                            [("Allow", "POST")])
        try:
            receipt = accept(environ)
        except IngestError as error:
            return _respond(start_response, error.status, error.to_dict(), _error_headers(error))
        except Exception:  # a bug, not the upload's fault: log it, answer JSON like every other error
            log.exception("device upload to %s failed", path)
            return _respond(start_response, 500, {"error": "internal_server_error",
                                                  "message": "the upload was not stored; retry later"})
        return _respond(start_response, 200 if receipt.duplicate else 202, receipt.to_dict())

    def _operating(self, environ: dict) -> Receipt:
        return self.service.accept_operating(_bearer_token(environ), self._body(environ), EnvironHeaders(environ))

    def _bursts(self, environ: dict) -> Receipt:
        query = {}
        for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
            query.setdefault(key, value)
        return self.service.accept_burst(_bearer_token(environ), self._body(environ), EnvironHeaders(environ), query)

    def _faults(self, environ: dict) -> Receipt:
        return self.service.accept_faults(_bearer_token(environ), self._body(environ), EnvironHeaders(environ))

    def _body(self, environ: dict) -> bytes:
        limit = self.service.limits.max_request_bytes
        try:
            declared = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:  # refuse before reading it into memory
            raise IngestError(413, "too_large", "body", "max_request_bytes",
                              f"request body is {declared} bytes; the limit is {limit}")
        # a chunked body declares no length: read one byte past the limit to know it is over
        return environ["wsgi.input"].read(declared if declared else limit + 1)


def _bearer_token(environ: dict) -> str | None:
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _error_headers(error: IngestError) -> list[tuple[str, str]]:
    headers = []
    if error.retry_after is not None:
        headers.append(("Retry-After", str(error.retry_after)))
    if error.status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="ironwatch-devices"'))
    return headers


def _respond(start_response: Callable, status: int, payload: dict,
             headers: list[tuple[str, str]] = ()) -> list[bytes]:
    try:
        body = orjson.dumps(payload)
    except orjson.JSONEncodeError:  # a refusal quoting text with lone surrogates (valid JSON escapes)
        body = json.dumps(payload).encode()  # ASCII with \u escapes: always encodable
    start_response(f"{status} {HTTPStatus(status).phrase}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                    ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"), *headers])
    return [body]
