"""Runtime settings of the app: environment variables, overridden by an explicit dict.

The names mirror docs/contracts.md (``IRONWATCH_*``) so the same keys work in the environment, in
``create_app(config)`` and in tests. Nothing here imports Flask: the functions are pure apart from
reading ``os.environ`` and the secret-key file.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Settings read from the environment, with their defaults (``None`` = derived below).
ENV_DEFAULTS: dict[str, Any] = {
    "IRONWATCH_INFLUX_URL": None,  # our private influxd, on IRONWATCH_INFLUX_PORT (default 8186)
    "IRONWATCH_INFLUX_PORT": 8186,
    "IRONWATCH_INFLUX_DB": "ironwatch",
    "IRONWATCH_DATABASE_URL": None,
    "IRONWATCH_VAR": None,
    # This process's durable upload spool (default <var>/spool). A spool has exactly one owner, so
    # several web processes sharing one var (secret key, VAPID key, photos, models) each name their own.
    "IRONWATCH_SPOOL_DIR": None,
    "IRONWATCH_PORT": 8000,
    "IRONWATCH_HOST": "127.0.0.1",
    "IRONWATCH_RAW_RETENTION_DAYS": 30,
    "IRONWATCH_SECRET_KEY": None,
    # Links in alarm e-mails and pushes; default http://<host>:<port>.
    "IRONWATCH_PUBLIC_URL": None,
    # E-mail (fleet.delivery.mailer_from_env): no host = e-mail off.
    "IRONWATCH_SMTP_HOST": None,
    "IRONWATCH_SMTP_PORT": 25,
    "IRONWATCH_SMTP_SECURITY": "none",
    "IRONWATCH_SMTP_USER": None,
    "IRONWATCH_SMTP_PASSWORD": None,
    "IRONWATCH_SMTP_FROM": None,
    "IRONWATCH_BEHIND_TLS": False,  # a TLS proxy is in front: Secure cookies, HSTS (app.security)
    "IRONWATCH_PROXY_HOPS": 0,  # proxies trusted for X-Forwarded-For/-Proto (0: none)
    # Street detail on the fleet map: an XYZ tiles URL such as https://tile.example/{z}/{x}/{y}.png
    # (off by default: the map's offline basemap is Natural Earth land and borders served by the app).
    "IRONWATCH_AEMP_RATE_PER_MINUTE": 120,  # requests per API client per minute on /api/aemp (then 429)
    "IRONWATCH_MAP_TILES_URL": "",
    "IRONWATCH_MAP_TILES_ATTRIBUTION": "",
    # The technicians' app's own files (served as /static/tech/); default app/static/tech.
    "IRONWATCH_TECH_STATIC": None,
}

_INTEGER_KEYS = ("IRONWATCH_PORT", "IRONWATCH_RAW_RETENTION_DAYS", "IRONWATCH_INFLUX_PORT", "IRONWATCH_PROXY_HOPS",
                 "IRONWATCH_AEMP_RATE_PER_MINUTE")
_TRUE_WORDS = {"1", "true", "yes", "on"}


class ConfigError(ValueError):
    """A setting has a value the app cannot use; the message names the setting."""


def as_bool(value: Any) -> bool:
    """Interpret ``value`` (bool, int or a word such as ``"yes"``/``"0"``) as a boolean."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_WORDS
    return bool(value)


def load_config(overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge defaults, the environment and ``overrides`` (in rising priority) into one dict.

    Parameters
    ----------
    overrides : mapping, optional
        Explicit settings, e.g. from a test: any ``IRONWATCH_*`` key plus Flask keys such as
        ``TESTING``, ``SECRET_KEY`` and ``START_BACKGROUND`` (writer, diagnosis worker and live relay;
        default True).
    environ : mapping, optional
        The environment to read; ``os.environ`` when omitted.

    Returns
    -------
    dict
        Every key of :data:`ENV_DEFAULTS` resolved (paths absolute, integers parsed), plus
        ``START_BACKGROUND``, ``SECRET_KEY`` and whatever else ``overrides`` carried.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    config: dict[str, Any] = {}
    for key, default in ENV_DEFAULTS.items():
        config[key] = overrides.pop(key, environ.get(key, default))
    for key in _INTEGER_KEYS:
        config[key] = _parse_int(key, config[key])
    var_dir = Path(config["IRONWATCH_VAR"] or REPO_ROOT / "var").resolve()
    config["IRONWATCH_VAR"] = str(var_dir)
    config["IRONWATCH_SPOOL_DIR"] = str(Path(config["IRONWATCH_SPOOL_DIR"] or var_dir / "spool").resolve())
    if not config["IRONWATCH_INFLUX_URL"]:
        config["IRONWATCH_INFLUX_URL"] = f"http://127.0.0.1:{config['IRONWATCH_INFLUX_PORT']}"
    if not config["IRONWATCH_DATABASE_URL"]:
        config["IRONWATCH_DATABASE_URL"] = f"sqlite:///{var_dir / 'ironwatch.db'}"
    if not config["IRONWATCH_PUBLIC_URL"]:
        config["IRONWATCH_PUBLIC_URL"] = f"http://{config['IRONWATCH_HOST']}:{config['IRONWATCH_PORT']}"
    config["IRONWATCH_BEHIND_TLS"] = as_bool(config["IRONWATCH_BEHIND_TLS"])
    config["START_BACKGROUND"] = as_bool(overrides.pop("START_BACKGROUND", True))
    config.update(overrides)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = config["IRONWATCH_SECRET_KEY"] or persistent_secret_key(var_dir)
    return config


def _parse_int(key: str, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be an integer, got {value!r}") from None


def persistent_secret_key(var_dir: Path) -> str:
    """Return the session-signing key kept in ``<var>/secret_key``, creating it on first use.

    A key that survives restarts keeps people logged in across ``make run`` sessions; it is
    random per installation, never a constant in the source.
    """
    path = Path(var_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Create with owner-only permissions; O_EXCL so two processes starting together agree.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
