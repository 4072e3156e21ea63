"""Bounds on what the Flask side accepts, installed by the app factory (:func:`init_app`).

- JSON bodies (``request.get_json``) go through ``telemetry.json_input.loads_untrusted``, the same
  bounded parser as device uploads: too deep or not JSON is a ``ValueError`` Flask answers 400
  (or ``None`` with ``silent=True``), never a ``RecursionError`` and a 500.
- Request bodies are capped (``MAX_CONTENT_LENGTH``, 413): pages and the JSON API take forms and
  small objects; device uploads never reach Flask (``app.ingest``).
- ``<int:...>`` in routes only matches ids a SQL ``BIGINT`` can hold: 2**63 and more answer 404
  (no such record) instead of an overflow in the database driver.
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from telemetry.json_input import loads_untrusted

#: Largest body a page form or a JSON API call may send, bytes.
MAX_FLASK_BODY_BYTES = 1024 * 1024
#: Largest id a route accepts: a signed 64-bit integer (SQL ``BIGINT``, SQLite ``INTEGER``).
MAX_ROUTE_ID = 2**63 - 1


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with decoding through the bounded parser."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_untrusted(s)


class RowIdConverter(IntegerConverter):
    """``<int:name>``: a non-negative integer that fits a 64-bit SQL key."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ROUTE_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Install the bounds (before the blueprints are registered, so their routes use the converter)."""
    app.json = BoundedJSONProvider(app)
    app.config.setdefault("MAX_CONTENT_LENGTH", MAX_FLASK_BODY_BYTES)
    app.url_map.converters["int"] = RowIdConverter
