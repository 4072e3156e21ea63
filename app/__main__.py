"""Command line: ``python -m app serve|demo|scheduler|mqtt [--host HOST] [--port PORT]``.

``serve`` runs the app with Socket.IO (``async_mode="threading"``, WebSocket through
simple-websocket) on gunicorn's threaded worker (:mod:`app.server`), and the background services
(spool writer, diagnosis worker, live relay) in that worker; it runs no scheduled jobs.
``scheduler`` runs the scheduled jobs (:mod:`app.scheduler`): one such process per installation,
a second start refuses (``--wait``: waits to take over). Settings come from the ``IRONWATCH_*``
environment variables (docs/contracts.md); ``IRONWATCH_THREADS`` sets the request threads (default
100). ``demo`` (what ``make run`` starts) serves the same way with the scheduler and the fleet
simulator beside it as child processes.
``mqtt`` runs the MQTT ingest bridge (:mod:`telemetry.mqtt`) as a process of its own;
``mqtt-broker`` writes the Mosquitto configuration from the device registry (per-device passwords
and ACLs, :mod:`telemetry.mqtt_broker`) and runs Mosquitto on it, rewriting it as devices change.
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


#: How much history the demo backfills. RUL ages on operating hours and needs 3 observations of 12
#: (more than 24 h of running); a day-shift excavator runs about 9 h a working day, and any 5
#: consecutive days hold at least 3 working days at every demo site (25-27 h run), where 2 days
#: may hold a single one.
DEMO_HISTORY = "5d"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web app, Socket.IO and background services")
    demo = commands.add_parser("demo", help="serve, with the simulated demo fleet sending to it (make run)")
    demo.add_argument("--speedup", type=float, default=60.0,
                      help="simulated seconds per wall second (with --history 0: the last 90 min at this pace)")
    demo.add_argument("--history", default=DEMO_HISTORY,
                      help="days of history to backfill first, as fast as the server takes them (0: none)")
    scheduler = commands.add_parser("scheduler", help="run the scheduled jobs (one such process; a second refuses)")
    scheduler.add_argument("--wait", action="store_true",
                           help="if another scheduler runs, wait and take over when it stops (default: refuse)")
    scheduler.add_argument("--start-delay", type=float, default=5.0,
                           help="seconds after taking over before the frequent jobs first run")
    scheduler.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    scheduler.add_argument("--log-level", default=os.environ.get("IRONWATCH_LOG_LEVEL", "INFO"))
    mqtt = commands.add_parser("mqtt", help="run the MQTT ingest bridge with its own spool and writer")
    mqtt.add_argument("--host", default="127.0.0.1", help="broker host")
    mqtt.add_argument("--port", type=int, default=1883, help="broker port")
    mqtt.add_argument("--spool", type=Path, help="spool directory (default <IRONWATCH_VAR>/spool-mqtt)")
    mqtt.add_argument("--username", help="broker account (default: ironwatch-bridge, with the password "
                                         "mqtt-broker wrote to <IRONWATCH_VAR>/mosquitto/bridge.secret)")
    mqtt.add_argument("--password", help="broker password (default: the bridge.secret file)")
    mqtt.add_argument("--log-level", default=os.environ.get("IRONWATCH_LOG_LEVEL", "INFO"))
    broker = commands.add_parser("mqtt-broker", help="write the Mosquitto config from the device registry and run it")
    broker.add_argument("--bind", default="127.0.0.1", help="interface Mosquitto listens on")
    broker.add_argument("--port", type=int, default=1883, help="broker port")
    broker.add_argument("--dir", type=Path, help="config folder (default <IRONWATCH_VAR>/mosquitto)")
    broker.add_argument("--write-only", action="store_true",
                        help="write the files and exit (for a Mosquitto run by the system)")
    broker.add_argument("--refresh", type=float, default=15.0,
                        help="seconds between re-reading the registry (new, rotated, revoked devices)")
    broker.add_argument("--log-level", default=os.environ.get("IRONWATCH_LOG_LEVEL", "INFO"))
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


class DemoSimulator:
    """A demo child process (the fleet simulator, the scheduler) that can be started again when it dies.

    Its log is appended to ``log_path``; it asks the kernel for SIGTERM should this process die
    (``--exit-with-parent``, set in the child, so a restart from a thread needs no ``preexec_fn``).
    """

    def __init__(self, command: list[str], log_path: Path, restart_command: list[str] | None = None,
                 start_when=None):
        self.command = command
        self.restart_command = restart_command or command  # a restart does not replay the backfill again
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        #: ``start_when()``: True once the child may start; until then the supervisor's probe
        #: (:meth:`alive`) asks, and starts it on the supervisor's thread when it says yes
        self.start_when = start_when

    def start(self) -> None:
        # Linux sends the parent-death signal when the *thread* that started the child ends: a
        # restart happens on the supervisor's thread, which lives until the demo stops it, just
        # before it stops the simulator itself.
        command = self.command if self.process is None else self.restart_command
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        if self.process is None and self.start_when is not None:
            if self.start_when():  # the first start, on the supervisor's long-lived thread
                self.start()
            return True  # not started yet is not "down"
        # gunicorn's master reaps every child (waitpid(-1)); poll() then reports 0, still "ended"
        return self.process is not None and self.process.poll() is None

    def why_down(self) -> str:
        code = self.process.returncode if self.process is not None else None
        return f"exited with status {code}; see {self.log_path}" if code is not None else ""

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # it drains what it can, and its disk buffer keeps the rest
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()


#: The demo's backfill: the replayed days carry one operating sample a minute and one burst per
#: sensor per 6 h of engine running (two per observation of the RUL models, which count 12
#: operating hours), the last two hours everything (telemetry.simulator).
BACKFILL_SIMULATOR_ARGS = ["--speedup", "inf", "--thin-history", "--thin-sample-every", "60",
                           "--thin-burst-every", "6h"]


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
    """``serve`` with the scheduler (``python -m app scheduler --wait``) and the fleet simulator
    (``telemetry.simulator``) as child processes, supervised.

    The scheduler runs the scheduled jobs (the web process runs none); its log goes to
    ``$IRONWATCH_VAR/scheduler.log``. ``--wait``: a scheduler started again after a crash waits
    for the dead one's lease to expire, and a scheduler already running on the same database (a
    second ``make run`` on another port) keeps the jobs while this one waits.

    However ``make run`` is stopped, nothing is left behind: Ctrl-C reaches all the processes;
    this process gets SIGTERM when its parent (make) dies, e.g. under ``timeout``, and stops the
    server as on Ctrl-C; the simulator is stopped when the server has stopped, and gets SIGTERM
    from the kernel should this process be killed outright. The simulator waits for the server
    to answer before it sends, and its log goes to ``$IRONWATCH_VAR/simulator.log``. Should it
    die, it is started again with back-off (``telemetry.supervisor``); a simulator of an earlier
    run still draining its gateway buffers is waited for (one owner per buffer folder).
    """
    from diagnostics.process_settings import die_with_parent
    from telemetry.supervisor import Supervisor

    die_with_parent(signal.SIGTERM)
    if _port_taken(host, port):  # before the simulator starts sending to whoever holds it
        return 1
    from .config import load_config

    log_path = Path(load_config()["IRONWATCH_VAR"]) / "simulator.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    mail_sink = _start_mail_sink(log_path.parent)
    history = _history_to_replay(history)
    backfill = history not in ("", "0")
    live = ["--speedup", f"{speedup:g}"]
    pace = ["--history", history, *BACKFILL_SIMULATOR_ARGS] if backfill else live
    command = [sys.executable, "-m", "telemetry.simulator", "--url", _base_url(host, port), "--exit-with-parent"]
    simulator = DemoSimulator(command + pace, log_path, restart_command=command + live)
    scheduler_log = log_path.parent / "scheduler.log"
    # Started once the web worker answers, so that its start-up is not slowed by the scheduler's.
    scheduler = DemoSimulator([sys.executable, "-m", "app", "scheduler", "--wait", "--exit-with-parent"], scheduler_log,
                              start_when=lambda: _answers(_base_url(host, port)))
    simulator.start()
    # Once the replay has arrived: trends and RUL history of the replayed days (app.backfill).
    backfiller = (subprocess.Popen([sys.executable, "-m", "app.backfill", "--history", history, "--exit-with-parent"])
                  if backfill else None)
    supervisor = Supervisor(check_interval_s=2.0, initial_backoff_s=2.0, max_backoff_s=60.0)
    supervisor.watch("demo simulator", simulator.alive, simulator.start, simulator.why_down)
    supervisor.watch("scheduler", scheduler.alive, scheduler.start, scheduler.why_down)
    supervisor.start()
    print(f"scheduler: the scheduled jobs run in their own process, log {scheduler_log}", flush=True)
    print(f"simulator: {'backfilling ' + history + ' of history, then live' if backfill else f'x{speedup:g}'}, "
          f"log {log_path}", flush=True)
    try:
        return serve(host, port)
    finally:
        for child in (mail_sink, backfiller):
            if child is not None:
                child.terminate()
        supervisor.stop()
        simulator.stop()
        scheduler.stop()


def _answers(base_url: str) -> bool:
    """True once the web worker answers HTTP at ``base_url`` (any status: it serves)."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(f"{base_url}/healthz", timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
    return True


def _start_mail_sink(var_dir: Path):
    """Unless SMTP is configured, a local sink (``app.mailsink``) so alarm e-mails land in
    ``<var>/mail``; the app reaches it through ``IRONWATCH_SMTP_HOST``/``_PORT``."""
    if os.environ.get("IRONWATCH_SMTP_HOST"):
        return None
    sink_port = int(os.environ.get("IRONWATCH_MAIL_SINK_PORT", "8025"))
    if not port_is_free("127.0.0.1", sink_port):
        print(f"mail sink: port {sink_port} is taken; set IRONWATCH_MAIL_SINK_PORT", flush=True)
        return None
    sink = subprocess.Popen([sys.executable, "-m", "app.mailsink", "--port", str(sink_port),
                             "--dir", str(var_dir / "mail"), "--exit-with-parent"])
    os.environ["IRONWATCH_SMTP_HOST"], os.environ["IRONWATCH_SMTP_PORT"] = "127.0.0.1", str(sink_port)
    print(f"mail sink: alarm e-mails go to {var_dir / 'mail'} (readable at /console/outbox)", flush=True)
    return sink


def broker_config(directory: Path | None, port: int, bind: str = "127.0.0.1"):
    from telemetry import influxd
    from telemetry.mqtt_broker import BrokerConfig

    return BrokerConfig(directory or influxd.var_dir() / "mosquitto", port, bind)


def mqtt_broker(directory: Path | None, bind: str, port: int, write_only: bool, refresh_s: float) -> int:
    """Write the broker files from the SQL device registry; unless ``write_only``, run Mosquitto
    on them and rewrite them every ``refresh_s`` (SIGHUP when the accounts changed)."""
    import time

    from fleet import db
    from fleet.devices import broker_accounts
    from telemetry.mqtt_broker import MosquittoProcess

    config = broker_config(directory, port, bind)
    sessions = db.session_factory(db.make_engine(db.database_url()))
    accounts = broker_accounts(sessions)
    config.write(accounts)
    print(f"broker config for {len(accounts)} devices in {config.directory}", flush=True)
    if write_only:
        return 0
    if _port_taken(bind, port):
        return 1
    broker = MosquittoProcess(config).start()
    print(f"Mosquitto on {bind}:{port} (log {config.directory / 'mosquitto.log'})", flush=True)

    def stop_on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        while broker.process.poll() is None:
            time.sleep(refresh_s)
            if config.write(broker_accounts(sessions)):
                broker.reload()
        return broker.process.returncode or 1
    except KeyboardInterrupt:
        return 0
    finally:
        broker.stop()


def mqtt_bridge(host: str, port: int, spool_dir: Path | None, username: str | None = None,
                password: str | None = None) -> int:
    """The MQTT bridge over the SQL device directory, with its own spool and writer.

    Its own spool because a spool has one writer process: the app drains ``var/spool``, the
    bridge this one.
    """
    import time

    from fleet import db
    from fleet.devices import SqlDeviceDirectory
    from fleet.fault_codes import SqlFaultCodeRegister
    from fleet.upload_ledger import SqlUploadLedger
    from telemetry import influxd
    from telemetry.influx import InfluxClient
    from telemetry.ingest import IngestService
    from telemetry.mqtt import KINDS, TOPIC_ROOT, MqttBridge
    from telemetry.spool import Spool
    from telemetry.writer import SpoolWriter

    from .runtime import max_spns_per_machine

    spool = Spool(spool_dir or influxd.var_dir() / "spool-mqtt")
    sessions = db.session_factory(db.make_engine(db.database_url()))
    # the web processes' ledger: an upload sent over MQTT and HTTP is one upload (a duplicate)
    service = IngestService(spool, SqlDeviceDirectory(sessions),
                            fault_codes=SqlFaultCodeRegister(sessions, max_spns_per_machine()),
                            ledger=SqlUploadLedger(sessions))
    influx = InfluxClient(influxd.ensure_running(), influxd.influx_database())
    from fleet.contact import ContactRecorder

    # MQTT devices' uploads count as contact too (the "not reporting" rule, fleet.contact)
    writer = SpoolWriter(spool, influx, on_stored=ContactRecorder(sessions).on_stored).start()
    if username is None:
        from telemetry.mqtt_broker import BRIDGE_USERNAME

        config = broker_config(None, port)
        if password is None and config.bridge_secret_path.exists():
            username, password = BRIDGE_USERNAME, config.bridge_password()
    bridge = MqttBridge(service, host, port, username=username, password=password).start()
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
    if args.command == "scheduler":
        from .scheduler import run

        return run(args.wait, args.start_delay, args.exit_with_parent)
    if args.command == "mqtt":
        return mqtt_bridge(args.host, args.port, args.spool, args.username, args.password)
    if args.command == "mqtt-broker":
        return mqtt_broker(args.dir, args.bind, args.port, args.write_only, args.refresh)
    return 2


if __name__ == "__main__":
    sys.exit(main())
