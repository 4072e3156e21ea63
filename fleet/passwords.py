"""Password hashes: Argon2id for new ones (argon2-cffi), older Werkzeug hashes still verified.

Argon2id is the Password Hashing Competition winner and OWASP's first choice; argon2-cffi is the
maintained binding with sane defaults (RFC 9106 "low memory" profile: 64 MiB, 3 passes). Hashes
written before the switch (Werkzeug's ``scrypt:``/``pbkdf2:`` strings) keep working and are
replaced by an Argon2id hash at the user's next successful sign-in (:func:`verify`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
#: Each hash holds 64 MiB while it runs; with 100 request threads a burst of sign-ins could ask
#: for gigabytes. At most this many run at once in a process, the rest wait their turn.
MAX_CONCURRENT_HASHES = 4
_hashing = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)

#: Verified against when the e-mail is unknown, so an unknown address costs the same Argon2 work
#: as a wrong password for a real one (the response time must not tell which e-mails exist).
_DUMMY_HASH = _hasher.hash("no account has this password")


@dataclass(frozen=True)
class Verification:
    """Outcome of checking a password: ``ok``, and the hash to store instead when the stored one
    is of an older scheme or weaker parameters (``None`` when it is current)."""

    ok: bool
    new_hash: str | None = None


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (PHC string format, ``$argon2id$v=19$...``)."""
    with _hashing:
        return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> Verification:
    """Check ``password`` against ``stored_hash``; ``None`` (unknown account) costs the same work.

    Parameters
    ----------
    stored_hash : str or None
        An Argon2 PHC string, an older Werkzeug hash, or None for an account that does not exist.
    password : str
        What the user typed.
    """
    if stored_hash is None:
        _verify_argon2(_DUMMY_HASH, password)
        return Verification(False)
    if stored_hash.startswith("$argon2"):
        if not _verify_argon2(stored_hash, password):
            return Verification(False)
        return Verification(True, hash_password(password) if _hasher.check_needs_rehash(stored_hash) else None)
    from werkzeug.security import check_password_hash

    # A legacy hash: Werkzeug's own cost, then upgrade on success.
    if not check_password_hash(stored_hash, password):
        return Verification(False)
    return Verification(True, hash_password(password))


def _verify_argon2(stored_hash: str, password: str) -> bool:
    try:
        with _hashing:
            return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
