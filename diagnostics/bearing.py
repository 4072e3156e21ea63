"""Rolling-element bearing (and broken-tooth) diagnosis by consensus of envelope evidence.

No single demodulation band works for every machine and fault (Smith & Randall, MSSP 64-65, 2015):
the band with the highest spectral kurtosis can be dominated by something else than the bearing,
and pre-whitening helps some records and hurts others. So every view of ``diagnostics.views``
(pre-whitened full band, equal-width bands raw and pre-whitened, kurtogram bands) is scored, and
the views vote with their evidence:

1. In each view, each defect family (BPFO; BPFI with shaft-rate sidebands; 2 x BSF with cage-rate
   sidebands; FTF) earns the dB by which its fundamental (searched within +-1 %), harmonics (at
   exact multiples of the found fundamental) and sidebands (half weight) rise above the level noise
   reaches by chance (``matching.line_threshold_db``).
2. The 90th percentile of the same score at decoy fundamentals, chosen clear of every line any
   candidate family could produce, is subtracted: a view crowded with unrelated lines earns little.
3. The net evidence is summed over views; raw views count fully only when the pre-whitened views
   confirm the family (see :func:`_consensus`). A family passing :data:`DETECTION_DB` is a
   finding; per bearing the strongest family wins (others are kept only when nearly as strong).
4. An outer-race defect fixed in the load zone gives nearly periodic impacts: a comb of steady
   lines at BPFO harmonics in the acceleration spectrum, which pre-whitening removes. When
   ``diagnostics.comb`` accepts such a comb (not chance, not a machine line series, with cage-rate
   structure), its evidence is added to the outer-race family and it confirms the raw views.

The machine's known discrete lines (integer shaft orders, and line-frequency harmonics of an
electrical machine) are set to the floor before scoring: they are common to many faults and say
nothing about which bearing defect is present. The broken-tooth check scores the
gear's shaft rate with five harmonics on the un-notched levels instead.
"""
from __future__ import annotations

import numpy as np

from .comb import CombEvidence
from .findings import FAULT_MODE_NAMES, Evidence, Finding, part_named, part_words
from .kinematics import DefectFrequencies
from .matching import decoy_fundamentals, stack_family_evidence
from .views import EnvelopeStack

__all__ = ["bearing_findings", "tooth_findings", "envelope_max_hz", "machine_line_hz", "DETECTION_DB", "TOOTH_DETECTION_DB",
           "BEARING_MODES"]

# Evidence (dB above chance, net of decoys, summed over views) a defect family must reach.
DETECTION_DB = 20.0
CONFIRM_DB = 10.0
TOOTH_DETECTION_DB = 30.0
# fault mode, key of the fundamental, multiple, label, sideband
BEARING_MODES = (
    ("bearing_outer_race", "bpfo", 1.0, "BPFO", None),
    ("bearing_inner_race", "bpfi", 1.0, "BPFI", "shaft"),
    ("bearing_rolling_element", "bsf", 2.0, "2xBSF", "ftf"),
    ("bearing_cage", "ftf", 1.0, "FTF", None),
)
N_HARMONICS = 4
_TOOTH_HARMONICS = 5
_TOLERANCE = 0.01      # relative: recorded speed error plus bearing slip
_LINE_WIDTH = 0.002    # relative half-width of a harmonic around h x the found fundamental
_DECOY_RANGE = (1.2, 8.0)  # decoy fundamentals, in shaft orders
_DECOY_COUNT = 12


def _candidates(freqs: DefectFrequencies) -> tuple[list, np.ndarray, np.ndarray]:
    cands, f0, sb = [], [], []
    for bname, bf in freqs.bearings.items():
        for mode, key, mult, label, side in BEARING_MODES:
            cands.append((bname, mode, label, side))
            f0.append(bf[key] * mult)
            sb.append(freqs.shaft_hz if side == "shaft" else (bf["ftf"] if side == "ftf" else 0.0))
    return cands, np.array(f0), np.array(sb)


def envelope_max_hz(freqs: DefectFrequencies) -> float:
    """Highest envelope frequency (Hz) the scoring reads: harmonics, sidebands and decoys."""
    top = _DECOY_RANGE[1] * freqs.shaft_hz * (N_HARMONICS + 0.5)
    _, f0, sb = _candidates(freqs)
    if f0.size:
        top = max(top, float(np.max(f0 * (N_HARMONICS + 0.5) + sb)))
    for g in freqs.gears.values():
        top = max(top, max(g["shaft_hz"], g["mating_shaft_hz"]) * (_TOOTH_HARMONICS + 0.5))
    return top


def machine_line_hz(freqs: DefectFrequencies, top_hz: float) -> np.ndarray:
    """Known discrete frequencies of the machine up to ``top_hz`` (Hz): integer shaft orders and line harmonics.

    Every rotating machine puts lines at its shaft orders into the envelope (shaft-rate modulation
    is common to many faults); an electrical machine also at multiples of its line frequency (the
    magnetic pull pulses at twice line frequency, supply harmonics modulate the rest). Such lines
    say nothing about which bearing defect is present, so they must not count as defect evidence.
    With ``poles`` known the line frequency is itself a shaft order; for an induction machine
    (nominal ``line_hz``, the shaft slips) its harmonics are separate lines.
    """
    orders = np.arange(1, int(top_hz / freqs.shaft_hz) + 1) * freqs.shaft_hz
    ratio = freqs.line_hz / freqs.shaft_hz if freqs.line_hz else 0.0
    if not freqs.line_hz or abs(ratio - round(ratio)) < 1e-9:  # none, or already a shaft order
        return orders
    return np.unique(np.concatenate([orders, np.arange(1, int(top_hz / freqs.line_hz) + 1) * freqs.line_hz]))


def _notch_machine_lines(level_db: np.ndarray, resolution_hz: float, freqs: DefectFrequencies) -> np.ndarray:
    """Levels with the machine's known discrete lines (+-0.3 % or 1 bin) set to the floor (0 dB)."""
    m = level_db.shape[1]
    lines = machine_line_hz(freqs, m * resolution_hz)
    if not lines.size:
        return level_db.copy()
    half = np.maximum(np.rint(0.003 * lines / resolution_hz), 1).astype(int)
    offsets = np.arange(-int(half.max()), int(half.max()) + 1)
    idx = np.rint(lines / resolution_hz).astype(int)[:, None] + offsets
    ok = (np.abs(offsets) <= half[:, None]) & (idx >= 0) & (idx < m)
    mask = np.zeros(m, dtype=bool)
    mask[idx[ok]] = True
    return np.where(mask, 0.0, level_db)


def _decoys(freqs: DefectFrequencies, f0: np.ndarray, sb: np.ndarray, n_harmonics: int) -> np.ndarray:
    # Clear of every line any candidate can produce (harmonics and sidebands): a decoy on another
    # real family's line would inflate the null. (A family without sidebands repeats its harmonics.)
    orders = np.arange(1, n_harmonics + 1)[:, None, None]
    lines = (orders * f0 + np.array([-1.0, 0.0, 1.0])[:, None] * sb).ravel()
    fr = freqs.shaft_hz
    return decoy_fundamentals(_DECOY_RANGE[0] * fr, _DECOY_RANGE[1] * fr, lines if lines.size else np.array([fr]),
                              fr, count=_DECOY_COUNT, margin=0.02)


def _net_evidence(level_db: np.ndarray, stack: EnvelopeStack, f0: np.ndarray, sb: np.ndarray, decoys: np.ndarray,
                  n_harmonics: int) -> tuple[np.ndarray, dict]:
    """Evidence per (view, family) net of the decoys' 90th percentile scored with the same sidebands."""
    v, m = level_db.shape
    specs = np.unique(sb)
    # The candidates, then the decoys once per sideband spacing.
    ev = stack_family_evidence(level_db, stack.resolution_hz, stack.averages,
                               np.concatenate([f0, np.tile(decoys, specs.size)]),
                               np.concatenate([sb, np.repeat(specs, decoys.size)]),
                               n_harmonics, _TOLERANCE, _LINE_WIDTH)
    c = f0.size
    top = m * stack.resolution_hz
    # Per sideband spacing (specs, decoys): decoys whose lines all lie inside the spectrum.
    usable = decoys * (n_harmonics + 0.5) + specs[:, None] < top
    count = usable.sum(axis=1)
    # 90th percentile of the usable decoys per (view, spacing): unusable ones sort last.
    scores = np.sort(np.where(usable, ev["excess_db"][:, c:].reshape(v, specs.size, decoys.size), np.inf), axis=2)
    null = scores[:, np.arange(specs.size), (0.9 * (count - 1)).astype(int)]
    spec = np.searchsorted(specs, sb)  # each family's sideband spacing
    # A family is judged when its own lines fit and at least six decoys measure its null.
    members = (f0 * (n_harmonics + 0.5) + sb < top) & (count[spec] >= 6)
    net = np.where(members, np.maximum(ev["excess_db"][:, :c] - null[:, spec], 0.0), 0.0)
    return net, {key: val[:, :c] for key, val in ev.items()}


def _confidence(total: float, threshold: float) -> float:
    """0.5 at the detection threshold, 0.75 at twice it, towards 1 beyond; below it, proportional."""
    if total < threshold:
        return float(0.5 * total / threshold)
    return float(1.0 - 0.5 * 2.0 ** (-(total - threshold) / threshold))


def _severity(best_level_db: float, n_lines: int) -> str:
    """Stage of a defect from its strongest envelope line (dB over floor) and its line count."""
    if best_level_db >= 24.0 and n_lines >= 4:
        return "alarm"
    if best_level_db >= 16.0 and n_lines >= 3:
        return "warning"
    return "watch"


def _evidence(ev: dict, view: int, j: int, expected_hz: float, sideband_hz: float, label: str, sb_label: str,
              stack: EnvelopeStack, n_harmonics: int) -> list[Evidence]:
    out = []
    for k in range(ev["line_hz"].shape[2]):
        if ev["line_excess_db"][view, j, k] <= 0:
            continue
        hz = float(ev["line_hz"][view, j, k])
        amp = float(stack.amplitude[view, min(int(round(hz / stack.resolution_hz)), stack.amplitude.shape[1] - 1)])
        if k < n_harmonics:
            name, exp = f"{label} x{k + 1}", (k + 1) * expected_hz
        else:
            h, sign = (1 if k - n_harmonics < 2 else 2), (-1 if (k - n_harmonics) % 2 == 0 else 1)
            name = f"{label} x{h} {'-' if sign < 0 else '+'} {sb_label}"
            exp = h * expected_hz + sign * sideband_hz
        out.append(Evidence(name, float(exp), hz, amp, float(ev["line_level_db"][view, j, k]), "envelope"))
    return out


def _consensus(net: np.ndarray, stack: EnvelopeStack, comb_db: np.ndarray | None = None) -> np.ndarray:
    """Evidence per family summed over views; raw views count fully only when pre-whitened ones confirm.

    Demodulating a band that holds discrete lines (mesh, electrical or other deterministic
    components) puts their spacings into the envelope spectrum; cepstral pre-whitening removes
    them. A family seen only in raw views may be such an artefact, so without at least
    :data:`CONFIRM_DB` of pre-whitened evidence its raw evidence counts a quarter. An accepted
    spectral comb (``comb_db`` per family, dB) is the other confirmation: a discrete family already
    shown not to be a machine line series.
    """
    whitened = np.array([s == "whitened" for s in stack.sources])
    white_sum = net[whitened].sum(axis=0)
    raw_sum = net[~whitened].sum(axis=0)
    comb = np.zeros_like(white_sum) if comb_db is None else comb_db
    return white_sum + comb + np.where(white_sum + comb >= CONFIRM_DB, 1.0, 0.25) * raw_sum


def _comb_evidence(comb: CombEvidence, expected_hz: float, amplitude: np.ndarray | None,
                   resolution_hz: float) -> list[Evidence]:
    """Evidence lines of an accepted outer-race comb (acceleration spectrum, m/s^2 peak)."""
    out = []
    for k, hz, level in comb.lines:
        amp = float(amplitude[min(int(round(hz / resolution_hz)), amplitude.size - 1)]) if amplitude is not None else 0.0
        out.append(Evidence(f"BPFO comb x{k}", k * expected_hz, hz, amp, level, "spectrum"))
    return out


def bearing_findings(stack: EnvelopeStack, freqs: DefectFrequencies, component: str,
                     combs: dict[str, CombEvidence] | None = None,
                     spectrum: tuple[np.ndarray, float] | None = None) -> tuple[list[Finding], dict]:
    """Bearing findings from the envelope views (and outer-race combs of the acceleration spectrum).

    Parameters
    ----------
    combs : dict, optional
        ``{bearing name: CombEvidence}`` from ``diagnostics.comb.outer_race_comb``.
    spectrum : (np.ndarray, float), optional
        Hann amplitude spectrum (m/s^2) and its resolution (Hz), for the amplitudes of comb lines.

    Returns
    -------
    findings : list of Finding
    evidence_db : dict
        ``{"<bearing>.<fault mode>": net evidence summed over views (dB)}`` for every candidate.
    """
    if not freqs.bearings:
        return [], {}
    cands, f0, sb = _candidates(freqs)
    level = _notch_machine_lines(stack.level_db, stack.resolution_hz, freqs)
    net, ev = _net_evidence(level, stack, f0, sb, _decoys(freqs, f0, sb, N_HARMONICS), N_HARMONICS)
    combs = combs or {}
    comb_db = np.array([combs[c[0]].evidence_db if c[1] == "bearing_outer_race" and c[0] in combs
                        and combs[c[0]].accepted else 0.0 for c in cands])
    totals = _consensus(net, stack, comb_db)
    evidence_db = {f"{c[0]}.{c[1]}": round(float(t), 2) for c, t in zip(cands, totals)}
    findings = []
    for j, (bname, mode, label, side) in enumerate(cands):
        if totals[j] < DETECTION_DB:
            continue
        view = int(np.argmax(net[:, j]))
        evidence = _evidence(ev, view, j, f0[j], sb[j], label, "1x" if side == "shaft" else "FTF", stack, N_HARMONICS)
        agreeing = int(np.count_nonzero(net[:, j] > 0))
        summary = (f"{FAULT_MODE_NAMES[mode].capitalize()} on the {part_named(bname, 'bearing')}: "
                   f"{len(evidence)} envelope line(s) of the {label} family ({f0[j]:.1f} Hz) stand out, in {agreeing} of {net.shape[0]} "
                   f"demodulation bands.")
        if comb_db[j] > 0:
            comb = combs[bname]
            evidence += _comb_evidence(comb, f0[j], *(spectrum if spectrum is not None else (None, 1.0)))
            summary += (f" The acceleration spectrum holds a comb of steady lines spaced {comb.spacing_hz:.2f} Hz "
                        f"({len(comb.lines)} shown), with cage-rate lines between them and no finer machine line "
                        f"series: impacts fixed in the load zone.")
        if mode == "bearing_cage":
            # The cage rate also modulates a damaged ball as it circles through the load zone.
            summary += " A rolling-element defect passing through the load zone gives the same cage-rate line."
        findings.append(Finding(component, mode, bname, _severity(max((e.snr_db for e in evidence), default=0.0),
                                                                  len(evidence)),
                                _confidence(float(totals[j]), DETECTION_DB), evidence, summary, float(totals[j]),
                                {"view": stack.labels[view], "band_hz": [round(b, 1) for b in stack.bands_hz[view]],
                                 "evidence_db": round(float(totals[j]), 2), "views_agreeing": agreeing,
                                 "comb_db": round(float(comb_db[j]), 2)}))
    return _strongest_per_bearing(findings), evidence_db


def _strongest_per_bearing(findings: list[Finding]) -> list[Finding]:
    """Keep the strongest mode per bearing, plus others only when at least 80 % as strong.

    Harmonics of one family can partly coincide with another's (e.g. 2 x BPFO near BPFI on some
    bearings); two verdicts of similar strength are both reported, a weak echo is not.
    """
    by_bearing: dict[str, list[Finding]] = {}
    for f in findings:
        by_bearing.setdefault(f.location, []).append(f)
    out = []
    for group in by_bearing.values():
        group.sort(key=lambda f: -f.score)
        out.append(group[0])
        out.extend(f for f in group[1:] if f.score >= 0.8 * group[0].score)
    return out


def gear_shafts(gears: dict[str, dict[str, float]]) -> list[tuple[float, list[tuple[str, str]]]]:
    """The distinct shafts that carry gears, and which gears sit on each.

    Parameters
    ----------
    gears : dict
        ``DefectFrequencies.gears``: per gear its pinion's ``shaft_hz`` and wheel's ``mating_shaft_hz`` (Hz).

    Returns
    -------
    list of (rate_hz, [(gear name, "pinion" | "wheel"), ...])
        One entry per shaft, in the order first met. In a two-stage reduction the stage 1 wheel and
        the stage 2 pinion share the middle shaft, so both are listed there: a tooth broken on either
        jolts once per turn of that shaft, and the envelope cannot tell which.
    """
    shafts: list[tuple[float, list[tuple[str, str]]]] = []
    for name, g in gears.items():
        for side, rate in (("pinion", g["shaft_hz"]), ("wheel", g["mating_shaft_hz"])):
            same = next((s for s in shafts if np.isclose(s[0], rate, rtol=1e-9)), None)
            if same is None:
                shafts.append((rate, [(name, side)]))
            else:
                same[1].append((name, side))
    return shafts


def tooth_findings(stack: EnvelopeStack, freqs: DefectFrequencies, component: str) -> list[Finding]:
    """Broken gear tooth: a once-per-turn jolt puts its shaft's rate and many harmonics in the envelope.

    One finding per shaft (:func:`gear_shafts`), the strongest plus any other at least 80 % as
    strong; it names the gear when one gear sits on the shaft, else every gear that could be it.
    """
    if not freqs.gears:
        return []
    shafts = gear_shafts(freqs.gears)
    f0 = [rate for rate, _ in shafts]
    f0_arr, sb = np.array(f0), np.zeros(len(f0))
    fr = freqs.shaft_hz
    bearing_lines = [b[k] * (2.0 if k == "bsf" else 1.0) for b in freqs.bearings.values() for k in ("bpfo", "bpfi", "bsf", "ftf")]
    avoid = np.array(f0 + bearing_lines)
    decoys = decoy_fundamentals(0.3 * fr, 3.0 * fr, avoid, fr, count=_DECOY_COUNT, margin=0.03)
    # The once-per-turn jolt rings the structure broadly: the whole-band and kurtogram views suffice.
    views = [i for i, lab in enumerate(stack.labels) if "full band" in lab or "kurtogram" in lab]
    sub = EnvelopeStack(stack.amplitude[views], stack.level_db[views], stack.resolution_hz, stack.averages,
                        [stack.labels[i] for i in views], [stack.bands_hz[i] for i in views],
                        [stack.sources[i] for i in views], stack.kurtogram_band_hz, stack.kurtogram_max_sk)
    stack = sub
    net, ev = _net_evidence(stack.level_db, stack, f0_arr, sb, decoys, _TOOTH_HARMONICS)
    totals = net.sum(axis=0)
    out = []
    for j, (rate, on_shaft) in enumerate(shafts):
        if totals[j] < TOOTH_DETECTION_DB:
            continue
        view = int(np.argmax(net[:, j]))
        gears_here = list(dict.fromkeys(name for name, _ in on_shaft))
        sides = " or ".join(f"{part_words(name)} {side}" for name, side in on_shaft)
        evidence = _evidence(ev, view, j, rate, 0.0, f"{on_shaft[0][1]} shaft 1x" if len(on_shaft) == 1
                             else "shaft 1x", "", stack, _TOOTH_HARMONICS)
        best = max((e.snr_db for e in evidence), default=0.0)
        if len(gears_here) == 1:
            where = f"on the {part_named(gears_here[0], 'gear')}: impacts once per turn of its {on_shaft[0][1]} shaft"
        else:
            where = (f"on a gear of the shaft turning at {rate:.1f} Hz ({sides}; its once-per-turn impacts "
                     f"cannot tell which): impacts once per turn")
        out.append(Finding(component, "gear_broken_tooth", "_or_".join(gears_here), _severity(best, len(evidence)),
                           _confidence(float(totals[j]), TOOTH_DETECTION_DB), evidence,
                           f"Broken or cracked tooth {where} ({rate:.1f} Hz), {len(evidence)} envelope harmonics.",
                           float(totals[j]),
                           {"view": stack.labels[view], "band_hz": [round(b, 1) for b in stack.bands_hz[view]],
                            "evidence_db": round(float(totals[j]), 2), "shaft_hz": round(float(rate), 3)}))
    strongest = max((f.score for f in out), default=0.0)
    # a weak echo on another shaft (harmonics of one rate near another's) is not a second fault
    return [f for f in out if f.score >= 0.8 * strongest]
