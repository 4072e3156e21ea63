"""Engine heat, lubrication and site weather for the simulated machines (pure, deterministic).

Split from :mod:`telemetry.simulator.machine_models` because both the excavator and the generator-set models
share them. Every temperature is a first-order lag towards an equilibrium that depends on whether
the engine runs and how hard: a thermostat holds the coolant in the mid 80s °C when warm, the oil
runs a little hotter and lags more, and the hydraulic oil (excavators) heats with the hydraulic
power drawn, slowly, because the tank holds a couple of hundred litres.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["first_order", "SiteWeather", "EngineThermals"]

_NS = 1_000_000_000


def first_order(value: float, target: float, dt_s: float, tau_s: float) -> float:
    """One exact step of a first-order lag ``dv/dt = (target - v) / tau`` over ``dt_s`` seconds."""
    return target + (value - target) * math.exp(-dt_s / tau_s)


@dataclass(frozen=True)
class SiteWeather:
    """Air temperature at a site (°C): a mean set by latitude plus a daily swing peaking at 15:00.

    ``lon`` gives local solar time, so a site in Chile and one in Australia peak at different UTC
    hours.
    """

    lon: float
    mean_c: float
    daily_swing_c: float

    @classmethod
    def for_site(cls, lat: float, lon: float, rng: random.Random) -> "SiteWeather":
        """A plausible climate for the latitude (degrees), with a little per-site variation."""
        mean = 27.0 - 0.35 * abs(lat) + rng.uniform(-2.0, 2.0)
        return cls(lon=lon, mean_c=mean, daily_swing_c=rng.uniform(4.0, 8.0))

    def local_hour(self, t_ns: int) -> float:
        """Local solar time of day (h, 0..24) at UTC time ``t_ns`` (ns since the epoch)."""
        return ((t_ns / _NS) / 3600.0 + self.lon / 15.0) % 24.0

    def ambient_c(self, t_ns: int) -> float:
        """Air temperature (°C) at UTC time ``t_ns`` (ns)."""
        h = self.local_hour(t_ns)
        return self.mean_c + self.daily_swing_c * math.cos(2.0 * math.pi * (h - 15.0) / 24.0)


class EngineThermals:
    """Coolant, oil and hydraulic-oil temperatures (°C), oil pressure (kPa), battery voltage (V).

    Attributes are the current values; :meth:`step` advances them and returns ``self``.
    """

    def __init__(self, coolant_c: float, oil_c: float, hydraulic_c: float | None, battery_v: float):
        self.coolant_c = coolant_c
        self.oil_c = oil_c
        self.hydraulic_c = hydraulic_c
        self.battery_v = battery_v
        self.oil_pressure_kpa = 0.0

    @classmethod
    def warm(cls, ambient_c: float, hydraulic: bool) -> "EngineThermals":
        """An engine that has been working for an hour."""
        return cls(86.0, 92.0, (ambient_c + 35.0) if hydraulic else None, 27.9)

    @classmethod
    def cold(cls, ambient_c: float, hydraulic: bool) -> "EngineThermals":
        """An engine that has stood overnight."""
        return cls(ambient_c, ambient_c, ambient_c if hydraulic else None, 25.2)

    def step(self, dt_s: float, ambient_c: float, running: bool, load: float, rpm: float,
             cooling_penalty_c: float = 0.0, hydraulic_power: float = 0.0) -> "EngineThermals":
        """Advance ``dt_s`` seconds.

        Parameters
        ----------
        ambient_c : float
            Air temperature (°C).
        running : bool
            Engine running.
        load : float
            Engine load, 0..1 of rated torque.
        rpm : float
            Engine speed (rpm).
        cooling_penalty_c : float
            Extra coolant equilibrium temperature (°C) from a degraded cooling system.
        hydraulic_power : float
            Hydraulic power drawn, 0..1 of the pumps' maximum (excavators).
        """
        if running:
            # Thermostat-regulated: the equilibrium moves only a little with load and air
            # temperature, unless the radiator cannot reject the heat (cooling_penalty_c).
            coolant_eq = max(ambient_c, 84.0 + 8.0 * load + 0.12 * (ambient_c - 20.0) + cooling_penalty_c)
            self.coolant_c = first_order(self.coolant_c, coolant_eq, dt_s, 400.0)
            self.oil_c = first_order(self.oil_c, self.coolant_c + 4.0 + 12.0 * load, dt_s, 700.0)
            # Gear pump: pressure rises with speed; thinner (hotter) oil gives a little less.
            speed_part = min(1.0, max(0.0, (rpm - 700.0) / 1150.0))
            # Cold, thick oil would push it higher, but the relief valve caps it at 480 kPa.
            self.oil_pressure_kpa = min(480.0, (140.0 + 260.0 * speed_part) * (1.0 - 0.004 * (self.oil_c - 90.0)))
            self.battery_v = first_order(self.battery_v, 27.9, dt_s, 120.0)
        else:
            self.coolant_c = first_order(self.coolant_c, ambient_c, dt_s, 2400.0)
            self.oil_c = first_order(self.oil_c, ambient_c, dt_s, 3000.0)
            self.oil_pressure_kpa = 0.0
            self.battery_v = first_order(self.battery_v, 25.1, dt_s, 1800.0)
        if self.hydraulic_c is not None:
            hyd_eq = ambient_c + 22.0 + 35.0 * hydraulic_power if running else ambient_c
            self.hydraulic_c = first_order(self.hydraulic_c, hyd_eq, dt_s, 1500.0 if running else 4000.0)
        return self
