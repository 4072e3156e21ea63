"""Duty-cycle models of the simulated machines: what their engine ECUs report once a second.

Pure and deterministic: each model owns a seeded :class:`random.Random`, advances in steps of one
simulated second and never reads the wall clock, so the same seed and start time always give the
same sequence of samples. No I/O here; :mod:`telemetry.simulator` turns the samples into uploads.

Two machine kinds:

* :class:`ExcavatorModel` - a 20 t class hydraulic excavator (about 120 kW, 1,850 rpm working
  speed, 400 l tank) keyed on for its site's working day (:class:`ShiftPattern`, site-local time,
  weekends off unless provisioned otherwise): truck-loading sessions of dig / swing / dump /
  swing-back cycles of about 18 s, idle waiting for trucks, short travel moves on site, breaks
  with the key off, and refuelling from a fuel bowser.
* :class:`GensetModel` - a 400 kWe / 500 kVA diesel generator set (1,500 rpm, 400 V, 50 Hz),
  either ``"prime"`` (the site's only supply: load-following a daily profile with loads switching
  on and off) or ``"standby"`` (off; a weekly unloaded exercise run at its scheduled site-local
  time, :class:`ExerciseSchedule`; mains outages make it start and carry the load, then cool down
  unloaded).

Temperatures follow first-order thermal lags; the hour meter advances only while the engine runs;
DM1 fault codes (:class:`FaultCodeMonitor`) appear and clear when a value crosses a limit, with
hysteresis and a debounce time, as an engine ECU does.

The SPN numbers are SAE J1939-71's (110 coolant temperature, 100 oil pressure, 175 oil
temperature, 96 fuel level, 168 battery potential, 1638 hydraulic temperature, 190 engine speed);
FMI 0/1 = high/low most severe, 16/18 = high/low moderately severe.
"""
from __future__ import annotations

import math
import random

from .dm1 import EXCAVATOR_RULES, GENSET_RULES, Dm1State, FaultCodeMonitor, LimitRule
from .schedules import ExerciseSchedule, ShiftPattern
from .thermals import EngineThermals, SiteWeather, first_order

__all__ = [
    "ExcavatorModel",
    "ExerciseSchedule",
    "GensetModel",
    "LimitRule",
    "FaultCodeMonitor",
    "ShiftPattern",
    "Dm1State",
    "EXCAVATOR_RULES",
    "GENSET_RULES",
    "make_model",
]

_NS = 1_000_000_000
_HOUR_S = 3600.0
_DAY_S = 86400.0
_METRES_PER_DEG_LAT = 111_320.0


# ----------------------------------------------------------------------------------- excavator

# Working phases: (engine speed: off / auto-idle / working, engine load 0..1, hydraulic pressure
# bar, (min, max) duration s). Loads and pressures are typical of a 20-50 t machine in power mode.
_PHASES = {
    "off": ("off", 0.0, 0.0, (0, 0)),
    "idle": ("idle", 0.12, 35.0, (60, 360)),
    "dig": ("work", 0.92, 320.0, (5, 8)),
    "swing_loaded": ("work", 0.60, 220.0, (3, 5)),
    "dump": ("work", 0.35, 140.0, (2, 4)),
    "swing_back": ("work", 0.45, 180.0, (3, 5)),
    "travel": ("work", 0.65, 260.0, (30, 180)),
}
_AUTO_IDLE_RPM = 1000.0
_DIG_CYCLE = ("dig", "swing_loaded", "dump", "swing_back")
# Share of the two main pumps' full flow each phase draws; swing speeds (rpm, + = towards the truck).
_PHASE_FLOW = {"off": 0.0, "idle": 0.08, "dig": 0.7, "swing_loaded": 0.85, "dump": 0.5, "swing_back": 0.9,
               "travel": 0.95}
_SWING_RPM = {"swing_loaded": 9.5, "swing_back": -11.0}
_PUMP_FLOW_L_MIN = 2 * 210.0
_TRAVEL_SPEED_M_S = 1.0


#: The operator keys on up to this long after the shift (or a break) begins, s: machines on one
#: site do not all start in the same second.
_KEY_ON_DELAY_S = (0, 600)


class ExcavatorModel:
    """A hydraulic excavator's ECU values, one sample per simulated second.

    Parameters
    ----------
    seed : int
        Seed of this machine's random stream.
    start_ns : int
        Simulation start, UTC, ns since the epoch.
    lat, lon : float
        Centre of the site (degrees); the machine stays within ``site_radius_m`` of it.
    hour_meter_h : float
        Engine hours (h) at the start.
    rated_kw, rated_rpm : float
        Engine rated power (kW) and speed (rpm); fuel burn and tank size scale with the power.
    cooling_degradation : float
        0..1: fouled radiator / slipping fan; raises the coolant temperature under load.
    shift : ShiftPattern, optional
        When the key is on (default: Monday to Friday 07:00-17:30 UTC with three breaks). A run that
        starts inside a key-on window starts warm, in the middle of loading a truck; one that
        starts outside it starts with the engine stopped and cold.
    """

    kind = "excavator"
    rules = EXCAVATOR_RULES

    def __init__(self, seed: int, start_ns: int, lat: float, lon: float, hour_meter_h: float = 2500.0,
                 rated_kw: float = 124.0, rated_rpm: float = 1800.0, site_radius_m: float = 150.0,
                 cooling_degradation: float = 0.0, shift: ShiftPattern | None = None):
        self.shift = shift or ShiftPattern()
        self._key_on_window = self.shift.window_after(start_ns)
        self.rng = random.Random(seed)
        self.t_ns = start_ns
        self._elapsed_s = 0
        self.weather = SiteWeather.for_site(lat, lon, self.rng)
        self.centre = (lat, lon)
        self.radius_m = site_radius_m
        self.x_m, self.y_m = self.rng.uniform(-40, 40), self.rng.uniform(-40, 40)
        self.heading = self.rng.uniform(0, 2 * math.pi)
        self.hour_meter_h = hour_meter_h
        self.rated_kw = rated_kw
        # Working speed: a little above rated with no load; the governor droops to rated at full load.
        self.work_rpm = rated_rpm + 50.0
        self.tank_l = 3.2 * rated_kw    # about 400 l for a 124 kW machine: a long shift and more
        self.fuel_l = self.tank_l * self.rng.uniform(0.45, 0.9)
        self.cooling_degradation = cooling_degradation
        ambient = self.weather.ambient_c(start_ns)
        self.key_on_in_s: int | None = None    # the operator's delay once the window has opened
        if self.key_on_at(start_ns):   # a run inside the working day starts in the middle of loading a truck
            self.phase, self.phase_left, self.cycle_left = "dig", 6, self.rng.randint(8, 30)
            self.rpm, self.load, self.pressure_bar, self.swing_rpm = 1000.0, 0.12, 35.0, 0.0
            self.thermals = EngineThermals.warm(ambient, hydraulic=True)
            self.exhaust_c = 300.0
        else:   # standing overnight (or over the weekend): stopped and cold
            self.phase, self.phase_left, self.cycle_left = "off", 0, 0
            self.rpm, self.load, self.pressure_bar, self.swing_rpm = 0.0, 0.0, 0.0, 0.0
            self.thermals = EngineThermals.cold(ambient, hydraulic=True)
            self.exhaust_c = ambient

    def key_on_at(self, t_ns: int) -> bool:
        """True while ``t_ns`` (UTC ns, non-decreasing between calls) lies in a key-on window."""
        start_ns, end_ns = self._key_on_window
        if t_ns >= end_ns:
            start_ns, end_ns = self._key_on_window = self.shift.window_after(t_ns)
        return start_ns <= t_ns < end_ns

    @property
    def running(self) -> bool:
        return self.rpm > 300.0

    def _next_phase(self) -> None:
        """Choose what the operator does next (a small Markov chain over tasks)."""
        rng = self.rng
        if self.cycle_left > 0:
            i = (_DIG_CYCLE.index(self.phase) + 1) % 4 if self.phase in _DIG_CYCLE else 0
            if i == 3:
                self.cycle_left -= 1
            self.phase = _DIG_CYCLE[i]
        else:
            u = rng.random()
            if u < 0.6:
                self.phase, self.cycle_left = "dig", rng.randint(12, 45)   # one to three trucks
            elif u < 0.85:
                self.phase = "idle"
            else:
                self.phase = "travel"
                self.heading += rng.gauss(0, 1.0)
        lo, hi = _PHASES[self.phase][3]
        self.phase_left = rng.randint(lo, hi)

    def _refuel(self) -> None:
        # The bowser tops up at shift start when below 60 %, but it does not always come; when the
        # tank runs low (after the low-fuel warning) the operator calls it and it arrives.
        pct = 100.0 * self.fuel_l / self.tank_l
        if pct < 6.0 and self.rng.random() < 1 / 600:  # arrives on average 10 min after the call
            self.fuel_l = self.tank_l * 0.97

    def _move(self, dt: float) -> None:
        r = math.hypot(self.x_m, self.y_m)
        if r > 0.85 * self.radius_m:   # stay on site: steer back towards the middle
            self.heading = math.atan2(-self.y_m, -self.x_m) + self.rng.gauss(0, 0.3)
        self.heading += self.rng.gauss(0, 0.05)
        self.x_m += _TRAVEL_SPEED_M_S * dt * math.cos(self.heading)
        self.y_m += _TRAVEL_SPEED_M_S * dt * math.sin(self.heading)

    def step(self) -> dict[str, float]:
        """Advance one second; return the ECU values at the new time ``self.t_ns``."""
        rng = self.rng
        dt = 1.0
        self.t_ns += _NS
        self._elapsed_s += 1
        if not self.key_on_at(self.t_ns):
            self.key_on_in_s = None
            if self.phase != "off":
                self.phase, self.cycle_left = "off", 0
        elif self.phase == "off":
            if self.key_on_in_s is None:
                self.key_on_in_s = rng.randint(*_KEY_ON_DELAY_S)
            self.key_on_in_s = max(0, self.key_on_in_s - 1)
            # A dry tank keeps it stopped until the bowser answers the call (_refuel).
            if self.key_on_in_s == 0 and self.fuel_l > 0.5:
                self.phase, self.phase_left = "idle", 30   # start-up: warm idle before work
                if 100.0 * self.fuel_l / self.tank_l < 60.0 and rng.random() < 0.7:
                    self.fuel_l = self.tank_l * 0.97      # the bowser does its round at start-up
        else:
            self.phase_left -= 1
            if self.phase_left <= 0:
                self._next_phase()
            if self.fuel_l <= 0.5:       # ran dry: the engine stops
                self.phase, self.cycle_left = "off", 0

        speed, load_set, bar_set, _ = _PHASES[self.phase]
        rpm_set = {"off": 0.0, "idle": _AUTO_IDLE_RPM, "work": self.work_rpm}[speed]
        if self.phase == "dig":
            load_set = min(1.0, load_set + rng.gauss(0, 0.05))
            bar_set = min(343.0, bar_set + rng.gauss(0, 12.0))  # main relief at 343 bar
        self.load = first_order(self.load, load_set, dt, 0.5)
        droop = 70.0 * self.load if rpm_set else 0.0
        self.rpm = first_order(self.rpm, rpm_set - droop, dt, 0.8 if rpm_set else 1.5)
        self.pressure_bar = first_order(self.pressure_bar, bar_set, dt, 0.3)
        self.swing_rpm = first_order(self.swing_rpm, _SWING_RPM.get(self.phase, 0.0), dt, 0.8)
        running = self.running
        if self.phase == "travel":
            self._move(dt)

        # About 0.26 l/kWh at full load, 2 % of that at idle (a 124 kW engine: 32 l/h and 2.5 l/h).
        fuel_l_h = self.rated_kw * (0.02 + 0.24 * self.load ** 1.1) if running else 0.0
        self.fuel_l = max(0.0, self.fuel_l - fuel_l_h * dt / _HOUR_S)
        self._refuel()
        if running:
            self.hour_meter_h += dt / _HOUR_S
        ambient = self.weather.ambient_c(self.t_ns)
        hyd_power = self.pressure_bar / 343.0 * self.load
        th = self.thermals.step(dt, ambient, running, self.load, self.rpm,
                                cooling_penalty_c=22.0 * self.cooling_degradation * self.load,
                                hydraulic_power=hyd_power)
        self.exhaust_c = first_order(self.exhaust_c, (180.0 + 380.0 * self.load) if running else ambient,
                                     dt, 20.0 if running else 600.0)
        lat, lon = self._position()
        return {
            "engine_speed_rpm": round(max(0.0, self.rpm + (rng.gauss(0, 4.0) if running else 0.0)), 1),
            "engine_load_pct": round(100.0 * self.load if running else 0.0, 1),
            "coolant_temp_c": round(th.coolant_c + rng.gauss(0, 0.15), 1),
            "oil_temp_c": round(th.oil_c + rng.gauss(0, 0.15), 1),
            "oil_pressure_kpa": round(max(0.0, th.oil_pressure_kpa + (rng.gauss(0, 3.0) if running else 0.0)), 1),
            "hydraulic_pressure_bar": round(max(0.0, self.pressure_bar + (rng.gauss(0, 3.0) if running else 0.0)), 1),
            "hydraulic_oil_temp_c": round(th.hydraulic_c + rng.gauss(0, 0.1), 1),
            "fuel_rate_l_h": round(max(0.0, fuel_l_h + (rng.gauss(0, 0.3) if running else 0.0)), 2),
            "fuel_level_pct": round(100.0 * self.fuel_l / self.tank_l, 1),
            "hour_meter_h": round(self.hour_meter_h, 4),
            "ambient_temp_c": round(ambient, 1),
            "battery_v": round(th.battery_v + rng.gauss(0, 0.05), 2),
            "boost_pressure_kpa": round((5.0 + 160.0 * self.load) if running else 0.0, 1),
            # After the charge-air cooler the intake runs some 10-35 K above the air outside.
            "intake_air_temp_c": round(ambient + ((10.0 + 25.0 * self.load) if running else 0.0), 1),
            "exhaust_temp_c": round(self.exhaust_c, 1),
            "pump_flow_l_min": round(_PUMP_FLOW_L_MIN * self.rated_kw / 124.0 * self.rpm / self.work_rpm
                                     * _PHASE_FLOW[self.phase], 1),
            "swing_speed_rpm": round(self.swing_rpm, 2),
            "travel_speed_km_h": round(3.6 * _TRAVEL_SPEED_M_S if self.phase == "travel" else 0.0, 2),
            "lat": lat,
            "lon": lon,
        }

    def _position(self) -> tuple[float, float]:
        """GPS fix (degrees, 6 decimals = 0.1 m) with about 1 m of receiver noise."""
        lat0, lon0 = self.centre
        north = self.y_m + self.rng.gauss(0, 1.0)
        east = self.x_m + self.rng.gauss(0, 1.0)
        lat = lat0 + north / _METRES_PER_DEG_LAT
        lon = lon0 + east / (_METRES_PER_DEG_LAT * math.cos(math.radians(lat0)))
        return round(lat, 6), round(lon, 6)


# -------------------------------------------------------------------------------------- genset

_GENSET_RATED_KW = 640.0
_NOMINAL_HZ = 50.0
_NOMINAL_V = 400.0


class GensetModel:
    """A diesel generator set's controller values, one sample per simulated second.

    Parameters
    ----------
    seed, start_ns, lat, lon, hour_meter_h, cooling_degradation
        As for :class:`ExcavatorModel`.
    duty : str
        ``"prime"`` (always running, load following) or ``"standby"``. A standby set begins the
        simulation with its monthly one-hour load-bank test at half load (NFPA 110 style), so
        its condition shows as soon as the simulator starts; after that it runs only for its
        weekly exercise (``exercise``) and for mains outages.
    rated_kw : float
        Rated electrical output (kW).
    exercise : ExerciseSchedule, optional
        A standby set's weekly exercise run (default Wednesday 10:00 UTC, 30 min).
    """

    kind = "genset"
    rules = GENSET_RULES

    def __init__(self, seed: int, start_ns: int, lat: float, lon: float, hour_meter_h: float = 8000.0,
                 duty: str = "prime", rated_kw: float = _GENSET_RATED_KW, cooling_degradation: float = 0.0,
                 exercise: ExerciseSchedule | None = None):
        if duty not in ("prime", "standby"):
            raise ValueError(f"duty must be 'prime' or 'standby', got {duty!r}")
        self.exercise = exercise or ExerciseSchedule()
        self._exercise_window = self.exercise.window_after(start_ns)
        self.rng = random.Random(seed)
        self.t_ns = start_ns
        self._elapsed_s = 0
        self.duty = duty
        self.rated_kw = rated_kw
        self.weather = SiteWeather.for_site(lat, lon, self.rng)
        # Sets on one site stand in a row a few metres apart.
        east, north = self.rng.uniform(-25, 25), self.rng.uniform(-25, 25)
        self.position = (round(lat + north / _METRES_PER_DEG_LAT, 6),
                         round(lon + east / (_METRES_PER_DEG_LAT * math.cos(math.radians(lat))), 6))
        self.hour_meter_h = hour_meter_h
        self.tank_l = 5.0 * rated_kw     # base tank plus the site bulk tank: about a day at full load
        self.fuel_l = self.tank_l * self.rng.uniform(0.5, 0.9)
        self.load_test_left_s = 3600 if duty == "standby" else 0
        self.delivery_in_s: int | None = None
        self.cooling_degradation = cooling_degradation
        # Switched loads (pumps, compressors, lighting banks): kW each, on/off telegraph processes.
        self.blocks = [(self.rng.uniform(0.05, 0.12) * rated_kw, self.rng.random() < 0.5) for _ in range(4)]
        self.kw = 0.0
        self.freq_dev_hz = 0.0
        self.volt_dev_v = 0.0
        self.mains_ok_for_s = int(self.rng.expovariate(1 / (5 * _DAY_S)))   # standby: next outage
        self.outage_left_s = 0
        self.cooldown_left_s = 0
        running = duty == "prime"
        self.winding_c = self.weather.ambient_c(start_ns) + (45.0 if running else 0.0)
        self.rpm = 1500.0 if running else 0.0
        if running:   # already carrying the site: no start-up load step
            self.kw = self._site_demand_kw()
        self.thermals = EngineThermals.warm(self.weather.ambient_c(start_ns), hydraulic=False) if running \
            else EngineThermals.cold(self.weather.ambient_c(start_ns), hydraulic=False)

    @property
    def running(self) -> bool:
        return self.rpm > 300.0

    def _site_demand_kw(self) -> float:
        """Site load (kW): a daily shape (busy by day) plus switched blocks, with small ripple."""
        local_h = self.weather.local_hour(self.t_ns)
        daily = 0.30 + 0.22 * max(0.0, math.sin(math.pi * (local_h - 6.0) / 14.0)) if 6.0 <= local_h <= 20.0 \
            else 0.30
        for i, (kw, on) in enumerate(self.blocks):
            if self.rng.random() < 1 / 1200:   # each block switches about every 20 min
                self.blocks[i] = (kw, not on)
        switched = sum(kw for kw, on in self.blocks if on)
        return max(0.0, daily * self.rated_kw + switched + self.rng.gauss(0, 0.004 * self.rated_kw))

    def _wanted(self) -> tuple[bool, bool]:
        """(engine should run, breaker closed to the load) for the duty and the mains."""
        if self.duty == "prime":
            return True, True
        if self.load_test_left_s > 0:
            self.load_test_left_s -= 1
            if self.load_test_left_s == 0:
                self.cooldown_left_s = 300
            return True, True
        # Standby: outages arrive at random; a weekly unloaded exercise run on the site's schedule.
        if self.outage_left_s > 0:
            self.outage_left_s -= 1
            if self.outage_left_s == 0:
                self.cooldown_left_s = 300
                self.mains_ok_for_s = int(self.rng.expovariate(1 / (5 * _DAY_S)))
            return True, True
        self.mains_ok_for_s -= 1
        if self.mains_ok_for_s <= 0:
            self.outage_left_s = self.rng.randint(1800, 4 * 3600)
            return True, True
        if self.cooldown_left_s > 0:
            self.cooldown_left_s -= 1
            return True, False
        start_ns, end_ns = self._exercise_window
        if self.t_ns >= end_ns:
            start_ns, end_ns = self._exercise_window = self.exercise.window_after(self.t_ns)
        return start_ns <= self.t_ns < end_ns, False

    def _refuel(self) -> None:
        # Below 30 % a delivery is ordered; the tanker comes 4 to 12 h later and fills to 95 %.
        if self.delivery_in_s is None and self.fuel_l < 0.30 * self.tank_l:
            self.delivery_in_s = self.rng.randint(4 * 3600, 12 * 3600)
        elif self.delivery_in_s is not None:
            self.delivery_in_s -= 1
            if self.delivery_in_s <= 0:
                self.fuel_l, self.delivery_in_s = 0.95 * self.tank_l, None

    def step(self) -> dict[str, float]:
        """Advance one second; return the controller values at the new time ``self.t_ns``."""
        rng = self.rng
        dt = 1.0
        self.t_ns += _NS
        self._elapsed_s += 1
        run, loaded = self._wanted()
        if self.fuel_l <= 0.5:
            run = False
        if run and loaded:
            demand = 0.5 * self.rated_kw if self.load_test_left_s > 0 else self._site_demand_kw()
        else:
            demand = 0.0
        demand = min(demand, 1.1 * self.rated_kw)
        step_kw = demand - self.kw
        self.kw = demand
        # An isochronous governor and the AVR recover a load step within seconds; the step shows
        # as a frequency and voltage dip proportional to its size.
        self.freq_dev_hz = first_order(self.freq_dev_hz, 0.0, dt, 3.0) - 2.5 * step_kw / self.rated_kw
        self.volt_dev_v = first_order(self.volt_dev_v, 0.0, dt, 0.7) - 0.08 * _NOMINAL_V * step_kw / self.rated_kw
        target_rpm = 1500.0 if run else 0.0
        self.rpm = first_order(self.rpm, target_rpm, dt, 1.0 if run else 2.0)
        running = self.running
        load = self.kw / self.rated_kw
        freq = (_NOMINAL_HZ + self.freq_dev_hz) * self.rpm / 1500.0 + (rng.gauss(0, 0.01) if running else 0.0)
        volt = (_NOMINAL_V + self.volt_dev_v + rng.gauss(0, 0.8)) if running else 0.0
        pf = min(0.99, 0.78 + 0.15 * load + rng.gauss(0, 0.005)) if self.kw > 0 else 0.0
        # Fuel: about 0.245 l/kWh at load plus friction and pumping losses at no load.
        fuel_l_h = (0.025 * self.rated_kw + 0.235 * self.kw) if running else 0.0
        self.fuel_l = max(0.0, self.fuel_l - fuel_l_h * dt / _HOUR_S)
        self._refuel()
        if running:
            self.hour_meter_h += dt / _HOUR_S
        ambient = self.weather.ambient_c(self.t_ns)
        th = self.thermals.step(dt, ambient, running, load, self.rpm,
                                cooling_penalty_c=22.0 * self.cooling_degradation * load)
        # Stator copper losses go with the current squared; the winding's thermal lag is ~15 min.
        winding_eq = ambient + (25.0 + 75.0 * load * load if running else 0.0)
        self.winding_c = first_order(self.winding_c, winding_eq, dt, 900.0)
        current = self.kw * 1000.0 / (math.sqrt(3) * volt * pf) if (self.kw > 0 and volt > 0 and pf > 0) else 0.0
        return {
            # A 4-pole alternator: the engine turns at 30 rpm per hertz of output.
            "engine_speed_rpm": round(30.0 * freq if running else self.rpm, 1),
            "engine_load_pct": round(100.0 * load, 1),
            "power_kw": round(self.kw, 1),
            "voltage_v": round(volt, 1),
            "frequency_hz": round(freq, 3) if running else 0.0,
            "power_factor": round(pf, 3),
            "current_a": round(current, 1),
            "winding_temp_c": round(self.winding_c, 1),
            "coolant_temp_c": round(th.coolant_c + rng.gauss(0, 0.15), 1),
            "oil_temp_c": round(th.oil_c + rng.gauss(0, 0.15), 1),
            "oil_pressure_kpa": round(max(0.0, th.oil_pressure_kpa + (rng.gauss(0, 3.0) if running else 0.0)), 1),
            "fuel_rate_l_h": round(max(0.0, fuel_l_h + (rng.gauss(0, 0.4) if running else 0.0)), 2),
            "fuel_level_pct": round(100.0 * self.fuel_l / self.tank_l, 1),
            "hour_meter_h": round(self.hour_meter_h, 4),
            "ambient_temp_c": round(ambient, 1),
            "battery_v": round(th.battery_v + rng.gauss(0, 0.05), 2),
            "exhaust_temp_c": round(th.coolant_c + 250.0 * load + 150.0 if running else th.coolant_c, 1),
            "lat": self.position[0],
            "lon": self.position[1],
        }


def make_model(kind: str, seed: int, start_ns: int, lat: float, lon: float, **options):
    """The duty-cycle model for a machine ``kind`` (``"excavator"`` or ``"genset"``)."""
    if kind == "excavator":
        return ExcavatorModel(seed, start_ns, lat, lon, **options)
    if kind == "genset":
        return GensetModel(seed, start_ns, lat, lon, **options)
    raise ValueError(f"unknown machine kind {kind!r} (expected 'excavator' or 'genset')")
