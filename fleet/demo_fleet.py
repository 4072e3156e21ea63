"""The demo fleet's catalogue: one OEM, three customers, their sites, 22 machines, technicians,
and for planning: parts per machine model, PM plans with their kits, technicians' hours.

Pure data plus small builders; :mod:`fleet.seed` writes it to SQL. Bearing geometries are the
catalogue dimensions of common SKF deep-groove ball bearings (number of balls, ball diameter;
pitch diameter taken as the mean of bore and outside diameter):

====== ======= ========= ========== ===========
bearing  balls  ball (mm) bore x OD   pitch (mm)
====== ======= ========= ========== ===========
6205       9     7.94     25 x 52      39.04 (the CWRU test-rig bearing, measured)
6309       8    17.46     45 x 100     72.50
6312       8    22.23     60 x 130     95.00
====== ======= ========= ========== ===========

Vibration zone limits (velocity RMS, mm/s, A/B, B/C, C/D) follow ISO 20816-3 for the rotating
machinery (alternator bearings: group 1, rigid foundation; pumps and gearboxes: group 2,
flexible) and a higher band for the reciprocating diesel engines, whose housings vibrate more by
nature (the engine bands of ISO 8528-9 for generating sets are higher still).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

# --- bearings and components -------------------------------------------------------------------

SKF_6205 = {"n_rolling": 9, "ball_diameter_mm": 7.94, "pitch_diameter_mm": 39.04, "contact_angle_deg": 0.0}
SKF_6309 = {"n_rolling": 8, "ball_diameter_mm": 17.46, "pitch_diameter_mm": 72.5, "contact_angle_deg": 0.0}
SKF_6312 = {"n_rolling": 8, "ball_diameter_mm": 22.23, "pitch_diameter_mm": 95.0, "contact_angle_deg": 0.0}

ENGINE_ZONES = [7.1, 18.0, 28.0]
ALTERNATOR_ZONES = [2.3, 4.5, 7.1]
PUMP_ZONES = [2.8, 7.1, 11.0]
GEARBOX_ZONES = [4.5, 11.0, 18.0]


def _bearing(name: str, geometry: dict) -> dict:
    return {"name": name, **geometry}


@dataclass(frozen=True)
class ComponentTemplate:
    """A component as built on every machine of a kind: kinematics and sensor placement."""

    name: str
    kind: str
    description: str
    kinematics: dict
    sensor_position: str
    axis: str = "radial"


EXCAVATOR_COMPONENTS = (
    ComponentTemplate(
        "engine", "diesel_engine", "6-cylinder diesel engine, crankshaft and timing gear train",
        {"shaft_ratio": 1.0,
         # crankshaft gear drives the camshaft gear at half speed (four-stroke)
         "gears": [{"name": "timing", "teeth": 36, "mating_teeth": 72}],
         "zone_limits_mm_s": ENGINE_ZONES},
        "engine block, flywheel-housing side, above the crankshaft centreline"),
    ComponentTemplate(
        "hydraulic_pump", "axial_piston_pump", "main variable-displacement axial piston pump, 9 pistons",
        {"shaft_ratio": 1.0,  # flange-mounted on the flywheel housing: turns at engine speed
         "pistons": 9,
         "bearings": [_bearing("drive_shaft", SKF_6309)],
         "zone_limits_mm_s": PUMP_ZONES},
        "pump housing over the drive-shaft bearing"),
    ComponentTemplate(
        "swing_gearbox", "planetary_gearbox", "swing drive: hydraulic motor into a two-stage reduction",
        {"shaft_ratio": 0.8,  # swing motor speed / engine speed at full pump flow
         "gears": [{"name": "stage1", "teeth": 17, "mating_teeth": 61},
                   {"name": "stage2", "teeth": 19, "mating_teeth": 73, "driven_by": "stage1"}],
         "bearings": [_bearing("input", SKF_6309)],
         "zone_limits_mm_s": GEARBOX_ZONES},
        "swing gearbox housing, input stage"),
    ComponentTemplate(
        "travel_motor", "axial_piston_motor", "left travel motor: 9-piston motor with planetary final drive",
        {"shaft_ratio": 1.2,  # motor speed / engine speed in high travel range
         "pistons": 9,
         "gears": [{"name": "final_drive", "teeth": 13, "mating_teeth": 50}],
         "bearings": [_bearing("motor_shaft", SKF_6205)],
         "zone_limits_mm_s": GEARBOX_ZONES},
        "travel motor case, motor-shaft bearing"),
)

GENSET_COMPONENTS = (
    ComponentTemplate(
        "engine", "diesel_engine", "V12 diesel engine at synchronous speed",
        {"shaft_ratio": 1.0,
         "gears": [{"name": "timing", "teeth": 36, "mating_teeth": 72}],
         "zone_limits_mm_s": ENGINE_ZONES},
        "engine block, flywheel-housing side"),
    ComponentTemplate(
        "alternator_de", "alternator_bearing", "alternator drive-end bearing (4-pole, 50 Hz)",
        {"shaft_ratio": 1.0,
         "bearings": [_bearing("DE", SKF_6312)],
         "electrical": {"line_hz": 50.0, "poles": 4},
         "zone_limits_mm_s": ALTERNATOR_ZONES},
        "alternator drive-end bearing housing"),
    ComponentTemplate(
        "alternator_nde", "alternator_bearing", "alternator non-drive-end bearing (4-pole, 50 Hz)",
        {"shaft_ratio": 1.0,
         "bearings": [_bearing("NDE", SKF_6309)],
         "electrical": {"line_hz": 50.0, "poles": 4},
         "zone_limits_mm_s": ALTERNATOR_ZONES},
        "alternator non-drive-end bearing housing"),
)

COMPONENTS_BY_KIND = {"excavator": EXCAVATOR_COMPONENTS, "genset": GENSET_COMPONENTS}

# --- organisations, places and people --------------------------------------------------------

OEM_NAME = "Ironwatch OEM"
#: Dealers (service partners) between the OEM and some of its customers: name -> customer names.
#: Customers not listed here buy from and are served by the OEM directly.
DEALERS = {"Pennine Plant Services": ("Granite Ridge Quarries", "Meridian Civil Engineering")}


@dataclass(frozen=True)
class SiteSpec:
    key: str
    name: str
    address: str
    lat: float
    lon: float
    contact_name: str = ""  # who meets the technician at the gate
    contact_phone: str = ""


@dataclass(frozen=True)
class CustomerSpec:
    name: str
    sites: tuple[SiteSpec, ...]


CUSTOMERS = (
    CustomerSpec("Granite Ridge Quarries", (
        SiteSpec("blackstone", "Blackstone Quarry", "Harpur Hill, Buxton SK17, UK", 53.2391, -1.9070,
                 "Dave Hollins (quarry manager)", "+44 1298 555 014"),
        SiteSpec("holloway", "Holloway Top Pit", "Peak Forest, Derbyshire SK17, UK", 53.3050, -1.8530,
                 "Karen Shaw (pit foreman)", "+44 1298 555 027"),
    )),
    CustomerSpec("Meridian Civil Engineering", (
        SiteSpec("quays", "Salford Quays Tower", "Trafford Road, Salford M50, UK", 53.4722, -2.2935,
                 "Imran Qureshi (site manager)", "+44 161 555 0192"),
        SiteSpec("m62", "M62 Junction 12 Works", "Eccles interchange, Salford M30, UK", 53.4790, -2.3740,
                 "Lucy Fenwick (works supervisor)", "+44 161 555 0148"),
    )),
    CustomerSpec("Northbridge Health & Data", (
        SiteSpec("hospital", "Northbridge General Hospital", "Great George Street, Leeds LS1, UK", 53.8030, -1.5520,
                 "Estates on-call (plant room)", "+44 113 555 0100"),
        SiteSpec("dc1", "Northbridge DC-1 Data Centre", "Gelderd Road, Leeds LS12, UK", 53.7840, -1.6010,
                 "Tom Baines (facilities)", "+44 113 555 0177"),
    )),
)


@dataclass(frozen=True)
class MachineSpec:
    uid: str
    kind: str
    model: str
    site: str  # SiteSpec.key
    year: int
    hours: float
    nominal_shaft_rpm: float
    rated_power_kw: float


def _excavator(uid: str, model: str, site: str, year: int, hours: float) -> MachineSpec:
    power = {"IW-220": 124.0, "IW-350LC": 202.0, "IW-500": 294.0}[model]
    return MachineSpec(uid, "excavator", model, site, year, hours, 1800.0, power)


def _genset(uid: str, model: str, site: str, year: int, hours: float) -> MachineSpec:
    # 4-pole alternator on a 50 Hz grid: 1500 rpm synchronous speed. kW at power factor 0.8.
    power = {"IWG-800": 640.0, "IWG-1250": 1000.0, "IWG-2000": 1600.0}[model]
    return MachineSpec(uid, "genset", model, site, year, hours, 1500.0, power)


MACHINES = (
    _excavator("EX-1001", "IW-500", "blackstone", 2021, 9120.0),
    _excavator("EX-1002", "IW-500", "blackstone", 2022, 6410.0),
    _excavator("EX-1003", "IW-350LC", "blackstone", 2020, 11835.0),
    _excavator("EX-1004", "IW-350LC", "holloway", 2023, 3220.0),
    _excavator("EX-1005", "IW-500", "holloway", 2019, 14210.0),
    _excavator("EX-1006", "IW-350LC", "holloway", 2022, 5075.0),
    _excavator("EX-1007", "IW-220", "quays", 2024, 1410.0),
    _excavator("EX-1008", "IW-220", "quays", 2023, 2980.0),
    _excavator("EX-1009", "IW-350LC", "quays", 2021, 7730.0),
    _excavator("EX-1010", "IW-350LC", "m62", 2020, 10460.0),
    _excavator("EX-1011", "IW-220", "m62", 2022, 4890.0),
    _excavator("EX-1012", "IW-350LC", "m62", 2024, 960.0),
    _genset("GS-2001", "IWG-1250", "hospital", 2018, 2140.0),
    _genset("GS-2002", "IWG-1250", "hospital", 2018, 2095.0),
    _genset("GS-2003", "IWG-800", "hospital", 2021, 760.0),
    _genset("GS-2004", "IWG-2000", "dc1", 2022, 430.0),
    _genset("GS-2005", "IWG-2000", "dc1", 2022, 415.0),
    _genset("GS-2006", "IWG-2000", "dc1", 2022, 452.0),
    _genset("GS-2007", "IWG-2000", "dc1", 2023, 188.0),
    _genset("GS-2008", "IWG-1250", "dc1", 2023, 205.0),
    _genset("GS-2009", "IWG-800", "blackstone", 2019, 16320.0),  # quarry prime power: runs all shift
    _genset("GS-2010", "IWG-800", "m62", 2024, 2210.0),
)


@dataclass(frozen=True)
class FaultSpec:
    """A developing fault the simulator grows: severity ramps linearly, then holds.

    ``severity`` is the 0..1 scale of ``diagnostics.synthesis.synthesize_burst``.
    """

    machine: str
    component: str
    fault: str
    location: str
    severity_start: float
    severity_end: float
    ramp_hours: float


FAULTS = (
    # Starts strong enough that the demo shows a work order within minutes of `make run`.
    FaultSpec("GS-2001", "alternator_de", "bearing_outer_race", "DE", 0.6, 1.0, 72.0),
    FaultSpec("EX-1003", "swing_gearbox", "gear_broken_tooth", "stage1", 0.5, 1.0, 120.0),
    FaultSpec("EX-1009", "hydraulic_pump", "bearing_inner_race", "drive_shaft", 0.4, 0.9, 168.0),
    FaultSpec("GS-2006", "alternator_nde", "bearing_inner_race", "NDE", 0.2, 0.8, 240.0),
    # Healthy when monitoring starts, so it forms its own baseline, then an outer race spall grows:
    # on the prime-power set (runs around the clock) the onset alarm falls inside `make run`'s
    # five-day backfill (a burst every 6 running hours, then hourly), and its remaining life falls
    # from there. The ramp spans 150 h so the backfill (120 h) ends before the spall is at its worst.
    FaultSpec("GS-2009", "alternator_de", "bearing_outer_race", "DE", 0.0, 0.9, 150.0),
)


@dataclass(frozen=True)
class TechnicianSpec:
    name: str
    email: str
    skills: tuple[str, ...]
    home_base: str
    home_lat: float
    home_lon: float
    phone: str


TECHNICIANS = (
    TechnicianSpec("Sam Okafor", "technician@ironwatch.example", ("bearings", "electrical", "vibration"),
                   "Leeds service depot", 53.7997, -1.5492, "+44 113 496 0101"),
    TechnicianSpec("Priya Raman", "priya.raman@ironwatch.example", ("hydraulics", "bearings", "vibration"),
                   "Manchester service depot", 53.4808, -2.2426, "+44 161 496 0102"),
    TechnicianSpec("Tomasz Nowak", "tomasz.nowak@ironwatch.example", ("gearbox", "hydraulics", "engine"),
                   "Sheffield service depot", 53.3811, -1.4701, "+44 114 496 0103"),
    TechnicianSpec("Helen Marsh", "helen.marsh@ironwatch.example", ("engine", "electrical"),
                   "Buxton field office", 53.2587, -1.9110, "+44 1298 496 0104"),
    TechnicianSpec("Diego Alvarez", "diego.alvarez@ironwatch.example", ("engine", "gearbox", "bearings"),
                   "Manchester service depot", 53.4808, -2.2426, "+44 161 496 0105"),
)


@dataclass(frozen=True)
class UserSpec:
    email: str
    name: str
    role: str
    tenant: str  # tenant name


DEMO_USERS = (
    UserSpec("admin@ironwatch.example", "Avery Lang", "admin", OEM_NAME),
    UserSpec("engineer@ironwatch.example", "Elena Fischer", "engineer", OEM_NAME),
    UserSpec("customer@graniteridge.example", "Callum Reid", "customer", "Granite Ridge Quarries"),
    UserSpec("customer@meridiancivil.example", "Maya Okafor", "customer", "Meridian Civil Engineering"),
    UserSpec("service@pennineplant.example", "Dan Whitaker", "engineer", "Pennine Plant Services"),
)


def component_kinematics(template: ComponentTemplate) -> dict:
    """A deep copy of the template's kinematics (rows must not share mutable JSON)."""
    return copy.deepcopy(template.kinematics)


def sensor_name(component_name: str) -> str:
    """The contract's sensor naming: one accelerometer per component, ``<component>.acc``."""
    return f"{component_name}.acc"


def site_index() -> dict[str, tuple[str, SiteSpec]]:
    """``site key → (customer name, SiteSpec)``."""
    return {site.key: (customer.name, site) for customer in CUSTOMERS for site in customer.sites}


# --- who is told about alarms ------------------------------------------------------------------

#: The technician on call for each site (the one whose depot is nearest).
ON_CALL = {"blackstone": "Helen Marsh", "holloway": "Helen Marsh", "quays": "Priya Raman", "m62": "Priya Raman",
           "hospital": "Sam Okafor", "dc1": "Sam Okafor"}


@dataclass(frozen=True)
class EscalationStepSpec:
    after_minutes: int
    target_kind: str  # role | user | on_call
    channels: tuple[str, ...]
    target_role: str | None = None
    target_email: str | None = None


#: The OEM's chain for alarms of warning and above: the site's on-call technician by push at once,
#: the service engineers by push and e-mail after 15 min, the service manager by e-mail after 60 min.
ESCALATION_MIN_SEVERITY = "warning"
ESCALATION_STEPS = (
    EscalationStepSpec(0, "on_call", ("push",)),
    EscalationStepSpec(15, "role", ("push", "email"), target_role="engineer"),
    EscalationStepSpec(60, "user", ("email",), target_email="admin@ironwatch.example"),
)

#: A standby genset's telematics unit sends a key-off heartbeat every 15 min while the set stands
#: still (telemetry.simulator.fleet.HEARTBEAT_S) and reports every minute while it runs, as during
#: its weekly exercise run (Wednesday 10:00 site time, 30 min). fleet.alarms.ReportingPolicy reads
#: this ("not reporting" after four missed heartbeats), and fleet.seed provisions the simulated
#: controller with the same exercise schedule.
STANDBY_REPORTING = {"standby": True, "window_min": 60,
                     "exercise": {"weekday": 2, "start": "10:00", "minutes": 30}}
#: What the seed wrote before the heartbeat (a daily one, 26 h): re-seeding replaces exactly this,
#: never a policy an admin has changed.
LEGACY_STANDBY_REPORTING = {**STANDBY_REPORTING, "window_min": 26 * 60}


#: An excavator's telematics unit reports every minute with the key on and falls back to a key-off
#: heartbeat every 15 min overnight, over breaks and weekends (telemetry.simulator.fleet.HEARTBEAT_S),
#: as Product Link / KOMTRAX units do. So "not reporting" after 60 min: four missed heartbeats, or an
#: hour of silence with the key on (a 30 min window would call two lost heartbeats, a routine
#: coverage dip in a quarry pit, an outage). fleet.seed writes it for each excavator.
EXCAVATOR_REPORTING = {"window_min": 60}

#: When each site's excavators work (site-local time; telemetry.simulator.schedules.ShiftPattern):
#: the quarries load from 07:00 to 17:00 Monday to Saturday, the construction sites work the usual
#: 07:30-17:30 (town centre 08:00-18:00) Monday to Friday; all with the key off for morning tea,
#: lunch and afternoon tea. fleet.seed writes the pattern into each excavator's provisioning.
_BREAKS = [["10:00", 15], ["12:30", 30], ["15:00", 15]]
SITE_SHIFTS = {
    "blackstone": {"start": "07:00", "end": "17:00", "breaks": _BREAKS, "weekdays": [0, 1, 2, 3, 4, 5]},
    "holloway": {"start": "07:00", "end": "17:00", "breaks": _BREAKS, "weekdays": [0, 1, 2, 3, 4, 5]},
    "quays": {"start": "08:00", "end": "18:00", "breaks": _BREAKS, "weekdays": [0, 1, 2, 3, 4]},
    "m62": {"start": "07:30", "end": "17:30", "breaks": _BREAKS, "weekdays": [0, 1, 2, 3, 4]},
}


def is_standby(spec: MachineSpec) -> bool:
    """The simulator's rule (telemetry.simulator.fleet): a genset with few hours is a standby set."""
    return spec.kind == "genset" and spec.hours < 5000.0


# --- planning: parts catalogue, PM plans, technicians' hours ----------------------------------

@dataclass(frozen=True)
class PartSpec:
    part_number: str
    description: str


@dataclass(frozen=True)
class PmPlanSpec:
    """A preventive-maintenance plan of a machine model (see :mod:`fleet.preventive`)."""

    code: str
    name: str
    kind: str  # hours | calendar
    interval_h: float | None
    interval_days: int | None
    duration_h: float
    skills: tuple[str, ...]
    tasks: tuple[str, ...]
    kit: tuple[tuple[str, float], ...]  # (part number, quantity)
    lead_days: int = 14


def _excavator_parts(prefix: str) -> tuple[PartSpec, ...]:
    return (
        PartSpec(f"{prefix}-EOF", "engine oil filter, spin-on"),
        PartSpec(f"{prefix}-FF1", "fuel filter, primary (water separator)"),
        PartSpec(f"{prefix}-FF2", "fuel filter, secondary"),
        PartSpec(f"{prefix}-AFO", "air filter element, outer"),
        PartSpec(f"{prefix}-AFI", "air filter element, inner (safety)"),
        PartSpec(f"{prefix}-HRF", "hydraulic return filter element"),
        PartSpec(f"{prefix}-HPF", "hydraulic pilot filter element"),
        PartSpec(f"{prefix}-BRB", "hydraulic tank breather element"),
        PartSpec("OIL-15W40", "engine oil SAE 15W-40, litre"),
        PartSpec("OIL-HV46", "hydraulic oil ISO VG 46, litre"),
        PartSpec("OIL-GO90", "gear oil SAE 80W-90 (swing and final drives), litre"),
        PartSpec("COOL-ELC", "extended-life coolant, litre"),
        PartSpec("GRS-EP2", "EP2 lithium grease, 400 g cartridge"),
        PartSpec("6309-2RS1", "deep-groove ball bearing 6309 (pump drive shaft, swing input)"),
        PartSpec("6205-2RS1", "deep-groove ball bearing 6205 (travel motor shaft)"),
    )


def _genset_parts(prefix: str) -> tuple[PartSpec, ...]:
    return (
        PartSpec(f"{prefix}-EOF", "engine oil filter, spin-on"),
        PartSpec(f"{prefix}-FF", "fuel filter"),
        PartSpec(f"{prefix}-AF", "air filter element"),
        PartSpec(f"{prefix}-BELT", "fan / alternator drive belt"),
        PartSpec("OIL-15W40", "engine oil SAE 15W-40, litre"),
        PartSpec("COOL-ELC", "extended-life coolant, litre"),
        PartSpec("GRS-POLYREX", "electric-motor bearing grease, 400 g cartridge"),
        PartSpec("6312-2Z-C3", "deep-groove ball bearing 6312 C3 (alternator drive end)"),
        PartSpec("6309-2Z-C3", "deep-groove ball bearing 6309 C3 (alternator non-drive end)"),
    )


def _excavator_plans(prefix: str, oil_l: float) -> tuple[PmPlanSpec, ...]:
    service_250 = ("grease front attachment and swing bearing", "check track tension and undercarriage",
                   "take engine and hydraulic oil samples")
    service_500 = service_250 + ("change engine oil and filter", "change fuel filters", "drain water separator")
    service_1000 = service_500 + ("change hydraulic return and pilot filters", "change swing drive oil",
                                  "replace tank breather", "check valve clearances")
    service_2000 = service_1000 + ("change hydraulic oil", "change final drive oil", "replace air filter elements",
                                   "change coolant")
    kit_500 = ((f"{prefix}-EOF", 1), ("OIL-15W40", oil_l), (f"{prefix}-FF1", 1), (f"{prefix}-FF2", 1))
    kit_1000 = kit_500 + ((f"{prefix}-HRF", 1), (f"{prefix}-HPF", 1), (f"{prefix}-BRB", 1), ("OIL-GO90", 8))
    return (
        PmPlanSpec("PM-250", "250-hour service", "hours", 250.0, None, 1.5, ("engine",), service_250,
                   (("GRS-EP2", 2),), lead_days=7),
        PmPlanSpec("PM-500", "500-hour service", "hours", 500.0, None, 3.0, ("engine",), service_500, kit_500),
        PmPlanSpec("PM-1000", "1000-hour service", "hours", 1000.0, None, 5.0, ("engine", "hydraulics"),
                   service_1000, kit_1000),
        PmPlanSpec("PM-2000", "2000-hour service", "hours", 2000.0, None, 7.0, ("engine", "hydraulics"),
                   service_2000, kit_1000 + (("OIL-HV46", 4 * oil_l), (f"{prefix}-AFO", 1), (f"{prefix}-AFI", 1),
                                             ("COOL-ELC", 30))),
    )


def _genset_plans(prefix: str, oil_l: float) -> tuple[PmPlanSpec, ...]:
    return (
        PmPlanSpec("PM-250", "250-hour service", "hours", 250.0, None, 2.0, ("engine",),
                   ("change engine oil and filter", "change fuel filter", "check belts and hoses",
                    "check battery and charger"), ((f"{prefix}-EOF", 1), ("OIL-15W40", oil_l), (f"{prefix}-FF", 1))),
        PmPlanSpec("PM-1000", "1000-hour service", "hours", 1000.0, None, 5.0, ("engine", "electrical"),
                   ("all 250-hour tasks", "replace air filter", "replace drive belt", "regrease alternator bearings",
                    "insulation resistance test of the stator"),
                   ((f"{prefix}-EOF", 1), ("OIL-15W40", oil_l), (f"{prefix}-FF", 1), (f"{prefix}-AF", 1),
                    (f"{prefix}-BELT", 1), ("GRS-POLYREX", 1))),
        PmPlanSpec("LOADBANK-1Y", "Yearly load-bank test", "calendar", None, 365, 4.0, ("electrical",),
                   ("run 4 h on a resistive load bank at 30/50/75/100 % of rating", "record voltage, frequency and "
                    "exhaust temperatures at each step", "check transfer switch operation"), (), lead_days=21),
    )


PARTS_BY_MODEL: dict[str, tuple[PartSpec, ...]] = {
    "IW-220": _excavator_parts("IW220"), "IW-350LC": _excavator_parts("IW350"), "IW-500": _excavator_parts("IW500"),
    "IWG-800": _genset_parts("IWG800"), "IWG-1250": _genset_parts("IWG1250"), "IWG-2000": _genset_parts("IWG2000"),
}
PM_PLANS_BY_MODEL: dict[str, tuple[PmPlanSpec, ...]] = {
    "IW-220": _excavator_plans("IW220", 20.0), "IW-350LC": _excavator_plans("IW350", 32.0),
    "IW-500": _excavator_plans("IW500", 45.0), "IWG-800": _genset_plans("IWG800", 90.0),
    "IWG-1250": _genset_plans("IWG1250", 150.0), "IWG-2000": _genset_plans("IWG2000", 230.0),
}
#: Service history that makes the demo show PM orders soon: (machine, plan) → hour meter at the
#: last service (hours plans) or days since it (calendar plans). Every other counter starts at the
#: last interval boundary of the machine's hour meter, as if each service had been done on time.
PM_HISTORY: dict[tuple[str, str], float] = {
    ("EX-1001", "PM-500"): 8700.0,  # due at 9200 h, 80 h to go
    ("EX-1005", "PM-2000"): 12300.0,  # due at 14300 h, 90 h to go
    ("EX-1010", "PM-1000"): 9500.0,  # due at 10500 h, 40 h to go
    ("GS-2009", "PM-250"): 16080.0,  # quarry prime power: due at 16330 h, 10 h to go
    ("GS-2001", "LOADBANK-1Y"): 355.0,  # hospital standby set: load-bank test due in 10 days
    ("GS-2004", "LOADBANK-1Y"): 372.0,  # data-centre set: a week overdue
}
#: Days since the last load-bank test for calendar plans not in PM_HISTORY.
DEFAULT_CALENDAR_AGE_DAYS = 180

#: Working hours (minutes after local midnight, ISO weekdays); technicians not listed work 08:00-17:00, Mon-Fri.
TECHNICIAN_HOURS: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "Helen Marsh": (7 * 60, 15 * 60 + 30, (1, 2, 3, 4)),  # four-day week
    "Diego Alvarez": (10 * 60, 19 * 60, (2, 3, 4, 5, 6)),  # covers Saturdays
}
