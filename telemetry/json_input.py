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
    data : the body, UTF-8 (bytes) or text
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
    if nesting_exceeds(value, max_depth):
        raise JsonRefused("max_depth", f"JSON nested deeper than {max_depth} levels")
    return value


def nesting_exceeds(value: Any, max_depth: int) -> bool:
    """True when ``value`` nests arrays/objects more than ``max_depth`` levels (a scalar is 0).

    Iterative (no recursion to run out of) and one ``set(map(type, ...))`` per container, so
    a column upload of 20 arrays costs 21 C-level passes, not one Python step per number.
    """
    stack = [(value, 1)] if type(value) in (dict, list) else []
    while stack:
        node, depth = stack.pop()
        children = node.values() if type(node) is dict else node
        kinds = set(map(type, children))
        if dict in kinds or list in kinds:
            if depth >= max_depth:
                return True
            stack.extend((child, depth + 1) for child in children if type(child) in (dict, list))
    return False
