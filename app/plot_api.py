"""Data of the machine page's interactive plots (JSON), on the read API's blueprint.

``/api/v1/machines/<uid>/rul``        RUL P10/P50/P90 history of a component (the fan chart)
``/api/v1/bursts/<burst_id>/spectra`` spectrum, envelope spectrum, defect-line families, kurtogram
``/api/v1/machines/<uid>/waterfall``  the last N spectra of a component's sensor
``/api/v1/machines/<uid>/trend``      (in :mod:`app.api`) operating trends for any time range

Every route checks visibility first (SQL, tenant-scoped): another customer's machine or burst is
a 404 exactly like one that does not exist. Bad parameters are a 400 naming the parameter.
Spectra are computed from the raw burst read back from InfluxDB and cached per burst (a stored
burst never changes).
"""
from __future__ import annotations

import re
from typing import Any

from flask import current_app, jsonify, request
from flask_login import current_user

from .api import ALL_ROLES, BadParameter, bp, int_param, not_found
from .auth import roles_required
from .cache import LruCache
from fleet.wording import component_words, part_named

CONSOLE_ROLES = ("admin", "engineer")
_spectra_cache = LruCache(48)
_row_cache = LruCache(256)
WATERFALL_MAX_HZ = 1000.0
SPECTRUM_MIN_HZ = 2000.0  # the zoomable spectrum reaches at least this far, Hz
SPECTRUM_POINTS = 6000  # ... at the burst's resolution (1 Hz for a 1 s burst) up to 6 kHz  # where shaft orders, gear mesh and bearing tones of these machines sit


def _runtime():
    return current_app.extensions["ironwatch"]


def _machine(uid: str) -> dict | None:
    from fleet import queries

    with _runtime().sessions() as session:
        return queries.machine_detail(session, uid, current_user.scope)


def _component(detail: dict, name: str | None) -> dict:
    names = [c["name"] for c in detail["components"]]
    if not name:
        raise BadParameter("component", "required", f"component is required, one of {', '.join(names)}.")
    for component in detail["components"]:
        if component["name"] == name:
            return component
    raise BadParameter("component", "enum", f"{detail['uid']} has no component {name!r}; it has {', '.join(names)}.")


# --- RUL fan chart ----------------------------------------------------------------------------

@bp.get("/machines/<uid>/rul")
@roles_required(*ALL_ROLES)
def machine_rul(uid: str):
    """``?component=<name>&days=<1..3650>``: the component's RUL estimates over the last ``days``."""
    import time

    from fleet.maintenance import RUL_HORIZON_H

    days = int_param("days", 30, 1, 3650)
    detail = _machine(uid)
    if detail is None:
        return not_found(f"Machine {uid}")
    component = _component(detail, request.args.get("component"))
    start_ns = time.time_ns() - days * 86400 * 10**9
    history = _runtime().store.rul_history(uid, component["name"], start=start_ns)
    versions = [v for v in history["model_version"] if v]
    return jsonify(
        machine=uid, component=component["name"], component_label=component_words(component["name"]),
        horizon_h=RUL_HORIZON_H, days=days,
        times=[t // 10**9 for t in history["time"]],
        p10_h=history["p10_h"], p50_h=history["p50_h"], p90_h=history["p90_h"],
        model_version=versions[-1] if versions else None,
        model_versions=sorted(set(versions)),
        note=None if history["time"] else (component.get("rul_note") or
                                           "not scored yet: the RUL job scores every component every 15 minutes"))


# --- spectra of one burst -----------------------------------------------------------------------

_MARKER_FAMILY = re.compile(r"^(?P<name>.+?) (?P<line>BPFO|BPFI|2xBSF|FTF|GMF|GMF-1x|GMF\+1x)$")
_LINE_WORDS = {"BPFO": "outer race (BPFO)", "BPFI": "inner race (BPFI)", "2xBSF": "rolling element (2×BSF)",
               "FTF": "cage (FTF)", "GMF": "gear mesh (GMF)", "GMF-1x": "mesh − 1× shaft",
               "GMF+1x": "mesh + 1× shaft"}
#: A sideband is one line, not a series: its "harmonics" would mean nothing.
_SINGLE_LINES = {"GMF-1x", "GMF+1x"}


def _found_families(findings: list[dict]) -> dict[str, str]:
    """``family key → the finding's fault in words`` for the parts this burst's findings name: a
    bearing fault names its bearing, a gear fault its gear, an electrical fault the line."""
    found: dict[str, str] = {}
    for finding in findings:
        mode, location = str(finding.get("fault_mode") or ""), str(finding.get("location") or "")
        if mode.startswith("bearing_") and location:
            keys = [f"bearing:{location}"]
        elif mode.startswith("gear_") and location:
            # a broken tooth on a shaft carrying two gears names both: "stage1_or_stage2"
            keys = [f"gear:{name}" for name in location.split("_or_")]
        elif mode == "electrical":
            keys = ["electrical"]
        else:
            continue
        for key in keys:
            found.setdefault(key, mode.replace("bearing_", "").replace("gear_", "").replace("_", " "))
    return found


def marker_families(markers: list[dict], findings: list[dict] | None = None) -> list[dict]:
    """Group ``display_data`` markers into families a person toggles: shaft, each bearing, each
    gear, pistons, electrical. Each: ``{"key", "label", "finding", "shown", "lines": [{"label",
    "hz", "harmonics"}]}``.

    The kinematics predict every bearing's and gear's lines on every spectrum; only the parts a
    finding of this burst names (``findings``: ``Finding.to_dict()`` items) are drawn at first
    (``shown``) and say so (``finding``: the fault in words, else None; the console's chip reads
    "input bearing · no finding"), so a gear fault's spectrum shows no outer-race line unless
    someone asks for it. The shaft and the pistons (machine lines, not defects) are always shown."""
    found = _found_families(findings or [])
    families: dict[str, dict] = {}

    def family(key: str, label: str) -> dict:
        if key not in families:
            finding = found.get(key)
            shown = finding is not None or key in ("shaft", "pistons")
            families[key] = {"key": key, "label": label, "finding": finding, "shown": shown, "lines": []}
        return families[key]

    for marker in markers:
        label, hz = str(marker["label"]), float(marker["hz"])
        match = _MARKER_FAMILY.match(label)
        if match and match["line"].startswith("GMF"):
            family(f"gear:{match['name']}", part_named(match["name"], "gear"))["lines"].append(
                {"label": _LINE_WORDS[match["line"]], "hz": hz, "harmonics": 1 if match["line"] in _SINGLE_LINES else 5})
        elif match:
            family(f"bearing:{match['name']}", part_named(match["name"], "bearing"))["lines"].append(
                {"label": _LINE_WORDS[match["line"]], "hz": hz, "harmonics": 5})
        elif label == "1x":
            family("shaft", "shaft speed")["lines"].append({"label": "1× shaft", "hz": hz, "harmonics": 5})
        elif label == "piston pass":
            family("pistons", "pistons")["lines"].append({"label": "piston pass", "hz": hz, "harmonics": 5})
        else:
            family("electrical", "electrical")["lines"].append({"label": label, "hz": hz, "harmonics": 5})
    return list(families.values())


@bp.get("/bursts/<burst_id>/spectra")
@roles_required(*CONSOLE_ROLES)
def burst_spectra(burst_id: str):
    """Spectrum, envelope spectrum (of the view the diagnosis used), defect-line families with the
    burst's shaft speed, the matched evidence and the kurtogram that chose the demodulation band."""
    from fleet.queries import burst_diagnosis

    from .evidence import component_kinematics

    with _runtime().sessions() as session:
        record = burst_diagnosis(session, burst_id, current_user.scope)
    if record is None:
        return not_found(f"Burst {burst_id}")
    cached = _spectra_cache.get(burst_id)
    if cached is None:
        from diagnostics.pipeline import display_data, spectrum_row
        from telemetry.store import BurstNotFound

        try:
            burst = _runtime().store.read_burst(burst_id)
        except BurstNotFound as missing:
            return jsonify(error="burst_unavailable", message=f"The samples of burst {burst_id} are not "
                           f"available: {missing}"), 404
        meta = burst.meta
        kinematics = component_kinematics(_runtime().sessions, meta.machine, meta.component)
        samples = burst.samples_m_s2()
        display = display_data(samples, meta.sample_rate_hz, meta.shaft_rpm, kinematics)
        # The zoomable spectrum at the burst's own resolution up to where the defect lines are
        # (display_data's full-band spectrum is pooled to ~6 Hz per point, too coarse to zoom into).
        highest_hz = max((m["hz"] for m in display["markers"]), default=0.0)
        spectrum = spectrum_row(samples, meta.sample_rate_hz, max(SPECTRUM_MIN_HZ, 1.25 * highest_hz),
                                max_points=SPECTRUM_POINTS)
        cached = {"burst_id": burst_id, "machine": meta.machine, "component": meta.component,
                  "component_label": component_words(meta.component), "shaft_rpm": meta.shaft_rpm,
                  "sample_rate_hz": meta.sample_rate_hz, "spectrum": spectrum,
                  "envelope": display["envelope"],
                  "families": marker_families(display["markers"], record.get("findings") or []),
                  "kurtogram": display["kurtogram"]}
        _spectra_cache.put(burst_id, cached)
    findings = record.get("findings") or []
    return jsonify({**cached, "time": record.get("burst_at"),
                    "evidence": findings[0].get("evidence", []) if findings else []})


# --- waterfall ----------------------------------------------------------------------------------

@bp.get("/machines/<uid>/waterfall")
@roles_required(*CONSOLE_ROLES)
def machine_waterfall(uid: str):
    """``?component=<name>&n=<2..24>``: the last ``n`` diagnosed bursts' spectra, oldest first."""
    from diagnostics.pipeline import spectrum_row
    from fleet import queries
    from telemetry.store import BurstNotFound

    count = int_param("n", 12, 2, 24)
    detail = _machine(uid)
    if detail is None:
        return not_found(f"Machine {uid}")
    component = _component(detail, request.args.get("component"))
    with _runtime().sessions() as session:
        diagnoses = queries.recent_diagnoses(session, uid, current_user.scope, limit=count,
                                             component=component["name"]) or []
    rows: list[dict[str, Any]] = []
    skipped = 0
    for diagnosis in reversed(diagnoses):
        row = _row_cache.get(diagnosis["burst_id"])
        if row is None:
            try:
                burst = _runtime().store.read_burst(diagnosis["burst_id"])
            except BurstNotFound:  # past the raw retention
                skipped += 1
                continue
            row = spectrum_row(burst.samples_m_s2(), burst.meta.sample_rate_hz, WATERFALL_MAX_HZ)
            row["shaft_rpm"] = burst.meta.shaft_rpm
            _row_cache.put(diagnosis["burst_id"], row)
        rows.append({"burst_id": diagnosis["burst_id"], "time": diagnosis["burst_at"], **row})
    return jsonify(machine=uid, component=component["name"], component_label=component_words(component["name"]),
                   sensor=(component.get("sensors") or [{}])[0].get("name"), max_hz=WATERFALL_MAX_HZ,
                   rows=rows, skipped=skipped)
