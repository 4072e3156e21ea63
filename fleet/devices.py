"""Device credentials in SQL: issue, authenticate, rotate and revoke gateway tokens.

A token is ``"<device_id>.<secret>"``; the secret is 32 random bytes (URL-safe base64) and only
its SHA-256 is stored, so a stolen database does not hand out working tokens. Authentication
compares digests in constant time. Look-ups are cached for ``ttl_s`` seconds (default 5 s) so the
ingest path does not hit SQL for every upload, yet a revocation made by another process bites
within that time (and at once in this process). The cache holds at most ``max_entries`` device
ids, least recently used out first: junk tokens with made-up device ids cannot grow it.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from telemetry.devices import DeviceIdentity, SensorSpec, hash_secret, new_token, split_token
from telemetry.mqtt_broker import BrokerAccount, password_hash

from .db import transaction
from .models import DeviceCredential, Machine, Sensor, utcnow

DEVICE_ID_PREFIX = "dev_"
MAX_TOKEN_LENGTH = 256  # longer "tokens" are refused before any hashing or SQL


def _parse(token: object) -> tuple[str, str] | None:
    """``(device_id, secret)`` of a plausible token, else None (wrong type, too long, malformed)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    return split_token(token)


def issue_credential_in(session: Session, machine: Machine, label: str = "gateway") -> str:
    """Add a credential for ``machine`` inside an open session; returns the token (shown once)."""
    device_id = DEVICE_ID_PREFIX + secrets.token_hex(8)  # hex: never contains the '.' separator
    token, digest = new_token(device_id)
    # The broker's hash of the same secret, made now: the secret is never stored, and the broker's
    # password file is rewritten from these rows (broker_accounts).
    session.add(DeviceCredential(machine=machine, device_id=device_id, secret_sha256=digest, label=label,
                                 mqtt_password_hash=password_hash(split_token(token)[1])))
    return token


def add_broker_hash_in(session: Session, token: str) -> None:
    """Give a valid token's credential its broker hash when it has none (issued before 0006)."""
    parts = _parse(token)
    credential = parts and session.scalar(select(DeviceCredential).where(DeviceCredential.device_id == parts[0]))
    if credential and credential.mqtt_password_hash is None:
        credential.mqtt_password_hash = password_hash(parts[1])


def broker_accounts(session_factory: sessionmaker) -> list[BrokerAccount]:
    """Every active credential that has a broker hash, as an MQTT account for its machine.

    Credentials issued before broker hashes existed have none: rotate them to use MQTT.
    """
    with session_factory() as session:
        rows = session.execute(select(DeviceCredential.device_id, DeviceCredential.mqtt_password_hash, Machine.uid)
                               .join(Machine, DeviceCredential.machine_id == Machine.id)
                               .where(DeviceCredential.revoked_at.is_(None),
                                      DeviceCredential.mqtt_password_hash.is_not(None))).all()
    return [BrokerAccount(device_id, hash_, uid) for device_id, hash_, uid in rows]


def token_is_valid_in(session: Session, machine: Machine, token: str) -> bool:
    """True when ``token`` is an active credential of ``machine`` (used by the seed to keep tokens)."""
    parts = _parse(token)
    if parts is None:
        return False
    credential = session.scalar(select(DeviceCredential).where(DeviceCredential.device_id == parts[0]))
    return (credential is not None and credential.machine_id == machine.id and credential.revoked_at is None
            and hmac.compare_digest(credential.secret_sha256, hash_secret(parts[1])))


class UnknownMachine(LookupError):
    """No machine with that uid."""


@dataclass
class _CacheEntry:
    secret_sha256: str | None  # None: unknown or revoked device id
    identity: object | None
    expires: float


class SqlDeviceDirectory:
    """``telemetry.devices.DeviceDirectory`` backed by the ``device_credential`` table.

    Parameters
    ----------
    session_factory : sessionmaker
        Where credentials, machines and sensors are read.
    ttl_s : float
        How long (seconds) a look-up result is reused; bounds how late a revocation made
        elsewhere takes effect.
    clock : callable
        Monotonic seconds; injectable for tests of the cache.
    max_entries : int
        Most device ids cached (known and unknown); beyond it the least recently used go.
        The default covers a fleet of 10,000 gateways at a few hundred bytes each.
    """

    def __init__(self, session_factory: sessionmaker, ttl_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000):
        self._sessions = session_factory
        self._ttl_s = float(ttl_s)
        self._clock = clock
        self.max_entries = max_entries
        self._cache: OrderedDict[str, _CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    # -- authentication ----------------------------------------------------------------------

    def authenticate(self, token: str):
        """The ``DeviceIdentity`` for a valid, unrevoked token, else None."""
        parts = _parse(token)
        if parts is None:
            return None
        device_id, secret = parts
        entry = self._cached(device_id)
        if entry is None:
            entry = self._load(device_id)
        if entry.secret_sha256 is None:
            return None
        if not hmac.compare_digest(entry.secret_sha256, hash_secret(secret)):
            return None
        return entry.identity

    def _cached(self, device_id: str) -> _CacheEntry | None:
        with self._lock:
            entry = self._cache.get(device_id)
            if entry is None:
                return None
            if entry.expires <= self._clock():
                del self._cache[device_id]
                return None
            self._cache.move_to_end(device_id)
            return entry

    def _load(self, device_id: str) -> _CacheEntry:
        with self._sessions() as session:
            credential = session.scalar(
                select(DeviceCredential).where(DeviceCredential.device_id == device_id)
                .options(selectinload(DeviceCredential.machine).selectinload(Machine.sensors)
                         .selectinload(Sensor.component)))
            if credential is None or credential.revoked_at is not None:
                entry = _CacheEntry(None, None, self._clock() + self._ttl_s)
            else:
                entry = _CacheEntry(credential.secret_sha256, _identity(credential), self._clock() + self._ttl_s)
        with self._lock:
            self._cache[device_id] = entry
            self._cache.move_to_end(device_id)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return entry

    @property
    def cached(self) -> int:
        """How many device ids the cache holds now."""
        return len(self._cache)

    def machine_identity(self, machine_uid: str) -> DeviceIdentity | None:
        """The identity of ``machine_uid``'s newest active credential, for a transport that
        authenticated the device itself (the MQTT broker, whose ACL ties a device to its
        machine's topics); None when the machine has no active credential."""
        key = "machine:" + machine_uid
        entry = self._cached(key)
        if entry is None:
            with self._sessions() as session:
                credential = session.scalar(
                    select(DeviceCredential).join(Machine, DeviceCredential.machine_id == Machine.id)
                    .where(Machine.uid == machine_uid, DeviceCredential.revoked_at.is_(None))
                    .order_by(DeviceCredential.created_at.desc(), DeviceCredential.id.desc()).limit(1)
                    .options(selectinload(DeviceCredential.machine).selectinload(Machine.sensors)
                             .selectinload(Sensor.component)))
                identity = _identity(credential) if credential is not None else None
            entry = _CacheEntry(None, identity, self._clock() + self._ttl_s)
            with self._lock:
                self._cache[key] = entry
        return entry.identity

    def invalidate(self, device_id: str | None = None) -> None:
        """Forget cached look-ups (one device id, or all)."""
        with self._lock:
            if device_id is None:
                self._cache.clear()
            else:
                self._cache.pop(device_id, None)

    # -- administration ----------------------------------------------------------------------

    def issue_credential(self, machine_uid: str, label: str = "gateway") -> str:
        """Create a credential for the machine; returns the token (it is not stored anywhere)."""
        with transaction(self._sessions) as session:
            machine = self._machine(session, machine_uid)
            return issue_credential_in(session, machine, label)

    def revoke(self, device_id_or_token: str) -> bool:
        """Revoke one credential (by device id or full token); True if it was active."""
        parts = _parse(device_id_or_token)
        device_id = parts[0] if parts else device_id_or_token
        with transaction(self._sessions) as session:
            credential = session.scalar(select(DeviceCredential).where(DeviceCredential.device_id == device_id))
            changed = credential is not None and credential.revoked_at is None
            if changed:
                credential.revoked_at = utcnow()
                self.invalidate("machine:" + credential.machine.uid)
        self.invalidate(device_id)
        return changed

    def revoke_machine(self, machine_uid: str) -> int:
        """Revoke every active credential of a machine; returns how many."""
        with transaction(self._sessions) as session:
            machine = self._machine(session, machine_uid)
            revoked = _revoke_all_in(machine)
        for device_id in revoked + ["machine:" + machine_uid]:
            self.invalidate(device_id)
        return len(revoked)

    def rotate(self, machine_uid: str, label: str = "gateway") -> str:
        """Revoke the machine's active credentials and issue a new one, atomically; returns the token."""
        with transaction(self._sessions) as session:
            machine = self._machine(session, machine_uid)
            revoked = _revoke_all_in(machine)
            token = issue_credential_in(session, machine, label)
        for device_id in revoked + ["machine:" + machine_uid]:
            self.invalidate(device_id)
        return token

    @staticmethod
    def _machine(session: Session, machine_uid: str) -> Machine:
        machine = session.scalar(select(Machine).where(Machine.uid == machine_uid)
                                 .options(selectinload(Machine.credentials)))
        if machine is None:
            raise UnknownMachine(f"no machine with uid {machine_uid!r}")
        return machine


def _identity(credential: DeviceCredential) -> DeviceIdentity:
    machine = credential.machine
    sensors = {s.name: SensorSpec(name=s.name, component=s.component.name, axis=s.axis,
                                  sample_rate_hz=float(s.sample_rate_hz), position=s.position)
               for s in machine.sensors}
    return DeviceIdentity(device_id=credential.device_id, machine=machine.uid, sensors=sensors)


def _revoke_all_in(machine: Machine) -> list[str]:
    now = utcnow()
    revoked = []
    for credential in machine.credentials:
        if credential.revoked_at is None:
            credential.revoked_at = now
            revoked.append(credential.device_id)
    return revoked
