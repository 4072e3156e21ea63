"""The admin pages: users and roles, device credentials, zone limits per machine group, the RUL
model registry and the audit log (``/admin/...``), plus the page where an invited person sets
their password (``/account/link/<token>``).

Views are thin: every change goes through a service in :mod:`fleet.user_admin` or
:mod:`fleet.fleet_admin`, which records the audit event. OEM admins see everything; a customer's
user administrator (``User.manages_users``) sees only the users page, for their own tenant.
"""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import views  # noqa: E402,F401  (register the routes on bp)
