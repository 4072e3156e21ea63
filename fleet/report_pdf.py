"""The monthly fleet report as PDF: ReportLab for the pages, matplotlib for the charts.

ReportLab was chosen over WeasyPrint because it is pure Python (WeasyPrint needs Pango and its
system libraries, which a fresh machine may not have). The charts are drawn by matplotlib (already
a dependency) into PNGs embedded in the document.
"""
from __future__ import annotations

import io
from datetime import datetime, timezone

from .reports import FleetUsage


def _chart_png(draw, height_in: float) -> io.BytesIO:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, height_in), dpi=150)
    axes = figure.add_subplot()
    draw(axes)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    buffer.seek(0)
    return buffer


def _usage_chart(report: FleetUsage) -> io.BytesIO:
    names = [m["machine"] for m in report.machines]
    working = [m["working_h"] for m in report.machines]
    idle = [m["idle_h"] for m in report.machines]

    def draw(axes):
        axes.barh(names, working, color="#1e8e3e", label="Working")
        axes.barh(names, idle, left=working, color="#d9570a", label="Idling")
        axes.invert_yaxis()
        axes.set_xlabel("engine hours in the month (h)")
        axes.legend(loc="lower right", frameon=False)

    return _chart_png(draw, 0.5 + 0.28 * max(3, len(names)))


def _fuel_chart(report: FleetUsage) -> io.BytesIO:
    names = [m["machine"] for m in report.machines]
    fuel = [m["fuel_l"] for m in report.machines]

    def draw(axes):
        axes.barh(names, fuel, color="#1a56db")
        axes.invert_yaxis()
        axes.set_xlabel("fuel used in the month (L)")

    return _chart_png(draw, 0.5 + 0.28 * max(3, len(names)))


def render_monthly_pdf(report: FleetUsage, customer: str, month_label: str) -> bytes:
    """The monthly fleet report of ``customer`` for ``report``'s range, as PDF bytes."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=1.8 * cm, rightMargin=1.8 * cm,
                                 topMargin=1.6 * cm, bottomMargin=1.6 * cm,
                                 title=f"Fleet report {month_label} - {customer}", author="Ironwatch")
    width = A4[0] - 3.6 * cm
    grid = TableStyle([("FONTSIZE", (0, 0), (-1, -1), 8), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
                       ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.HexColor("#98a2b3")),
                       ("ALIGN", (1, 1), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "TOP")])

    def para(text: str, style: str = "BodyText"):
        return Paragraph(text, styles[style])

    from reportlab.lib.styles import ParagraphStyle

    head_style = ParagraphStyle("head", parent=styles["BodyText"], fontSize=7.5, leading=9,
                                textColor=colors.HexColor("#475467"))

    def heads(*labels: str) -> list:
        # Header cells wrap inside their column instead of running into the next one.
        return [Paragraph(label, head_style) for label in labels]

    working = sum(m["working_h"] for m in report.machines)
    idle = sum(m["idle_h"] for m in report.machines)
    fuel = sum(m["fuel_l"] for m in report.machines)
    done = [o for o in report.work_orders if o["status"] == "done"]
    story = [
        para(f"Fleet report {month_label}", "Title"),
        para(f"{customer} · {len(report.machines)} machines · days from {report.first} to {report.last} ({report.zone})"),
        Spacer(1, 0.3 * cm),
        Table([heads("Working", "Idling", "Idle share", "Fuel used", "Fuel per working hour", "Alarms raised",
                     "Maintenance done"),
               [f"{working:,.1f} h", f"{idle:,.1f} h", f"{100 * idle / (working + idle):.1f} %" if working + idle else "0 %",
                f"{fuel:,.0f} L", f"{fuel / working:.1f} L/h" if working else "–", str(len(report.alarms)), str(len(done))]],
              colWidths=[width / 7] * 7,
              style=TableStyle(grid.getCommands() + [("ALIGN", (0, 1), (-1, -1), "LEFT"), ("FONTSIZE", (0, 1), (-1, -1), 11)])),
        Spacer(1, 0.4 * cm),
        para("Utilization per machine", "Heading2"),
        Image(_usage_chart(report), width=width, height=width / 7.0 * (0.5 + 0.28 * max(3, len(report.machines)))),
        para("Fuel per machine", "Heading2"),
        Image(_fuel_chart(report), width=width, height=width / 7.0 * (0.5 + 0.28 * max(3, len(report.machines)))),
        para("Machines", "Heading2"),
    ]
    rows = [heads("Machine", "Model", "Site", "Working", "Idling", "Idle share", "Fuel", "Fuel per working hour",
                  "Hour meter")]
    for m in report.machines:
        rows.append([m["machine"], m["model"], Paragraph(m["site"], head_style), f"{m['working_h']:.1f} h",
                     f"{m['idle_h']:.1f} h", f"{m['idle_pct']:.1f} %", f"{m['fuel_l']:.0f} L",
                     "–" if m["fuel_l_per_working_h"] is None else f"{m['fuel_l_per_working_h']:.1f} L/h",
                     f"{m['hour_meter_h']:,.0f} h"])
    story.append(Table(rows, repeatRows=1, style=grid,
                       colWidths=[1.7 * cm, 1.8 * cm, 3.6 * cm] + [(width - 7.1 * cm) / 6] * 6))
    story.append(para("Alarms raised", "Heading2"))
    if report.alarms:
        story.append(Table([["Raised (UTC)", "Machine", "Severity", "What", "State"]] +
                           [[a["first_seen_at"][:16].replace("T", " "), a["machine"], a["severity"],
                             Paragraph(a["title"], styles["BodyText"]), a["state"]] for a in report.alarms],
                           repeatRows=1, style=grid, colWidths=[2.6 * cm, 1.8 * cm, 1.6 * cm, width - 8 * cm, 2 * cm]))
    else:
        story.append(para("No alarms were raised this month."))
    story.append(para("Maintenance done", "Heading2"))
    if done:
        story.append(Table([["Completed (UTC)", "Machine", "Work", "What was done"]] +
                           [[o["completed_at"][:10], o["machine"], Paragraph(o["title"], styles["BodyText"]),
                             Paragraph(o["what_was_done"] or "–", styles["BodyText"])] for o in done],
                           repeatRows=1, style=grid, colWidths=[2.4 * cm, 1.8 * cm, (width - 4.2 * cm) / 2, (width - 4.2 * cm) / 2]))
    else:
        story.append(para("No maintenance was completed this month."))
    story.append(para("Maintenance due", "Heading2"))
    due = [(uid, item) for uid, items in report.upcoming.items() for item in items]
    if due:
        story.append(Table([["Machine", "Due (UTC)", "Why"]] +
                           [[uid, (item["due_at"] or "")[:10] or "not dated", Paragraph(item["reason"], styles["BodyText"])]
                            for uid, item in sorted(due, key=lambda pair: pair[1]["due_at"] or "9")],
                           repeatRows=1, style=grid, colWidths=[1.8 * cm, 2.2 * cm, width - 4 * cm]))
    else:
        story.append(para("No maintenance is due."))
    story.append(Spacer(1, 0.4 * cm))
    story.append(para(f"Generated {datetime.now(timezone.utc):%d %b %Y %H:%M} UTC by Ironwatch. Working: engine running "
                      "under load; idling: engine running without load (thresholds per machine model).", "Italic"))
    document.build(story)
    return buffer.getvalue()
