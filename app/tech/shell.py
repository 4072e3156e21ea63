"""The technicians' app shell as one versioned set: the files the service worker stores, each
with its SHA-256, and the version they make together.

A phone must never run a new ``job.js`` beside an old ``queue.js``: the service worker
(``static/tech/sw.js``) stores the whole set under a cache named after this version, checks every
file it fetches against the hash given here, and serves the set it was installed with until the
technician takes the new one ("A new version is ready - Reload"). The manifest is prepended to
``sw.js`` when it is served, so a deploy that changes any shell file (or the worker, or the
Workbox it imports) changes the worker's bytes and the browser installs the new set.

Hashes are recomputed only for files whose size or modification time changed, so the version
follows what is on disk without reading every file on each request.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

#: Files of the shell outside the app's own folder: the vendored libraries the job page runs
#: (paths under the Flask static folder).
VENDOR_SHELL = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "vendor/leaflet/topojson-client.min.js",
                "vendor/world-atlas/land-50m.json")
#: What the worker imports: not stored by it (the browser checks imported scripts itself), but
#: part of the version so that a changed worker never installs into the running one's cache.
WORKER_IMPORTS = ("vendor/workbox/workbox-sw.js", "vendor/workbox/workbox-core.prod.js",
                  "vendor/workbox/workbox-routing.prod.js", "vendor/workbox/workbox-strategies.prod.js",
                  "vendor/workbox/workbox-expiration.prod.js")
WORKER = "sw.js"


@dataclass(frozen=True)
class Shell:
    """One version of the shell: ``files`` maps each URL to the SHA-256 (hex) of its bytes."""

    version: str
    files: dict[str, str]

    def worker_prelude(self) -> str:
        """The lines prepended to ``sw.js``: this version and its files, as JavaScript."""
        return ("/* Prepended by the server (app/tech/shell.py): this version of the app shell, URL -> SHA-256. */\n"
                f"var SHELL_VERSION = {json.dumps(self.version)};\n"
                f"var SHELL_FILES = {json.dumps(self.files, indent=0)};\n")


class ShellManifest:
    """Computes :class:`Shell` for the app's folder (``tech_dir``, served as ``/static/tech/``)
    and the Flask static folder (``static_dir``, for the vendored files)."""

    def __init__(self, tech_dir: str | Path, static_dir: str | Path, static_url: str = "/static"):
        self.tech_dir = Path(tech_dir)
        self.static_dir = Path(static_dir)
        self.static_url = static_url.rstrip("/")
        self._hashes: dict[Path, tuple[tuple[int, int], str]] = {}
        self._lock = threading.Lock()

    def _digest(self, path: Path) -> str:
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        known = self._hashes.get(path)
        if known is not None and known[0] == key:
            return known[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self._hashes[path] = (key, digest)
        return digest

    def _tech_files(self) -> list[str]:
        """Every file of the app's own folder but the worker, as paths relative to it."""
        names = []
        for root, dirs, files in os.walk(self.tech_dir):
            dirs.sort()
            for name in sorted(files):
                relative = (Path(root) / name).relative_to(self.tech_dir).as_posix()
                if relative != WORKER and not name.startswith("."):
                    names.append(relative)
        return names

    def current(self) -> Shell:
        """The shell as the files on disk are now."""
        with self._lock:
            files = {f"{self.static_url}/tech/{name}": self._digest(self.tech_dir / name) for name in self._tech_files()}
            files.update({f"{self.static_url}/{name}": self._digest(self.static_dir / name) for name in VENDOR_SHELL})
            worker = [self._digest(self.tech_dir / WORKER)] + [self._digest(self.static_dir / name)
                                                               for name in WORKER_IMPORTS]
        summary = "\n".join([f"{url} {digest}" for url, digest in sorted(files.items())] + worker)
        return Shell(hashlib.sha256(summary.encode()).hexdigest()[:16], files)
