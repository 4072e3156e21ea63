"""The simulated fleet: provisioning, per-machine schedules, and what each machine uploads when.

:class:`SimulatedMachine` couples a duty-cycle model (:mod:`telemetry.simulator.machine_models`), a DM1
monitor, a vibration-burst schedule and a coverage schedule to one :class:`~telemetry.gateway.Gateway`.
:meth:`SimulatedMachine.advance_to` steps the model one simulated second at a time and hands the
gateway operating batches (every ``batch_s`` seconds while the engine runs; a stopped machine's
telematics unit, a genset standing by or an excavator keyed off, sends a key-off heartbeat every
:data:`HEARTBEAT_S` instead), bursts (per sensor,
the first staggered over the first moments of the run, then hourly) and DM1 changes. Everything
it produces is a function of the seed, the provisioning and the simulated start time only, never
of the wall clock, so payload content is reproducible; the wall clock only decides *when* uploads
go out (see :mod:`telemetry.simulator`).

Provisioning file (``var/provisioning.json``, written by ``python -m fleet.seed``)::

    {"machines": [{"uid", "kind": "excavator" | "genset", "token", "nominal_shaft_rpm",
                   "rated_power_kw", "hours", "lat", "lon", "duty" (optional: prime | standby),
                   "exercise" (optional, standby: {"weekday", "start", "minutes"}), "timezone" (optional),
                   "shift" (optional, excavator: {"start", "end", "breaks": [[start, minutes]], "weekdays"}),
                   "sensors": [{"name", "component", "axis", "sample_rate_hz", "kinematics"}],
                   "faults": [{"component", "sensor", "fault", "location",
                               "severity_start", "severity_end", "ramp_hours"}]}]}
"""
from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from diagnostics.kinematics import ComponentKinematics
from diagnostics.synthesis import FAULT_MODES

from ..gateway.client import Gateway
from .machine_models import FaultCodeMonitor, make_model
from .schedules import ExerciseSchedule, ShiftPattern

__all__ = ["COOLING_DEGRADATION", "HEARTBEAT_S", "RUN_DOWN_S", "FaultPlan", "SensorPlan", "MachinePlan",
           "load_provisioning", "expand_fleet", "derive_seed",
           "CoverageSchedule", "SimulatedMachine", "burst_offsets_s"]

_NS = 1_000_000_000
BURST_INTERVAL_S = 3600
#: A provisioning fault that is not a vibration fault: a fouled radiator or slipping fan drive. Its
#: severity (0..1, grown like the others) raises the coolant temperature under load, so DM1 SPN 110
#: comes and goes with the work (see telemetry.simulator.dm1).
COOLING_DEGRADATION = "cooling_degradation"
#: A machine's telematics unit keeps reporting while the engine stands still: a genset's, powered by
#: the set's battery charger, and an excavator's after key-off (as Cat Product Link / VisionLink and
#: KOMTRAX units do: they stop sampling the ECU and report position, battery voltage and hour meter
#: at a low rate). One key-off status sample (position, battery voltage, hour meter, fuel level,
#: temperatures) every 15 minutes; the fleet's "not reporting" window for these machines
#: (fleet.demo_fleet: standby sets and excavators, 60 min) allows four of them to go missing.
HEARTBEAT_S = 900
#: After the engine stops, full-rate samples go on this long (the run-down and the stopped state),
#: then the batch is sent and the unit falls back to its heartbeat.
RUN_DOWN_S = 60


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts (stable across runs and platforms, unlike ``hash``)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class FaultPlan:
    """A developing fault on one sensor's component; severity (0..1) grows with engine hours."""

    fault: str
    location: str | None
    severity_start: float
    severity_end: float
    ramp_hours: float

    def severity(self, operating_hours: float) -> float:
        """Severity after ``operating_hours`` (h) of running since the simulation began.

        Slow at first, then accelerating (a P-F curve): ``s0 + (s1 - s0) * (e^(3x) - 1) / (e^3 - 1)``
        with ``x`` the fraction of ``ramp_hours`` run; it holds at ``severity_end`` afterwards.
        """
        x = min(1.0, max(0.0, operating_hours / self.ramp_hours)) if self.ramp_hours > 0 else 1.0
        growth = (math.exp(3.0 * x) - 1.0) / (math.exp(3.0) - 1.0)
        return min(1.0, max(0.0, self.severity_start + (self.severity_end - self.severity_start) * growth))


@dataclass(frozen=True)
class SensorPlan:
    name: str
    component: str
    axis: str
    sample_rate_hz: float
    kinematics: ComponentKinematics
    fault: FaultPlan | None = None


@dataclass(frozen=True)
class MachinePlan:
    """One machine to simulate. ``clone`` > 0 marks a load-mode copy sharing the original's identity."""

    uid: str
    kind: str
    token: str
    lat: float
    lon: float
    hours: float
    nominal_rpm: float
    rated_kw: float
    duty: str
    sensors: tuple[SensorPlan, ...]
    cooling: FaultPlan | None = None   # a fouled radiator: raises coolant temperature under load
    clone: int = 0
    exercise: ExerciseSchedule | None = None   # a standby set's weekly exercise run (site time)
    shift: ShiftPattern | None = None   # an excavator's working day (site time): when its key is on

    @property
    def label(self) -> str:
        return self.uid if self.clone == 0 else f"{self.uid}~{self.clone}"


def _fault_plan(f: dict[str, Any]) -> FaultPlan:
    return FaultPlan(f["fault"], f.get("location") or None, float(f.get("severity_start", 0.5)),
                     float(f.get("severity_end", f.get("severity_start", 0.5))), float(f.get("ramp_hours", 100.0)))


def _plan_machine(entry: dict[str, Any]) -> MachinePlan:
    faults, cooling = {}, None
    for f in entry.get("faults", []):
        if f["fault"] == COOLING_DEGRADATION:
            cooling = _fault_plan(f)
        elif f["fault"] in FAULT_MODES:
            faults[f.get("sensor") or f["component"]] = f
        else:
            raise ValueError(f"fault {f['fault']!r} is neither a vibration fault mode "
                             f"({', '.join(FAULT_MODES)}) nor {COOLING_DEGRADATION!r}")
    sensors = []
    for s in entry["sensors"]:
        f = faults.get(s["name"]) or faults.get(s["component"])
        sensors.append(SensorPlan(s["name"], s["component"], s.get("axis", "radial"), float(s["sample_rate_hz"]),
                                  ComponentKinematics.from_dict(s.get("kinematics")),
                                  None if f is None else _fault_plan(f)))
    kind = entry["kind"]
    hours = float(entry.get("hours") or 0.0)
    # Without an explicit duty, a genset that has run few hours is a standby set (hospital, data
    # centre); one with many hours is the site's prime power.
    duty = entry.get("duty") or ("prime" if kind != "genset" or hours >= 5000.0 else "standby")
    nominal = float(entry.get("nominal_shaft_rpm") or (1500.0 if kind == "genset" else 1800.0))
    rated = float(entry.get("rated_power_kw") or (640.0 if kind == "genset" else 124.0))
    exercise = (ExerciseSchedule.from_settings(entry.get("exercise"), entry.get("timezone"))
                if kind == "genset" and duty == "standby" else None)
    shift = ShiftPattern.from_settings(entry.get("shift"), entry.get("timezone")) if kind == "excavator" else None
    return MachinePlan(entry["uid"], kind, entry["token"], float(entry["lat"]), float(entry["lon"]), hours,
                       nominal, rated, duty, tuple(sensors), cooling, exercise=exercise, shift=shift)


def load_provisioning(path: str | Path) -> list[MachinePlan]:
    """Machines from a provisioning file, in file order; ValueError naming what is missing."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"no provisioning file at {path}: run `python -m fleet.seed` first") from None
    plans = []
    for i, entry in enumerate(doc.get("machines", [])):
        try:
            plans.append(_plan_machine(entry))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: machines[{i}] is not a usable machine: {exc!r}") from exc
    if not plans:
        raise ValueError(f"{path} lists no machines")
    return plans


def expand_fleet(plans: Sequence[MachinePlan], n: int) -> list[MachinePlan]:
    """The first ``n`` machines; beyond the file, load-mode clones of them (clone = 1, 2, ...)."""
    out = []
    for i in range(n):
        base = plans[i % len(plans)]
        clone = i // len(plans)
        out.append(base if clone == 0 else MachinePlan(**{**base.__dict__, "clone": clone}))
    return out


class CoverageSchedule:
    """When a machine's cellular link is down (simulated time), drawn once from its seed.

    Gaps start on average every ``mean_between_h`` hours and last ``min_gap_s``..``max_gap_s``;
    none starts in the first hour, so the first bursts of a run go straight through.
    """

    def __init__(self, seed: int, start_ns: int, mean_between_h: float, min_gap_s: int = 300,
                 max_gap_s: int = 2700):
        self._rng = random.Random(seed)
        self.enabled = mean_between_h > 0
        self.mean_between_s = mean_between_h * 3600.0
        self.min_gap_s, self.max_gap_s = min_gap_s, max_gap_s
        self._gap_start = start_ns + 3600 * _NS
        self._draw_next(self._gap_start)

    def _draw_next(self, after_ns: int) -> None:
        if not self.enabled:
            self._gap_start, self._gap_end = math.inf, math.inf
            return
        self._gap_start = after_ns + int(self._rng.expovariate(1.0 / self.mean_between_s) * _NS)
        self._gap_end = self._gap_start + self._rng.randint(self.min_gap_s, self.max_gap_s) * _NS

    def online(self, t_ns: int) -> bool:
        """Link up at ``t_ns``; call with non-decreasing times."""
        while t_ns >= self._gap_end:
            self._draw_next(self._gap_end)
        return not (self._gap_start <= t_ns < self._gap_end)


def burst_offsets_s(n_sensors: int, speedup: float, stagger_wall_s: float = 30.0,
                    replay_s: float | None = None) -> list[int]:
    """Simulated seconds after the start at which each sensor of the fleet takes its first burst.

    Spread evenly over the first ``stagger_wall_s`` wall seconds, so a freshly started simulator
    shows every machine's state within half a minute: ``stagger_wall_s * speedup`` simulated
    seconds while replaying history, but only ``stagger_wall_s`` for whatever part of the stagger
    falls after the replay (``replay_s`` simulated seconds), when time runs at x1. Never beyond
    the hourly cadence.
    """
    fast = stagger_wall_s * speedup if math.isfinite(speedup) else stagger_wall_s
    if replay_s is not None and fast > replay_s:
        # The replay ends within the stagger: what remains of the 30 wall seconds runs at x1.
        wall_left = stagger_wall_s - replay_s / speedup if math.isfinite(speedup) else stagger_wall_s
        fast = replay_s + max(0.0, wall_left)
    span = min(fast, BURST_INTERVAL_S - 1)
    return [1 + int(span * k / max(1, n_sensors)) for k in range(n_sensors)]


@dataclass(frozen=True)
class HistoryThinning:
    """How a fast backfill of days thins what the gateways send before ``until_ns``.

    The machine models still step every simulated second (faults and hour meters develop exactly
    as at full rate); only what is uploaded thins: one operating sample every ``sample_every_s``
    seconds and one burst per sensor every ``burst_every_s`` of running (hour meter). Enough for
    trends, diagnoses and the RUL models' cadence of 12 operating hours, at a fraction of the ingest
    and diagnosis work. From ``until_ns`` on, everything is sent at full rate (hourly bursts on the clock).
    """

    until_ns: int = 0
    sample_every_s: int = 1
    #: Counted in **engine running time** (the hour meter), not on the clock: the RUL models' axis is
    #: operating hours, so a machine that works 9 hours a day gets as many thinned bursts per hour
    #: of wear as one running around the clock (for which the two are the same).
    burst_every_s: int = BURST_INTERVAL_S

    def keeps_sample(self, t_ns: int) -> bool:
        return t_ns >= self.until_ns or (t_ns // _NS) % self.sample_every_s == 0

    def burst_interval_s(self, t_ns: int) -> int:
        return BURST_INTERVAL_S if t_ns >= self.until_ns else self.burst_every_s


@dataclass
class MachineCounters:
    bursts: int = 0
    bursts_deferred: int = 0      # due while the engine stood still: taken when it runs again
    dm1_changes: int = 0
    batches: int = 0


class SimulatedMachine:
    """One machine of the fleet, driving its gateway as simulated time passes.

    Parameters
    ----------
    plan : MachinePlan
    gateway : Gateway
        Where uploads go (its ``online`` flag follows the coverage schedule).
    seed : int
        Run seed; the machine's own seeds derive from it, its uid and its clone number.
    start_ns : int
        Simulated start (UTC ns).
    first_burst_s : sequence of int
        Per sensor, simulated seconds after the start of the first burst.
    synthesize : callable
        ``diagnostics.synthesis.synthesize_burst`` (passed in so tests can use it directly).
    batch_s : int
        Operating samples per upload (one per second).
    gap_mean_h : float
        Mean hours between coverage gaps; 0 disables gaps.
    thin : HistoryThinning, optional
        Before ``thin.until_ns``, send fewer samples and bursts (a demo's fast backfill of days).
    """

    def __init__(self, plan: MachinePlan, gateway: Gateway, seed: int, start_ns: int,
                 first_burst_s: Sequence[int], synthesize: Callable[..., np.ndarray], batch_s: int = 60,
                 gap_mean_h: float = 6.0, thin: "HistoryThinning | None" = None):
        self.plan = plan
        self.gateway = gateway
        self.seed = derive_seed(seed, plan.uid, plan.clone)
        # Load-mode clones share their original's machine uid: shift their clock by whole
        # milliseconds so their points and burst ids never collide with the original's.
        self.offset_ns = plan.clone * 1_000_000
        options: dict[str, Any] = {"hour_meter_h": plan.hours, "rated_kw": plan.rated_kw}
        if plan.kind == "excavator":
            options["rated_rpm"] = plan.nominal_rpm
            options["shift"] = plan.shift
        else:
            options["duty"] = plan.duty
            options["exercise"] = plan.exercise
        if plan.cooling is not None:
            options["cooling_degradation"] = plan.cooling.severity(0.0)
        self.model = make_model(plan.kind, self.seed, start_ns, plan.lat, plan.lon, **options)
        self.start_hours = self.model.hour_meter_h
        self.monitor = FaultCodeMonitor(self.model.rules)
        self.coverage = CoverageSchedule(derive_seed(self.seed, "coverage"), start_ns,
                                         gap_mean_h if plan.kind == "excavator" else 4 * gap_mean_h)
        self.next_burst_ns = [start_ns + s * _NS for s in first_burst_s]
        #: While thinned: the hour meter reading (h) each sensor's next burst waits for, on top of its time.
        self.next_burst_meter_h: list[float | None] = [None] * len(first_burst_s)
        self.burst_index = [0] * len(plan.sensors)
        self.synthesize = synthesize
        self.batch_s = batch_s
        self.batch: list[tuple[int, dict[str, float]]] = []
        self.counters = MachineCounters()
        self.last_fields: dict[str, float] = {}
        self.thin = thin or HistoryThinning()
        # Every unit falls back to a heartbeat once its engine has stopped (a standby set standing
        # by, an excavator keyed off overnight); a prime-power set simply never stops.
        self.heartbeat_ns = HEARTBEAT_S * _NS
        self.stopped_s = 0
        self.last_kept_ns: int | None = None

    @property
    def t_ns(self) -> int:
        return self.model.t_ns

    @property
    def operating_hours(self) -> float:
        """Engine hours (h) run since the simulation started: what developing faults grow with."""
        return self.model.hour_meter_h - self.start_hours

    def advance_to(self, t_ns: int) -> None:
        """Step the machine up to simulated time ``t_ns``, submitting uploads on the way."""
        gw = self.gateway
        while self.model.t_ns + _NS <= t_ns:
            fields = self.model.step()
            now = self.model.t_ns
            self.last_fields = fields
            gw.online = self.coverage.online(now)
            stamp = now + self.offset_ns
            self.stopped_s = 0 if self.model.running else self.stopped_s + 1
            resting = self.stopped_s >= RUN_DOWN_S
            if resting:   # key-off: one heartbeat per period, each sent at once with whatever waits
                keep = self.last_kept_ns is None or now - self.last_kept_ns >= self.heartbeat_ns
            else:
                keep = self.thin.keeps_sample(now)
            if keep:
                self.batch.append((stamp, fields))
                self.last_kept_ns = now
            change = self.monitor.update(fields, self.model.running)
            if change is not None:
                lamps, active = change.to_payload()
                gw.send_faults(stamp, lamps, active)
                self.counters.dm1_changes += 1
            if len(self.batch) >= self.batch_s or (resting and self.batch and (keep or self.stopped_s == RUN_DOWN_S)):
                gw.send_operating(self.batch)
                self.batch = []
                self.counters.batches += 1
                if self.plan.cooling is not None:   # grows slowly: once a minute is plenty
                    self.model.cooling_degradation = self.plan.cooling.severity(self.operating_hours)
            for i, due in enumerate(self.next_burst_ns):
                if now >= due and self._ran_long_enough(i, now):
                    self._burst(i, now, fields)

    def _ran_long_enough(self, i: int, now: int) -> bool:
        """Whether sensor ``i``'s thinned burst has the running hours it waits for (always, at full rate)."""
        meter = self.next_burst_meter_h[i]
        # half a second of slack: the meter is a sum of one-second steps, a little short in floating point
        return meter is None or now >= self.thin.until_ns or self.model.hour_meter_h >= meter - 0.5 / 3600

    def _burst(self, i: int, now: int, fields: dict[str, float]) -> None:
        rpm = fields["engine_speed_rpm"]
        # A gateway triggers its bursts only while the machine runs near working speed; a burst due
        # while it stands still (or idles) is taken as soon as it works again.
        if rpm < 0.8 * self.plan.nominal_rpm:
            if self.next_burst_ns[i] == now:
                self.counters.bursts_deferred += 1
            return
        sensor = self.plan.sensors[i]
        severity = 0.0
        fault = sensor.fault
        if fault is not None:
            severity = fault.severity(self.operating_hours)
        k = self.burst_index[i]
        samples = self.synthesize(sensor.kinematics, rpm, fs=sensor.sample_rate_hz, duration_s=1.0,
                                  fault=fault.fault if fault and severity > 0 else None, severity=severity,
                                  snr_db=20.0, seed=derive_seed(self.seed, sensor.name, k) & 0xFFFFFFFF,
                                  fault_location=fault.location if fault else None)
        # The hour meter at capture puts the burst on the machine's operating-hour axis (RUL ages on it).
        self.gateway.send_burst(sensor.name, sensor.axis, sensor.sample_rate_hz, now + self.offset_ns, rpm, samples,
                                hour_meter_h=fields["hour_meter_h"])
        self.burst_index[i] = k + 1
        self.counters.bursts += 1
        interval_ns = self.thin.burst_interval_s(now) * _NS
        if now < self.thin.until_ns:   # thinned: the next one also waits for that much running
            self.next_burst_meter_h[i] = self.model.hour_meter_h + interval_ns / (3600 * _NS)
        nxt = self.next_burst_ns[i] + interval_ns
        nxt = nxt if nxt > now else now + interval_ns
        until = self.thin.until_ns
        if now < until < nxt:
            # A thinned burst must not skip the full-rate tail: the first one falls in its first hour,
            # at the sensor's own phase, so the last two hours hold hourly bursts as promised.
            nxt = until + (self.next_burst_ns[i] - until) % (BURST_INTERVAL_S * _NS)
        self.next_burst_ns[i] = nxt

    def flush_batch(self) -> None:
        """Send the partial operating batch (on shutdown)."""
        if self.batch:
            self.gateway.send_operating(self.batch)
            self.batch = []
            self.counters.batches += 1
