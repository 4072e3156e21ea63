"""The demo outbox (``/console/outbox``): the e-mails the local mail sink (``app.mailsink``, which
``make run`` starts) received, newest first, so a new user sees what the alarm mails look like.
Reads ``<var>/mail/*.eml``; the page says so when the folder is empty or missing."""
from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from flask import current_app, render_template

from ..auth import roles_required
from . import bp

MAX_MESSAGES = 50


def read_outbox(folder: Path, limit: int = MAX_MESSAGES) -> list[dict]:
    """The newest ``limit`` messages in ``folder`` as ``{"file", "to", "subject", "date", "text"}``."""
    if not folder.is_dir():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(("plain",))
        messages.append({"file": path.name, "to": message["To"] or "", "subject": message["Subject"] or "",
                         "date": message["Date"] or "", "text": body.get_content() if body is not None else ""})
    return messages


@bp.get("/outbox")
@roles_required("admin", "engineer")
def outbox():
    folder = Path(current_app.config["IRONWATCH_VAR"]) / "mail"
    return render_template("console/outbox.html", messages=read_outbox(folder), folder=str(folder))
