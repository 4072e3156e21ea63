"""Evidence image of one diagnosed burst, drawn from the raw samples stored in InfluxDB.

The burst is read back exactly as uploaded (``TelemetryStore.read_burst``), the component's
kinematics come from SQL, ``diagnostics.pipeline.display_data`` computes the spectra and
:func:`app.plots.render_evidence_png` draws them with the stored finding's evidence marked.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from sqlalchemy import select


def component_kinematics(session_factory, machine_uid: str, component_name: str) -> dict[str, Any]:
    """The ``kinematics`` dict of a machine's component (empty when the component is unknown)."""
    from fleet.models import Component, Machine

    with session_factory() as session:
        kinematics = session.scalar(
            select(Component.kinematics).join(Machine, Component.machine_id == Machine.id)
            .where(Machine.uid == machine_uid, Component.name == component_name))
    return dict(kinematics or {})


def evidence_title(meta, finding: Mapping[str, Any] | None) -> str:
    """``"GS-2001 · alternator_de · 2026-11-25 10:00:00 UTC · 1500 rpm · bearing outer race (DE)"``."""
    started = datetime.fromtimestamp(meta.start_ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [meta.machine, meta.component, started, f"{meta.shaft_rpm:.0f} rpm"]
    if finding:
        label = finding.get("fault_mode", "").replace("_", " ")
        if finding.get("location"):
            label += f" ({finding['location']})"
        parts.append(label)
    else:
        parts.append("no finding")
    return " · ".join(parts)


def evidence_png_for_burst(store, session_factory, record: Mapping[str, Any]) -> bytes:
    """Render the evidence PNG of a diagnosed burst.

    Parameters
    ----------
    store : telemetry.store.TelemetryStore
    session_factory : sqlalchemy sessionmaker
    record : dict
        The burst's diagnosis record (``burst_id``, ``findings`` as ``Finding.to_dict()``), already
        checked to be visible to the user.
    """
    from diagnostics.pipeline import display_data

    from .plots import render_evidence_png

    burst = store.read_burst(record["burst_id"])
    meta = burst.meta
    kinematics = component_kinematics(session_factory, meta.machine, meta.component)
    display = display_data(burst.samples_m_s2(), meta.sample_rate_hz, meta.shaft_rpm, kinematics)
    findings = record.get("findings") or []
    top = findings[0] if findings else None
    evidence = top.get("evidence", []) if top else []
    return render_evidence_png(display, evidence, evidence_title(meta, top))
