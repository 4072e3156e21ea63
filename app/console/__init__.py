"""The OEM engineers' console: fleet overview, machine pages with evidence, work orders.

Views are thin: the read models come from :mod:`fleet.queries`, scoped to the signed-in user's
tenants; the evidence plot reads the burst back from InfluxDB and draws it with
:func:`app.plots.render_evidence_png` from ``diagnostics.pipeline.display_data``.
"""
from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")

from . import alarms, outbox, planning, sites, views  # noqa: E402,F401  (register the routes on bp)


@bp.context_processor
def _console_links():
    # live.js links machine uids in live events to the machine page (console users only).
    return {"machine_link_base": "/console/machines/"}
