"""API clients of the fleet owners' standard API: creation (the secret shown once), the OAuth 2
client-credentials grant, bearer-token checks and the per-client rate limit.

Everything is in SQL (:mod:`fleet.models.fleet_api`): a token issued by one process is accepted by
another, and the request count of a window is one row both processes increment, so two processes
agree on when a client is over its limit.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import ApiClient, ApiRateWindow, ApiToken

TOKEN_LIFETIME = timedelta(hours=1)
#: What a client's tokens may read (OAuth 2 scopes, RFC 6749 section 3.3), and what the portal calls them.
SCOPES = {
    "fleet": "Fleet and machine snapshots (hours, fuel level, last position, engine state)",
    "usage": "History of operating hours, idle hours and fuel used",
    "locations": "History of positions",
    "faults": "History of fault codes",
}


class ScopeError(ValueError):
    """A scope list names something that is not a scope, or asks for more than the client has."""


def parse_scopes(text: str | list[str] | None) -> tuple[str, ...]:
    """Scope names from a space-separated string (RFC 6749) or a list, in :data:`SCOPES` order.

    Raises
    ------
    ScopeError
        A name that is not in :data:`SCOPES`.
    """
    names = (text or "").split() if isinstance(text, str) or text is None else [n for part in text for n in part.split()]
    unknown = [n for n in names if n not in SCOPES]
    if unknown:
        raise ScopeError(f"{unknown[0][:40]!r} is not a scope; there are {', '.join(SCOPES)}.")
    return tuple(n for n in SCOPES if n in names)
DEFAULT_RATE_PER_MINUTE = 120
RATE_WINDOW_S = 60


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class NewClient:
    """A client just created: the only moment its secret exists in clear."""

    id: int
    name: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class TokenOwner:
    """Whom a valid bearer token speaks for."""

    api_client_id: int
    tenant_id: int
    name: str
    scopes: tuple[str, ...] = ()


def create_client(session: Session, tenant_id: int, name: str, created_by: str,
                  scopes: tuple[str, ...] = tuple(SCOPES)) -> NewClient:
    """Register fleet software ``name`` for tenant ``tenant_id``, allowed ``scopes`` (at least
    one, from :data:`SCOPES`); commit is the caller's."""
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise ValueError("name must be 1 to 120 characters")
    scopes = parse_scopes(list(scopes))
    if not scopes:
        raise ScopeError("A client needs at least one scope.")
    client_id = "iw_" + secrets.token_urlsafe(18)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(tenant_id=tenant_id, name=name, client_id=client_id, secret_sha256=_sha256(secret),
                       created_by=created_by, scopes=" ".join(scopes))
    session.add(client)
    session.flush()
    return NewClient(client.id, client.name, client_id, secret)


def clients_of(session: Session, tenant_id: int) -> list[dict]:
    """The tenant's API clients, newest first, without anything secret."""
    rows = session.scalars(select(ApiClient).where(ApiClient.tenant_id == tenant_id)
                           .order_by(ApiClient.created_at.desc(), ApiClient.id.desc())).all()
    return [{"id": c.id, "name": c.name, "client_id": c.client_id, "created_by": c.created_by,
             "created_at": c.created_at, "last_used_at": c.last_used_at, "revoked_at": c.revoked_at,
             "scopes": parse_scopes(c.scopes)} for c in rows]


def revoke_client(session: Session, tenant_id: int, api_client_id: int, now: datetime) -> bool:
    """Revoke a client of ``tenant_id`` and drop its tokens; False if it is not the tenant's."""
    client = session.get(ApiClient, api_client_id)
    if client is None or client.tenant_id != tenant_id:
        return False
    client.revoked_at = client.revoked_at or now
    session.query(ApiToken).filter(ApiToken.api_client_id == client.id).delete()
    return True


@dataclass(frozen=True)
class IssuedToken:
    """A bearer token just issued: the token (shown once), its lifetime (s) and granted scopes."""

    access_token: str
    expires_in: int
    scopes: tuple[str, ...]


def issue_token(session: Session, client_id: str, client_secret: str, now: datetime,
                requested: str | None = None) -> IssuedToken | None:
    """The client-credentials grant: a new bearer token, or None when the credentials are wrong or
    the client is revoked (the caller answers ``invalid_client``).

    ``requested`` is the grant's ``scope`` parameter: absent, the token gets every scope of the
    client; else exactly those named (a narrower token).

    Raises
    ------
    ScopeError
        ``requested`` names an unknown scope, or one the client was not given (``invalid_scope``).
    """
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.revoked_at is not None:
        _sha256(client_secret)  # the same work either way: no timing hint that the id exists
        return None
    if not hmac.compare_digest(client.secret_sha256, _sha256(client_secret)):
        return None
    allowed = parse_scopes(client.scopes)
    granted = allowed if not (requested or "").strip() else parse_scopes(requested)
    beyond = [s for s in granted if s not in allowed]
    if beyond:
        raise ScopeError(f"This client was not given the scope {beyond[0]!r}; it has {' '.join(allowed)}.")
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(token_sha256=_sha256(token), api_client_id=client.id, created_at=now,
                         expires_at=now + TOKEN_LIFETIME, scopes=" ".join(granted)))
    # Expired tokens of this client are no use to anyone: prune them as new ones are issued.
    session.query(ApiToken).filter(ApiToken.api_client_id == client.id, ApiToken.expires_at < now).delete()
    return IssuedToken(token, int(TOKEN_LIFETIME.total_seconds()), granted)


def token_owner(session: Session, token: str, now: datetime) -> TokenOwner | None:
    """Who ``token`` belongs to, or None if unknown, expired or its client revoked."""
    row = session.get(ApiToken, _sha256(token))
    if row is None or _aware(row.expires_at) <= now or row.client.revoked_at is not None:
        return None
    row.client.last_used_at = now
    # A token has at most what its client has now (a scope taken from the client is gone from its tokens).
    client_scopes = parse_scopes(row.client.scopes)
    return TokenOwner(row.client.id, row.client.tenant_id, row.client.name,
                      tuple(s for s in parse_scopes(row.scopes) if s in client_scopes))


def count_request(session: Session, api_client_id: int, now: datetime, limit: int = DEFAULT_RATE_PER_MINUTE
                  ) -> int | None:
    """Count one request in the current fixed window; None while within ``limit``, else the
    seconds until the window ends (the ``Retry-After``). Commits (the count must be shared)."""
    window = int(now.timestamp()) // RATE_WINDOW_S * RATE_WINDOW_S
    increment = (update(ApiRateWindow).where(ApiRateWindow.api_client_id == api_client_id,
                                             ApiRateWindow.window_start == window)
                 .values(requests=ApiRateWindow.requests + 1))
    if session.execute(increment).rowcount == 0:
        try:
            with session.begin_nested():
                session.add(ApiRateWindow(api_client_id=api_client_id, window_start=window, requests=1))
        except IntegrityError:  # another process opened the window first: count into its row
            session.execute(increment)
        session.query(ApiRateWindow).filter(ApiRateWindow.api_client_id == api_client_id,
                                            ApiRateWindow.window_start < window).delete()
    count = session.scalar(select(ApiRateWindow.requests).where(ApiRateWindow.api_client_id == api_client_id,
                                                                ApiRateWindow.window_start == window))
    session.commit()
    if count > limit:
        return max(1, window + RATE_WINDOW_S - int(now.timestamp()))
    return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
