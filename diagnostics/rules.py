"""Shaft, gear and electrical faults from the velocity and acceleration spectra.

Classic analyst rules (e.g. Randall 2011; ISO 13373-3:2015 Annex A), with levels scaled to the
machine's own ISO 20816 zone limits so that an engine and a fan are judged on their own scale:

* unbalance: a dominant 1x line in velocity (2x and 3x below half of it);
* misalignment: 2x in velocity comparable to or above 1x (often with 3x);
* looseness: many shaft harmonics and half orders standing out of the floor;
* gear wear: mesh sidebands at either shaft rate grown relative to the mesh line, or 2 x mesh
  grown relative to 1 x mesh;
* broken tooth: lines in the envelope at the gear shaft's rate with several harmonics (the once-per-
  turn jolt), judged like a bearing comb against decoys;
* electrical: the 2 x line-frequency line in acceleration far above the floor and large.
"""
from __future__ import annotations

import numpy as np

from .findings import Evidence, Finding, part_named
from .kinematics import DefectFrequencies
from .matching import match_line

__all__ = ["shaft_findings", "gear_findings", "electrical_findings", "order_levels", "spectrum_max_hz"]


def spectrum_max_hz(freqs: DefectFrequencies) -> float:
    """Highest frequency (Hz) the spectrum rules read: 10.5 x shaft, 2.2 x mesh + sidebands, 2.2 x line."""
    top = 10.5 * freqs.shaft_hz
    for g in freqs.gears.values():
        top = max(top, 2.0 * g["gmf"] * 1.1 + 2 * max(g["shaft_hz"], g["mating_shaft_hz"]))
    if freqs.line_hz:
        top = max(top, 2.2 * freqs.line_hz)
    return top

# Unbalance / misalignment: the dominant line must reach this fraction of the A/B zone boundary
# (velocity RMS, mm/s) before we call it a fault: a healthy machine has a 1x line too.
_ROTOR_FRACTION_OF_AB = 0.6
_LOOSENESS_MIN_LINES = 6
_LINE_SNR_DB = 20.0           # a line counts when 10 x (amplitude) above the local floor
_GEAR_SIDEBAND_RATIO = 0.1    # mean of the four first-order sidebands / mesh line: -20 dB
_GEAR_2X_RATIO = 0.6         # 2 x mesh / 1 x mesh
_ELECTRICAL_MIN_ACC = 0.5      # m/s^2 peak at 2 x line frequency
_SINE_PEAK_OVER_RMS = np.sqrt(2.0)  # spectra read peak amplitudes; the ISO zone limits are RMS


def order_levels(amplitude: np.ndarray, norm: np.ndarray, resolution_hz: float, shaft_hz: float,
                 orders: tuple[float, ...], tolerance: float = 0.01) -> dict[float, object]:
    """Line found at each shaft order (``LineMatch`` or None), window +-tolerance (relative, >= 1.5 bins)."""
    out = {}
    for k in orders:
        f = k * shaft_hz
        out[k] = match_line(amplitude, norm, resolution_hz, f, max(tolerance * f, 1.5 * resolution_hz))
    return out


def _ev(label: str, m, domain: str = "spectrum") -> Evidence:
    return Evidence(label, m.expected_hz, m.matched_hz, m.amplitude, m.snr_db, domain)


def _rotor_severity(rms_mm_s: float, limits: tuple[float, float, float]) -> str:
    if rms_mm_s >= limits[1]:
        return "alarm"
    if rms_mm_s >= 0.5 * (limits[0] + limits[1]):
        return "warning"
    return "watch"


def shaft_findings(vel_amp: np.ndarray, norm: np.ndarray, resolution_hz: float, freqs: DefectFrequencies,
                   limits: tuple[float, float, float], component: str) -> list[Finding]:
    """Unbalance, misalignment, looseness from the velocity amplitude spectrum (mm/s peak).

    ``norm`` is the spectrum over its local floor (the acceleration's serves: the 1/(2 pi f) factor
    between them varies slowly compared with the floor blocks).
    """
    fr = freqs.shaft_hz
    if fr * 10.5 >= resolution_hz * (vel_amp.size - 1) or fr < 2 * resolution_hz:
        return []
    orders = order_levels(vel_amp, norm, resolution_hz, fr, (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0,
                                                             7.0, 8.0, 9.0, 10.0))
    amp = {k: (m.amplitude if m is not None and m.snr_db >= _LINE_SNR_DB else 0.0) for k, m in orders.items()}
    rms = {k: v / _SINE_PEAK_OVER_RMS for k, v in amp.items()}
    out = []
    threshold = _ROTOR_FRACTION_OF_AB * limits[0]
    one, two, three = rms[1.0], rms[2.0], rms[3.0]
    if one >= threshold and two < 0.5 * one and three < 0.5 * one:
        out.append(Finding(component, "unbalance", "", _rotor_severity(one, limits),
                           float(min(0.95, 0.5 + 0.5 * (one - threshold) / threshold)),
                           [_ev("1x", orders[1.0])] + [_ev(f"{k:g}x", orders[k]) for k in (2.0,) if orders[k] is not None],
                           f"Unbalance: the 1x running-speed line ({fr:.1f} Hz) dominates at {one:.2f} mm/s RMS.",
                           float(one / threshold * 6.0), {"line_rms_mm_s": round(one, 3)}))
    if two >= threshold and two >= 0.75 * one:
        ev = [_ev("2x", orders[2.0]), _ev("1x", orders[1.0])] if orders[1.0] is not None else [_ev("2x", orders[2.0])]
        if three >= 0.3 * two:
            ev.append(_ev("3x", orders[3.0]))
        out.append(Finding(component, "misalignment", "", _rotor_severity(two, limits),
                           float(min(0.95, 0.5 + 0.5 * (two - threshold) / threshold)), ev,
                           f"Misalignment: the 2x running-speed line ({2 * fr:.1f} Hz) is {two:.2f} mm/s RMS, "
                           f"{two / max(one, 1e-9):.1f} times the 1x line.", float(two / threshold * 6.0),
                           {"line_rms_mm_s": round(two, 3)}))
    half = [k for k in (0.5, 1.5, 2.5, 3.5) if amp[k] > 0]
    many = [k for k in (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0) if amp[k] > 0]
    total = np.sqrt(sum(v * v for v in rms.values()))
    if len(half) >= 2 and len(half) + len(many) >= _LOOSENESS_MIN_LINES and total >= threshold:
        ev = [_ev(f"{k:g}x", orders[k]) for k in sorted(half + many)]
        out.append(Finding(component, "looseness", "", _rotor_severity(total, limits),
                           float(min(0.95, 0.4 + 0.07 * (len(half) + len(many)))), ev,
                           f"Mechanical looseness: {len(many)} running-speed harmonics and {len(half)} half-order "
                           f"lines stand out.", 6.0 + len(half) + len(many), {"lines": len(ev)}))
    return out


def other_mesh_lines(freqs: DefectFrequencies, name: str, orders: int = 4) -> np.ndarray:
    """Mesh harmonics 1..``orders`` of every gear but ``name`` (Hz), shape (n,).

    In a multi-stage gearbox another stage's mesh harmonic can sit where this stage's sideband is
    expected (the demo swing gearbox: 3 x stage 2 mesh = 15.9 x input, stage 1's lower sideband is
    16 x input); such a line is the other stage meshing, not this one wearing.
    """
    return np.array([k * g["gmf"] for other, g in freqs.gears.items() if other != name
                     for k in range(1, orders + 1)])


def _near_any(hz: float, lines: np.ndarray, tolerance_hz: float) -> bool:
    return bool(lines.size) and bool(np.min(np.abs(lines - hz)) <= tolerance_hz)


def gear_findings(acc_amp: np.ndarray, norm: np.ndarray, resolution_hz: float, freqs: DefectFrequencies,
                  component: str) -> list[Finding]:
    """Gear wear from mesh harmonics and sidebands in the acceleration spectrum (m/s^2 peak)."""
    out = []
    top = resolution_hz * (acc_amp.size - 1)
    for name, g in freqs.gears.items():
        gmf = g["gmf"]
        if 2 * gmf + g["shaft_hz"] >= top:
            continue
        tol = max(0.005 * gmf, 1.5 * resolution_hz)
        mesh1 = match_line(acc_amp, norm, resolution_hz, gmf, tol)
        mesh2 = match_line(acc_amp, norm, resolution_hz, 2 * gmf, 2 * tol)
        if mesh1 is None or mesh2 is None or mesh1.snr_db < _LINE_SNR_DB:
            continue
        sidebands = []
        others = other_mesh_lines(freqs, name)
        for shaft, sname in ((g["shaft_hz"], "1x"), (g["mating_shaft_hz"], "mating 1x")):
            for sign, s in ((-1, "-"), (1, "+")):
                m = _mesh_sideband(acc_amp, norm, resolution_hz, gmf, sign * shaft, others)
                if m is not None:
                    sidebands.append((f"GMF {s} {sname}", m))
        # Mean over all four sideband positions (a missing one counts 0): wear modulates both sides,
        # while one stray line (e.g. a bearing-defect harmonic next to the mesh) should not pass.
        sb_ratio = float(sum(m.amplitude for _, m in sidebands)) / 4.0 / mesh1.amplitude
        harmonic_ratio = mesh2.amplitude / mesh1.amplitude
        if sb_ratio >= _GEAR_SIDEBAND_RATIO or (harmonic_ratio >= _GEAR_2X_RATIO and mesh2.snr_db >= _LINE_SNR_DB):
            strength = max(sb_ratio / _GEAR_SIDEBAND_RATIO, harmonic_ratio / _GEAR_2X_RATIO)
            severity = "alarm" if strength >= 2.0 else "warning" if strength >= 1.4 else "watch"
            ev = [_ev("GMF x1", mesh1), _ev("GMF x2", mesh2)] + [_ev(lbl, m) for lbl, m in sidebands]
            out.append(Finding(component, "gear_wear", name, severity, float(min(0.95, 0.35 + 0.3 * strength)), ev,
                               f"Gear wear on the {part_named(name, 'gear')}: mesh sidebands at {sb_ratio:.0%} of the mesh line "
                               f"({gmf:.0f} Hz) and 2x mesh at {harmonic_ratio:.0%} of it.",
                               6.0 * strength, {"sideband_ratio": round(sb_ratio, 3),
                                                "harmonic_ratio": round(harmonic_ratio, 3)}))
    return out


def mesh_evidence(acc_amp: np.ndarray, norm: np.ndarray, resolution_hz: float, gmf_hz: float, shaft_hz: float,
                  others: np.ndarray | None = None, prefix: str = "") -> list[Evidence]:
    """A gear's mesh line and its first-order sidebands at one shaft's rate, read from the
    acceleration spectrum: where a tooth defect shows besides its envelope impacts (a broken tooth
    modulates the mesh once per turn of its shaft).

    Parameters
    ----------
    acc_amp, norm : np.ndarray
        Acceleration spectrum (m/s^2 peak) and the same over its local floor (dimensionless).
    resolution_hz : float
        Bin spacing, Hz.
    gmf_hz, shaft_hz : float
        The gear's mesh frequency and the rate of the shaft the defect turns with, Hz.
    others : np.ndarray, optional
        Other gears' mesh harmonics (:func:`other_mesh_lines`, Hz): a sideband found on one of them
        is that gear meshing, not this one's modulation.
    prefix : str
        Put before each label (``"stage2 "`` when a finding names more than one gear).

    Returns
    -------
    list of Evidence
        ``GMF x1``, ``GMF - 1x``, ``GMF + 1x`` (m/s^2 peak, domain ``"spectrum"``): those that rise
        ``_LINE_SNR_DB`` above the floor and, for a sideband, are neither the mesh line itself nor
        another gear's mesh harmonic.
    """
    mesh = match_line(acc_amp, norm, resolution_hz, gmf_hz, max(0.005 * gmf_hz, 1.5 * resolution_hz))
    found = [("GMF x1", mesh if mesh is not None and mesh.snr_db >= _LINE_SNR_DB else None)]
    found += [(label, _mesh_sideband(acc_amp, norm, resolution_hz, gmf_hz, offset, others))
              for label, offset in (("GMF - 1x", -shaft_hz), ("GMF + 1x", shaft_hz))]
    return [_ev(prefix + label, m) for label, m in found if m is not None]


def _mesh_sideband(acc_amp: np.ndarray, norm: np.ndarray, resolution_hz: float, gmf_hz: float, offset_hz: float,
                   others: np.ndarray | None):
    """The line at ``gmf_hz + offset_hz`` (a first-order sideband, Hz) when it stands out and is
    this mesh's modulation: not the mesh line itself (within half the shaft rate) nor another
    gear's mesh harmonic (``others``, Hz); else None."""
    tol = max(0.005 * gmf_hz, 1.5 * resolution_hz)
    m = match_line(acc_amp, norm, resolution_hz, gmf_hz + offset_hz, tol)
    if m is None or m.snr_db < _LINE_SNR_DB or abs(m.matched_hz - gmf_hz) <= 0.5 * abs(offset_hz):
        return None
    if others is not None and _near_any(m.matched_hz, others, tol):
        return None
    return m


def electrical_findings(acc_amp: np.ndarray, norm: np.ndarray, resolution_hz: float, freqs: DefectFrequencies,
                        component: str) -> list[Finding]:
    """Electrical fault from the 2 x line-frequency line in acceleration (m/s^2 peak)."""
    if not freqs.line_hz or 2 * freqs.line_hz >= resolution_hz * (acc_amp.size - 1):
        return []
    line = freqs.line_hz
    two = match_line(acc_amp, norm, resolution_hz, 2 * line, max(0.003 * line, 1.5 * resolution_hz))
    if two is None or two.snr_db < _LINE_SNR_DB or two.amplitude < _ELECTRICAL_MIN_ACC:
        return []
    one = match_line(acc_amp, norm, resolution_hz, line, max(0.003 * line, 1.5 * resolution_hz))
    ratio = two.amplitude / _ELECTRICAL_MIN_ACC
    severity = "alarm" if ratio >= 4 else "warning" if ratio >= 2 else "watch"
    ev = [_ev("2x line", two)] + ([_ev("1x line", one)] if one is not None and one.snr_db >= _LINE_SNR_DB else [])
    return [Finding(component, "electrical", "", severity, float(min(0.95, 0.5 + 0.1 * ratio)), ev,
                    f"Electrical fault: the twice-line-frequency line ({2 * line:.1f} Hz) is {two.amplitude:.2f} m/s² "
                    f"peak, {two.snr_db:.0f} dB above the floor.", 6.0 * ratio,
                    {"line_hz": round(line, 3)})]
