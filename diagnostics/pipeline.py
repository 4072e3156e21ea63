"""The whole diagnosis of one vibration burst: features, ISO zone, ranked findings with evidence.

``analyze_burst`` is pure and deterministic: the same samples, rate, speed and kinematics always give
the same result, so re-running a stored burst reproduces its diagnosis.

Steps (one rfft of the burst feeds most of them):

1. time statistics (RMS, peak, crest factor, kurtosis) of the acceleration;
2. broadband velocity RMS by frequency-domain integration (10 Hz to 1 kHz) and its ISO 20816 zone
   against the machine's own limits;
3. the Hann amplitude spectrum (acceleration, and velocity by dividing by 2 pi f) for shaft, gear
   and electrical rules (``diagnostics.rules``);
4. cepstral pre-whitening, STFT kurtograms and envelope spectra in several bands, scored against
   each bearing's defect frequencies (``diagnostics.bearing``), with the outer-race comb of the
   acceleration spectrum (``diagnostics.comb``);
5. wavelet-packet band energies (features for trends and the RUL model);
6. a health index (``diagnostics.health``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np
import scipy.fft as sfft

from .bearing import bearing_findings, envelope_max_hz, tooth_findings
from .comb import comb_top_hz, floor_block_bins, level_db_from_ratio, outer_race_comb
from .envelope import prewhiten
from .findings import Finding
from .health import health_index
from .iso20816 import iso_band_hz, iso_zone, zone_limits
from .kinematics import ComponentKinematics
from .rules import (electrical_findings, gear_findings, mesh_evidence, other_mesh_lines, shaft_findings,
                    spectrum_max_hz)
from .spectrum import amplitude_spectrum, hann_window, time_statistics, velocity_rms_mm_s
from .kurtogram import spectral_kurtosis
from .views import envelope_stack, floor_normalise, kurtogram_window
from .wavelets import packet_energies, scalogram

__all__ = ["BurstAnalysis", "analyze_burst", "display_data", "sensor_fault_reason", "MIN_SAMPLES",
           "ENVELOPE_MIN_REVOLUTIONS", "ABSURD_PEAK_M_S2"]

# The ingest contract accepts bursts of 256 samples and up; every one of them gets a verdict.
MIN_SAMPLES = 256
# Envelope (bearing, tooth) analysis needs bins at most a quarter of the shaft rate wide, i.e. a burst
# of 4 shaft revolutions: the defect families are told from chance by decoy families placed between
# the shaft's half orders, and with coarser bins the decoys share the defect lines' own bins, so a
# real defect scores no evidence at all (0.1 s FEMTO snapshots, docs/diagnostics.md "Short bursts").
ENVELOPE_MIN_REVOLUTIONS = 4.0
# No industrial accelerometer reads 500 g (about 4,900 m/s^2) on a running machine; a burst that does
# is a unit or scaling error, or a broken sensor.
ABSURD_PEAK_M_S2 = 5000.0
# Below this standard deviation (m/s^2) there is no vibration signal at all: an unplugged sensor reads
# its bias, a stuck converter a constant.
FLAT_STD_M_S2 = 1e-6
_SEVERITY_RANK = {"alarm": 3, "warning": 2, "watch": 1}


@dataclass
class BurstAnalysis:
    """Result of :func:`analyze_burst`.

    Attributes
    ----------
    features : dict[str, float]
        ``velocity_rms_mm_s`` (mm/s, 10-1000 Hz), ``acc_rms_m_s2``, ``peak_m_s2`` (m/s^2),
        ``crest_factor``, ``kurtosis`` (non-excess), ``health_index`` (0..1, 1 healthy),
        ``kurtogram_max_sk``, ``wp_energy_<i>`` (wavelet-packet energy fractions, low band first) and
        ``bearing_<name>_<mode>_evidence_db`` (evidence for each bearing defect family, dB summed
        over demodulation bands; 0 when nothing stands out).
    iso_zone : str
        ``"A" | "B" | "C" | "D"``.
    findings : list of Finding
        Ranked: severity, then confidence.
    zone_limits_mm_s : tuple of 3 floats
    shaft_rpm : float
    """

    features: dict[str, float]
    iso_zone: str
    findings: list[Finding]
    zone_limits_mm_s: tuple[float, float, float]
    shaft_rpm: float
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"features": {k: float(v) for k, v in self.features.items()}, "iso_zone": self.iso_zone,
                "zone_limits_mm_s": list(self.zone_limits_mm_s), "shaft_rpm": float(self.shaft_rpm),
                "findings": [f.to_dict() for f in self.findings], "detail": self.detail}


def _validate(samples: Any, fs: float, shaft_rpm: float) -> np.ndarray:
    x = np.asarray(samples, dtype=float).ravel()
    if x.size < MIN_SAMPLES:
        raise ValueError(f"samples: need at least {MIN_SAMPLES} samples, got {x.size}")
    total = x.sum()
    if not np.isfinite(total):  # NaN and inf propagate into the sum: one pass, no mask
        raise ValueError("samples: contain NaN or infinite values")
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"fs: must be a positive sample rate in Hz, got {fs!r}")
    if not (np.isfinite(shaft_rpm) and shaft_rpm > 0):
        raise ValueError(f"shaft_rpm: must be a positive speed in rpm, got {shaft_rpm!r}")
    return x - total / x.size  # the sum is x.mean()'s own, so this is exactly x - x.mean()


def sensor_fault_reason(samples: np.ndarray) -> str | None:
    """Why a burst cannot come from a working sensor on a running machine, or None.

    Parameters
    ----------
    samples : np.ndarray, shape (n,)
        Acceleration (m/s^2), finite.
    """
    x = np.asarray(samples, dtype=float)
    peak = float(np.max(np.abs(x)))
    if float(np.std(x)) < FLAT_STD_M_S2:
        if peak == 0.0:
            return "every sample is 0: no signal (sensor unplugged or its channel dead)"
        return f"every sample is {float(x[0]):.6g} m/s^2: a constant, no vibration signal (sensor or converter stuck)"
    if peak > ABSURD_PEAK_M_S2:
        return (f"peak {peak:.4g} m/s^2 is beyond any accelerometer on a running machine "
                f"(> {ABSURD_PEAK_M_S2:.0f} m/s^2): wrong units or scale, or a broken sensor")
    return None


def _sensor_fault_analysis(x: np.ndarray, fs: float, shaft_rpm: float, kin: ComponentKinematics,
                           component: str, reason: str) -> BurstAnalysis:
    """The verdict for a burst no working sensor produces: a sensor-fault finding, the raw
    statistics, and no component health (it cannot be judged from this burst)."""
    limits = zone_limits(kin.zone_limits_mm_s, kin.iso_class)
    features: dict[str, float] = dict(time_statistics(x - x.mean()))
    band = iso_band_hz(kin.frequencies(shaft_rpm).shaft_hz * 60.0, fs)
    features["velocity_rms_mm_s"] = velocity_rms_mm_s(x - x.mean(), fs, band)
    features["sensor_fault"] = 1.0
    finding = Finding(component, "sensor_fault", "", "warning", 1.0, [],
                      f"Sensor fault, not a machine condition: {reason}. Check the sensor, its cable and "
                      f"its configured units before trusting this channel.", 1.0, {"reason": reason})
    return BurstAnalysis(features, iso_zone(features["velocity_rms_mm_s"], limits), [finding], limits,
                         float(shaft_rpm), {"sensor_fault": reason, "not_analysed": {
                             "component condition": f"sensor fault, {reason}"}})


def _kinematics(kinematics: ComponentKinematics | Mapping[str, Any] | None) -> ComponentKinematics:
    if isinstance(kinematics, ComponentKinematics):
        return kinematics
    return ComponentKinematics.from_dict(kinematics or {})


def _low_cut_hz(freqs, fs: float) -> float:
    """Lowest demodulated frequency (Hz).

    Impacts ring resonances well above the machine's discrete lines; demodulating those lines would
    put their beat frequencies into the envelope. So the bands start above 10 x shaft, 3.5 x mesh,
    3.5 x piston pass and 4 x line frequency, but never above a quarter of the sample rate.
    """
    lines = [10.0 * freqs.shaft_hz, 300.0]
    lines += [3.5 * g["gmf"] for g in freqs.gears.values()]
    if freqs.piston_pass_hz:
        lines.append(3.5 * freqs.piston_pass_hz)
    if freqs.line_hz:
        lines.append(4.0 * freqs.line_hz)
    return float(min(max(lines), 0.25 * fs))


def _outer_race_combs(spec_norm: np.ndarray, res: float, fs: float, freqs) -> dict:
    """Outer-race comb evidence per bearing (``diagnostics.comb``) from the Hann spectrum over its
    floor (``views.floor_normalise``), bins spaced ``res`` Hz."""
    if not freqs.bearings:
        return {}
    level = level_db_from_ratio(spec_norm)
    return {name: outer_race_comb(level, res, fs, b["bpfo"], b["ftf"], freqs.shaft_hz)
            for name, b in freqs.bearings.items()}


def _rank(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-_SEVERITY_RANK.get(f.severity, 0), -f.confidence, -f.score))


def _unexplained_teeth(teeth: list[Finding], bearing: list[Finding]) -> list[Finding]:
    """Drop a broken-tooth finding that an inner-race finding explains better.

    An inner-race defect is modulated at the shaft rate, so it also puts shaft-rate lines in the
    envelope; only a once-per-turn family stronger than the inner-race evidence is a tooth.
    """
    inner = max((f.score for f in bearing if f.fault_mode == "bearing_inner_race"), default=0.0)
    return [t for t in teeth if t.score > inner]


def _unexplained_bearings(bearing: list[Finding], teeth: list[Finding], resolution_hz: float) -> list[Finding]:
    """Drop a bearing finding whose every line is a harmonic of a broken tooth's shaft rate.

    A tooth jolting once per turn of a slow shaft (the middle shaft of a reduction, 6.7 Hz in the
    demo swing gearbox) puts dozens of envelope harmonics in; a bearing family searched within 1 %
    of its defect frequency then finds them (11, 22, 33, 44 x 6.69 Hz beside BPFO = 72.9 Hz) and
    outscores the tooth. Such a family is the tooth's, not a second fault: a genuine defect line
    falls on the shaft's harmonics only by chance, and its harmonics drift off them by k times its
    offset. Within one bin (or 0.3 %) of a multiple of the shaft rate counts as on it.
    """
    rates = [float(t.detail["shaft_hz"]) for t in teeth if t.detail.get("shaft_hz")]
    if not rates:
        return bearing

    def on_harmonics(hz: float, rate: float) -> bool:
        return abs(hz - round(hz / rate) * rate) <= max(resolution_hz, 0.003 * hz)

    def explained(finding: Finding) -> bool:
        lines = [e.matched_hz for e in finding.evidence]
        return bool(lines) and any(all(on_harmonics(hz, rate) for hz in lines) for rate in rates)

    return [f for f in bearing if not (f.fault_mode.startswith("bearing_") and explained(f))]


def _with_mesh_lines(tooth: Finding, acc_amp: np.ndarray, norm: np.ndarray, res: float, freqs) -> Finding:
    """A broken-tooth finding with the mesh line and sidebands of each gear it names (location
    ``stage1`` or, on a shaft carrying two, ``stage1_or_stage2``) added to its envelope evidence, so
    the evidence shows the gears' own lines; score, severity and confidence stay the envelope's."""
    names = [name for name in tooth.location.split("_or_") if name in freqs.gears]
    shaft_hz = float(tooth.detail.get("shaft_hz") or 0.0)
    extra = []
    for name in names:
        gear = freqs.gears[name]
        extra += mesh_evidence(acc_amp, norm, res, gear["gmf"], shaft_hz or gear["shaft_hz"],
                               others=other_mesh_lines(freqs, name), prefix=f"{name} " if len(names) > 1 else "")
    return replace(tooth, evidence=list(tooth.evidence) + extra) if extra else tooth


def _hann_amplitude(raw: np.ndarray, n: int, bins: int) -> np.ndarray:
    """Amplitude-correct Hann spectrum (units of x, peak) of the first ``bins`` bins, from the plain rfft.

    The periodic Hann window is 0.5 - 0.5 cos, so its spectrum is the 3-tap convolution
    0.5 X[k] - 0.25 (X[k-1] + X[k+1]); its coherent gain is n / 2. No second FFT needed.
    """
    k = min(bins, raw.size - 2)
    core = 0.5 * raw[1:k + 1] - 0.25 * (raw[0:k] + raw[2:k + 2])
    amp = np.empty(k + 1)
    amp[0] = 0.0
    amp[1:] = np.abs(core) * (4.0 / n)
    return amp


def analyze_burst(samples: Any, fs: float, shaft_rpm: float,
                  kinematics: ComponentKinematics | Mapping[str, Any] | None,
                  component: str = "") -> BurstAnalysis:
    """Diagnose one vibration burst.

    Parameters
    ----------
    samples : array-like, shape (n,)
        Acceleration (m/s^2); n >= 256. Bursts shorter than ``ENVELOPE_MIN_REVOLUTIONS`` shaft
        revolutions get every analysis but the envelope ones, and ``detail["not_analysed"]`` says
        which were left out and why (their evidence features are absent, not 0).
    fs : float
        Sample rate (Hz).
    shaft_rpm : float
        Shaft speed recorded with the burst (rpm).
    kinematics : ComponentKinematics or contract dict or None
        The component's kinematics (defect frequencies, zone limits).
    component : str
        Component name, copied into findings.

    Returns
    -------
    BurstAnalysis
        A burst no working sensor produces (all zeros, a constant, an absurd amplitude) gets a
        single ``sensor_fault`` finding and no ``health_index`` instead of a healthy verdict.

    Raises
    ------
    ValueError
        Naming the bad argument (``samples``, ``fs``, ``shaft_rpm``) or kinematics key.
    """
    x = _validate(samples, fs, shaft_rpm)
    kin = _kinematics(kinematics)
    as_sent = np.asarray(samples, dtype=float).ravel()  # with its offset: a stuck sensor's constant
    fault = sensor_fault_reason(as_sent)
    if fault is not None:
        return _sensor_fault_analysis(as_sent, fs, shaft_rpm, kin, component, fault)
    freqs = kin.frequencies(shaft_rpm)
    limits = zone_limits(kin.zone_limits_mm_s, kin.iso_class)
    n = x.size
    res = fs / n
    revolutions = n / fs * freqs.shaft_hz
    envelope_ok = revolutions >= ENVELOPE_MIN_REVOLUTIONS
    not_analysed: dict[str, str] = {}
    if not envelope_ok and (freqs.bearings or freqs.gears):
        need_s = ENVELOPE_MIN_REVOLUTIONS / freqs.shaft_hz
        not_analysed["bearing and tooth envelope analysis"] = (
            f"burst of {n / fs:.3f} s is {revolutions:.1f} shaft revolutions; envelope bins of {res:.1f} Hz "
            f"cannot separate defect lines from the shaft's half orders ({freqs.shaft_hz / 2:.1f} Hz apart): "
            f"needs {need_s:.3f} s ({int(np.ceil(need_s * fs))} samples) or more")

    features: dict[str, float] = dict(time_statistics(x))
    raw = sfft.rfft(x)
    features["velocity_rms_mm_s"] = velocity_rms_mm_s(x, fs, iso_band_hz(freqs.shaft_hz * 60.0, fs), acc_rfft=raw)
    zone = iso_zone(features["velocity_rms_mm_s"], limits)

    # One Hann spectrum over its floor serves the spectrum rules (a prefix up to their highest line)
    # and the outer-race comb (up to its highest harmonic).
    rule_bins = int(min(spectrum_max_hz(freqs), 0.45 * fs) / res) + 64
    comb_bins = int(max((comb_top_hz(b["bpfo"], fs) for b in freqs.bearings.values()), default=0.0) / res) + 2
    spec_amp = _hann_amplitude(raw, n, max(rule_bins, comb_bins))
    spec_norm = floor_normalise(spec_amp[None, :], floor_block_bins(res))[0]
    acc_amp, norm = spec_amp[:rule_bins + 1], spec_norm[:rule_bins + 1]
    vel_amp = np.zeros_like(acc_amp)
    vel_amp[1:] = acc_amp[1:] / (2 * np.pi * res * np.arange(1, acc_amp.size)) * 1e3

    low_cut = _low_cut_hz(freqs, fs)
    findings: list[Finding] = []
    bearing_evidence: dict[str, float] = {}
    stack = None
    # The comb reads the acceleration spectrum and judges its own resolution (a short burst's comb
    # is simply not accepted), so its trend feature exists for every burst.
    combs = _outer_race_combs(spec_norm, res, fs, freqs)
    if envelope_ok:
        white = prewhiten(raw)
        stack = envelope_stack(raw, white, n, fs, low_cut, envelope_max_hz(freqs), x)
        findings, bearing_evidence = bearing_findings(stack, freqs, component, combs, (spec_amp, res))
        teeth = _unexplained_teeth(tooth_findings(stack, freqs, component), findings)
        findings = _unexplained_bearings(findings, teeth, stack.resolution_hz)
        findings += [_with_mesh_lines(t, acc_amp, norm, res, freqs) for t in teeth]
    findings += shaft_findings(vel_amp, norm, res, freqs, limits, component)
    findings += gear_findings(acc_amp, norm, res, freqs, component)
    findings += electrical_findings(acc_amp, norm, res, freqs, component)
    findings = _rank(findings)

    if stack is not None:
        features["kurtogram_max_sk"] = float(stack.kurtogram_max_sk)
    for i, e in enumerate(packet_energies(x)):
        features[f"wp_energy_{i}"] = float(e)
    for key, db in bearing_evidence.items():
        features[f"bearing_{key.replace('.', '_').replace('bearing_', '')}_evidence_db"] = round(float(db), 3)
    for name, comb in combs.items():
        # Comb excess (dB over chance) even when rejected: trended against the machine's own baseline.
        features[f"bearing_{name}_outer_race_comb_excess_db"] = round(float(comb.excess_db), 3)
    features["health_index"] = health_index(features["velocity_rms_mm_s"], limits, findings)
    detail = {"defect_frequencies_hz": freqs.to_dict(), "low_cut_hz": low_cut}
    if stack is not None:
        detail["kurtogram_band_hz"] = [round(b, 1) for b in stack.kurtogram_band_hz]
    if not_analysed:
        detail["not_analysed"] = not_analysed
    return BurstAnalysis(features, zone, findings, limits, float(shaft_rpm), detail)


def _pool_max(values: np.ndarray, max_points: int) -> tuple[np.ndarray, int]:
    block = max(1, int(np.ceil(values.size / max_points)))
    usable = (values.size // block) * block
    return values[:usable].reshape(-1, block).max(axis=1), block


def _markers(freqs) -> list[dict]:
    """Expected lines to mark on the evidence plots: shaft, bearing defects, mesh and its sidebands,
    pistons, line. Every line the kinematics predict, finding or not: which of them a finding
    concerns is for the caller to say (``app.plot_api.marker_families``)."""
    markers = [{"label": "1x", "hz": freqs.shaft_hz}]
    for name, b in freqs.bearings.items():
        markers += [{"label": f"{name} BPFO", "hz": b["bpfo"]}, {"label": f"{name} BPFI", "hz": b["bpfi"]},
                    {"label": f"{name} 2xBSF", "hz": 2 * b["bsf"]}, {"label": f"{name} FTF", "hz": b["ftf"]}]
    for name, g in freqs.gears.items():
        # The mesh line and its first sidebands at the gear's shaft rate (a tooth defect's modulation).
        markers += [{"label": f"{name} GMF", "hz": g["gmf"]},
                    {"label": f"{name} GMF-1x", "hz": g["gmf"] - g["shaft_hz"]},
                    {"label": f"{name} GMF+1x", "hz": g["gmf"] + g["shaft_hz"]}]
    if freqs.piston_pass_hz:
        markers.append({"label": "piston pass", "hz": freqs.piston_pass_hz})
    if freqs.line_hz:
        markers += [{"label": "line", "hz": freqs.line_hz}, {"label": "2x line", "hz": 2 * freqs.line_hz}]
    return markers


def display_data(samples: Any, fs: float, shaft_rpm: float,
                 kinematics: ComponentKinematics | Mapping[str, Any] | None,
                 max_points: int = 2000) -> dict[str, Any]:
    """Plain lists for the console's evidence plots of one burst.

    Returns
    -------
    dict with
      ``spectrum``: ``{"freqs_hz", "amplitude_m_s2"}`` (Hann amplitude spectrum, block maxima to at
      most ``max_points`` points);
      ``envelope``: ``{"freqs_hz", "amplitude", "band_hz", "view"}``: the squared envelope spectrum
      (normalised, dimensionless) of the view that carries the top envelope finding (else the
      pre-whitened kurtogram band), up to about 6 x the highest defect frequency; empty lists and
      ``view = "not analysed: <why>"`` when the diagnosis ran no envelope analysis (a sensor fault,
      a burst too short);
      ``markers``: ``[{"label", "hz"}]`` expected defect frequencies;
      ``kurtogram``: :func:`kurtogram_display` of the burst, with the band the envelope views used;
      ``scalogram``: ``{"times_s", "freqs_hz", "magnitude"}`` (Morlet CWT of the first 0.25 s);
      ``analysis``: ``analyze_burst(...).to_dict()``.
    """
    x = _validate(samples, fs, shaft_rpm)
    kin = _kinematics(kinematics)
    analysis = analyze_burst(samples, fs, shaft_rpm, kin)
    freqs = kin.frequencies(shaft_rpm)
    n = x.size
    window = hann_window(n)
    acc_amp = np.abs(sfft.rfft(x * window)) * (2.0 / window.sum())
    pooled, block = _pool_max(acc_amp, max_points)
    markers = _markers(freqs)
    spectrum = {"freqs_hz": (np.arange(pooled.size) * block * fs / n).tolist(), "amplitude_m_s2": pooled.tolist()}
    skipped = analysis.detail.get("not_analysed")
    if skipped:
        # No envelope was scored (sensor fault, or too short): an empty panel that says why, not
        # an envelope of nothing (a flat burst's would be NaN).
        reason = next(iter(skipped.values()))
        envelope = {"freqs_hz": [], "amplitude": [], "band_hz": [], "view": f"not analysed: {reason}"}
        return {"spectrum": spectrum, "envelope": envelope, "markers": markers, "scalogram": scalogram(x, fs),
                "analysis": analysis.to_dict()}
    raw = sfft.rfft(x)
    # The same envelope views the diagnosis scored, so the plotted lines are the matched ones.
    stack = envelope_stack(raw, prewhiten(raw), n, fs, _low_cut_hz(freqs, fs), envelope_max_hz(freqs), x)
    top_finding = next((f for f in analysis.findings if "view" in f.detail), None)
    view = top_finding.detail["view"] if top_finding is not None else "whitened kurtogram band"
    row = stack.labels.index(view) if view in stack.labels else stack.labels.index("whitened kurtogram band")
    band = stack.bands_hz[row]
    # Mesh frequencies are far above the envelope range worth showing.
    top = 6.0 * max(m["hz"] for m in markers if "GMF" not in m["label"])
    keep = stack.freqs_hz <= top
    env_amp, env_block = _pool_max(stack.amplitude[row][keep], max_points)
    return {
        "spectrum": spectrum,
        "envelope": {"freqs_hz": (np.arange(env_amp.size) * env_block * stack.resolution_hz).tolist(),
                     "amplitude": env_amp.tolist(), "band_hz": [float(b) for b in band], "view": stack.labels[row]},
        "markers": markers,
        "kurtogram": kurtogram_display(x, fs, stack.kurtogram_band_hz, stack.kurtogram_max_sk),
        "scalogram": scalogram(x, fs),
        "analysis": analysis.to_dict(),
    }


def kurtogram_display(x: np.ndarray, fs: float, band_hz: tuple[float, float], max_sk: float,
                      levels: int = 5, max_cells: int = 256) -> dict[str, Any]:
    """Spectral kurtosis over several STFT lengths around the one that chose the demodulation band.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        The burst, m/s².
    fs : float
        Sample rate, Hz.
    band_hz : (float, float)
        The band the envelope views demodulated (``EnvelopeStack.kurtogram_band_hz``), Hz.
    max_sk : float
        Its spectral kurtosis (dimensionless).
    levels : int
        Window lengths shown: the choosing one in the middle, halved and doubled around it.
    max_cells : int
        Frequency cells per level at most (block maxima beyond).

    Returns
    -------
    dict
        ``windows`` (samples, rising), ``freqs_hz`` and ``sk`` (one list per window, cell centres in
        Hz and kurtosis), ``chosen_window``, ``band_hz``, ``max_sk``.
    """
    chosen = kurtogram_window(fs, float(band_hz[1] - band_hz[0]))
    windows = [w for w in (int(chosen * 2.0 ** k) for k in range(-(levels // 2), levels - levels // 2))
               if 16 <= w <= x.size // 8]
    freqs_all, sk_all = [], []
    for window in windows:
        freqs, sk = spectral_kurtosis(x, fs, window, overlap=False)
        pooled, block = _pool_max(sk, max_cells)
        freqs_all.append([float(f) for f in freqs[::block][:pooled.size]])
        sk_all.append([float(v) for v in pooled])
    return {"windows": windows, "freqs_hz": freqs_all, "sk": sk_all, "chosen_window": chosen,
            "band_hz": [float(band_hz[0]), float(band_hz[1])], "max_sk": float(max_sk)}


def spectrum_row(samples: Any, fs: float, max_hz: float, max_points: int = 600) -> dict[str, list]:
    """One row of a waterfall: the Hann amplitude spectrum up to ``max_hz``, block maxima.

    Parameters
    ----------
    samples : array-like, shape (n,)
        Acceleration, m/s².
    fs : float
        Sample rate, Hz.
    max_hz : float
        Highest frequency kept, Hz (clipped to Nyquist).
    max_points : int
        Points at most (block maxima keep every peak visible).

    Returns
    -------
    dict
        ``freqs_hz`` (bin starts, Hz) and ``amplitude_m_s2`` (peak amplitude per block, m/s²).
    """
    spectrum = amplitude_spectrum(np.asarray(samples, dtype=float), fs)
    keep = spectrum.freqs_hz <= min(max_hz, fs / 2.0)
    pooled, block = _pool_max(spectrum.amplitude[keep], max_points)
    freqs = spectrum.freqs_hz[keep][::block][:pooled.size]
    return {"freqs_hz": [float(f) for f in freqs], "amplitude_m_s2": [float(a) for a in pooled]}
