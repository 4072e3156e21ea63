"""Device identity: who an upload comes from and what it may write.

The production directory is ``fleet.devices.SqlDeviceDirectory`` (credentials in SQL). This module
holds the protocol, the dataclasses, the token format and :class:`StaticDeviceDirectory`, an
in-memory directory built from explicit credentials (for the benchmark and for tests of the
service layer, which need a real directory but no SQL schema).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Mapping, Protocol


@dataclass(frozen=True)
class SensorSpec:
    """A vibration sensor on a machine: the component it watches, its axis, its nominal sample
    rate (Hz) and where it is mounted (free text, e.g. ``"DE bearing housing"``)."""

    name: str
    component: str
    axis: str
    sample_rate_hz: float
    position: str = ""


@dataclass(frozen=True)
class DeviceIdentity:
    """An authenticated gateway: its id, the one machine it may write for, that machine's sensors."""

    device_id: str
    machine: str
    sensors: Mapping[str, SensorSpec] = field(default_factory=dict)


class DeviceDirectory(Protocol):
    def authenticate(self, token: str) -> DeviceIdentity | None:
        """The identity of a valid, unrevoked token; None otherwise."""

    def machine_identity(self, machine: str) -> DeviceIdentity | None:
        """The identity of a machine's active device, for a transport that authenticated the
        device itself (the MQTT broker); None when it has none."""


def split_token(token: str) -> tuple[str, str] | None:
    """``"<device_id>.<secret>"`` → ``(device_id, secret)``; None when malformed."""
    device_id, dot, secret = token.strip().partition(".")
    if not dot or not device_id or not secret:
        return None
    return device_id, secret


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of a token secret (what is stored; the secret itself never is)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token(device_id: str) -> tuple[str, str]:
    """A fresh token for ``device_id`` and the hash to store: ``(token, sha256_hex)``."""
    secret = secrets.token_urlsafe(32)
    return f"{device_id}.{secret}", hash_secret(secret)


class StaticDeviceDirectory:
    """An in-memory :class:`DeviceDirectory` holding only hashes of the secrets.

    ``add(identity)`` issues and returns a token; ``revoke(device_id)`` removes it.
    """

    def __init__(self) -> None:
        self._by_device: dict[str, tuple[str, DeviceIdentity]] = {}

    def add(self, identity: DeviceIdentity) -> str:
        token, digest = new_token(identity.device_id)
        self._by_device[identity.device_id] = (digest, identity)
        return token

    def revoke(self, device_id: str) -> None:
        self._by_device.pop(device_id, None)

    def machine_identity(self, machine: str) -> DeviceIdentity | None:
        return next((identity for _, identity in reversed(self._by_device.values())
                     if identity.machine == machine), None)

    def authenticate(self, token: str) -> DeviceIdentity | None:
        parts = split_token(token)
        if parts is None:
            return None
        entry = self._by_device.get(parts[0])
        if entry is None or not hmac.compare_digest(entry[0], hash_secret(parts[1])):
            return None
        return entry[1]
