"""Names of SAE J1939 diagnostic codes, so the console says "Engine coolant temperature: above
normal, most severe" instead of "SPN 110 FMI 0".

SPN names are from SAE J1939-71 (the parameters Ironwatch machines report); FMI texts from
J1939-73. An SPN not listed here is shown by number.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Mapping

SPN_NAMES = {
    84: "Wheel-based vehicle speed",
    91: "Accelerator pedal position",
    94: "Fuel delivery pressure",
    96: "Fuel level",
    97: "Water in fuel indicator",
    98: "Engine oil level",
    100: "Engine oil pressure",
    102: "Boost pressure",
    105: "Intake manifold temperature",
    110: "Engine coolant temperature",
    111: "Coolant level",
    158: "Keyswitch battery potential",
    168: "Battery potential",
    173: "Exhaust gas temperature",
    174: "Fuel temperature",
    175: "Engine oil temperature",
    190: "Engine speed",
    247: "Engine total hours of operation",
    1638: "Hydraulic temperature",
}

FMI_TEXTS = {
    0: "above normal, most severe", 1: "below normal, most severe", 2: "data erratic or intermittent",
    3: "voltage above normal", 4: "voltage below normal", 5: "current below normal or open circuit",
    6: "current above normal or grounded circuit", 7: "mechanical system not responding",
    8: "abnormal frequency or pulse width", 9: "abnormal update rate", 10: "abnormal rate of change",
    11: "root cause not known", 12: "bad intelligent device", 13: "out of calibration",
    14: "special instructions", 15: "above normal, least severe", 16: "above normal, moderately severe",
    17: "below normal, least severe", 18: "below normal, moderately severe",
    19: "received network data in error", 31: "condition exists",
}

#: DM1 lamp names, most serious first, with the console's status colour.
LAMPS = (("red_stop", "Red stop", "alarm"), ("mil", "Malfunction", "warning"),
         ("amber_warning", "Amber warning", "watch"), ("protect", "Protect", "watch"))


def describe_code(spn: int, fmi: int) -> str:
    """``"Engine coolant temperature (SPN 110): above normal, most severe (FMI 0)"``."""
    name = SPN_NAMES.get(int(spn), "Parameter")
    return f"{name} (SPN {int(spn)}): {FMI_TEXTS.get(int(fmi), 'failure mode')} (FMI {int(fmi)})"


def lit_lamps(lamps: Mapping[str, int]) -> list[tuple[str, str]]:
    """The lamps that are on (status 1..3 in DM1; 0 = off), as (label, status colour)."""
    return [(label, colour) for key, label, colour in LAMPS if int(lamps.get(key) or 0) > 0]


def fault_code_view(history: Iterable[Mapping], recent: int = 8) -> dict:
    """The DM1 panel of a machine from ``TelemetryStore.fault_history`` (oldest first).

    Returns ``{"current": {"time", "lamps": [(label, colour)], "codes": [{"spn", "fmi",
    "occurrence_count", "text"}]} | None, "changes": [...the last ``recent`` messages, newest
    first, same shape...]}``.
    """
    messages = []
    for message in history:
        when = datetime.fromtimestamp(message["time"] / 1e9, tz=timezone.utc).isoformat()
        codes = [{**code, "text": describe_code(code["spn"], code["fmi"])} for code in message.get("active", [])]
        messages.append({"time": when, "lamps": lit_lamps(message.get("lamps", {})), "codes": codes})
    return {"current": messages[-1] if messages else None, "changes": messages[::-1][:recent]}
