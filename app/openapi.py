"""The OpenAPI 3 document of the whole HTTP API, and a readable reference page.

``/api/openapi.json`` merges the ingest paths described by :mod:`telemetry.openapi` (the device
API) with the read API of :mod:`app.api`. ``/api/docs`` renders the same document as HTML on the
server (no Swagger UI from a CDN).
"""
from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, jsonify, render_template

from fleet.alarms import SOURCES as ALARM_SOURCES

bp = Blueprint("openapi", __name__)

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error_responses(*codes: int) -> dict[str, Any]:
    reasons = {400: "Bad query parameter (the body names it)", 401: "Not signed in",
               403: "Signed in without the needed role", 404: "Unknown, or not visible to you"}
    return {str(code): _json_response(reasons[code], _ERROR) for code in codes}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _path(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}


SEVERITIES = ["watch", "warning", "alarm"]
WORK_ORDER_STATUSES = ["open", "assigned", "in_progress", "done", "cancelled"]

#: Schemas of the read API (the ingest schemas come from telemetry.openapi).
APP_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error", "message"],
        "properties": {"error": {"type": "string", "description": "machine-readable code"},
                       "field": {"type": "string", "description": "the input that was wrong"},
                       "rule": {"type": "string", "description": "the rule it broke"},
                       "message": {"type": "string", "description": "what was wrong, for people"}},
    },
    "MachineSummary": {
        "type": "object",
        "properties": {
            "uid": {"type": "string", "example": "GS-2001"},
            "kind": {"type": "string", "enum": ["excavator", "genset"]},
            "model": {"type": "string"}, "serial": {"type": "string"},
            "customer": {"type": "string"}, "site": {"type": "string"},
            "status": {"type": "string", "enum": ["unknown", "ok", "watch", "warning", "alarm"]},
            "iso_zone": {"type": "string", "enum": ["A", "B", "C", "D"], "nullable": True},
            "health_index": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
            "hours": {"type": "number", "description": "hour meter, h"},
            "open_work_orders": {"type": "integer"},
            "last_seen_at": {"type": "string", "format": "date-time", "nullable": True},
        },
    },
    "Evidence": {
        "type": "object",
        "properties": {"label": {"type": "string", "example": "BPFO x2"},
                       "expected_hz": {"type": "number"}, "matched_hz": {"type": "number"},
                       "amplitude": {"type": "number"}, "snr_db": {"type": "number"},
                       "domain": {"type": "string", "enum": ["envelope", "spectrum"]}},
    },
    "Finding": {
        "type": "object",
        "properties": {"component": {"type": "string"}, "fault_mode": {"type": "string"},
                       "location": {"type": "string"},
                       "severity": {"type": "string", "enum": SEVERITIES},
                       "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                       "confidence_level": {"type": "string", "enum": ["low", "medium", "high"],
                                            "description": "The confidence cut by the calibrated table "
                                                           "(docs/diagnostics.md, Confidence levels)"},
                       "summary": {"type": "string"},
                       "evidence": {"type": "array", "items": {"$ref": "#/components/schemas/Evidence"}}},
    },
    "Diagnosis": {
        "type": "object", "description": "The outcome of diagnosing one vibration burst.",
        "properties": {
            "burst_id": {"type": "string"}, "machine": {"type": "string"},
            "component": {"type": "string", "nullable": True}, "sensor": {"type": "string"},
            "burst_at": {"type": "string", "format": "date-time"},
            "processed_at": {"type": "string", "format": "date-time"},
            "iso_zone": {"type": "string", "nullable": True},
            "velocity_rms_mm_s": {"type": "number", "nullable": True},
            "health_index": {"type": "number", "nullable": True},
            "worst_severity": {"type": "string"},
            "features": {"type": "object", "additionalProperties": {"type": "number"}},
            "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
            "work_order_ids": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "WorkOrder": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "number": {"type": "string", "example": "WO-000042"},
            "machine": {"type": "string"}, "component": {"type": "string", "nullable": True},
            "title": {"type": "string"}, "fault_mode": {"type": "string"}, "location": {"type": "string"},
            "source": {"type": "string"}, "status": {"type": "string", "enum": WORK_ORDER_STATUSES},
            "priority": {"type": "string", "enum": ["low", "medium", "high", "urgent"]},
            "severity": {"type": "string", "enum": SEVERITIES},
            "confidence": {"type": "number"}, "occurrences": {"type": "integer"},
            "due_at": {"type": "string", "format": "date-time", "nullable": True},
            "technician": {"type": "string", "nullable": True},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "evidence": {"type": "object"},
        },
    },
    "TrendSeries": {
        "type": "object",
        "properties": {"machine": {"type": "string"}, "field": {"type": "string"},
                       "every_s": {"type": "integer"},
                       "times": {"type": "array", "items": {"type": "string", "format": "date-time"}},
                       "values": {"type": "array", "items": {"type": "number", "nullable": True}}},
    },
}


def _array_of(schema_name: str, key: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "array", "items": {"$ref": f"#/components/schemas/{schema_name}"}}}}


#: Paths of the read API (session cookie from /login; every answer scoped to the user's tenants).
APP_PATHS: dict[str, Any] = {
    "/api/v1/machines": {"get": {
        "tags": ["fleet"], "summary": "Machines you may see, each with its latest status",
        "parameters": [_query("kind", "only this machine kind", {"type": "string", "enum": ["excavator", "genset"]}),
                       _query("status", "only machines with this status",
                              {"type": "string", "enum": ["unknown", "ok", "watch", "warning", "alarm"]})],
        "responses": {"200": _json_response("The machines", _array_of("MachineSummary", "machines")),
                      **_error_responses(400, 401)}}},
    "/api/v1/machines/{uid}": {"get": {
        "tags": ["fleet"], "summary": "One machine: components, open work orders, recent diagnoses",
        "parameters": [_path("uid", "machine uid, e.g. GS-2001")],
        "responses": {"200": _json_response("The machine", {"type": "object"}), **_error_responses(401, 404)}}},
    "/api/v1/machines/{uid}/diagnoses": {"get": {
        "tags": ["diagnostics"], "summary": "Recent burst diagnoses of a machine, newest first",
        "parameters": [_path("uid", "machine uid"),
                       _query("limit", "how many (1-200, default 20)", {"type": "integer", "minimum": 1, "maximum": 200}),
                       _query("component", "only this component", {"type": "string"})],
        "responses": {"200": _json_response("The diagnoses", _array_of("Diagnosis", "diagnoses")),
                      **_error_responses(400, 401, 404)}}},
    "/api/v1/machines/{uid}/trend": {"get": {
        "tags": ["telemetry"], "summary": "Downsampled operating data of a machine (mean per interval)",
        "parameters": [_path("uid", "machine uid"),
                       _query("field", "operating field, e.g. coolant_temp_c", {"type": "string"}),
                       _query("hours", "how far back up to now (1-8784, default 24); ignored with start and end",
                              {"type": "integer", "minimum": 1, "maximum": 8784}),
                       _query("start", "range start: epoch seconds or RFC 3339 (with end; at most 366 days)",
                              {"type": "string"}),
                       _query("end", "range end: epoch seconds or RFC 3339 (with start)", {"type": "string"})],
        "responses": {"200": _json_response("The series, about 600 bucket means whatever the range",
                                            {"$ref": "#/components/schemas/TrendSeries"}),
                      **_error_responses(400, 401, 404)}}},
    "/api/v1/machines/{uid}/rul": {"get": {
        "tags": ["prognostics"], "summary": "RUL estimates of a component over time (the fan chart)",
        "description": "P10/P50/P90 hours per stored estimate, the planning horizon, the model version; "
                       "note says why there is no estimate yet.",
        "parameters": [_path("uid", "machine uid"),
                       _query("component", "component name, e.g. alternator_de (required)", {"type": "string"}),
                       _query("days", "how far back (1-3650, default 30)", {"type": "integer", "minimum": 1, "maximum": 3650})],
        "responses": {"200": _json_response("The estimates", {"type": "object"}), **_error_responses(400, 401, 404)}}},
    "/api/v1/machines/{uid}/waterfall": {"get": {
        "tags": ["diagnostics"], "summary": "The last n spectra of a component's sensor, oldest first (engineers)",
        "parameters": [_path("uid", "machine uid"),
                       _query("component", "component name (required)", {"type": "string"}),
                       _query("n", "how many bursts (2-24, default 12)", {"type": "integer", "minimum": 2, "maximum": 24})],
        "responses": {"200": _json_response("The spectra, 0-1000 Hz", {"type": "object"}),
                      **_error_responses(400, 401, 403, 404)}}},
    "/api/v1/bursts/{burst_id}/spectra": {"get": {
        "tags": ["diagnostics"], "summary": "Spectrum, envelope spectrum, defect-line families, evidence and kurtogram of a burst (engineers)",
        "parameters": [_path("burst_id", "burst id, <machine>:<sensor>:<axis>:<start_ns>")],
        "responses": {"200": _json_response("The spectra", {"type": "object"}), **_error_responses(401, 403, 404)}}},
    "/api/v1/work-orders": {"get": {
        "tags": ["maintenance"], "summary": "Work orders you may see, newest first",
        "parameters": [_query("status", "only this status; 'active' = open, assigned or in progress",
                              {"type": "string", "enum": WORK_ORDER_STATUSES + ["active"]}),
                       _query("machine", "only this machine uid", {"type": "string"}),
                       _query("limit", "how many (1-500, default 100)", {"type": "integer", "minimum": 1, "maximum": 500})],
        "responses": {"200": _json_response("The work orders", _array_of("WorkOrder", "work_orders")),
                      **_error_responses(400, 401)}}},
    "/api/v1/work-orders/{id}": {"get": {
        "tags": ["maintenance"], "summary": "One work order with its evidence and history",
        "parameters": [_path("id", "work order id", {"type": "integer"})],
        "responses": {"200": _json_response("The work order", {"$ref": "#/components/schemas/WorkOrder"}),
                      **_error_responses(401, 404)}}},
    "/api/v1/work-orders/{id}/actions": {"post": {
        "tags": ["maintenance"], "summary": "Take one step of the work-order life cycle",
        "description": "The same path as the console and the technicians' app (fleet.order_actions; "
                       "docs/maintenance.md). Engineers and admins: assign, reassign, unassign, hold, resume, "
                       "complete_on_behalf, reopen, close, cancel; the technician the order is assigned to: "
                       "accept, decline, start, hold, resume, complete. assign and reassign need technician_id "
                       "(reassign also a reason); decline, unassign, reopen and cancel a reason; hold a reason "
                       "starting parts, access or customer (or hold_kind and hold_details); complete and "
                       "complete_on_behalf the codes of the fault's list.",
        "parameters": [_path("id", "work order id", {"type": "integer"})],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["action"],
            "properties": {"action": {"type": "string", "enum": ["assign", "reassign", "accept", "decline",
                                                                 "unassign", "start", "hold", "resume", "complete",
                                                                 "complete_on_behalf", "reopen", "close", "cancel"]},
                           "technician_id": {"type": "integer"}, "reason": {"type": "string"},
                           "hold_kind": {"type": "string", "enum": ["parts", "access", "customer"]},
                           "hold_details": {"type": "string"},
                           "problem_code": {"type": "string"}, "cause_code": {"type": "string"},
                           "remedy_code": {"type": "string"},
                           "fault_confirmed": {"type": "string", "enum": ["yes", "no", "other"]},
                           "found_fault_mode": {"type": "string"}, "component_replaced": {"type": "boolean"},
                           "labour_h": {"type": "number", "minimum": 0, "maximum": 48},
                           "notes": {"type": "string"},
                           "parts_used": {"type": "array", "items": {"type": "object", "properties": {
                               "part_number": {"type": "string"}, "quantity": {"type": "number"}}}}}}}}},
        "responses": {"200": _json_response("The work order after the action", {"$ref": "#/components/schemas/WorkOrder"}),
                      "409": _json_response("Not allowed from the order's current state", _ERROR),
                      "415": _json_response("Body is not a JSON object", _ERROR),
                      **_error_responses(400, 401, 403, 404)}}},
    # The technicians' app (docs/field_app.md): one phone action, applied once per client_action_id.
    "/api/v1/tech/actions": {"post": {
        "tags": ["field"], "summary": "One action from the technicians' app, applied once",
        "description": "Technicians only, on jobs assigned to them; header X-CSRF-Token (the page's token). "
                       "multipart/form-data (a photo is the file part 'photo') or JSON. A resend of the same "
                       "client_action_id answers the first outcome with duplicate: true. A step the job's "
                       "current state refuses (reassigned, cancelled meanwhile) answers outcome: conflict.",
        "requestBody": {"required": True, "content": {ct: {"schema": {
            "type": "object", "required": ["client_action_id", "order_id", "action"],
            "properties": {"client_action_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
                           "order_id": {"type": "integer"},
                           "action": {"type": "string", "enum": ["accept", "decline", "start", "hold", "resume",
                                                                 "complete", "photo", "acknowledge_alarm"]},
                           "taken_at": {"type": "string", "format": "date-time"}, "reason": {"type": "string"},
                           "problem_code": {"type": "string"}, "cause_code": {"type": "string"},
                           "remedy_code": {"type": "string"},
                           "fault_confirmed": {"type": "string", "enum": ["yes", "no", "other"]},
                           "found_fault_mode": {"type": "string"}, "component_replaced": {"type": "string"},
                           "parts_used": {"type": "string", "description": "JSON list of {part_number, quantity}"},
                           "labour_h": {"type": "number", "minimum": 0, "maximum": 48}, "notes": {"type": "string"},
                           "caption": {"type": "string"}, "alarm_id": {"type": "integer"},
                           **({"photo": {"type": "string", "format": "binary"}} if ct == "multipart/form-data" else {})}}}
            for ct in ("multipart/form-data", "application/json")}},
        "responses": {"200": _json_response("The outcome: applied or conflict", {"type": "object"}),
                      **_error_responses(400, 401, 403, 404)}}},
}


APP_SCHEMAS["Alarm"] = {
    "type": "object", "description": "A condition someone must answer; one open alarm per machine, component and cause.",
    "properties": {
        "id": {"type": "integer"}, "number": {"type": "string", "example": "AL-000042"},
        "machine": {"type": "string"}, "component": {"type": "string", "nullable": True},
        "source": {"type": "string", "enum": list(ALARM_SOURCES)},
        "cause": {"type": "string", "example": "bearing:DE"},
        "severity": {"type": "string", "enum": SEVERITIES}, "title": {"type": "string"},
        "state": {"type": "string", "enum": ["active", "acknowledged", "cleared"]},
        "first_seen_at": {"type": "string", "format": "date-time"}, "last_seen_at": {"type": "string", "format": "date-time"},
        "count": {"type": "integer", "description": "observations merged into this alarm"},
        "acknowledged_at": {"type": "string", "format": "date-time", "nullable": True},
        "acknowledged_by": {"type": "string", "nullable": True}, "ack_comment": {"type": "string"},
        "cleared_at": {"type": "string", "format": "date-time", "nullable": True},
        "cleared_by": {"type": "string", "nullable": True}, "clear_comment": {"type": "string"},
        "clear_reason": {"type": "string", "description": "manual, condition_gone, work_order_done, ..."},
        "escalation_step": {"type": "integer", "description": "steps of the escalation chain notified so far"},
        "next_escalation_at": {"type": "string", "format": "date-time", "nullable": True},
        "work_order_id": {"type": "integer", "nullable": True},
        "deliveries": {"type": "array", "description": "the delivery log (GET of one alarm only)", "items": {
            "type": "object", "properties": {"channel": {"type": "string", "enum": ["push", "email"]},
                                             "recipient": {"type": "string"}, "status": {"type": "string"},
                                             "attempts": {"type": "integer"}, "error": {"type": "string"},
                                             "sent_at": {"type": "string", "format": "date-time", "nullable": True}}}},
    },
}
APP_SCHEMAS["Preferences"] = {
    "type": "object",
    "properties": {"channels": {"type": "array", "items": {"type": "string", "enum": ["push", "email"]}},
                   "quiet_start": {"type": "string", "example": "22:00", "nullable": True},
                   "quiet_end": {"type": "string", "example": "07:00", "nullable": True},
                   "timezone": {"type": "string", "example": "Europe/London"},
                   "owner_alerts": {
                       "type": "object", "description": "Customers' users only: which alarms on their machines "
                       "are sent to them (fleet.owner_alerts); a setting left out keeps its value.",
                       "properties": {"security": {"type": "boolean", "example": True},
                                      "faults": {"type": "string", "enum": ["off", "alarm", "warning"]}}}},
}
_COMMENT_BODY = {"required": False, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"comment": {"type": "string", "maxLength": 500}}}}}}
_ALARM = {"$ref": "#/components/schemas/Alarm"}
APP_PATHS.update({
    "/api/v1/alarms": {"get": {
        "tags": ["alarms"], "summary": "Alarms you may see: unacknowledged first, then by severity and time",
        "parameters": [_query("state", "open (default: active + acknowledged), active, acknowledged, cleared or all",
                              {"type": "string", "enum": ["open", "active", "acknowledged", "cleared", "all"]}),
                       _query("machine", "only this machine uid", {"type": "string"}),
                       _query("source", "only this source", {"type": "string",
                                                             "enum": list(ALARM_SOURCES)}),
                       _query("severity", "only this severity", {"type": "string", "enum": SEVERITIES}),
                       _query("limit", "how many (1-500, default 100)", {"type": "integer", "minimum": 1, "maximum": 500})],
        "responses": {"200": _json_response("The alarms", _array_of("Alarm", "alarms")), **_error_responses(400, 401)}}},
    "/api/v1/alarms/{id}": {"get": {
        "tags": ["alarms"], "summary": "One alarm with its history and delivery log",
        "parameters": [_path("id", "alarm id", {"type": "integer"})],
        "responses": {"200": _json_response("The alarm", _ALARM), **_error_responses(401, 404)}}},
    "/api/v1/alarms/{id}/acknowledge": {"post": {
        "tags": ["alarms"], "summary": "Acknowledge an active alarm (stops its escalation chain)",
        "description": "Admins, engineers and technicians (the technician app uses this). Customers read only.",
        "parameters": [_path("id", "alarm id", {"type": "integer"})], "requestBody": _COMMENT_BODY,
        "responses": {"200": _json_response("The alarm, acknowledged", _ALARM),
                      "409": _json_response("The alarm is not active (already acknowledged or cleared)", _ERROR),
                      **_error_responses(400, 401, 403, 404)}}},
    "/api/v1/alarms/{id}/clear": {"post": {
        "tags": ["alarms"], "summary": "Clear an alarm by hand, saying why",
        "parameters": [_path("id", "alarm id", {"type": "integer"})],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["comment"], "properties": {"comment": {"type": "string", "maxLength": 500}}}}}},
        "responses": {"200": _json_response("The alarm, cleared", _ALARM),
                      "409": _json_response("Already cleared", _ERROR), **_error_responses(400, 401, 403, 404)}}},
    "/api/v1/machines/{uid}/alarms/acknowledge": {"post": {
        "tags": ["alarms"], "summary": "Acknowledge every active alarm of a machine",
        "parameters": [_path("uid", "machine uid")], "requestBody": _COMMENT_BODY,
        "responses": {"200": _json_response("The alarms acknowledged", _array_of("Alarm", "acknowledged")),
                      **_error_responses(400, 401, 403, 404)}}},
    "/api/v1/push/key": {"get": {
        "tags": ["notifications"], "summary": "The VAPID public key for PushManager.subscribe",
        "responses": {"200": _json_response("The key", {"type": "object", "properties": {
            "public_key": {"type": "string", "description": "base64url uncompressed P-256 point"}}}),
            **_error_responses(401)}}},
    "/api/v1/push-subscriptions": {
        "get": {"tags": ["notifications"], "summary": "Your devices subscribed to Web Push",
                "responses": {"200": _json_response("The devices", {"type": "object"}), **_error_responses(401)}},
        "post": {"tags": ["notifications"], "summary": "Subscribe this device: the browser's PushSubscription JSON",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["endpoint", "keys"],
                     "properties": {"endpoint": {"type": "string", "format": "uri"},
                                    "keys": {"type": "object", "required": ["p256dh", "auth"], "properties": {
                                        "p256dh": {"type": "string", "description": "base64url, 65 bytes"},
                                        "auth": {"type": "string", "description": "base64url, 16 bytes"}}}}}}}},
                 "responses": {"201": _json_response("Subscribed", {"type": "object"}),
                               "200": _json_response("Known endpoint, keys updated", {"type": "object"}),
                               **_error_responses(400, 401)}}},
    "/api/v1/push-subscriptions/{id}": {"delete": {
        "tags": ["notifications"], "summary": "Unsubscribe one of your devices",
        "parameters": [_path("id", "subscription id", {"type": "integer"})],
        "responses": {"204": {"description": "Removed"}, **_error_responses(401, 404)}}},
    "/api/v1/me/preferences": {
        "get": {"tags": ["notifications"], "summary": "Your notification preferences",
                "responses": {"200": _json_response("Preferences", {"$ref": "#/components/schemas/Preferences"}),
                              **_error_responses(401)}},
        "put": {"tags": ["notifications"], "summary": "Change channels, quiet hours or time zone",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Preferences"}}}},
                "responses": {"200": _json_response("Stored preferences", {"$ref": "#/components/schemas/Preferences"}),
                              **_error_responses(400, 401)}}},
})

_SITE_SECURITY = {"type": "object", "description": "A site's geofence and allowed running hours (docs/portal.md, Sites).",
                  "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "tenant": {"type": "string"},
    "timezone": {"type": "string", "example": "Europe/London"}, "machines": {"type": "integer"},
    "site_lat": {"type": "number"}, "site_lon": {"type": "number"},
    "fence": {"type": "object", "properties": {
        "enabled": {"type": "boolean"}, "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "radius_m": {"type": "number", "minimum": 50, "maximum": 20000}}},
    "curfew": {"type": "object", "nullable": True, "description": "null: no curfew; per weekday mon..sun "
               "[\"HH:MM\", \"HH:MM\"] in the site's time zone, or null: no running that day",
               "example": {"mon": ["06:00", "20:00"], "sat": None}},
    "curfew_text": {"type": "string", "example": "Mon–Fri 06:00–20:00"},
    "customized": {"type": "boolean", "description": "false: nobody set them, these are the defaults"}}}
APP_PATHS.update({
    "/api/v1/sites": {"get": {
        "tags": ["sites"], "summary": "Sites you may see, with their geofence and allowed hours",
        "responses": {"200": _json_response("The sites", {"type": "object", "properties": {
            "sites": {"type": "array", "items": _SITE_SECURITY}}}), **_error_responses(401, 403)}}},
    "/api/v1/sites/{site_id}/security": {
        "get": {"tags": ["sites"], "summary": "One site's geofence and allowed hours",
                "parameters": [_path("site_id", "site id", {"type": "integer"})],
                "responses": {"200": _json_response("The site", _SITE_SECURITY), **_error_responses(401, 403, 404)}},
        "put": {"tags": ["sites"], "summary": "Replace a site's geofence and allowed hours (owners and engineers)",
                "parameters": [_path("site_id", "site id", {"type": "integer"})],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["fence", "curfew"],
                    "properties": {"fence": _SITE_SECURITY["properties"]["fence"],
                                   "curfew": _SITE_SECURITY["properties"]["curfew"]}}}}},
                "responses": {"200": _json_response("Saved", _SITE_SECURITY), **_error_responses(400, 401, 403, 404)}}},
})


def build_spec(ingest_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the device-ingest part (``telemetry.openapi``) with the read API into one document.

    Parameters
    ----------
    ingest_spec : dict, optional
        An OpenAPI fragment with ``paths`` and ``components`` (``schemas``, ``securitySchemes``).
        When omitted, ``telemetry.openapi``'s is used.

    Returns
    -------
    dict
        A complete OpenAPI 3.0 document. Ingest schemas keep their names; a read-API schema of
        the same name would be a conflict and raises ``ValueError`` rather than silently
        replacing one of them.
    """
    if ingest_spec is None:
        ingest_spec = _telemetry_fragment()
    ingest_spec = copy.deepcopy(ingest_spec)
    components = ingest_spec.get("components", {})
    schemas = dict(components.get("schemas", {}))
    clashes = sorted(set(schemas) & set(APP_SCHEMAS) - {"Error"})
    if clashes:
        raise ValueError(f"OpenAPI schema names defined twice: {', '.join(clashes)}")
    # Both parts answer errors in the same JSON shape; the ingest one (with field/rule) wins.
    schemas = {**APP_SCHEMAS, **schemas}
    security_schemes = dict(components.get("securitySchemes", {}))
    security_schemes.setdefault("session", {"type": "apiKey", "in": "cookie", "name": "session",
                                            "description": "Sign in at /login; the read API uses the session cookie."})
    paths = {**ingest_spec.get("paths", {})}
    for path, operations in APP_PATHS.items():
        if path in paths:
            raise ValueError(f"OpenAPI path defined twice: {path}")
        paths[path] = {method: {**op, "security": [{"session": []}]} for method, op in operations.items()}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Ironwatch API", "version": "1",
                 "description": "Device ingest (bearer token per gateway) and the fleet read API "
                                "(session cookie). Errors are JSON objects naming what was wrong."},
        "paths": dict(sorted(paths.items())),
        "components": {**components, "schemas": schemas, "securitySchemes": security_schemes},
    }


def _telemetry_fragment() -> dict[str, Any]:
    from telemetry import openapi as telemetry_openapi

    return telemetry_openapi.spec()


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten a spec's paths into rows (method, path, summary, parameters, responses) for the page."""
    rows = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            rows.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                         "description": op.get("description", ""), "tags": op.get("tags", []),
                         "parameters": op.get("parameters", []),
                         "responses": sorted(op.get("responses", {}).items()),
                         "body": _body_summary(op.get("requestBody")),
                         "auth": "device token" if path.startswith("/api/v1/ingest") else "session"})
    return rows


def _body_summary(request_body: dict[str, Any] | None) -> list[str]:
    """``["application/json: BurstUpload", ...]`` for the reference page."""
    if not request_body:
        return []
    summary = []
    for content_type, media in request_body.get("content", {}).items():
        schema = media.get("schema", {})
        name = schema.get("$ref", "").rsplit("/", 1)[-1] or schema.get("type", "")
        summary.append(f"{content_type}: {name}" if name else content_type)
    return summary


@bp.get("/api/openapi.json")
def openapi_json():
    return jsonify(build_spec())


@bp.get("/api/docs")
def docs():
    spec = build_spec()
    return render_template("api_docs.html", spec=spec, operations=operations(spec))
