"""The monthly fleet report as PDF: ReportLab for the pages, matplotlib for the charts.

ReportLab was chosen over WeasyPrint because it is pure Python (WeasyPrint needs Pango and its
system libraries, which a fresh machine may not have). The charts are drawn by matplotlib (already
a dependency) into PNGs embedded in the document.
"""
from __future__ import annotations

import io
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from .reports import FleetUsage


def local_time(text: str, zone: ZoneInfo, with_time: bool = True) -> str:
    """An ISO 8601 UTC time of the report (``2026-12-03T08:15:00Z``) as the customer reads it, in
    ``zone``: ``3 Dec 2026 08:15`` (or the day only); "" for none."""
    if not text:
        return ""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    value = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(zone)
    return f"{value.day} {value:%b %Y %H:%M}" if with_time else f"{value.day} {value:%b %Y}"


def day_words(day: date | str) -> str:
    """``2026-12-01`` as ``1 Dec 2026``."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day.day} {day:%b %Y}"


def hours_or_dash(machine: dict, key: str) -> str:
    """A machine's hours for the table, or "–" when its engine did not run at all in the range."""
    return "–" if not machine["engine_h"] else f"{machine[key]:.1f} h"


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
    zone = ZoneInfo(report.zone)
    story = [
        para(f"Fleet report {month_label}", "Title"),
        para(f"{customer} · {len(report.machines)} machines · {day_words(report.first)} to {day_words(report.last)} "
             f"(days and times in {report.zone})"),
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
        ran = bool(m["engine_h"])
        rows.append([m["machine"], m["model"], Paragraph(m["site"], head_style), hours_or_dash(m, "working_h"),
                     hours_or_dash(m, "idle_h"), f"{m['idle_pct']:.1f} %" if ran else "–",
                     f"{m['fuel_l']:.0f} L" if ran else "–",
                     "–" if m["fuel_l_per_working_h"] is None else f"{m['fuel_l_per_working_h']:.1f} L/h",
                     f"{m['hour_meter_h']:,.0f} h"])
    story.append(Table(rows, repeatRows=1, style=grid,
                       colWidths=[1.7 * cm, 1.8 * cm, 3.6 * cm] + [(width - 7.1 * cm) / 6] * 6))
    if any(not m["engine_h"] for m in report.machines):
        story.append(para("–: the engine did not run in the month, or the machine sent no operating data.", "Italic"))
    story.append(para("Alarms raised", "Heading2"))
    if report.alarms:
        story.append(Table([heads("Raised", "Machine", "Severity", "What", "State")] +
                           [[local_time(a["first_seen_at"], zone), a["machine"], a["severity"].capitalize(),
                             Paragraph(a["title"], styles["BodyText"]), a["state"].capitalize()] for a in report.alarms],
                           repeatRows=1, style=grid, colWidths=[2.6 * cm, 1.8 * cm, 1.6 * cm, width - 8 * cm, 2 * cm]))
    else:
        story.append(para("No alarms were raised this month."))
    story.append(para("Maintenance done", "Heading2"))
    if done:
        story.append(Table([heads("Completed", "Machine", "Work", "What was done")] +
                           [[local_time(o["completed_at"], zone, with_time=False), o["machine"], Paragraph(o["title"], styles["BodyText"]),
                             Paragraph(o["what_was_done"] or "–", styles["BodyText"])] for o in done],
                           repeatRows=1, style=grid, colWidths=[2.4 * cm, 1.8 * cm, (width - 4.2 * cm) / 2, (width - 4.2 * cm) / 2]))
    else:
        story.append(para("No maintenance was completed this month."))
    story.append(para("Maintenance due", "Heading2"))
    due = [(uid, item) for uid, items in report.upcoming.items() for item in items]
    if due:
        story.append(Table([heads("Machine", "Due", "Why")] +
                           [[uid, local_time(item["due_at"] or "", zone, with_time=False) or "not dated",
                             Paragraph(item["reason"], styles["BodyText"])]
                            for uid, item in sorted(due, key=lambda pair: pair[1]["due_at"] or "9")],
                           repeatRows=1, style=grid, colWidths=[1.8 * cm, 2.2 * cm, width - 4 * cm]))
    else:
        story.append(para("No maintenance is due."))
    story.append(Spacer(1, 0.4 * cm))
    story.append(para(f"Generated {local_time(datetime.now(timezone.utc).isoformat(), zone)} ({report.zone}) by Ironwatch. "
                      "Working: engine running "
                      "under load; idling: engine running without load (thresholds per machine model).", "Italic"))
    document.build(story)
    return buffer.getvalue()
