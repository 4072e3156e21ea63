"""Untrusted JSON in: the one place bytes from outside become Python objects.

Every JSON body a device or a signed-in user sends goes through :func:`loads_untrusted`: the
device ingest (``telemetry.payloads.parse_json_object``) and the Flask app's JSON provider
(``app.json_provider``). It bounds the nesting depth and turns every way a parser can fail
(invalid UTF-8, syntax, nesting beyond a parser's recursion limit) into :class:`JsonRefused`, a
``ValueError``, so callers answer 4xx and never see a ``RecursionError``.

Why a depth bound of its own: orjson stops at 1,024 levels, the standard library at the
interpreter's recursion limit (a ``RecursionError``, which no ``except ValueError`` catches), and
code that later walks or prints a value (``repr`` in an error message, ``json.dumps`` of a spool
header) can hit the same limit. No payload of ours nests deeper than four levels.
"""
from __future__ import annotations

import json
from typing import Any

import orjson

#: Deepest nesting of arrays and objects accepted (a rows upload is 4 deep: body, samples, sample, fields).
MAX_DEPTH = 32


class JsonRefused(ValueError):
    """The bytes are not JSON we accept; ``rule`` is ``"json"`` or ``"max_depth"``."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message


def loads_untrusted(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON from outside.

    orjson parses the usual upload several times faster than the standard library; what it
    refuses is parsed again by the standard library, which accepts ``NaN``, ``Infinity`` and
    integers of any size, so validation can name the field that holds one instead of refusing
    the whole body as "not JSON".

    Parameters
    ----------
    data : the body, UTF-8 (bytes or bytearray) or text
    max_depth : most levels of nested arrays/objects

    Raises
    ------
    JsonRefused
        Not JSON (``rule="json"``) or nested deeper than ``max_depth`` (``rule="max_depth"``).
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(data)
        except RecursionError:
            raise JsonRefused("max_depth", f"JSON nested deeper than {max_depth} levels") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise JsonRefused("json", f"body is not valid JSON: {exc}") from None
    # no deeper than the number of brackets that open (those inside strings only over-count): the
    # usual column upload and every burst have fewer than max_depth, and skip the walk
    opening = ("[", "{") if isinstance(data, str) else (b"[", b"{")
    if data.count(opening[0]) + data.count(opening[1]) > max_depth and nesting_exceeds(value, max_depth):
        raise JsonRefused("max_depth", f"JSON nested deeper than {max_depth} levels")
    return value


def nesting_exceeds(value: Any, max_depth: int) -> bool:
    """True when ``value`` nests arrays/objects more than ``max_depth`` levels (a scalar is 0).

    Level by level (no recursion to run out of), one comprehension step per element: about
    70 µs for an upload of 60 rows of 20 fields. Callers skip it when the text has fewer
    opening brackets than ``max_depth`` (the usual column upload, every burst).
    """
    level = [value] if type(value) in (dict, list) else []
    for _ in range(max_depth):
        if not level:
            return False
        level = [child for node in level for child in (node.values() if type(node) is dict else node)
                 if type(child) is dict or type(child) is list]
    return bool(level)
