"""A small InfluxDB v1 HTTP client: line protocol to ``/write``, InfluxQL to ``/query``.

Works with InfluxDB 1.x natively and with 2.x/3.x through their v1 compatibility API. One
urllib3 connection pool per client keeps connections alive (urllib3 is the transport under
``requests``; used directly, a ``/write`` costs a fraction of the Python time, which matters
because the spool writer shares the node's CPUs with InfluxDB); every call has a timeout;
failures raise :class:`InfluxError` subclasses that say what failed and whether retrying can help.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

import urllib3

from telemetry.schema import quote_ident

DEFAULT_TIMEOUT_S = (3.05, 60.0)  # (connect, read)


class InfluxError(Exception):
    """InfluxDB refused or failed a request. ``retryable`` says whether the same call may succeed
    later (server down, overloaded, timed out) or never will (bad line protocol, bad query)."""

    retryable = False

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class InfluxUnavailable(InfluxError):
    """Could not reach InfluxDB, it timed out, or answered 5xx: retry later."""

    retryable = True


class InfluxWriteRejected(InfluxError):
    """InfluxDB refused the line protocol (4xx): the same body will be refused again."""


class InfluxQueryError(InfluxError):
    """An InfluxQL statement failed (syntax, unknown database, ...)."""


class InfluxClient:
    """Client of one database on one InfluxDB server.

    Parameters
    ----------
    url : base URL, e.g. ``http://127.0.0.1:8186``
    database : database name
    timeout : seconds, ``(connect, read)`` or one number
    username, password : for servers with auth enabled (sent as ``u``/``p`` parameters)
    """

    def __init__(
        self,
        url: str,
        database: str,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT_S,
        username: str | None = None,
        password: str | None = None,
    ):
        self.url = url.rstrip("/")
        self.database = database
        self.timeout = timeout
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        # maxsize: the writer's posts in flight plus queries from the app's threads
        self._pool = urllib3.PoolManager(num_pools=2, maxsize=8, retries=False,
                                         timeout=urllib3.Timeout(connect=connect, read=read))
        self._auth = {"u": username, "p": password} if username else {}

    def __repr__(self) -> str:
        return f"InfluxClient({self.url!r}, {self.database!r})"

    def close(self) -> None:
        self._pool.clear()

    def _request(self, method: str, path: str, params: dict, body: bytes | None = None,
                 headers: dict | None = None) -> "_Response":
        try:
            answer = self._pool.request(method, f"{self.url}{path}?{urlencode(params)}", body=body,
                                        headers=headers, preload_content=True)
        except urllib3.exceptions.TimeoutError as exc:
            raise InfluxUnavailable(f"InfluxDB at {self.url} timed out on {path}: {exc}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise InfluxUnavailable(f"InfluxDB at {self.url} is unreachable: {exc}") from exc
        response = _Response(answer.status, answer.data, answer.headers.get("X-Influxdb-Version", ""))
        if response.status >= 500:
            raise InfluxUnavailable(f"InfluxDB {path} answered {response.status}: {response.error_text()}",
                                    response.status)
        return response

    # ----------------------------------------------------------------- health

    def ping(self) -> str:
        """Check the server answers ``/ping``; returns its version. Raises InfluxUnavailable."""
        response = self._request("GET", "/ping", {})
        if response.status != 204:
            raise InfluxUnavailable(f"InfluxDB /ping answered {response.status}", response.status)
        return response.version or "unknown"

    # ----------------------------------------------------------------- write

    def write(self, lines: bytes | str, rp: str | None = None, precision: str = "ns") -> None:
        """POST line protocol to ``/write`` (into retention policy ``rp`` or the default one).

        Raises InfluxWriteRejected for 4xx (InfluxDB 1.x writes the valid lines of a partially bad
        body and refuses the rest) and InfluxUnavailable for transport errors and 5xx.
        """
        body = lines.encode() if isinstance(lines, str) else lines
        if not body:
            return
        params = {"db": self.database, "precision": precision, **self._auth}
        if rp:
            params["rp"] = rp
        response = self._request("POST", "/write", params, body)
        if response.status == 204:
            return
        raise InfluxWriteRejected(
            f"InfluxDB refused a write to {self.database}"
            f"{'.' + rp if rp else ''} ({response.status}): {response.error_text()}",
            response.status,
        )

    # ----------------------------------------------------------------- query

    def query(self, influxql: str, epoch: str = "ns", chunk_size: int = 10000) -> list[dict]:
        """Run InfluxQL statements; returns every series of every statement, in order.

        Each series is ``{"name", "tags", "columns", "values"}``; times are integers in ``epoch``
        units. Results are requested chunked, so servers with a ``max-row-limit`` still return
        every row; chunks of the same series are merged.
        Raises InfluxQueryError when any statement fails.
        """
        params = {"db": self.database, "epoch": epoch, "chunked": "true", "chunk_size": str(chunk_size), **self._auth}
        response = self._request("POST", "/query", params, urlencode({"q": influxql}).encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        if response.status >= 400:
            raise InfluxQueryError(
                f"InfluxQL failed ({response.status}): {response.error_text()} in: {influxql[:300]}",
                response.status,
            )
        return _merge_chunks(response.data.decode(), influxql)

    # ----------------------------------------------------------------- admin

    def create_database(self) -> None:
        self.query(f"CREATE DATABASE {quote_ident(self.database)}")

    def drop_database(self) -> None:
        self.query(f"DROP DATABASE {quote_ident(self.database)}")


def _merge_chunks(text: str, influxql: str) -> list[dict]:
    """Parse a chunked ``/query`` answer (one JSON document per line) into a flat series list."""
    series_out: list[dict] = []
    by_key: dict[tuple, dict] = {}
    # split on "\n" only: str.splitlines() also breaks at U+0085 and other separators, which
    # InfluxDB's JSON carries unescaped inside strings (a tag value with one, found by the
    # line-protocol property test)
    for raw_line in text.split("\n"):
        if not raw_line.strip():
            continue
        document = json.loads(raw_line)
        if "error" in document:
            raise InfluxQueryError(f"InfluxQL failed: {document['error']} in: {influxql[:300]}")
        for result in document.get("results", []):
            if "error" in result:
                raise InfluxQueryError(f"InfluxQL failed: {result['error']} in: {influxql[:300]}")
            statement = result.get("statement_id", 0)
            for series in result.get("series", []):
                key = (statement, series.get("name"), json.dumps(series.get("tags") or {}, sort_keys=True))
                if key in by_key:
                    by_key[key]["values"].extend(series.get("values", []))
                    continue
                merged = {
                    "name": series.get("name"),
                    "tags": series.get("tags") or {},
                    "columns": series.get("columns", []),
                    "values": list(series.get("values", [])),
                }
                by_key[key] = merged
                series_out.append(merged)
    return series_out


@dataclass(frozen=True)
class _Response:
    status: int
    data: bytes
    version: str

    def error_text(self) -> str:
        """InfluxDB's ``{"error": ...}`` message, else the start of the body."""
        text = self.data.decode(errors="replace")
        try:
            return str(json.loads(text).get("error", text))[:500]
        except (ValueError, AttributeError):
            return text[:500] or f"HTTP {self.status}"
