"""Evidence plots for the machine page: spectrum and envelope spectrum with the matched defect lines.

Pure drawing: arrays and evidence dicts in, PNG bytes out (matplotlib's object API on the Agg
canvas, no pyplot global state, so concurrent requests on the threaded server cannot mix figures).
"""
from __future__ import annotations

import io
from typing import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Colours shared with the CSS status palette.
MATCH_COLOUR = "#c5221f"
EXPECTED_COLOUR = "#667085"
TRACE_COLOUR = "#14213d"
BAND_COLOUR = "#f2a900"


def envelope_axis_limit_hz(evidence: Iterable[Mapping], default_hz: float = 500.0,
                           nyquist_hz: float | None = None) -> float:
    """Upper frequency of the envelope plot: room for the highest matched line, else ``default_hz``.

    Parameters
    ----------
    evidence : iterable of dict
        ``Evidence.to_dict()`` items; those with ``domain == "envelope"`` count.
    default_hz : float
        Limit used when there is no envelope evidence, Hz.
    nyquist_hz : float, optional
        Never plot beyond the envelope spectrum's own last bin, Hz.
    """
    expected = [float(e.get("expected_hz") or 0.0) for e in evidence if e.get("domain") == "envelope"]
    limit = max(expected) * 1.25 if expected and max(expected) > 0 else default_hz
    if nyquist_hz:
        limit = min(limit, nyquist_hz)
    return float(limit)


def _plot_trace(axis, freqs_hz: np.ndarray, amplitude: np.ndarray, f_max_hz: float) -> float:
    """Draw one spectrum up to ``f_max_hz``; return its largest amplitude in that range."""
    keep = freqs_hz <= f_max_hz
    axis.plot(freqs_hz[keep], amplitude[keep], color=TRACE_COLOUR, linewidth=0.8)
    axis.set_xlim(0.0, f_max_hz)
    axis.grid(True, color="#e2e6ec", linewidth=0.6)
    axis.set_axisbelow(True)
    for side in ("top", "right"):
        axis.spines[side].set_visible(False)
    return float(amplitude[keep].max()) if keep.any() else 1.0


def _mark_evidence(axis, evidence: Sequence[Mapping], domain: str, f_max_hz: float, top: float) -> int:
    """Dashed grey line at each expected frequency, red dot and label at the matched peak."""
    marked = 0
    for item in evidence:
        if item.get("domain") != domain:
            continue
        expected = float(item.get("expected_hz") or 0.0)
        matched = item.get("matched_hz")
        if not 0.0 < expected <= f_max_hz:
            continue
        axis.axvline(expected, color=EXPECTED_COLOUR, linestyle="--", linewidth=0.8, alpha=0.8)
        if matched is not None:
            amplitude = float(item.get("amplitude") or 0.0)
            axis.plot([float(matched)], [amplitude], "o", color=MATCH_COLOUR, markersize=5, zorder=5)
            snr = item.get("snr_db")
            label = item.get("label", "")
            if snr is not None:
                label = f"{label}\n{float(snr):.0f} dB"
            axis.annotate(label, (float(matched), amplitude), xytext=(4, 6),
                          textcoords="offset points", fontsize=7.5, color=MATCH_COLOUR)
        marked += 1
    axis.set_ylim(0.0, top * 1.2 if top > 0 else 1.0)
    return marked


def render_evidence_png(spectrum_hz: Sequence[float], spectrum_amp: Sequence[float],
                        envelope_hz: Sequence[float], envelope_amp: Sequence[float],
                        evidence: Sequence[Mapping], title: str,
                        band_hz: tuple[float, float] | None = None,
                        spectrum_units: str = "m/s²", width_px: int = 1100) -> bytes:
    """Draw the amplitude spectrum and the envelope spectrum of one burst, with the evidence.

    Parameters
    ----------
    spectrum_hz, spectrum_amp : sequence of float, shape (n,)
        Amplitude spectrum of the burst: frequencies in Hz and peak amplitudes in ``spectrum_units``.
    envelope_hz, envelope_amp : sequence of float, shape (m,)
        Envelope spectrum (of the demodulated band): Hz and amplitude in ``spectrum_units``.
    evidence : sequence of dict
        ``Evidence.to_dict()`` items (``label``, ``expected_hz``, ``matched_hz``, ``amplitude``,
        ``snr_db``, ``domain`` = ``"spectrum"`` or ``"envelope"``); each is drawn on its panel as
        a dashed line at the expected frequency and a dot at the matched peak.
    title : str
        Figure title, e.g. ``"GS-2001 · alternator_de · 2026-11-25 10:00 UTC"``.
    band_hz : (float, float), optional
        The demodulation band chosen by the kurtogram, shaded on the spectrum panel, Hz.
    width_px : int
        Image width in pixels (height follows at a fixed aspect).

    Returns
    -------
    bytes
        A PNG image.
    """
    spectrum_hz = np.asarray(spectrum_hz, dtype=float)
    spectrum_amp = np.asarray(spectrum_amp, dtype=float)
    envelope_hz = np.asarray(envelope_hz, dtype=float)
    envelope_amp = np.asarray(envelope_amp, dtype=float)
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, width_px * 0.58 / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    top_axis, bottom_axis = figure.subplots(2, 1)
    figure.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.09, hspace=0.42)
    figure.suptitle(title, fontsize=11, x=0.07, ha="left")

    spectrum_max_hz = float(spectrum_hz[-1]) if spectrum_hz.size else 1.0
    top = _plot_trace(top_axis, spectrum_hz, spectrum_amp, spectrum_max_hz)
    if band_hz is not None:
        top_axis.axvspan(band_hz[0], band_hz[1], color=BAND_COLOUR, alpha=0.15,
                         label="envelope band (kurtogram)")
        top_axis.legend(loc="upper right", fontsize=8, frameon=False)
    _mark_evidence(top_axis, evidence, "spectrum", spectrum_max_hz, top)
    top_axis.set_title("Acceleration spectrum", fontsize=9.5, loc="left")
    top_axis.set_xlabel("Frequency (Hz)", fontsize=8.5)
    top_axis.set_ylabel(f"Amplitude ({spectrum_units})", fontsize=8.5)

    envelope_limit = envelope_axis_limit_hz(
        evidence, nyquist_hz=float(envelope_hz[-1]) if envelope_hz.size else None)
    top = _plot_trace(bottom_axis, envelope_hz, envelope_amp, envelope_limit)
    _mark_evidence(bottom_axis, evidence, "envelope", envelope_limit, top)
    bottom_axis.set_title("Envelope spectrum — dashed: expected defect frequencies, red: matched peaks",
                          fontsize=9.5, loc="left")
    bottom_axis.set_xlabel("Frequency (Hz)", fontsize=8.5)
    bottom_axis.set_ylabel(f"Envelope ({spectrum_units})", fontsize=8.5)
    for axis in (top_axis, bottom_axis):
        axis.tick_params(labelsize=8)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
