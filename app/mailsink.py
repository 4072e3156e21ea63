"""The demo's mail sink: a local SMTP server (``aiosmtpd``) that keeps every message it receives
as an ``.eml`` file under ``<var>/mail/``, so a new user sees what Ironwatch would have e-mailed
(open the files with any mail client, or the console's Outbox page).

``python -m app.mailsink [--port 8025] [--dir var/mail]``; ``make run`` starts it beside the app
and points ``IRONWATCH_SMTP_HOST``/``IRONWATCH_SMTP_PORT`` at it. Nothing is relayed anywhere.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
import uuid
from pathlib import Path


class MaildropHandler:
    """aiosmtpd handler: each accepted message becomes ``<unix time ns>-<id>.eml`` in ``folder``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.folder / (name + ".part")
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.folder / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def start(folder: Path, host: str = "127.0.0.1", port: int = 8025):
    """Start the sink in a background thread; returns the aiosmtpd ``Controller`` (``.stop()``)."""
    from aiosmtpd.controller import Controller

    controller = Controller(MaildropHandler(folder), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> int:
    from .config import load_config

    parser = argparse.ArgumentParser(prog="python -m app.mailsink", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=None, help="default: <IRONWATCH_VAR>/mail")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop (SIGTERM) when the parent process dies (set by 'python -m app demo')")
    args = parser.parse_args(argv)
    if args.exit_with_parent:
        from diagnostics.process_settings import parent_death_requested

        if not parent_death_requested(signal.SIGTERM):
            return 0
    folder = args.dir or Path(load_config()["IRONWATCH_VAR"]) / "mail"
    controller = start(folder, args.host, args.port)
    print(f"mail sink on {args.host}:{args.port}, messages in {folder}", flush=True)
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
