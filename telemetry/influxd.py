"""Ironwatch's private InfluxDB: find or install ``influxd``, configure, start, stop, prepare.

``python -m telemetry.influxd start|stop|status [--dir D --http-port P --rpc-port R]``

The shared instance lives in ``<IRONWATCH_VAR>/influxdb`` (config, data, meta, wal, pid file,
log) with HTTP on 127.0.0.1:8186 and the meta/RPC service on 127.0.0.1:8188, so it never collides
with a system InfluxDB on 8086/8088. :class:`InfluxdInstance` with another directory and ports
gives a throwaway server (tests stop and restart one of those, never the shared one).

When ``IRONWATCH_INFLUX_URL`` points somewhere other than our private server, nothing is started:
the URL is only checked with ``/ping``.
"""
from __future__ import annotations

import argparse
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from telemetry.influx import InfluxClient, InfluxError
from telemetry.schema import (
    DEFAULT_DATABASE,
    continuous_queries,
    quote_ident,
    retention_policies,
)

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HTTP_PORT = 8186
DEFAULT_RPC_PORT = 8188
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0

INSTALL_HELP = (
    "InfluxDB 1.x is needed. Install it (Debian/Ubuntu: `sudo apt-get install influxdb`; other systems: "
    "https://docs.influxdata.com/influxdb/v1/introduction/install/) and run "
    "`python -m telemetry.influxd start` again, or point IRONWATCH_INFLUX_URL at an existing "
    "InfluxDB (1.x, or 2.x/3.x with the v1 API) and IRONWATCH_INFLUX_DB at its database."
)


class InfluxdError(RuntimeError):
    """The private influxd could not be installed, started or stopped (message says why/how)."""


def var_dir() -> Path:
    return Path(os.environ.get("IRONWATCH_VAR") or REPO_ROOT / "var")


def private_http_port() -> int:
    """HTTP port of our private influxd: ``IRONWATCH_INFLUX_PORT`` (its RPC port is two above), so
    two checkouts on one machine can each run their own."""
    return int(os.environ.get("IRONWATCH_INFLUX_PORT") or DEFAULT_HTTP_PORT)


def influx_url() -> str:
    return os.environ.get("IRONWATCH_INFLUX_URL") or f"http://127.0.0.1:{private_http_port()}"


def influx_database() -> str:
    return os.environ.get("IRONWATCH_INFLUX_DB") or DEFAULT_DATABASE


@dataclass(frozen=True)
class InfluxdInstance:
    """One private influxd: its directory and loopback ports."""

    directory: Path
    http_port: int = DEFAULT_HTTP_PORT
    rpc_port: int = DEFAULT_RPC_PORT

    @classmethod
    def shared(cls) -> "InfluxdInstance":
        http_port = private_http_port()
        return cls(var_dir() / "influxdb", http_port, http_port + DEFAULT_RPC_PORT - DEFAULT_HTTP_PORT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def config_path(self) -> Path:
        return self.directory / "influxdb.conf"

    @property
    def pid_path(self) -> Path:
        return self.directory / "influxd.pid"

    @property
    def log_path(self) -> Path:
        return self.directory / "influxd.log"

    def config_text(self) -> str:
        """The influxd config: everything under ``directory``, loopback only, nothing but HTTP."""
        d = self.directory
        return f"""# Written by `python -m telemetry.influxd`; edits are overwritten on start.
reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"

[meta]
  dir = "{d / 'meta'}"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "{d / 'data'}"
  wal-dir = "{d / 'wal'}"
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false
  cache-max-memory-size = "512m"
  max-series-per-database = 1000000
  max-values-per-tag = 100000

[coordinator]
  write-timeout = "30s"

[retention]
  enabled = true
  check-interval = "30m"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{self.http_port}"
  auth-enabled = false
  log-enabled = false
  write-tracing = false
  pprof-enabled = false
  https-enabled = false
  max-row-limit = 0
  max-body-size = 0

[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  enabled = true
  log-enabled = false
  run-interval = "1s"

[[graphite]]
  enabled = false
[[collectd]]
  enabled = false
[[opentsdb]]
  enabled = false
[[udp]]
  enabled = false
"""


# --------------------------------------------------------------------------- finding / installing


def find_influxd() -> str | None:
    """Path of the ``influxd`` binary, or None."""
    for candidate in (shutil.which("influxd"), "/usr/bin/influxd", "/usr/local/bin/influxd"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _is_debian() -> bool:
    return Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None


def install_influxd() -> str:
    """Install Debian's ``influxdb`` package when on Debian as root; else raise with instructions.

    The package may start its own service on 8086; ours runs with its own config and ports and does
    not use it.
    """
    if not _is_debian() or os.geteuid() != 0:
        raise InfluxdError("influxd was not found. " + INSTALL_HELP)
    print("influxd not found: installing Debian's influxdb package (apt-get) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "influxdb"]):
        result = subprocess.run(command, env=env)
        if result.returncode != 0:
            raise InfluxdError(f"`{' '.join(command)}` failed ({result.returncode}). " + INSTALL_HELP)
    binary = find_influxd()
    if binary is None:
        raise InfluxdError("apt-get installed influxdb but no influxd binary was found. " + INSTALL_HELP)
    return binary


# --------------------------------------------------------------------------- process control


def _read_pid(instance: InfluxdInstance) -> int | None:
    try:
        pid = int(instance.pid_path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as dead
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return True


def _pings(url: str) -> bool:
    try:
        InfluxClient(url, "_", timeout=(1.0, 2.0)).ping()
        return True
    except InfluxError:
        return False


@contextmanager
def _locked(instance: InfluxdInstance):
    """Serialise start/stop across processes (several test sessions may start at once)."""
    instance.directory.mkdir(parents=True, exist_ok=True)
    with open(instance.directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def status(instance: InfluxdInstance) -> dict:
    """``{"running": bool, "pid": int|None, "url": str, "answers_ping": bool}``."""
    pid = _read_pid(instance)
    return {"running": pid is not None, "pid": pid, "url": instance.url, "answers_ping": _pings(instance.url)}


def start(instance: InfluxdInstance, timeout_s: float = START_TIMEOUT_S) -> str:
    """Start influxd detached unless already running; wait for ``/ping``; return the URL."""
    with _locked(instance):
        pid = _read_pid(instance)
        if pid is not None and _pings(instance.url):
            return instance.url
        if pid is None and _pings(instance.url):
            # an InfluxDB we did not start answers on our port (typically the private server of
            # another checkout on this machine): use it rather than fail; `stop` leaves it alone
            logger.warning("an InfluxDB not started from %s already answers on %s; using it",
                        instance.directory, instance.url)
            return instance.url
        binary = find_influxd() or install_influxd()
        for sub in ("data", "meta", "wal"):
            (instance.directory / sub).mkdir(parents=True, exist_ok=True)
        instance.config_path.write_text(instance.config_text())
        if pid is None:
            with open(instance.log_path, "ab") as log:
                process = subprocess.Popen(
                    [binary, "-config", str(instance.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,  # detached: survives the caller, not in its signal group
                    close_fds=True,
                )
            instance.pid_path.write_text(f"{process.pid}\n")
            pid = process.pid
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _pings(instance.url):
                return instance.url
            if not _alive(pid):
                raise InfluxdError(f"influxd exited during start-up; last log lines:\n{_log_tail(instance)}")
            time.sleep(0.1)
        raise InfluxdError(f"influxd did not answer /ping within {timeout_s:.0f} s; log:\n{_log_tail(instance)}")


def stop(instance: InfluxdInstance, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """SIGTERM our influxd and wait for it to exit (SIGKILL after ``timeout_s``).

    Returns True if a server was stopped, False if none was running.
    """
    with _locked(instance):
        pid = _read_pid(instance)
        if pid is None:
            instance.pid_path.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                _reap(pid)
                time.sleep(0.05)
        _reap(pid)
        instance.pid_path.unlink(missing_ok=True)
        return True


def _reap(pid: int) -> None:
    # when this process started influxd (tests), collect the exit status so it is not a zombie
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _log_tail(instance: InfluxdInstance, lines: int = 20) -> str:
    try:
        return "\n".join(instance.log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- contract API


def ensure_running() -> str:
    """Make sure an InfluxDB answers at ``IRONWATCH_INFLUX_URL``; return that URL.

    With the default URL our private server is started if needed (idempotent). With any other
    URL nothing is started: it is only pinged, and an unreachable server is an error.
    """
    url = influx_url()
    shared = InfluxdInstance.shared()
    if url.rstrip("/") != shared.url:
        if not _pings(url):
            raise InfluxdError(f"IRONWATCH_INFLUX_URL={url} does not answer /ping. " + INSTALL_HELP)
        return url
    return start(shared)


def prepare_database(client: InfluxClient, raw_days: int | None = None) -> None:
    """Create the database, its retention policies and continuous queries (idempotent).

    An existing retention policy whose duration differs (``IRONWATCH_RAW_RETENTION_DAYS`` changed)
    is altered to the configured one.
    """
    db = quote_ident(client.database)
    client.create_database()
    existing = {}
    for series in client.query(f"SHOW RETENTION POLICIES ON {db}"):
        columns = series["columns"]
        for row in series["values"]:
            record = dict(zip(columns, row))
            existing[record["name"]] = record
    for policy in retention_policies(raw_days):
        default = " DEFAULT" if policy.default else ""
        name = quote_ident(policy.name)
        if policy.name not in existing:
            client.query(
                f"CREATE RETENTION POLICY {name} ON {db} DURATION {policy.duration} REPLICATION 1 "
                f"SHARD DURATION {policy.shard_duration}{default}"
            )
        elif _duration_differs(existing[policy.name].get("duration", ""), policy.duration) or (
            policy.default and not existing[policy.name].get("default")
        ):
            client.query(f"ALTER RETENTION POLICY {name} ON {db} DURATION {policy.duration}{default}")
    present = set()
    for series in client.query("SHOW CONTINUOUS QUERIES"):
        if series["name"] == client.database:
            present.update(row[0] for row in series["values"])
    for cq in continuous_queries(client.database):
        if cq.name not in present:
            client.query(cq.statement)


def _duration_differs(shown: str, wanted: str) -> bool:
    """Compare InfluxDB's ``SHOW`` duration (``720h0m0s``, ``0s`` for INF) to ``30d``/``INF``."""
    if wanted == "INF":
        return shown not in ("0s", "0", "")
    days = int(wanted.rstrip("d"))
    return shown != f"{days * 24}h0m0s"


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m telemetry.influxd", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--dir", type=Path, help="instance directory (default <IRONWATCH_VAR>/influxdb)")
    parser.add_argument("--http-port", type=int, help="default IRONWATCH_INFLUX_PORT or 8186")
    parser.add_argument("--rpc-port", type=int, help="default two above the HTTP port")
    args = parser.parse_args(argv)
    shared = InfluxdInstance.shared()
    http_port = args.http_port or shared.http_port
    rpc_port = args.rpc_port or http_port + (shared.rpc_port - shared.http_port)
    instance = InfluxdInstance(args.dir or shared.directory, http_port, rpc_port)
    external = args.dir is None and influx_url().rstrip("/") != instance.url
    try:
        if args.command == "start":
            if external:
                url = ensure_running()
                print(f"using the existing InfluxDB at {url} (IRONWATCH_INFLUX_URL); nothing started")
            else:
                was_running = _read_pid(instance) is not None
                url = start(instance)
                print(f"influxd {'already running' if was_running else 'started'} at {url} (dir {instance.directory})")
            client = InfluxClient(url, influx_database())
            prepare_database(client)
            print(f"database {client.database!r} ready (retention policies and continuous queries)")
        elif args.command == "stop":
            if external:
                print(f"IRONWATCH_INFLUX_URL points at {influx_url()}, which this command does not manage")
                return 0
            print("influxd stopped" if stop(instance) else "influxd was not running")
        else:
            state = status(instance)
            target = influx_url() if external else instance.url
            print(
                f"influxd: {'running, pid ' + str(state['pid']) if state['running'] else 'not running'}; "
                f"{target} {'answers' if _pings(target) else 'does not answer'} /ping"
            )
            return 0 if _pings(target) else 3
    except InfluxdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
