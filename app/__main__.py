"""Command line: ``python -m app serve|demo|mqtt [--host HOST] [--port PORT]``.

Runs the app with Socket.IO (``async_mode="threading"``, WebSocket through simple-websocket) on
gunicorn's threaded worker (:mod:`app.server`), and the background services (spool writer,
diagnosis worker, scheduler) in that worker. Settings come from the ``IRONWATCH_*`` environment
variables (docs/contracts.md); ``IRONWATCH_THREADS`` sets the request threads (default 100).
``demo`` (what ``make run`` starts) serves the same way with the fleet simulator beside it.
``mqtt`` runs the MQTT ingest bridge (:mod:`telemetry.mqtt`) as a process of its own.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web app, Socket.IO and background services")
    demo = commands.add_parser("demo", help="serve, with the simulated demo fleet sending to it (make run)")
    demo.add_argument("--speedup", type=float, default=60.0,
                      help="simulated seconds per wall second (with --history 0: the last 90 min at this pace)")
    demo.add_argument("--history", default="2d",
                      help="days of history to backfill first, as fast as the server takes them (0: none)")
    mqtt = commands.add_parser("mqtt", help="run the MQTT ingest bridge with its own spool and writer")
    mqtt.add_argument("--host", default="127.0.0.1", help="broker host")
    mqtt.add_argument("--port", type=int, default=1883, help="broker port")
    mqtt.add_argument("--spool", type=Path, help="spool directory (default <IRONWATCH_VAR>/spool-mqtt)")
    mqtt.add_argument("--log-level", default=os.environ.get("IRONWATCH_LOG_LEVEL", "INFO"))
    for command in (serve, demo):
        command.add_argument("--host", default=os.environ.get("IRONWATCH_HOST", "127.0.0.1"),
                             help="interface to listen on (default 127.0.0.1, env IRONWATCH_HOST)")
        command.add_argument("--port", type=int, default=int(os.environ.get("IRONWATCH_PORT", "8000")),
                             help="TCP port (default 8000, env IRONWATCH_PORT)")
        command.add_argument("--log-level", default=os.environ.get("IRONWATCH_LOG_LEVEL", "INFO"))
    return parser


def port_is_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be bound now (checked before any background thread starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _port_taken(host: str, port: int) -> bool:
    """True, after saying so on stderr, when ``host:port`` is in use."""
    if port_is_free(host, port):
        return False
    print(f"Port {port} on {host} is in use (another Ironwatch?); choose another with --port.", file=sys.stderr)
    return True


def _base_url(host: str, port: int) -> str:
    """The URL a local browser or the simulator reaches the server at (a wildcard host as loopback)."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


def serve(host: str, port: int) -> int:
    from .server import SingleWorkerServer

    # A second instance must not start a second writer on the same spool and then fail to bind.
    if _port_taken(host, port):
        return 1
    apps = []

    def load_app():
        from . import create_app

        app = create_app({"IRONWATCH_PORT": port, "IRONWATCH_HOST": host})
        apps.append(app)
        return app

    def stop_background():
        # the worker is stopping (SIGTERM, Ctrl-C): the writer finishes its batch, the spool closes
        for app in apps:
            app.extensions["ironwatch"].stop()

    SingleWorkerServer(
        load_app, host, port,
        threads=int(os.environ.get("IRONWATCH_THREADS", "100")),
        access_log=bool(os.environ.get("IRONWATCH_ACCESS_LOG")),
        on_ready=lambda: print(f"Ironwatch console: {_base_url(host, port)}/", flush=True),
        on_worker_exit=stop_background,
    ).run()
    return 0


#: The demo's backfill: the replayed days carry one operating sample a minute and one burst per
#: sensor per 12 h (the RUL models' cadence), the last two hours everything (telemetry.simulator).
BACKFILL_SIMULATOR_ARGS = ["--speedup", "inf", "--thin-history", "--thin-sample-every", "60",
                           "--thin-burst-every", "12h"]


def _history_to_replay(history: str) -> str:
    """``history``, or just the gap since the newest stored sample when there is one (app.backfill)."""
    import time

    from telemetry.influx import InfluxClient, InfluxError
    from telemetry.simulator.run import parse_duration_s
    from telemetry.store import TelemetryStore

    from .backfill import history_to_replay
    from .config import load_config

    if history in ("", "0"):
        return "0"
    config = load_config()
    try:
        newest = TelemetryStore(InfluxClient(config["IRONWATCH_INFLUX_URL"], config["IRONWATCH_INFLUX_DB"])).newest_operating_ns()
    except InfluxError:  # not up yet: the replay waits for the server anyway
        newest = None
    seconds = history_to_replay(newest, parse_duration_s(history), time.time())
    return f"{int(seconds)}s" if seconds >= 60 else "0"


def demo(host: str, port: int, speedup: float, history: str = "0") -> int:
    """``serve`` with the fleet simulator (``telemetry.simulator``) as a child process.

    However ``make run`` is stopped, nothing is left behind: Ctrl-C reaches all three processes;
    this process gets SIGTERM when its parent (make) dies, e.g. under ``timeout``, and stops the
    server as on Ctrl-C; the simulator is stopped when the server has stopped, and gets SIGTERM
    from the kernel should this process be killed outright. The simulator waits for the server
    to answer before it sends, and its log goes to ``$IRONWATCH_VAR/simulator.log``.
    """
    from diagnostics.process_settings import die_with_parent

    die_with_parent(signal.SIGTERM)
    if _port_taken(host, port):  # before the simulator starts sending to whoever holds it
        return 1
    from .config import load_config

    log_path = Path(load_config()["IRONWATCH_VAR"]) / "simulator.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    history = _history_to_replay(history)
    backfill = history not in ("", "0")
    pace = ["--history", history, *BACKFILL_SIMULATOR_ARGS] if backfill else ["--speedup", f"{speedup:g}"]
    children = []
    with open(log_path, "ab") as log:
        children.append(subprocess.Popen(
            [sys.executable, "-m", "telemetry.simulator", *pace, "--url", _base_url(host, port)],
            stdout=log, stderr=subprocess.STDOUT,
            # No threads exist yet in this process, so running Python between fork and exec is safe.
            preexec_fn=lambda: die_with_parent(signal.SIGTERM)))
        if backfill:
            # Once the replay has arrived: trends and RUL history of the replayed days (app.backfill).
            children.append(subprocess.Popen([sys.executable, "-m", "app.backfill", "--history", history],
                                             preexec_fn=lambda: die_with_parent(signal.SIGTERM)))
    print(f"simulator: {'backfilling ' + history + ' of history, then live' if backfill else f'x{speedup:g}'}, "
          f"log {log_path}", flush=True)
    try:
        return serve(host, port)
    finally:
        for child in children:
            child.terminate()  # the simulator drains what it can, and its disk buffer keeps the rest
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()


def mqtt_bridge(host: str, port: int, spool_dir: Path | None) -> int:
    """The MQTT bridge over the SQL device directory, with its own spool and writer.

    Its own spool because a spool has one writer process: the app drains ``var/spool``, the
    bridge this one.
    """
    import time

    from fleet import db
    from fleet.devices import SqlDeviceDirectory
    from telemetry import influxd
    from telemetry.influx import InfluxClient
    from telemetry.ingest import IngestService
    from telemetry.mqtt import KINDS, TOPIC_ROOT, MqttBridge
    from telemetry.spool import Spool
    from telemetry.writer import SpoolWriter

    spool = Spool(spool_dir or influxd.var_dir() / "spool-mqtt")
    sessions = db.session_factory(db.make_engine(db.database_url()))
    service = IngestService(spool, SqlDeviceDirectory(sessions))
    influx = InfluxClient(influxd.ensure_running(), influxd.influx_database())
    writer = SpoolWriter(spool, influx).start()
    bridge = MqttBridge(service, host, port).start()
    print(f"MQTT bridge on {host}:{port}, topics {TOPIC_ROOT}/<machine>/{{{','.join(KINDS)}}}", flush=True)

    def stop_on_signal(signum, _frame):
        raise SystemExit(128 + signum)  # through the finally below: writer stopped, spool closed

    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        bridge.stop()
        writer.stop()
        spool.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler announces every run of every minute-job; failures still show as warnings/errors.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if args.command == "serve":
        return serve(args.host, args.port)
    if args.command == "demo":
        return demo(args.host, args.port, args.speedup, args.history)
    if args.command == "mqtt":
        return mqtt_bridge(args.host, args.port, args.spool)
    return 2


if __name__ == "__main__":
    sys.exit(main())
