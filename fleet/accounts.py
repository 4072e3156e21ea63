"""Signing in: password check, throttling of failed attempts, and server-side sessions.

Everything here is SQL, not process memory, so that a second app process (or the same one after a
restart) agrees on who is locked out and which sessions were ended:

* **Throttle.** Failed sign-ins are counted per account (the e-mail as typed, whether or not it
  exists, so a lock-out does not reveal which e-mails exist) and per client address, in a window
  of :data:`WINDOW`. :data:`ACCOUNT_MAX_FAILURES` failures lock the account, and
  :data:`ADDRESS_MAX_FAILURES` the address, for :data:`LOCK_DURATION`; while locked, even the
  right password is refused, so guessing stops. The counter is bumped in one ``UPDATE ... SET
  failures = failures + 1`` so two processes counting at once do not lose a failure.
* **Equal work.** An unknown e-mail is checked against a dummy Argon2 hash
  (:func:`fleet.passwords.verify`), so it takes as long as a wrong password.
* **Sessions.** A successful sign-in creates a ``user_session`` row keyed by the SHA-256 of a
  random token that only the (signed) session cookie carries; every request checks the row, and
  signing out revokes it, so a copied cookie stops working at logout.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from . import passwords
from .db import transaction
from .models import SignInThrottle, User, UserSession, utcnow

WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
ACCOUNT_MAX_FAILURES = 5
#: Higher than the account limit: several people may sign in from behind one NAT.
ADDRESS_MAX_FAILURES = 20
#: A session ends this long after sign-in at the latest (and at sign-out).
SESSION_LIFETIME = timedelta(days=14)


@dataclass(frozen=True)
class SignInResult:
    """``status`` is ``"ok"`` (``user_id`` and ``session_token`` set), ``"refused"`` (wrong e-mail
    or password) or ``"locked"`` (too many failures; ``retry_after_s`` says when to try again)."""

    status: str
    user_id: int | None = None
    session_token: str | None = None
    retry_after_s: int = 0


def account_key(email: str) -> str:
    return "account:" + normalise_email(email)[:280]


def address_key(address: str | None) -> str:
    return "address:" + (address or "unknown")[:64]


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SignInService:
    """Sign-in and session checks over the SQL store.

    Parameters
    ----------
    session_factory : sessionmaker
    clock : callable
        Aware UTC now (injectable so a test can step past the lock-out).
    """

    def __init__(self, session_factory: sessionmaker, clock: Callable[[], datetime] = utcnow):
        self.sessions = session_factory
        self.clock = clock

    # -- signing in ---------------------------------------------------------------------------

    def sign_in(self, email: str, password: str, address: str | None) -> SignInResult:
        """Check the credentials unless the account or the address is locked out."""
        now = self.clock()
        keys = (account_key(email), address_key(address))
        retry_after = self._locked_for(keys, now)
        if retry_after:
            return SignInResult("locked", retry_after_s=retry_after)
        with transaction(self.sessions) as db:
            user = db.scalar(select(User).where(User.email == normalise_email(email)))
            checked = passwords.verify(user.password_hash if user is not None else None, password)
            if checked.ok and user.active:
                if checked.new_hash:
                    user.password_hash = checked.new_hash  # an older scheme: upgraded to Argon2id
                user.last_login_at = now
                user_id = user.id
            else:
                user_id = None
        if user_id is None:
            retry_after = self._record_failure(keys, now)
            return SignInResult("locked", retry_after_s=retry_after) if retry_after else SignInResult("refused")
        self._forget_failures(keys[0])
        return SignInResult("ok", user_id=user_id, session_token=self.start_session(user_id, address))

    def _locked_for(self, keys: tuple[str, ...], now: datetime) -> int:
        """Seconds until every lock on ``keys`` has run out (0: not locked)."""
        with self.sessions() as db:
            until = db.scalars(select(SignInThrottle.locked_until).where(
                SignInThrottle.key.in_(keys), SignInThrottle.locked_until > now)).all()
        return max((int((u - now).total_seconds()) + 1 for u in until), default=0)

    def _record_failure(self, keys: tuple[str, ...], now: datetime) -> int:
        """Count one failure on each key; returns the lock-out in seconds if this one caused it."""
        limits = {keys[0]: ACCOUNT_MAX_FAILURES, keys[1]: ADDRESS_MAX_FAILURES}
        locked = 0
        for key, limit in limits.items():
            failures = self._bump(key, now)
            if failures >= limit:
                with transaction(self.sessions) as db:
                    db.execute(update(SignInThrottle).where(SignInThrottle.key == key)
                               .values(locked_until=now + LOCK_DURATION))
                locked = int(LOCK_DURATION.total_seconds())
        return locked

    def _bump(self, key: str, now: datetime) -> int:
        """Add one failure to ``key``'s window (a new window when the old one is over)."""
        for _attempt in range(3):  # a concurrent first insert of the same key: retry as an update
            try:
                with transaction(self.sessions) as db:
                    expired = db.execute(
                        update(SignInThrottle)
                        .where(SignInThrottle.key == key, SignInThrottle.window_started_at < now - WINDOW)
                        .values(failures=1, window_started_at=now, locked_until=None)).rowcount
                    if not expired:
                        bumped = db.execute(update(SignInThrottle).where(SignInThrottle.key == key)
                                            .values(failures=SignInThrottle.failures + 1)).rowcount
                        if not bumped:
                            db.add(SignInThrottle(key=key, failures=1, window_started_at=now))
                            db.flush()
                    return db.scalar(select(SignInThrottle.failures).where(SignInThrottle.key == key))
            except IntegrityError:
                continue
        raise RuntimeError(f"could not count a failed sign-in for {key}")

    def _forget_failures(self, key: str) -> None:
        # Only the account's count: a success must not reset the address an attacker shares.
        now = self.clock()
        with transaction(self.sessions) as db:
            db.execute(delete(SignInThrottle).where(SignInThrottle.key == key))
            db.execute(delete(SignInThrottle).where(SignInThrottle.window_started_at < now - WINDOW,
                                                    or_(SignInThrottle.locked_until.is_(None),
                                                        SignInThrottle.locked_until < now)))

    # -- sessions -----------------------------------------------------------------------------

    def start_session(self, user_id: int, address: str | None = None) -> str:
        """A new session for ``user_id``; returns the token for the session cookie (not stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with transaction(self.sessions) as db:
            db.execute(delete(UserSession).where(UserSession.expires_at < now))
            db.add(UserSession(token_sha256=_token_digest(token), user_id=user_id, created_at=now,
                               expires_at=now + SESSION_LIFETIME, address=(address or "")[:64]))
        return token

    def session_user(self, token: str | None) -> int | None:
        """The user id of a live session (not revoked, not expired), else None."""
        if not token or not isinstance(token, str):
            return None
        with self.sessions() as db:
            row = db.get(UserSession, _token_digest(token))
            if row is None or row.revoked_at is not None or row.expires_at <= self.clock():
                return None
            return row.user_id

    def end_session(self, token: str | None) -> None:
        """Revoke one session (signing out)."""
        if not token:
            return
        with transaction(self.sessions) as db:
            db.execute(update(UserSession).where(UserSession.token_sha256 == _token_digest(token),
                                                 UserSession.revoked_at.is_(None))
                       .values(revoked_at=self.clock()))

    def end_all_sessions(self, user_id: int) -> int:
        """Revoke every session of ``user_id`` (password change, account deactivated); how many."""
        with transaction(self.sessions) as db:
            return db.execute(update(UserSession).where(UserSession.user_id == user_id,
                                                        UserSession.revoked_at.is_(None))
                              .values(revoked_at=self.clock())).rowcount
