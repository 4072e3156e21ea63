"""OpenAPI 3 fragment of the device ingest API (paths, schemas, security scheme).

``app.openapi`` merges :data:`SPEC` with the read API and serves the whole document.
"""
from __future__ import annotations

from telemetry.payloads import AXES, ENCODINGS, LAMP_NAMES, UNITS, Limits, burst_header_name
from telemetry.schema import OPERATING_FIELDS

_LIMITS = Limits()
_ERROR = {"$ref": "#/components/schemas/Error"}
_TIME = {
    "oneOf": [
        {"type": "string", "format": "date-time", "example": "2026-11-25T10:00:00Z"},
        {"type": "integer", "format": "int64", "description": "nanoseconds since the Unix epoch (UTC)"},
    ],
    "description": f"within {_LIMITS.max_past_s / 86400:.0f} days before and {_LIMITS.max_future_s:.0f} s "
                   "after server time",
}
_UPLOAD_ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
              "description": "unique per upload (a UUID); a repeat is stored once and answered 200 duplicate"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


_COMMON_RESPONSES = {
    "202": {"description": "Accepted: on disk in the durable spool, will reach InfluxDB",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestReceipt"}}}},
    "200": {"description": "Duplicate: this upload_id was accepted before and is stored once",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestReceipt"}}}},
    "401": _error("Missing, unknown or revoked device token"),
    "403": _error("The payload's machine is not this device's machine"),
    "413": _error("Body, decompressed body or sample count over the limit"),
    "415": _error("Content-Type or Content-Encoding not accepted"),
    "422": _error("A field broke a validation rule (the body names the field and the rule)"),
    "503": {"description": "Spool full: nothing stored; retry after the Retry-After seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            "content": {"application/json": {"schema": _ERROR}}},
}
_GZIP = {"name": "Content-Encoding", "in": "header", "required": False,
         "schema": {"type": "string", "enum": ["gzip", "identity"]}}

_BURST_META_PROPERTIES = {
    "upload_id": _UPLOAD_ID,
    "machine": {"type": "string", "example": "EX-1001", "description": "must be the device's own machine"},
    "sensor": {"type": "string", "example": "engine.acc", "description": "a sensor of that machine"},
    "axis": {"type": "string", "enum": list(AXES)},
    "sample_rate_hz": {"type": "number", "minimum": _LIMITS.min_sample_rate_hz, "maximum": _LIMITS.max_sample_rate_hz},
    "start": _TIME,
    "units": {"type": "string", "enum": list(UNITS), "description": "acceleration units of the samples"},
    "shaft_rpm": {"type": "number", "minimum": 0, "maximum": _LIMITS.max_shaft_rpm,
                  "description": "reference shaft speed at capture, rpm"},
    "encoding": {"type": "string", "enum": list(ENCODINGS), "default": "float32le"},
    "scale": {"type": "number", "exclusiveMinimum": True, "minimum": 0,
              "description": "physical units per count; required for int16le"},
    "hour_meter_h": {"type": "number", "minimum": OPERATING_FIELDS["hour_meter_h"].minimum,
                     "maximum": OPERATING_FIELDS["hour_meter_h"].maximum,
                     "description": "engine hour meter at capture, h (optional): RUL ages this component on "
                                    "operating hours; without it, on wall-clock time"},
}
_BURST_REQUIRED = ["upload_id", "machine", "sensor", "axis", "sample_rate_hz", "start", "units", "shaft_rpm"]

SCHEMAS = {
    "IngestReceipt": {
        "type": "object", "required": ["status", "upload_id", "points"],
        "properties": {"status": {"type": "string", "enum": ["accepted", "duplicate"]},
                       "upload_id": {"type": "string"},
                       "points": {"type": "integer", "description": "InfluxDB points this upload becomes"}},
    },
    "Error": {
        "type": "object", "required": ["error", "field", "rule", "message"],
        "properties": {"error": {"type": "string", "description": "machine-readable code, e.g. invalid, too_large"},
                       "field": {"type": "string", "description": "the offending input, e.g. samples[3].fields.coolant_temp_c"},
                       "rule": {"type": "string", "description": "the rule it broke, e.g. finite, range, time_window"},
                       "message": {"type": "string"}},
    },
    "OperatingUpload": {
        "oneOf": [{"$ref": "#/components/schemas/OperatingColumns"}, {"$ref": "#/components/schemas/OperatingRows"}],
        "description": "one batch in either layout; both are stored the same",
    },
    "OperatingColumns": {
        "type": "object", "required": ["upload_id", "machine", "times", "fields"],
        "description": "one array per field (recommended: each name once, about a third less data than rows)",
        "properties": {
            "upload_id": _UPLOAD_ID,
            "machine": {"type": "string", "example": "GS-2001"},
            "times": {"type": "array", "minItems": 1, "maxItems": _LIMITS.max_operating_samples, "items": _TIME},
            "fields": {
                "type": "object", "minProperties": 1, "additionalProperties": False,
                "description": "each array as long as times; null where the field was not sampled at that time "
                               "(every time needs at least one value)",
                "properties": {name: {"type": "array", "items": {
                                   "type": "number", "nullable": True, "minimum": spec.minimum, "maximum": spec.maximum,
                                   "description": f"{spec.description}, {spec.unit}"}}
                               for name, spec in OPERATING_FIELDS.items()},
            },
        },
    },
    "OperatingRows": {
        "type": "object", "required": ["upload_id", "machine", "samples"],
        "description": "one object per time",
        "properties": {
            "upload_id": _UPLOAD_ID,
            "machine": {"type": "string", "example": "GS-2001"},
            "samples": {"type": "array", "minItems": 1, "maxItems": _LIMITS.max_operating_samples,
                        "items": {"type": "object", "required": ["time", "fields"],
                                  "properties": {"time": _TIME,
                                                 "fields": {"$ref": "#/components/schemas/OperatingFields"}}}},
        },
    },
    "OperatingFields": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "description": "finite numbers; unknown names are refused",
        "properties": {name: {"type": "number", "minimum": spec.minimum, "maximum": spec.maximum,
                              "description": f"{spec.description}, {spec.unit}"}
                       for name, spec in OPERATING_FIELDS.items()},
    },
    "BurstUpload": {
        "type": "object", "required": _BURST_REQUIRED + ["samples"],
        "properties": {**_BURST_META_PROPERTIES,
                       "samples": {"type": "string", "format": "byte",
                                   "description": f"base64 of little-endian samples, {_LIMITS.min_burst_samples} "
                                                  f"to {_LIMITS.max_burst_samples} of them, all finite"}},
    },
    "FaultUpload": {
        "type": "object", "required": ["upload_id", "machine", "time"],
        "description": "SAE J1939 DM1: lamp status and the active diagnostic trouble codes; "
                       "an empty active list records that faults cleared",
        "properties": {
            "upload_id": _UPLOAD_ID,
            "machine": {"type": "string"},
            "time": _TIME,
            "lamps": {"type": "object", "additionalProperties": False,
                      "properties": {name: {"type": "integer", "minimum": 0, "maximum": 3} for name in LAMP_NAMES}},
            "active": {"type": "array", "maxItems": _LIMITS.max_active_faults,
                       "items": {"type": "object", "required": ["spn", "fmi"],
                                 "properties": {"spn": {"type": "integer", "minimum": 0, "maximum": 524287},
                                                "fmi": {"type": "integer", "minimum": 0, "maximum": 31},
                                                "occurrence_count": {"type": "integer", "minimum": 0, "maximum": 126}}}},
        },
    },
}

_BINARY_HEADERS = [
    {"name": burst_header_name(key), "in": "header", "required": False, "schema": schema,
     "description": f"octet-stream bursts: `{key}` (or query parameter `{key}`)"}
    for key, schema in _BURST_META_PROPERTIES.items()
]


def _operation(summary: str, description: str, schema: str, extra_content: dict | None = None,
               parameters: list | None = None) -> dict:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}, **(extra_content or {})}
    return {"post": {
        "tags": ["ingest"], "summary": summary, "description": description,
        "security": [{"deviceToken": []}],
        "parameters": [_GZIP, *(parameters or [])],
        "requestBody": {"required": True, "content": content},
        "responses": _COMMON_RESPONSES,
    }}


SPEC = {
    "paths": {
        "/api/v1/ingest/operating": _operation(
            "Upload a batch of operating data",
            "Many timestamped samples per request (typically a minute at 1 Hz), as one array per field "
            "(times + fields) or one object per time (samples).", "OperatingUpload"),
        "/api/v1/ingest/bursts": _operation(
            "Upload a vibration burst",
            "JSON with base64 samples, or the raw little-endian samples as application/octet-stream with "
            "the metadata in X-Ironwatch-* headers or query parameters named as the JSON keys.",
            "BurstUpload",
            {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            _BINARY_HEADERS + [{"name": key, "in": "query", "required": False, "schema": schema}
                               for key, schema in _BURST_META_PROPERTIES.items()]),
        "/api/v1/ingest/faults": _operation(
            "Upload J1939 DM1 fault codes", "Lamp status and active codes (SPN, FMI, occurrence count).",
            "FaultUpload"),
    },
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"deviceToken": {
            "type": "http", "scheme": "bearer",
            "description": "one token per gateway: <device_id>.<secret>; issued, rotated and revoked by fleet.devices"}},
    },
}


def spec() -> dict:
    """The ingest fragment (``paths`` and ``components``)."""
    return SPEC
