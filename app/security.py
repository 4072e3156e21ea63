"""HTTP hardening every response gets: security headers, cookie flags, the proxy in front.

:class:`SecurityHeaders` is WSGI middleware around the whole app (pages, the JSON API, static
files, error pages and the device ingest endpoints, which bypass Flask), so no response can leave
without them. ``IRONWATCH_BEHIND_TLS`` says a TLS-terminating proxy is in front: cookies get the
``Secure`` flag and responses HSTS. ``IRONWATCH_PROXY_HOPS`` is how many proxies to trust for
``X-Forwarded-For``/``-Proto`` (Werkzeug's ProxyFix); 0, the default, trusts none, so a client
cannot pick the address that sign-in throttling counts against.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

#: Everything the pages load comes from this origin (npm assets are vendored, no CDN). Scripts:
#: only files from 'self', no inline script, no event-handler attributes, no eval. Styles allow
#: inline ``style`` attributes (templates and uPlot's layout use them); a style cannot run code.
#: ``connect-src 'self'`` covers Socket.IO's same-origin WebSocket (CSP 3 matches ws:/wss: too).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
                           "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
HSTS = "max-age=31536000; includeSubDomains"

BASE_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers that predate CSP 2
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)"),
)


def tile_origin(tiles_url: str) -> str:
    """The origin (``https://host[:port]``) of an XYZ tiles URL such as
    ``https://tile.example/{z}/{x}/{y}.png``; empty for no URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(tiles_url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def security_headers(behind_tls: bool, image_origins: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The headers added to every response (HSTS only behind TLS: over plain HTTP it is ignored,
    and on a loopback demo it would pin a browser to HTTPS for a year). ``image_origins`` are
    added to ``img-src``: the street-tile server an operator configured for the fleet map."""
    policy = CONTENT_SECURITY_POLICY
    if image_origins:
        policy = policy.replace("img-src 'self' data:;", "img-src 'self' data: " + " ".join(image_origins) + ";")
    headers = [(name, policy if name == "Content-Security-Policy" else value) for name, value in BASE_HEADERS]
    return headers + ([("Strict-Transport-Security", HSTS)] if behind_tls else [])


class SecurityHeaders:
    """WSGI middleware: adds :func:`security_headers` to every response that lacks them."""

    def __init__(self, app: Callable, behind_tls: bool = False, image_origins: tuple[str, ...] = ()):
        self.app = app
        self.headers = security_headers(behind_tls, image_origins)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            present = {name.lower() for name, _ in headers}
            headers = list(headers) + [(n, v) for n, v in self.headers if n.lower() not in present]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, start)


def cookie_settings(behind_tls: bool) -> dict[str, Any]:
    """Flask's session-cookie settings: HttpOnly, SameSite=Lax, Secure behind TLS.

    Lax (not Strict) so that a link from an alarm e-mail opens the page signed in; every state
    change is a POST with a CSRF token, which Lax never sends cross-site.
    """
    return {"SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": bool(behind_tls), "PREFERRED_URL_SCHEME": "https" if behind_tls else "http"}


def wrap(wsgi_app: Callable, behind_tls: bool, proxy_hops: int, image_origins: tuple[str, ...] = ()) -> Callable:
    """``wsgi_app`` behind ProxyFix (when ``proxy_hops`` > 0) and :class:`SecurityHeaders`."""
    if proxy_hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        wsgi_app = ProxyFix(wsgi_app, x_for=proxy_hops, x_proto=proxy_hops, x_host=proxy_hops)
    return SecurityHeaders(wsgi_app, behind_tls, image_origins)
