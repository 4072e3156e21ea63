"""J1939 DM1 fault codes of the simulated machines: raised and cleared as an engine ECU does.

A :class:`LimitRule` watches one operating field; :class:`FaultCodeMonitor` evaluates the rules
once a simulated second, with hysteresis (separate set and clear limits) and a debounce time, and
reports the DM1 state (active codes with occurrence counts, lamp status) whenever it changes.

The SPN numbers are SAE J1939-71's (110 coolant temperature, 100 oil pressure, 175 oil
temperature, 96 fuel level, 168 battery potential, 1638 hydraulic temperature, 190 engine speed);
FMI 0/1 = high/low most severe, 16/18 = high/low moderately severe.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LimitRule", "FaultCodeMonitor", "Dm1State", "EXCAVATOR_RULES", "GENSET_RULES"]



@dataclass(frozen=True)
class LimitRule:
    """One DM1 diagnostic: SPN/FMI raised when ``field`` crosses ``set_at``, cleared past ``clear_at``.

    ``high=True`` raises above the limit, otherwise below it. ``lamp`` is ``"red_stop"`` or
    ``"amber_warning"``. ``only_running`` suppresses the rule while the engine is stopped (oil
    pressure is zero then, and that is no fault).
    """

    spn: int
    fmi: int
    field: str
    set_at: float
    clear_at: float
    high: bool
    lamp: str
    only_running: bool = False
    debounce_s: int = 3

    def tripped(self, value: float) -> bool:
        return value >= self.set_at if self.high else value <= self.set_at

    def cleared(self, value: float) -> bool:
        return value <= self.clear_at if self.high else value >= self.clear_at


# For one SPN the most severe rule is listed first; only it is reported while it is active.
_ENGINE_RULES = (
    LimitRule(110, 0, "coolant_temp_c", 105.0, 100.0, True, "red_stop"),
    LimitRule(110, 16, "coolant_temp_c", 101.0, 97.0, True, "amber_warning"),
    LimitRule(100, 1, "oil_pressure_kpa", 100.0, 130.0, False, "red_stop", only_running=True),
    LimitRule(175, 16, "oil_temp_c", 125.0, 118.0, True, "amber_warning"),
    LimitRule(96, 1, "fuel_level_pct", 3.0, 6.0, False, "red_stop"),
    LimitRule(96, 18, "fuel_level_pct", 10.0, 15.0, False, "amber_warning"),
    LimitRule(168, 18, "battery_v", 23.0, 24.0, False, "amber_warning"),
)
EXCAVATOR_RULES = _ENGINE_RULES + (
    LimitRule(1638, 16, "hydraulic_oil_temp_c", 90.0, 85.0, True, "amber_warning"),
    LimitRule(190, 0, "engine_speed_rpm", 2300.0, 2100.0, True, "red_stop"),
)
GENSET_RULES = _ENGINE_RULES + (
    LimitRule(190, 0, "engine_speed_rpm", 1725.0, 1600.0, True, "red_stop"),  # 115 % overspeed
)


@dataclass(frozen=True)
class Dm1State:
    """The DM1 message content: active codes ``((spn, fmi, occurrence_count), ...)`` and lamps."""

    active: tuple[tuple[int, int, int], ...]
    lamps: tuple[tuple[str, int], ...]

    def to_payload(self) -> tuple[dict[str, int], list[dict[str, int]]]:
        """``(lamps, active)`` in the upload format of docs/contracts.md."""
        return dict(self.lamps), [{"spn": s, "fmi": f, "occurrence_count": oc} for s, f, oc in self.active]


class FaultCodeMonitor:
    """Evaluates :class:`LimitRule` s each second; reports the DM1 state when it changes."""

    def __init__(self, rules: tuple[LimitRule, ...]):
        self.rules = rules
        self._active = [False] * len(rules)
        self._pending = [0] * len(rules)       # seconds the opposite condition has held
        self._occurrences = [0] * len(rules)
        self._last: Dm1State | None = None

    def update(self, fields: dict[str, float], running: bool) -> Dm1State | None:
        """Feed one second of samples; return the new :class:`Dm1State` if it changed, else None.

        The first call always returns the state, so a gateway reports what it starts with.
        """
        for i, rule in enumerate(self.rules):
            value = fields.get(rule.field)
            if value is None:
                continue
            if self._active[i]:
                flip = rule.cleared(value) or (rule.only_running and not running)
            else:
                flip = rule.tripped(value) and (running or not rule.only_running)
            self._pending[i] = self._pending[i] + 1 if flip else 0
            if self._pending[i] >= rule.debounce_s:
                self._active[i] = not self._active[i]
                self._pending[i] = 0
                if self._active[i]:
                    self._occurrences[i] = min(126, self._occurrences[i] + 1)
        state = self._state()
        if state == self._last:
            return None
        self._last = state
        return state

    def _state(self) -> Dm1State:
        seen: set[int] = set()
        active = []
        lamps = {"mil": 0, "red_stop": 0, "amber_warning": 0, "protect": 0}
        for i, rule in enumerate(self.rules):
            if self._active[i] and rule.spn not in seen:
                seen.add(rule.spn)
                active.append((rule.spn, rule.fmi, self._occurrences[i]))
                lamps[rule.lamp] = 1
        return Dm1State(tuple(active), tuple(lamps.items()))
