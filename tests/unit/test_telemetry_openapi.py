"""The ingest OpenAPI fragment: every $ref resolves, and every operating field is documented."""
from telemetry.openapi import SPEC
from telemetry.schema import OPERATING_FIELDS


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_refs_resolve_and_fields_documented():
    schemas = SPEC["components"]["schemas"]
    for ref in _refs(SPEC):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    assert set(schemas["OperatingFields"]["properties"]) == set(OPERATING_FIELDS)
    assert set(SPEC["paths"]) == {"/api/v1/ingest/operating", "/api/v1/ingest/bursts", "/api/v1/ingest/faults"}
    for path in SPEC["paths"].values():
        assert {"202", "200", "401", "422", "503"} <= set(path["post"]["responses"])
