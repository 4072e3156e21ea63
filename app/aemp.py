"""The fleet owners' standard API, ISO 15143-3 (AEMP 2.0), for a customer's fleet software.

``POST /api/aemp/oauth/token``                                  OAuth 2 client-credentials grant
``GET  /api/aemp/v2/Fleet/<page>``                              fleet snapshot, 100 machines a page
``GET  /api/aemp/v2/Fleet/Equipment/ID/<id>``                   equipment snapshot
``GET  /api/aemp/v2/Fleet/Equipment/ID/<id>/<series>/<start>/<end>/<page>``  time series

Bearer tokens come from API clients a customer creates in the portal; a token sees exactly that
customer's machines. Refusals, in the order they are checked (RFC 6750 for the bearer ones):

* 401 ``invalid_token``: no token, or one unknown, expired or of a revoked client
  (``WWW-Authenticate: Bearer realm="ironwatch-aemp", error="invalid_token"``; a request with no
  token at all gets the challenge without an error code, as RFC 6750 section 3.1 asks);
* 429 ``rate_limited`` past the client's requests a minute, with ``Retry-After`` (count in SQL);
* 403 ``insufficient_scope``: the token lacks the scope the endpoint needs (:data:`SERIES_SCOPES`;
  the challenge names it);
* 404 ``not_found``: another customer's machine, exactly like one that does not exist.

Errors are JSON; the token endpoint's follow RFC 6749 (``invalid_request``, ``invalid_client``,
``invalid_scope``, ...).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request

from fleet import aemp

bp = Blueprint("aemp", __name__, url_prefix="/api/aemp")

REALM = "ironwatch-aemp"
#: The scope each time series needs (``fleet.api_clients.SCOPES``); the snapshots need ``fleet``.
SERIES_SCOPES = {"CumulativeOperatingHours": "usage", "CumulativeIdleHours": "usage", "FuelUsed": "usage",
                 "Distance": "usage", "Locations": "locations", "FaultCodes": "faults"}


def _runtime():
    return current_app.extensions["ironwatch"]


def _error(status: int, error: str, message: str, **headers):
    response = jsonify(error=error, message=message)
    response.status_code = status
    response.headers.update(headers)
    return response


@bp.post("/oauth/token")
def token():
    from fleet import api_clients

    if request.authorization and request.authorization.type == "basic":
        client_id, secret = request.authorization.username or "", request.authorization.password or ""
    else:
        client_id, secret = request.form.get("client_id", ""), request.form.get("client_secret", "")
    grant = request.form.get("grant_type", "")
    if grant != "client_credentials":
        return _error(400, "unsupported_grant_type" if grant else "invalid_request",
                      "grant_type must be client_credentials (form-encoded).")
    if not client_id or not secret or len(client_id) > 64 or len(secret) > 200:
        return _error(400, "invalid_request", "client_id and client_secret are required (form fields or HTTP Basic).")
    requested = request.form.get("scope")
    if requested is not None and len(requested) > 200:
        return _error(400, "invalid_scope", "scope is at most 200 characters.")
    with _runtime().sessions() as session:
        try:
            issued = api_clients.issue_token(session, client_id, secret, datetime.now(timezone.utc), requested)
        except api_clients.ScopeError as error:
            return _error(400, "invalid_scope", str(error))
        session.commit()
    if issued is None:
        return _error(401, "invalid_client", "Unknown client, wrong secret or revoked client.",
                      **{"WWW-Authenticate": f'Basic realm="{REALM}"'})
    response = jsonify(access_token=issued.access_token, token_type="Bearer", expires_in=issued.expires_in,
                       scope=" ".join(issued.scopes))
    response.headers["Cache-Control"] = "no-store"
    return response


def bearer_required(scope):
    """Decorator: the request must carry a valid bearer token of an API client, within its rate
    limit, holding ``scope`` (a scope name, or a function of the view's arguments giving one, or
    None when the arguments need none); sets ``g.aemp_scope`` (the client's customer, every site)."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            from fleet import api_clients
            from fleet.scope import Scope

            header = request.headers.get("Authorization", "")
            if not header.strip():
                return _error(401, "invalid_token", "Send an access token: Authorization: Bearer <token> "
                              "(POST /api/aemp/oauth/token gives one).", **{"WWW-Authenticate": f'Bearer realm="{REALM}"'})
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            now = datetime.now(timezone.utc)
            with _runtime().sessions() as session:
                owner = api_clients.token_owner(session, token, now) if 0 < len(token) <= 200 else None
                if owner is None:
                    session.rollback()
                    return _error(401, "invalid_token", "The access token is missing, unknown, expired or its client "
                                  "revoked; get a new one from POST /api/aemp/oauth/token.",
                                  **{"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'})
                retry_after = api_clients.count_request(session, owner.api_client_id, now,
                                                        int(current_app.config["IRONWATCH_AEMP_RATE_PER_MINUTE"]))
            if retry_after is not None:
                return _error(429, "rate_limited", f"Too many requests; try again in {retry_after} s.",
                              **{"Retry-After": str(retry_after)})
            needed = scope(kwargs) if callable(scope) else scope
            if needed is not None and needed not in owner.scopes:
                return _error(403, "insufficient_scope", f"This token may not read this: it needs the scope "
                              f"{needed!r} and has {' '.join(owner.scopes) or 'none'}.",
                              **{"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", '
                                                     f'scope="{needed}"'})
            g.aemp_scope = Scope((owner.tenant_id,))
            return view(*args, **kwargs)

        return guarded

    return decorate


def _machines() -> list[dict]:
    from fleet import queries

    with _runtime().sessions() as session:
        return queries.fleet_overview(session, g.aemp_scope)


def _machine(uid: str) -> dict | None:
    return next((m for m in _machines() if m["uid"] == uid), None)


def _base() -> str:
    return request.host_url.rstrip("/") + bp.url_prefix + "/v2"


@bp.get("/v2/Fleet/<page>")
@bearer_required("fleet")
def fleet(page: str):
    number = _page_number(page)
    if not isinstance(number, int):
        return number
    machines = _machines()
    last = aemp.last_page(len(machines), aemp.FLEET_PAGE_SIZE)
    if number > last:
        return _error(404, "not_found", f"Page {number} does not exist; the last page is {last}.")
    now_ns = time.time_ns()
    chosen = machines[(number - 1) * aemp.FLEET_PAGE_SIZE: number * aemp.FLEET_PAGE_SIZE]
    return jsonify(Links=aemp.page_links(_base() + "/Fleet", number, last), Version=aemp.VERSION,
                   SnapshotTime=aemp.iso_utc(now_ns),
                   Equipment=[aemp.equipment_snapshot(_runtime().store, m, now_ns) for m in chosen])


@bp.get("/v2/Fleet/Equipment/ID/<uid>")
@bearer_required("fleet")
def equipment(uid: str):
    machine = _machine(uid)
    if machine is None:
        return _error(404, "not_found", f"Equipment {uid} does not exist or is not in your fleet.")
    now_ns = time.time_ns()
    return jsonify(Links=[{"rel": "self", "href": f"{_base()}/Fleet/Equipment/ID/{uid}"}], Version=aemp.VERSION,
                   SnapshotTime=aemp.iso_utc(now_ns),
                   **aemp.equipment_snapshot(_runtime().store, machine, now_ns, cumulative=True))


@bp.get("/v2/Fleet/Equipment/ID/<uid>/<series>/<start>/<end>/<page>")
@bearer_required(lambda arguments: SERIES_SCOPES.get(arguments.get("series")))
def time_series(uid: str, series: str, start: str, end: str, page: str):
    from .j1939 import describe_code

    if series == "Distance":
        return _error(404, "not_applicable", "Distance does not apply: these machines have no odometer.")
    if series not in aemp.SERIES:
        return _error(404, "not_found", f"Unknown time series {series!r}; there are {', '.join(aemp.SERIES)}.")
    number = _page_number(page)
    if not isinstance(number, int):
        return number
    bounds = []
    for name, text in (("start", start), ("end", end)):
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return _error(400, "bad_parameter", f"{name} must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z; got {text!r}.")
        bounds.append(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if bounds[1] <= bounds[0]:
        return _error(400, "bad_parameter", "end must be after start.")
    if (bounds[1] - bounds[0]).days > 366:
        return _error(400, "bad_parameter", "A time series request may cover at most 366 days.")
    machine = _machine(uid)
    if machine is None:
        return _error(404, "not_found", f"Equipment {uid} does not exist or is not in your fleet.")
    start_ns, end_ns = (int(b.timestamp() * 1e9) for b in bounds)
    points = aemp.series_points(_runtime().store, machine, series, start_ns, end_ns, describe_code)
    last = aemp.last_page(len(points), aemp.SERIES_PAGE_SIZE)
    if number > last:
        return _error(404, "not_found", f"Page {number} does not exist; the last page is {last}.")
    element = "FaultCode" if series == "FaultCodes" else "Location" if series == "Locations" else series
    chosen = points[(number - 1) * aemp.SERIES_PAGE_SIZE: number * aemp.SERIES_PAGE_SIZE]
    return jsonify(Links=aemp.page_links(f"{_base()}/Fleet/Equipment/ID/{uid}/{series}/{start}/{end}", number, last),
                   Version=aemp.VERSION, EquipmentHeader=aemp.equipment_header(machine), **{element: chosen})


def _page_number(text: str):
    if not text.isdigit() or not 1 <= int(text) <= 100000:
        return _error(400, "bad_parameter", f"The page number must be a whole number from 1; got {text!r}.")
    return int(text)
