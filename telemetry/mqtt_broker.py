"""The Mosquitto configuration Ironwatch writes: who may connect and what each may publish or read.

Each gateway connects with its own credential from the device registry: MQTT username = the
token's ``<device_id>``, password = the token's ``<secret>`` (the two halves of the HTTP bearer
token, so one credential serves both transports). The ACL lets a device

* publish only to ``ironwatch/<its machine>/operating|bursts|faults``,
* read only ``ironwatch/<its machine>/ack``;

and only the bridge account (``ironwatch-bridge``) may read every machine's uploads and write
acks, so no device can read another's data or forge an ack. Anonymous clients are refused.

Mosquitto's password file keeps ``$7$`` hashes (PBKDF2-HMAC-SHA512, 12-byte salt, as
``mosquitto_passwd`` writes them); :func:`password_hash` makes the same string in Python, so the
registry can store it when a token is issued and the file can be rewritten at any time from SQL
without the secrets, and without the ``mosquitto_passwd`` tool being installed. After a rewrite,
SIGHUP makes Mosquitto re-read both files (:meth:`MosquittoProcess.reload`).
"""
from __future__ import annotations

import base64
import getpass
import hashlib
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from telemetry.files import replace_atomically
from telemetry.mqtt import KINDS, TOPIC_ROOT, ack_topic, upload_topic

log = logging.getLogger(__name__)

BRIDGE_USERNAME = "ironwatch-bridge"
PBKDF2_ITERATIONS = 101  # mosquitto_passwd's own choice; the secrets are 256-bit random anyway
#: Characters a machine uid may have to appear in a topic ACL (no MQTT wildcards, no separators).
_TOPIC_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class BrokerAccount:
    """A device allowed on the broker: its username, password hash and the machine it writes for."""

    username: str
    password_hash: str
    machine: str


def password_hash(password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """The Mosquitto password-file hash of ``password``: ``$7$<iterations>$<salt b64>$<hash b64>``."""
    salt = secrets.token_bytes(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_file(accounts: Iterable[BrokerAccount], bridge_hash: str) -> str:
    """The password file: the bridge first, then one line per device."""
    lines = [f"{BRIDGE_USERNAME}:{bridge_hash}"]
    lines += [f"{a.username}:{a.password_hash}" for a in usable(accounts)]
    return "\n".join(lines) + "\n"


def acl_file(accounts: Iterable[BrokerAccount]) -> str:
    """The ACL file (Mosquitto's ``user`` / ``topic read|write`` blocks)."""
    blocks = [f"user {BRIDGE_USERNAME}\n"
              + "".join(f"topic read {TOPIC_ROOT}/+/{kind}\n" for kind in KINDS)
              + f"topic write {TOPIC_ROOT}/+/ack\n"]
    for account in usable(accounts):
        blocks.append(f"user {account.username}\n"
                      + "".join(f"topic write {upload_topic(account.machine, kind)}\n" for kind in KINDS)
                      + f"topic read {ack_topic(account.machine)}\n")
    return "\n".join(blocks)


def usable(accounts: Iterable[BrokerAccount]) -> list[BrokerAccount]:
    """Accounts whose username and machine uid are safe in these files (no wildcard, separator or
    white space that would widen an ACL line); others are left out and logged."""
    kept = []
    for account in sorted(accounts, key=lambda a: a.username):
        if (_TOPIC_SAFE.fullmatch(account.username) and _TOPIC_SAFE.fullmatch(account.machine)
                and account.username != BRIDGE_USERNAME and account.password_hash.startswith("$7$")):
            kept.append(account)
        else:
            log.warning("broker account %r for machine %r left out: unsafe name or no broker hash",
                        account.username, account.machine)
    return kept


@dataclass(frozen=True)
class BrokerConfig:
    """Where the generated broker files live (``<IRONWATCH_VAR>/mosquitto``) and how it listens."""

    directory: Path
    port: int = 1883
    bind: str = "127.0.0.1"

    @property
    def conf_path(self) -> Path:
        return self.directory / "mosquitto.conf"

    @property
    def password_path(self) -> Path:
        return self.directory / "passwords"

    @property
    def acl_path(self) -> Path:
        return self.directory / "acl"

    @property
    def bridge_secret_path(self) -> Path:
        return self.directory / "bridge.secret"

    def conf_text(self) -> str:
        d = self.directory
        return f"""# Written by Ironwatch (telemetry/mqtt_broker.py); edits are overwritten.
per_listener_settings false
allow_anonymous false
password_file {self.password_path}
acl_file {self.acl_path}
listener {self.port} {self.bind}
persistence true
persistence_location {d / 'data'}/
log_dest file {d / 'mosquitto.log'}
log_type error
log_type warning
log_type notice
connection_messages true
message_size_limit 0
max_inflight_messages 100
user {getpass.getuser()}
"""

    def bridge_password(self) -> str:
        """The bridge's own password, created once (owner-only file) and kept across restarts."""
        path = self.bridge_secret_path
        if path.exists():
            return path.read_text().strip()
        replace_atomically(path, secrets.token_urlsafe(32), mode=0o600)
        return path.read_text().strip()

    def write(self, accounts: Iterable[BrokerAccount]) -> bool:
        """Write the config, password and ACL files; True when the password or ACL file changed
        (the broker must then be told to reload)."""
        accounts = list(accounts)
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        if not self.conf_path.exists() or self.conf_path.read_text() != self.conf_text():
            replace_atomically(self.conf_path, self.conf_text(), mode=0o600)
        changed = False
        acl = acl_file(accounts)
        if not self.acl_path.exists() or self.acl_path.read_text() != acl:
            replace_atomically(self.acl_path, acl, mode=0o600)
            changed = True
        if changed or not self.password_path.exists() or self._password_users() != _users(accounts):
            # Salts are random, so the file differs on every write: only write when the set changed.
            bridge = password_hash(self.bridge_password())
            replace_atomically(self.password_path, password_file(accounts, bridge), mode=0o600)
            changed = True
        return changed

    def _password_users(self) -> list[str]:
        return [line.split(":", 1)[0] for line in self.password_path.read_text().splitlines() if line]

    def __post_init__(self):
        object.__setattr__(self, "directory", Path(self.directory))


def _users(accounts: list[BrokerAccount]) -> list[str]:
    return [BRIDGE_USERNAME] + [a.username for a in usable(accounts)]


def find_mosquitto() -> str | None:
    """Path of the ``mosquitto`` broker binary (Debian puts it in /usr/sbin), or None."""
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class MosquittoProcess:
    """A Mosquitto broker run on :class:`BrokerConfig`'s files (``python -m app mqtt-broker``, tests)."""

    def __init__(self, config: BrokerConfig, binary: str | None = None):
        self.config = config
        self.binary = binary or find_mosquitto()
        if self.binary is None:
            raise FileNotFoundError("mosquitto is not installed (Debian: apt-get install mosquitto)")
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 10.0) -> "MosquittoProcess":
        self.process = subprocess.Popen([self.binary, "-c", str(self.config.conf_path)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}; see "
                                   f"{self.config.directory / 'mosquitto.log'}")
            try:
                with socket.create_connection((self.config.bind, self.config.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.config.port} within {timeout_s} s")

    def reload(self) -> None:
        """Make the broker re-read the password and ACL files."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
