"""Rolling-element bearing diagnosis from several envelope views.

No single demodulation band works for every machine and fault (Smith & Randall, MSSP 64-65, 2015):
the band with the highest spectral kurtosis can be dominated by something else than the bearing.
So the burst is demodulated in several views, each scored independently:

* the whole band after cepstral pre-whitening;
* the band chosen by the STFT kurtogram of the pre-whitened signal, and of the raw signal;
* a fixed set of overlapping bands between ``low_cut`` and 0.95 x Nyquist, raw and pre-whitened.

In each view the comb of each defect frequency (BPFO, BPFI, 2 x BSF, FTF) is compared with combs at
decoy frequencies of the same spectrum (``diagnostics.matching``). A defect is reported when its
significance in its best view passes one fixed threshold; the evidence lists the matched harmonics
and sidebands with their peak-to-floor ratios in that view.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .envelope import EnvelopeSpectrum, band_envelope_spectrum
from .findings import FAULT_MODE_NAMES, Evidence, Finding
from .kinematics import DefectFrequencies
from .kurtogram import kurtogram
from .matching import comb_scores, decoy_fundamentals, family_evidence, match_line, normalise, significance

__all__ = ["EnvelopeView", "envelope_views", "bearing_findings", "shaft_rate_findings", "DETECTION_Z", "DETECTION_DB", "BEARING_MODES"]

# Evidence (dB above chance, net of decoys, summed over views) a defect family must reach.
DETECTION_DB = 20.0
DETECTION_Z = 6.0  # significance of a comb against decoys (broken-tooth check)
# fault mode -> (key of the fundamental, multiple, label, sideband key or None)
BEARING_MODES = (
    ("bearing_outer_race", "bpfo", 1.0, "BPFO", None),
    ("bearing_inner_race", "bpfi", 1.0, "BPFI", "shaft"),
    ("bearing_rolling_element", "bsf", 2.0, "2xBSF", "ftf"),
    ("bearing_cage", "ftf", 1.0, "FTF", None),
)
_N_HARMONICS = 4
_TOLERANCE = 0.01      # relative: recorded speed error plus bearing slip
_LINE_WIDTH = 0.002     # relative half-width of a defect line (jitter of the impact rate)


@dataclass(frozen=True)
class EnvelopeView:
    """A squared envelope spectrum with its normalised copy (peak-to-floor per bin)."""

    spectrum: EnvelopeSpectrum
    norm: np.ndarray


def view_bands(fs: float, low_cut_hz: float, count: int = 4) -> list[tuple[float, float]]:
    """``count`` adjacent bands from low_cut to 0.95 x Nyquist plus the ``count - 1`` straddling them (Hz)."""
    edges = np.linspace(low_cut_hz, 0.95 * fs / 2.0, count + 1)
    bands = [(float(edges[i]), float(edges[i + 1])) for i in range(count)]
    bands += [(float((edges[i] + edges[i + 1]) / 2), float((edges[i + 1] + edges[i + 2]) / 2)) for i in range(count - 1)]
    return bands


def envelope_views(raw_rfft: np.ndarray, white_rfft: np.ndarray, n: int, fs: float, low_cut_hz: float,
                   min_band_hz: float, white_signal: np.ndarray | None = None,
                   raw_signal: np.ndarray | None = None) -> tuple[list[EnvelopeView], dict]:
    """Squared envelope spectra of all views.

    Parameters
    ----------
    raw_rfft, white_rfft : np.ndarray, complex, shape (n//2 + 1,)
        rfft of the acceleration (m/s^2) and of its pre-whitened version.
    n : int
        Burst length (samples).
    fs : float
        Sample rate (Hz).
    low_cut_hz : float
        Lowest demodulated frequency (Hz): keeps shaft and mesh harmonics out of the bands.
    min_band_hz : float
        Minimum band width (Hz) for the kurtogram bands.
    white_signal, raw_signal : np.ndarray, optional, shape (n,)
        Time signals for the kurtograms (skipped when None).

    Returns
    -------
    views : list of EnvelopeView
    info : dict
        ``{"kurtogram_band_hz": (lo, hi), "kurtogram_max_sk": float}`` of the pre-whitened kurtogram.
    """
    nyq = fs / 2.0
    specs = [band_envelope_spectrum(white_rfft, n, fs, (low_cut_hz, 0.95 * nyq), "whitened full band")]
    info: dict = {}
    if white_signal is not None:
        kg = kurtogram(white_signal, fs, min_band_hz=min_band_hz, low_cut_hz=low_cut_hz)
        info = {"kurtogram_band_hz": kg.band_hz, "kurtogram_max_sk": kg.max_sk}
        specs.append(band_envelope_spectrum(white_rfft, n, fs, kg.band_hz, "whitened kurtogram band"))
    if raw_signal is not None:
        kg_raw = kurtogram(raw_signal, fs, min_band_hz=min_band_hz, low_cut_hz=low_cut_hz)
        specs.append(band_envelope_spectrum(raw_rfft, n, fs, kg_raw.band_hz, "raw kurtogram band"))
    for band in view_bands(fs, low_cut_hz):
        specs.append(band_envelope_spectrum(white_rfft, n, fs, band, f"whitened {band[0]:.0f}-{band[1]:.0f} Hz"))
        specs.append(band_envelope_spectrum(raw_rfft, n, fs, band, f"raw {band[0]:.0f}-{band[1]:.0f} Hz"))
    return [EnvelopeView(s, normalise(s.amplitude, s.resolution_hz, block_hz=max(8.0, 32 * s.resolution_hz)))
            for s in specs], info


def _without_shaft_orders(norm: np.ndarray, resolution_hz: float, shaft_hz: float) -> np.ndarray:
    """Normalised envelope spectrum with the shaft-order lines set to the floor (1.0).

    Shaft-rate modulation (unbalance, a gear, an inner-race defect's own load-zone modulation) puts
    lines at every integer order; they are real but say nothing about which bearing defect is there,
    and decoy combs landing on them would inflate the null. Bearing defect lines sit at non-integer
    orders, so removing integer orders (+-0.3 % or 1 bin) costs them nothing.
    """
    out = norm.copy()
    top = resolution_hz * (norm.size - 1)
    orders = np.arange(1, int(top / shaft_hz) + 1) * shaft_hz
    half = np.maximum(np.rint(0.003 * orders / resolution_hz), 1).astype(int)
    centre = np.rint(orders / resolution_hz).astype(int)
    for offset in range(-int(half.max()), int(half.max()) + 1):
        idx = centre + offset
        ok = (np.abs(offset) <= half) & (idx < out.size) & (idx >= 0)
        out[idx[ok]] = 1.0
    return out


def _confidence(total: float) -> float:
    """Map consensus evidence to [0, 1]: 0.5 at the detection threshold, about 0.9 at three times it."""
    return float(1.0 - 0.5 * np.exp(-np.log(2.0) * max(total - DETECTION_DB, 0.0) / DETECTION_DB)) \
        if total >= DETECTION_DB else float(0.5 * total / DETECTION_DB)


def _severity(best_level_db: float, n_lines: int) -> str:
    """Stage of a bearing defect from its strongest envelope line (dB over floor) and line count."""
    if best_level_db >= 24.0 and n_lines >= 4:
        return "alarm"
    if best_level_db >= 16.0 and n_lines >= 3:
        return "warning"
    return "watch"


def _level_db(view: EnvelopeView, shaft_hz: float) -> np.ndarray:
    norm = _without_shaft_orders(view.norm, view.spectrum.resolution_hz, shaft_hz)
    return 20.0 * np.log10(np.maximum(norm, 1e-12))


def bearing_findings(views: list[EnvelopeView], freqs: DefectFrequencies, component: str) -> tuple[list[Finding], dict]:
    """Bearing findings from envelope views, by consensus of evidence across views.

    In each view every defect family (fundamental, harmonics, sidebands) earns the dB by which its
    lines rise above chance level; the 90th percentile of the same score at decoy fundamentals is
    subtracted (a view full of unrelated lines earns nothing). The sum over views is the family's
    evidence; the largest per bearing wins when it passes :data:`DETECTION_DB`.

    Returns
    -------
    findings : list of Finding
    scores : dict
        ``{"<bearing>.<fault mode>": evidence (dB summed over views)}`` for every candidate.
    """
    if not freqs.bearings or not views:
        return [], {}
    fr = freqs.shaft_hz
    candidates, expected, sidebands = [], [], []
    for bname, bf in freqs.bearings.items():
        for mode, key, mult, label, sb in BEARING_MODES:
            candidates.append((bname, mode, label, sb))
            expected.append(bf[key] * mult)
            sidebands.append(fr if sb == "shaft" else (bf["ftf"] if sb == "ftf" else 0.0))
    expected_arr, sideband_arr = np.array(expected), np.array(sidebands)
    # Decoys keep clear of every line any candidate family can put in the spectrum (harmonics and
    # sidebands too): a decoy sitting on another real family's line would inflate the null.
    family_lines = [h * f + s * sb for f, sb in zip(expected_arr, sideband_arr)
                    for h in range(1, _N_HARMONICS + 1) for s in ((-1, 0, 1) if sb else (0,))]
    decoys = decoy_fundamentals(1.2 * fr, 8.0 * fr, np.array(family_lines), fr, margin=0.02)
    adjusted = np.zeros((len(views), expected_arr.size))
    found = [[None] * expected_arr.size for _ in views]
    for i, view in enumerate(views):
        res, top = view.spectrum.resolution_hz, view.spectrum.freqs_hz[-1]
        level = _level_db(view, fr)
        dec = decoys[decoys * (_N_HARMONICS + 0.5) < top]
        for sb in np.unique(sideband_arr):
            group = np.flatnonzero((sideband_arr == sb) & (expected_arr * (_N_HARMONICS + 0.5) + sb < top))
            if group.size == 0 or dec.size < 6:
                continue
            ev = family_evidence(level, res, view.spectrum.averages, expected_arr[group], _N_HARMONICS,
                                 _TOLERANCE, _LINE_WIDTH, sb or None)
            null = family_evidence(level, res, view.spectrum.averages, dec, _N_HARMONICS, _TOLERANCE,
                                   _LINE_WIDTH, sb or None).excess_db
            adjusted[i, group] = np.maximum(ev.excess_db - np.percentile(null, 90), 0.0)
            for k, j in enumerate(group):
                found[i][j] = (ev, k)
    totals = adjusted.sum(axis=0)
    scores_out = {f"{c[0]}.{c[1]}": round(float(v), 2) for c, v in zip(candidates, totals)}

    findings = []
    for j, (bname, mode, label, sb) in enumerate(candidates):
        if totals[j] < DETECTION_DB:
            continue
        i = int(np.argmax(adjusted[:, j]))
        ev, k = found[i][j]
        view = views[i]
        evidence = []
        for lab, hz, lv, ex in zip(ev.labels, ev.line_hz[k], ev.line_level_db[k], ev.line_excess_db[k]):
            if ex <= 0:
                continue
            h = int(lab[1])
            exp_hz = h * expected_arr[j] + (0.0 if "sb" not in lab else (-1 if "-sb" in lab else 1) * sideband_arr[j])
            amp_bin = min(int(round(hz / view.spectrum.resolution_hz)), view.spectrum.amplitude.size - 1)
            name = f"{label} {lab.split()[0]}" + ("" if "sb" not in lab else
                                                  f" {lab.split()[1][0]} {'1x' if sb == 'shaft' else 'FTF'}")
            evidence.append(Evidence(name, float(exp_hz), float(hz), float(view.spectrum.amplitude[amp_bin]),
                                     float(lv), "envelope"))
        views_agreeing = int(np.count_nonzero(adjusted[:, j] > 0))
        severity = _severity(max((e.snr_db for e in evidence), default=0.0), len(evidence))
        summary = (f"{FAULT_MODE_NAMES[mode].capitalize()} on bearing {bname}: {len(evidence)} envelope line(s) "
                   f"of the {label} family ({expected_arr[j]:.1f} Hz) stand out, in {views_agreeing} of "
                   f"{len(views)} demodulation bands.")
        findings.append(Finding(component, mode, bname, severity, _confidence(float(totals[j])), evidence,
                                summary, float(totals[j]),
                                {"view": view.spectrum.label, "band_hz": [round(b, 1) for b in view.spectrum.band_hz],
                                 "evidence_db": round(float(totals[j]), 2), "views_agreeing": views_agreeing}))
    return _one_mode_per_bearing(findings), scores_out


def _one_mode_per_bearing(findings: list[Finding]) -> list[Finding]:
    """Keep the strongest mode per bearing, plus others only when nearly as strong.

    Harmonics of one defect family can partly coincide with another's comb (e.g. 2 x BPFO and BPFI
    on some bearings); reporting both at similar strength would blur the verdict.
    """
    out = []
    by_bearing: dict[str, list[Finding]] = {}
    for f in findings:
        by_bearing.setdefault(f.location, []).append(f)
    for group in by_bearing.values():
        group.sort(key=lambda f: -f.score)
        out.append(group[0])
        out.extend(f for f in group[1:] if f.score >= 0.8 * group[0].score)
    return out


# A once-per-turn jolt needs more harmonics and a stricter threshold than a bearing comb: shaft-rate
# modulation of the envelope is common in healthy gearboxes at a low level.
_TOOTH_HARMONICS = 5
_TOOTH_Z = DETECTION_Z + 2.0


def shaft_rate_findings(views: list[EnvelopeView], freqs: DefectFrequencies, component: str) -> list[Finding]:
    """Broken gear tooth: envelope comb at the gear's shaft rate (and harmonics) against decoys."""
    out = []
    fr = freqs.shaft_hz
    for name, g in freqs.gears.items():
        targets = np.array([g["shaft_hz"], g["mating_shaft_hz"]])
        avoid = np.concatenate([targets, [b[k] * (2.0 if k == "bsf" else 1.0) for b in freqs.bearings.values()
                                          for k in ("bpfo", "bpfi", "bsf", "ftf")]])
        best = (-np.inf, 0, 0.0, None)
        for view in views:
            top = view.spectrum.freqs_hz[-1]
            dec = decoy_fundamentals(0.3 * fr, 3.0 * fr, avoid, fr)
            dec = dec[dec * _TOOTH_HARMONICS < top]
            if dec.size < 6 or targets.max() * _TOOTH_HARMONICS >= top:
                continue
            res = view.spectrum.resolution_hz
            sc, fb = comb_scores(view.norm, res, targets, _TOOTH_HARMONICS, 0.01, _LINE_WIDTH)
            dsc, _ = comb_scores(view.norm, res, dec, _TOOTH_HARMONICS, 0.01, _LINE_WIDTH)
            z = significance(sc, dsc)
            k = int(np.argmax(z))
            if z[k] > best[0]:
                best = (float(z[k]), k, float(fb[k]), view)
        z, k, f_best, view = best
        if view is None or z < _TOOTH_Z:
            continue
        which = "gear shaft" if k == 0 else "mating shaft"
        evidence = []
        for h in range(1, _TOOTH_HARMONICS + 1):
            m = match_line(view.spectrum.amplitude, view.norm, view.spectrum.resolution_hz, h * f_best,
                           max(_LINE_WIDTH * h * f_best, 1.5 * view.spectrum.resolution_hz))
            if m is not None and m.snr_db >= 6.0:
                evidence.append(Evidence(f"{which} 1x x{h}", h * targets[k], m.matched_hz, m.amplitude, m.snr_db,
                                         "envelope"))
        severity = "alarm" if z >= 2.5 * _TOOTH_Z else "warning" if z >= 1.5 * _TOOTH_Z else "watch"
        out.append(Finding(component, "gear_broken_tooth", name, severity, _confidence(z - 2.0), evidence,
                           f"Broken or cracked tooth on {name}: impacts once per turn of the {which} "
                           f"({targets[k]:.1f} Hz) with {len(evidence)} envelope harmonics.", z,
                           {"view": view.spectrum.label, "band_hz": list(view.spectrum.band_hz),
                            "significance": round(z, 2)}))
    return out
