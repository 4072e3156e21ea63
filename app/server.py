"""The HTTP server: gunicorn, one worker process with a pool of threads.

Why gunicorn's ``gthread`` worker rather than Werkzeug's development server:

* HTTP/1.1 keep-alive. A gateway sends its uploads over one connection; Werkzeug closes the
  connection after every response, so each upload paid a TCP handshake and a new thread, and
  the ingest API cost 1.85 CPU-s per million bench points instead of 1.34 (``python -m app.ingest_bench``).
* A fixed pool of threads, and WebSocket for Socket.IO in threading mode (simple-websocket
  supports gunicorn's socket; a WebSocket client holds one thread while connected).
* One worker process, because Socket.IO sessions live in the process and gunicorn's balancer
  has no sticky sessions; more capacity means more single-worker servers behind a sticky
  balancer with a message queue (the scale-out issue).

The worker, not the master, builds the app (no preload): the background services (spool
writer, diagnosis worker, live relay) start in the process that serves; the scheduled jobs run in
the scheduler process (``python -m app scheduler``). The worker dies with its
master (``PR_SET_PDEATHSIG``), so killing ``python -m app serve`` never leaves an orphan that
holds the spool.
"""
from __future__ import annotations

import json
import logging
import select
import signal
from typing import Callable

from gunicorn.app.base import BaseApplication
from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import ThreadWorker

from diagnostics.process_settings import die_with_parent, keep_large_buffers

log = logging.getLogger(__name__)

# How long a request thread waits for the next request on a kept-alive connection before handing
# the connection back to the poller (see IronwatchThreadWorker.handle).
FOLLOW_UP_S = 0.002


class SingleWorkerServer(BaseApplication):
    """gunicorn, configured in code, serving the WSGI app ``load_app()`` builds in the worker.

    Parameters
    ----------
    load_app : builds the WSGI app (called once, in the worker process)
    host, port : where to listen
    threads : requests (and WebSocket connections) served at once
    keepalive_s : how long an idle keep-alive connection is kept (a gateway's next upload is
        typically within a minute)
    access_log : one line per request on stderr
    log_level : of gunicorn's own messages (start, worker boot, shutdown) on stderr
    on_ready : called in the master once the socket is bound (e.g. to print the URL)
    on_worker_exit : called in the worker when it stops (e.g. to stop background services)
    """

    def __init__(self, load_app: Callable, host: str, port: int, threads: int = 100, keepalive_s: int = 75,
                 access_log: bool = False, log_level: str = "info", on_ready: Callable[[], None] | None = None,
                 on_worker_exit: Callable[[], None] | None = None):
        self._load_app = load_app
        self._options = {
            "bind": [f"{host}:{port}"],
            "workers": 1,
            "worker_class": IronwatchThreadWorker,
            "threads": threads,
            "keepalive": keepalive_s,
            "timeout": 120,  # the worker's heartbeat; requests themselves run in threads
            "graceful_timeout": 20,
            "accesslog": "-" if access_log else None,
            "errorlog": "-",
            "loglevel": log_level,
            "proc_name": "ironwatch",
            "control_socket_disable": True,  # several instances (tests, benches) on one host
            "post_fork": _worker_process_settings,
            "post_worker_init": _leave_ctrl_c_to_master,
            "when_ready": lambda _arbiter: on_ready() if on_ready else None,
            "worker_exit": lambda _arbiter, _worker: on_worker_exit() if on_worker_exit else None,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._load_app()


class IronwatchThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, changed in two ways.

    *Follow-up requests stay on their thread.* gthread hands a kept-alive connection back to its
    poller after every response, and the next request travels poller -> pool thread -> poller
    again: two thread hand-offs, a pipe wake-up and four socket-mode and epoll calls, about 80 µs
    of CPU per request. A gateway sends its uploads back to back (a minute's batch, then the
    bursts, then what it buffered through a coverage gap), so the thread that answered one
    request waits up to ``FOLLOW_UP_S`` for the next on the same connection and serves it
    directly. A connection that stays quiet goes back to the poller as before, so an idle gateway
    holds no thread. The window is short, so it pays where requests arrive back to back: a
    reverse proxy's upstream connections (many gateways' uploads on few connections), gateways
    on a site network, the ingest benchmark; a gateway on a cellular link, with its 50-100 ms
    round trip, takes the poller path as before.

    *No thread-pool shutdown in the SIGQUIT handler.* That shutdown takes the pool's lock, which
    the main loop holds while it hands a request to the pool; a SIGQUIT (Ctrl-C, quick shutdown)
    landing there blocked the worker until the master killed it. Exiting is all a quick shutdown
    needs: the interpreter lets the pool's threads finish their requests on the way out.
    """

    def handle(self, conn):
        keep_alive = super().handle(conn)
        while keep_alive is True and self.alive and self._next_request_arrives(conn):
            keep_alive = super().handle(conn)
        return keep_alive

    @staticmethod
    def _next_request_arrives(conn) -> bool:
        if conn.parser.unreader.buf.getvalue():  # already read ahead with the previous body
            return True
        waiting = select.poll()
        waiting.register(conn.sock, select.POLLIN)
        return bool(waiting.poll(FOLLOW_UP_S * 1000))

    def handle_quit(self, sig, frame):
        Worker.handle_quit(self, sig, frame)

    def handle_error(self, req, client, addr, exc):
        """gunicorn's own refusals (a request line past 4094 bytes, too many headers, a malformed
        request) answer JSON like every other error of the API, not gunicorn's HTML page.

        gunicorn decides the status and logs; its page is caught on the way out and the same
        status is sent with a JSON body instead.
        """
        page = _CapturedError()
        super().handle_error(req, page, addr, exc)
        try:
            client.sendall(page.as_json())
        except OSError:
            log.debug("could not send the refusal of a malformed request")


class _CapturedError:
    """Stands in for the client socket while gunicorn writes its HTML error page."""

    def __init__(self):
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0  # gunicorn then writes without touching the blocking mode

    def sendall(self, data: bytes) -> None:
        self.data += data

    def as_json(self) -> bytes:
        status_line = self.data.split(b"\r\n", 1)[0].decode("latin1")  # "HTTP/1.1 414 URI Too Long"
        _, code, reason = (status_line.split(" ", 2) + ["", ""])[:3]
        code = code if code.isdigit() else "400"
        reason = reason or "Bad Request"
        body = json.dumps({"error": reason.lower().replace(" ", "_"),
                           "message": f"The request was refused before it reached the application: {reason}."}).encode()
        return (f"HTTP/1.1 {code} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("latin1") + body


def _leave_ctrl_c_to_master(_worker) -> None:
    """gunicorn ``post_worker_init`` hook: the worker ignores SIGINT.

    Ctrl-C reaches the master and the worker (one process group); the master then sends the
    worker SIGQUIT. gthread's quit handler shuts its thread pool down under a lock, and a second
    signal arriving inside the first handler blocks on that lock for good (the master then kills
    the worker after the graceful timeout, and the background services never stop cleanly). With
    SIGINT ignored, the master's SIGQUIT alone stops the worker.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_process_settings(_arbiter, _worker) -> None:
    """gunicorn ``post_fork`` hook (in the worker): die with the master, keep large buffers."""
    die_with_parent(signal.SIGKILL)
    keep_large_buffers()
