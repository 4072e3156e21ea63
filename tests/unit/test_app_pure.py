"""Pure helpers of the web layer: OpenAPI merge, principal scope, redirects, action arguments,
fleet-table ordering and counts."""
from types import SimpleNamespace

import pytest

from app.actions import ActionRefused, check_arguments
from app.auth import _safe_next, principal_from_user
from app.console.views import fleet_counts, sort_by_urgency, trend_fields_for
from app.evidence import evidence_title
from app.openapi import APP_PATHS, build_spec, operations

INGEST = {"paths": {"/api/v1/ingest/bursts": {"post": {"summary": "upload a burst", "responses": {}}}},
          "components": {"schemas": {"BurstUpload": {"type": "object"},
                                     "Error": {"type": "object", "required": ["error", "field", "rule", "message"]}},
                         "securitySchemes": {"device": {"type": "http", "scheme": "bearer"}}}}


def test_openapi_merge_keeps_both_parts_and_the_ingest_error_shape():
    spec = build_spec(INGEST)
    assert "/api/v1/ingest/bursts" in spec["paths"]
    assert set(APP_PATHS) <= set(spec["paths"])
    assert spec["components"]["schemas"]["Error"]["required"] == ["error", "field", "rule", "message"]
    assert {"device", "session"} <= set(spec["components"]["securitySchemes"])
    assert spec["paths"]["/api/v1/machines"]["get"]["security"] == [{"session": []}]
    rows = operations(spec)
    assert {(r["method"], r["path"]) for r in rows} >= {("POST", "/api/v1/ingest/bursts"), ("GET", "/api/v1/machines")}
    assert next(r for r in rows if r["path"] == "/api/v1/ingest/bursts")["auth"] == "device token"


def test_openapi_merge_refuses_a_schema_or_path_defined_twice():
    clash = {"paths": {}, "components": {"schemas": {"WorkOrder": {"type": "object"}}}}
    with pytest.raises(ValueError, match="WorkOrder"):
        build_spec(clash)
    with pytest.raises(ValueError, match="/api/v1/machines"):
        build_spec({"paths": {"/api/v1/machines": {}}, "components": {}})


def _rows(kind="oem"):
    user = SimpleNamespace(id=5, email="e@x", name="E", role="engineer", active=True, timezone=None)
    tenant = SimpleNamespace(id=1, name="OEM", kind=kind)
    return user, tenant


def test_oem_user_sees_oem_and_customers_customer_user_only_itself():
    user, tenant = _rows("oem")
    oem_user = principal_from_user(user, tenant, [3, 2])
    assert oem_user.visible_tenant_ids == (1, 2, 3) and oem_user.is_oem_staff
    assert oem_user.may_see_tenant(3) and not oem_user.may_see_tenant(4) and not oem_user.may_see_tenant(None)
    user, tenant = _rows("customer")
    customer = principal_from_user(user, tenant, [])
    assert customer.visible_tenant_ids == (1,) and not customer.is_oem_staff
    user, tenant = _rows("dealer")
    dealer = principal_from_user(user, tenant, [7, 4])
    assert dealer.visible_tenant_ids == (1, 4, 7) and not dealer.is_oem_staff


@pytest.mark.parametrize("target, expected", [("/console/", "/console/"), ("/console/machines/GS-2001?x=1", "/console/machines/GS-2001?x=1"),
                                              ("https://evil.example/", None), ("//evil.example/", None),
                                              ("javascript:alert(1)", None), ("", None), (None, None)])
def test_only_same_site_paths_are_followed_after_login(target, expected):
    assert _safe_next(target) == expected


def test_action_arguments_are_checked_and_cleaned():
    from fleet.lifecycle import Completion, PartUse

    assert check_arguments("assign", {"technician_id": "7"}) == {"technician_id": 7, "reason": ""}
    assert check_arguments("start", {"anything": 1}) == {"reason": ""}
    assert check_arguments("hold", {"hold_kind": "parts", "hold_details": " bearing late "}) == {
        "reason": "parts: bearing late"}
    codes = {"problem_code": "outer_race_spalled", "cause_code": "wear", "remedy_code": "bearing_replaced",
             "fault_confirmed": "yes"}
    assert check_arguments("complete_on_behalf", {**codes, "notes": " replaced ", "labour_h": "2",
                                                  "parts_used": [{"part_number": "6312", "quantity": 1}]}) == {
        "reason": "", "completion": Completion("outer_race_spalled", "wear", "bearing_replaced", "yes",
                                               parts_used=(PartUse("6312", 1.0),), labour_h=2.0, notes="replaced")}
    for action, arguments, field in (("launch", {}, "action"), ("assign", {}, "technician_id"),
                                     ("assign", {"technician_id": "seven"}, "technician_id"),
                                     ("complete", {**codes, "problem_code": "   "}, "problem_code"),
                                     ("cancel", {}, "reason"), ("reassign", {"technician_id": 3}, "reason"),
                                     ("hold", {}, "reason"), ("complete", {**codes, "fault_confirmed": "maybe"},
                                                              "fault_confirmed"),
                                     ("complete", {**codes, "fault_confirmed": "other"}, "found_fault_mode"),
                                     ("complete", {**codes, "labour_h": "nan"}, "labour_h"),
                                     ("complete", {**codes, "parts_used": "6312"}, "parts_used"),
                                     ("complete", {**codes, "parts_used": [{"quantity": 1}]}, "parts_used")):
        with pytest.raises(ActionRefused) as refused:
            check_arguments(action, arguments)
        assert refused.value.status == 400 and refused.value.field == field


def test_fleet_table_puts_worst_status_first_and_counts_statuses():
    rows = [{"uid": "B", "status": "ok", "open_work_orders": 0}, {"uid": "A", "status": "alarm", "open_work_orders": 2},
            {"uid": "C", "status": "watch", "open_work_orders": 1}, {"uid": "D", "status": None}]
    assert [r["uid"] for r in sort_by_urgency(rows)] == ["A", "C", "B", "D"]
    counts = fleet_counts(rows)
    assert (counts["machines"], counts["alarm"], counts["watch"], counts["ok"], counts["unknown"]) == (4, 1, 1, 1, 1)
    assert counts["open_work_orders"] == 3


def test_trend_fields_follow_the_machine_kind():
    field = SimpleNamespace(description="d", unit="u")
    known = {name: field for name in ("engine_speed_rpm", "coolant_temp_c", "power_kw", "hydraulic_pressure_bar")}
    assert [n for n, _ in trend_fields_for("genset", known)] == ["engine_speed_rpm", "coolant_temp_c", "power_kw"]
    assert [n for n, _ in trend_fields_for("excavator", known)] == ["engine_speed_rpm", "coolant_temp_c",
                                                                    "hydraulic_pressure_bar"]


def test_evidence_title_names_machine_component_time_speed_and_fault():
    meta = SimpleNamespace(machine="GS-2001", component="alternator_de", start_ns=1_764_064_800 * 10**9, shaft_rpm=1500.0)
    title = evidence_title(meta, {"fault_mode": "bearing_outer_race", "location": "DE"})
    assert title == "GS-2001 · alternator_de · 2025-11-25 10:00:00 UTC · 1500 rpm · bearing outer race (DE)"
    assert evidence_title(meta, None).endswith("no finding")


def test_operating_readings_are_labelled_with_units_and_position_last():
    from app.console.views import operating_readings

    spec = {"lat": SimpleNamespace(description="GNSS latitude", unit="°"),
            "coolant_temp_c": SimpleNamespace(description="engine coolant temperature", unit="°C"),
            "power_kw": SimpleNamespace(description="active power", unit="kW")}
    readings = operating_readings({"lat": 53.8, "coolant_temp_c": 81.5, "unknown_x": 1.0}, spec)
    assert [(r["name"], r["label"], r["unit"]) for r in readings] == [
        ("coolant_temp_c", "Engine coolant temperature", "°C"), ("lat", "GNSS latitude", "°")]


def test_readings_are_formatted_for_people():
    from app.console.views import format_reading

    assert format_reading(11837.4) == "11,837"
    assert format_reading(79.8333) == "79.83"
    assert format_reading(-1.90612) == "-1.906"


def test_dm1_codes_are_named_and_the_newest_message_is_current():
    from app.j1939 import describe_code, fault_code_view

    assert describe_code(110, 0) == "Engine coolant temperature (SPN 110): above normal, most severe (FMI 0)"
    assert describe_code(9999, 99) == "Parameter (SPN 9999): failure mode (FMI 99)"
    history = [{"time": 1_764_064_800 * 10**9, "lamps": {"red_stop": 1, "amber_warning": 0},
                "active": [{"spn": 110, "fmi": 0, "occurrence_count": 2}]},
               {"time": 1_764_068_400 * 10**9, "lamps": {"red_stop": 0}, "active": []}]
    view = fault_code_view(history)
    assert view["current"]["codes"] == [] and view["current"]["lamps"] == []
    assert view["changes"][1]["lamps"] == [("Red stop", "alarm")]
    assert view["changes"][1]["codes"][0]["text"].startswith("Engine coolant temperature")
    assert fault_code_view([]) == {"current": None, "changes": []}


def test_trend_buckets_keep_any_range_near_600_points():
    from app.api import TREND_POINTS, trend_bucket_s

    assert trend_bucket_s(3600) == 60  # an hour: the 1-minute series
    assert trend_bucket_s(7 * 86400) == 1800
    assert trend_bucket_s(366 * 86400) == 86400 and 366 <= TREND_POINTS
    for span in (3600, 86400, 30 * 86400, 366 * 86400):
        assert span / trend_bucket_s(span) <= TREND_POINTS


def test_defect_lines_group_into_families_with_names_in_words():
    from app.plot_api import marker_families

    families = marker_families([{"label": "1x", "hz": 25.0}, {"label": "DE BPFO", "hz": 76.6},
                                {"label": "DE BPFI", "hz": 123.4}, {"label": "stage1 GMF", "hz": 425.0},
                                {"label": "line", "hz": 50.0}, {"label": "piston pass", "hz": 225.0}])
    by_key = {f["key"]: f for f in families}
    assert by_key["bearing:DE"]["label"] == "drive-end bearing"
    assert [line["label"] for line in by_key["bearing:DE"]["lines"]] == ["outer race (BPFO)", "inner race (BPFI)"]
    assert by_key["gear:stage1"]["label"] == "stage 1 gear"
    assert set(by_key) == {"shaft", "bearing:DE", "gear:stage1", "electrical", "pistons"}


def test_a_second_demo_replays_only_the_gap_since_the_newest_sample():
    from app.backfill import history_to_replay

    now = 1_800_000_000.0
    two_days = 2 * 86400.0
    assert history_to_replay(None, two_days, now) == two_days  # empty store: the whole history
    assert history_to_replay(int((now - 3600) * 1e9), two_days, now) == 3600.0  # stopped an hour ago
    assert history_to_replay(int((now - 30 * 86400) * 1e9), two_days, now) == two_days  # never more than asked
    assert history_to_replay(int((now + 60) * 1e9), two_days, now) == 0.0  # a clock ahead: nothing
