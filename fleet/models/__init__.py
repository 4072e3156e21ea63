"""SQLAlchemy 2 models of the fleet domain (see docs/contracts.md, section fleet).

Split by responsibility: :mod:`.org` (tenants, sites, users, technicians), :mod:`.assets`
(machines, components, sensors, device credentials), :mod:`.work` (work orders, burst
diagnoses, RUL models, job state), :mod:`.planning` (parts, PM plans, technicians'
calendars, dispatch locks, repair findings). Import from here: ``from fleet.models import Machine``.
"""
from .assets import MACHINE_KINDS, MACHINE_STATUSES, Component, DeviceCredential, Machine, Sensor
from .base import Base, UTCDateTime, from_ns, utcnow
from .org import ROLES, TENANT_KINDS, Site, Technician, Tenant, User
from .work import BurstDiagnosis, JobState, RulModel, WorkOrder
from .planning import (DispatchLock, MachinePmState, Part, PmPlan, PmWorkOrder, TechnicianDayOff,
                       TechnicianWorkweek, WorkOrderFinding)

__all__ = [
    "Base", "UTCDateTime", "utcnow", "from_ns",
    "Tenant", "Site", "User", "Technician", "ROLES", "TENANT_KINDS",
    "Machine", "Component", "Sensor", "DeviceCredential", "MACHINE_KINDS", "MACHINE_STATUSES",
    "WorkOrder", "BurstDiagnosis", "RulModel", "JobState",
    "Part", "PmPlan", "MachinePmState", "PmWorkOrder", "TechnicianWorkweek", "TechnicianDayOff", "DispatchLock",
    "WorkOrderFinding",
]
