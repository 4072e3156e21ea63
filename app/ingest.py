"""Device ingest endpoints: thin HTTP over ``telemetry.ingest.IngestService``.

``POST /api/v1/ingest/operating|bursts|faults`` with ``Authorization: Bearer <device token>``.
202 ``{"status": "accepted", "upload_id", "points"}`` once the upload is fsync'd in the spool;
200 ``{"status": "duplicate", ...}`` for an upload id seen before; errors are
``{"error", "field", "rule", "message"}`` with the status the service chose (503 adds
``Retry-After``).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from telemetry.payloads import IngestError

bp = Blueprint("ingest", __name__, url_prefix="/api/v1/ingest")


def _service():
    return current_app.extensions["ironwatch"].ingest


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _body() -> bytes:
    # refuse an oversized body before reading it into memory
    limit = _service().limits.max_request_bytes
    if request.content_length is not None and request.content_length > limit:
        raise IngestError(413, "too_large", "body", "max_request_bytes",
                          f"request body is {request.content_length} bytes; the limit is {limit}")
    return request.get_data(cache=False)


def _answer(receipt):
    return jsonify(receipt.to_dict()), (200 if receipt.duplicate else 202)


@bp.errorhandler(IngestError)
def _ingest_error(error: IngestError):
    response = jsonify(error.to_dict())
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ironwatch-devices"'
    return response


@bp.post("/operating")
def operating():
    return _answer(_service().accept_operating(_bearer_token(), _body(), request.headers))


@bp.post("/bursts")
def bursts():
    return _answer(_service().accept_burst(_bearer_token(), _body(), request.headers, request.args))


@bp.post("/faults")
def faults():
    return _answer(_service().accept_faults(_bearer_token(), _body(), request.headers))
