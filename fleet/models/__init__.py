"""SQLAlchemy 2 models of the fleet domain (see docs/contracts.md, section fleet).

Split by responsibility: :mod:`.org` (tenants, sites, users, technicians), :mod:`.assets`
(machines, components, sensors, device credentials), :mod:`.work` (work orders, burst
diagnoses, RUL models, job state), :mod:`.alarms` (alarms, escalation, deliveries), :mod:`.security`
(sign-in throttles, server-side sessions), :mod:`.planning` (parts, PM plans, technicians' calendars,
dispatch locks, repair findings), :mod:`.live` (the live-event outbox of the scheduler process). Import from here: ``from fleet.models import Machine``.
"""
from .alarms import (Alarm, AuditEntry, Delivery, EscalationPolicy, EscalationStep, FaultCodeRule, OnCallShift,
                     PushSubscription, UserPreference)
from .assets import MACHINE_KINDS, MACHINE_STATUSES, Component, DeviceCredential, Machine, Sensor
from .base import Base, UTCDateTime, from_ns, utcnow
from .fault_codes import ReportedFaultCode
from .ingest import AcceptedUpload
from .fleet_api import ApiClient, ApiRateWindow, ApiToken
from .reports import ReportDelivery
from .org import ROLES, TENANT_KINDS, Site, SiteSecurity, Technician, Tenant, User, UserSite
from .security import SignInThrottle, UserSession
from .work import BurstDiagnosis, JobState, RulModel, WorkOrder
from .field import FieldAction, WorkOrderPhoto
from .admin import ACCOUNT_LINK_PURPOSES, AccountLink, ZoneLimitSet
from .live import LiveEvent
from .planning import (ComponentRepair, DispatchLock, DispatchProposal, MachinePmState, Part, PmPlan, PmWorkOrder,
                       SchedulerLease, TechnicianDayOff, TechnicianWorkweek, WorkOrderFinding)

__all__ = [
    "Base", "UTCDateTime", "utcnow", "from_ns",
    "Tenant", "Site", "SiteSecurity", "User", "UserSite", "Technician", "ROLES", "TENANT_KINDS",
    "Machine", "Component", "Sensor", "DeviceCredential", "MACHINE_KINDS", "MACHINE_STATUSES",
    "WorkOrder", "BurstDiagnosis", "RulModel", "JobState",
    "Alarm", "EscalationPolicy", "EscalationStep", "FaultCodeRule", "OnCallShift", "PushSubscription",
    "UserPreference", "Delivery", "AuditEntry",
    "ReportedFaultCode", "AcceptedUpload",
    "SignInThrottle", "UserSession",
    "Part", "PmPlan", "MachinePmState", "PmWorkOrder", "TechnicianWorkweek", "TechnicianDayOff", "DispatchLock",
    "WorkOrderFinding",
    "ApiClient", "ApiToken", "ApiRateWindow", "ReportDelivery",
    "SchedulerLease", "ComponentRepair", "DispatchProposal",
    "AccountLink", "ZoneLimitSet", "ACCOUNT_LINK_PURPOSES",
    "FieldAction", "WorkOrderPhoto",
    "LiveEvent",
]
