"""Machine kinematics: the frequencies at which each component's faults show up.

A component is described by the dict held in the SQL ``component.kinematics`` JSON column
(schema in ``docs/contracts.md``). Every frequency here is derived from the shaft speed recorded
with the burst, so a burst taken at 1,450 rpm and one taken at 1,800 rpm are judged against their
own defect frequencies.

Formulas (rolling bearings, stationary outer race, contact angle ``a``, ball diameter ``d``, pitch
diameter ``D``, ``n`` rolling elements, shaft frequency ``fr``)::

    BPFO = n/2 * (1 - d/D cos a) * fr        ball pass, outer race
    BPFI = n/2 * (1 + d/D cos a) * fr        ball pass, inner race
    FTF  = 1/2 * (1 - d/D cos a) * fr        cage (fundamental train)
    BSF  = D/(2d) * (1 - (d/D cos a)^2) * fr ball spin

(e.g. Randall & Antoni, "Rolling element bearing diagnostics - a tutorial", MSSP 25, 2011).
A ball defect strikes both races once per spin revolution, so its envelope line is at 2 x BSF.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = [
    "BearingKinematics",
    "GearKinematics",
    "ElectricalKinematics",
    "ComponentKinematics",
    "DefectFrequencies",
    "KinematicsError",
]


class KinematicsError(ValueError):
    """A kinematics dict that cannot describe a machine (names the offending key)."""


def _positive(value: Any, key: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise KinematicsError(f"{key} must be a number, got {value!r}") from exc
    if not math.isfinite(number) or number <= 0:
        raise KinematicsError(f"{key} must be a positive finite number, got {value!r}")
    return number


@dataclass(frozen=True)
class BearingKinematics:
    """A rolling-element bearing, as geometry or as catalogue multipliers.

    Attributes
    ----------
    name : str
        Bearing position name, e.g. ``"DE"``.
    bpfo, bpfi, bsf, ftf : float
        Defect frequencies as multiples of the shaft frequency (dimensionless, "orders").
    geometry : dict or None
        The geometry the multipliers were computed from (kept for ``to_dict``), else None.
    """

    name: str
    bpfo: float
    bpfi: float
    bsf: float
    ftf: float
    geometry: Mapping[str, float] | None = None

    @classmethod
    def from_geometry(cls, name: str, n_rolling: int, ball_diameter_mm: float,
                      pitch_diameter_mm: float, contact_angle_deg: float = 0.0) -> "BearingKinematics":
        """Multipliers from bearing geometry (lengths in mm, angle in degrees)."""
        n = _positive(n_rolling, f"bearings[{name}].n_rolling")
        d = _positive(ball_diameter_mm, f"bearings[{name}].ball_diameter_mm")
        pitch = _positive(pitch_diameter_mm, f"bearings[{name}].pitch_diameter_mm")
        if d >= pitch:
            raise KinematicsError(f"bearings[{name}]: ball_diameter_mm must be smaller than pitch_diameter_mm")
        angle = float(contact_angle_deg)
        if not 0.0 <= angle < 90.0:
            raise KinematicsError(f"bearings[{name}].contact_angle_deg must be in [0, 90), got {angle}")
        ratio = d / pitch * math.cos(math.radians(angle))
        return cls(
            name=name,
            bpfo=n / 2.0 * (1.0 - ratio),
            bpfi=n / 2.0 * (1.0 + ratio),
            bsf=pitch / (2.0 * d) * (1.0 - ratio * ratio),
            ftf=0.5 * (1.0 - ratio),
            geometry={"n_rolling": int(n), "ball_diameter_mm": d, "pitch_diameter_mm": pitch,
                      "contact_angle_deg": angle},
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "BearingKinematics":
        name = str(d.get("name") or "bearing")
        if "multipliers" in d:
            m = d["multipliers"]
            if not isinstance(m, Mapping):
                raise KinematicsError(f"bearings[{name}].multipliers must be an object")
            return cls(name=name, **{k: _positive(m.get(k), f"bearings[{name}].multipliers.{k}")
                                     for k in ("bpfo", "bpfi", "bsf", "ftf")})
        missing = [k for k in ("n_rolling", "ball_diameter_mm", "pitch_diameter_mm") if k not in d]
        if missing:
            raise KinematicsError(f"bearings[{name}] needs multipliers or geometry; missing {', '.join(missing)}")
        return cls.from_geometry(name, d["n_rolling"], d["ball_diameter_mm"], d["pitch_diameter_mm"],
                                 d.get("contact_angle_deg", 0.0))

    def to_dict(self) -> dict[str, Any]:
        if self.geometry is not None:
            return {"name": self.name, **dict(self.geometry)}
        return {"name": self.name,
                "multipliers": {"bpfo": self.bpfo, "bpfi": self.bpfi, "bsf": self.bsf, "ftf": self.ftf}}


@dataclass(frozen=True)
class GearKinematics:
    """A gear (the pinion, ``teeth``) meshing with a mating gear (the wheel, ``mating_teeth``).

    The pinion sits on the component shaft, or, with ``driven_by`` naming an earlier gear, on that
    gear's wheel shaft: the next stage of a reduction. Its wheel turns at ``teeth / mating_teeth``
    of the pinion. A stage wrongly put on the component shaft would expect its mesh and its
    once-per-turn lines at the input speed, several times too high.
    """

    name: str
    teeth: int
    mating_teeth: int
    driven_by: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "GearKinematics":
        name = str(d.get("name") or "gear")
        driven_by = d.get("driven_by")
        return cls(name=name, teeth=int(_positive(d.get("teeth"), f"gears[{name}].teeth")),
                   mating_teeth=int(_positive(d.get("mating_teeth"), f"gears[{name}].mating_teeth")),
                   driven_by=None if driven_by is None else str(driven_by))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "teeth": self.teeth, "mating_teeth": self.mating_teeth}
        if self.driven_by is not None:
            out["driven_by"] = self.driven_by
        return out


def gear_shaft_ratios(gears: tuple[GearKinematics, ...]) -> dict[str, float]:
    """Each gear's pinion-shaft speed as a fraction of the component shaft (dimensionless).

    Raises
    ------
    KinematicsError
        When ``driven_by`` names no earlier gear (a train is listed input first).
    """
    ratios: dict[str, float] = {}
    for g in gears:
        if g.driven_by is None:
            ratios[g.name] = 1.0
        elif g.driven_by in ratios:
            driver = next(d for d in gears if d.name == g.driven_by)
            ratios[g.name] = ratios[driver.name] * driver.teeth / driver.mating_teeth
        else:
            raise KinematicsError(f"gears[{g.name}].driven_by must name an earlier gear, got {g.driven_by!r}")
    return ratios


@dataclass(frozen=True)
class ElectricalKinematics:
    """A synchronous generator or motor: nominal line frequency (Hz) and pole count."""

    line_hz: float = 50.0
    poles: int | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ElectricalKinematics":
        poles = d.get("poles")
        return cls(line_hz=_positive(d.get("line_hz", 50.0), "electrical.line_hz"),
                   poles=None if poles is None else int(_positive(poles, "electrical.poles")))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line_hz": self.line_hz}
        if self.poles is not None:
            out["poles"] = self.poles
        return out

    def line_frequency_hz(self, shaft_hz: float) -> float:
        """Line frequency (Hz) at this shaft speed.

        A synchronous alternator's output frequency follows its shaft (f = poles/2 * shaft Hz),
        so with the pole count known we use the measured speed; otherwise the nominal line_hz.
        """
        if self.poles:
            return self.poles / 2.0 * shaft_hz
        return self.line_hz


@dataclass(frozen=True)
class DefectFrequencies:
    """Expected fault frequencies (Hz) of one component at one shaft speed.

    Attributes
    ----------
    shaft_hz : float
        Component shaft frequency (Hz).
    bearings : dict
        ``{bearing name: {"bpfo": Hz, "bpfi": Hz, "bsf": Hz, "ftf": Hz}}``.
    gears : dict
        ``{gear name: {"gmf": Hz, "shaft_hz": Hz, "mating_shaft_hz": Hz}}``: ``shaft_hz`` is the
        pinion's shaft, ``mating_shaft_hz`` the wheel's (:class:`GearKinematics`).
    piston_pass_hz : float or None
    line_hz : float or None
    """

    shaft_hz: float
    bearings: dict[str, dict[str, float]] = field(default_factory=dict)
    gears: dict[str, dict[str, float]] = field(default_factory=dict)
    piston_pass_hz: float | None = None
    line_hz: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"shaft_hz": self.shaft_hz, "bearings": self.bearings, "gears": self.gears,
                "piston_pass_hz": self.piston_pass_hz, "line_hz": self.line_hz}


@dataclass(frozen=True)
class ComponentKinematics:
    """Everything needed to turn a shaft speed into expected fault frequencies.

    Attributes
    ----------
    shaft_ratio : float
        Component shaft speed / the shaft speed recorded with the burst (dimensionless).
    bearings, gears : tuple
    pistons : int or None
        Number of pistons of an axial piston pump (piston pass = pistons x shaft Hz).
    electrical : ElectricalKinematics or None
    zone_limits_mm_s : tuple of 3 floats or None
        ISO 20816 zone boundaries A/B, B/C, C/D in mm/s RMS for this machine; None = defaults
        chosen by ``iso_class`` (see ``diagnostics.iso20816``).
    iso_class : str or None
        Name of a default limit set in ``diagnostics.iso20816.LIMIT_SETS``.
    """

    shaft_ratio: float = 1.0
    bearings: tuple[BearingKinematics, ...] = ()
    gears: tuple[GearKinematics, ...] = ()
    pistons: int | None = None
    electrical: ElectricalKinematics | None = None
    zone_limits_mm_s: tuple[float, float, float] | None = None
    iso_class: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "ComponentKinematics":
        """Parse the contract dict; raise :class:`KinematicsError` naming the bad key."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise KinematicsError("kinematics must be an object")
        bearings = d.get("bearings") or []
        gears = d.get("gears") or []
        if not isinstance(bearings, (list, tuple)) or not isinstance(gears, (list, tuple)):
            raise KinematicsError("bearings and gears must be lists")
        limits = d.get("zone_limits_mm_s")
        if limits is not None:
            if not isinstance(limits, (list, tuple)) or len(limits) != 3:
                raise KinematicsError("zone_limits_mm_s must be three numbers [A/B, B/C, C/D]")
            limits = tuple(_positive(v, "zone_limits_mm_s") for v in limits)
            if not limits[0] < limits[1] < limits[2]:
                raise KinematicsError("zone_limits_mm_s must be increasing")
        pistons = d.get("pistons")
        electrical = d.get("electrical")
        iso_class = d.get("iso_class")
        if iso_class is not None:
            from .iso20816 import LIMIT_SETS
            if iso_class not in LIMIT_SETS:
                raise KinematicsError(f"iso_class must be one of {sorted(LIMIT_SETS)}, got {iso_class!r}")
        gear_train = tuple(GearKinematics.from_dict(g) for g in gears)
        gear_shaft_ratios(gear_train)  # a driven_by naming no earlier gear is refused here, by name
        return cls(
            shaft_ratio=_positive(d.get("shaft_ratio", 1.0), "shaft_ratio"),
            bearings=tuple(BearingKinematics.from_dict(b) for b in bearings),
            gears=gear_train,
            pistons=None if pistons is None else int(_positive(pistons, "pistons")),
            electrical=None if electrical is None else ElectricalKinematics.from_dict(electrical),
            zone_limits_mm_s=limits,
            iso_class=iso_class,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"shaft_ratio": self.shaft_ratio}
        if self.bearings:
            out["bearings"] = [b.to_dict() for b in self.bearings]
        if self.gears:
            out["gears"] = [g.to_dict() for g in self.gears]
        if self.pistons is not None:
            out["pistons"] = self.pistons
        if self.electrical is not None:
            out["electrical"] = self.electrical.to_dict()
        if self.zone_limits_mm_s is not None:
            out["zone_limits_mm_s"] = list(self.zone_limits_mm_s)
        if self.iso_class is not None:
            out["iso_class"] = self.iso_class
        return out

    def bearing(self, name: str) -> BearingKinematics:
        for b in self.bearings:
            if b.name == name:
                return b
        raise KeyError(f"no bearing named {name!r}")

    def gear(self, name: str) -> GearKinematics:
        for g in self.gears:
            if g.name == name:
                return g
        raise KeyError(f"no gear named {name!r}")

    def shaft_hz(self, shaft_rpm: float) -> float:
        """Component shaft frequency (Hz) for the shaft speed recorded with the burst (rpm)."""
        return float(shaft_rpm) / 60.0 * self.shaft_ratio

    def frequencies(self, shaft_rpm: float) -> DefectFrequencies:
        """All expected fault frequencies (Hz) at the recorded shaft speed (rpm)."""
        fr = self.shaft_hz(shaft_rpm)
        ratios = gear_shaft_ratios(self.gears)
        return DefectFrequencies(
            shaft_hz=fr,
            bearings={b.name: {"bpfo": b.bpfo * fr, "bpfi": b.bpfi * fr, "bsf": b.bsf * fr, "ftf": b.ftf * fr}
                      for b in self.bearings},
            gears={g.name: {"gmf": g.teeth * fr * ratios[g.name], "shaft_hz": fr * ratios[g.name],
                            "mating_shaft_hz": fr * ratios[g.name] * g.teeth / g.mating_teeth}
                   for g in self.gears},
            piston_pass_hz=self.pistons * fr if self.pistons else None,
            line_hz=self.electrical.line_frequency_hz(fr) if self.electrical else None,
        )
