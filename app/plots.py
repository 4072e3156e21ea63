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


def spectrum_axis_limit_hz(evidence: Iterable[Mapping], full_hz: float, min_hz: float = 500.0) -> float:
    """Upper frequency of the acceleration-spectrum plot: the whole band, or, when the finding has
    lines in the spectrum (a gear's mesh and its sidebands, shaft orders, line frequency), a range
    where they can be told apart: 2.5 x the highest of them, at least ``min_hz`` (Hz). On the
    whole 12.8 kHz band a mesh sideband 24 Hz from its mesh line is two pixels away."""
    expected = [float(e.get("expected_hz") or 0.0) for e in evidence if e.get("domain") == "spectrum"]
    if not expected or max(expected) <= 0:
        return float(full_hz)
    return float(min(full_hz, max(min_hz, 2.5 * max(expected))))


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


def _trace_value_at(freqs_hz: np.ndarray, amplitude: np.ndarray, at_hz: float, half_width_hz: float) -> float:
    """Largest plotted amplitude within ``at_hz ± half_width_hz`` (where the matched peak is drawn)."""
    near = np.abs(freqs_hz - at_hz) <= half_width_hz
    if not near.any():
        return float(np.interp(at_hz, freqs_hz, amplitude)) if freqs_hz.size else 0.0
    return float(amplitude[near].max())


def _mark_evidence(axis, evidence: Sequence[Mapping], domain: str, f_max_hz: float, top: float,
                   freqs_hz: np.ndarray, amplitude: np.ndarray) -> int:
    """Dashed grey line at each expected frequency, red dot and label on the matched peak.

    The dot sits on the drawn trace rather than at the evidence's own amplitude, because the
    evidence may be measured in other units (velocity for shaft orders) than the plotted spectrum.
    """
    step = float(freqs_hz[1] - freqs_hz[0]) if freqs_hz.size > 1 else 1.0
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
            height = _trace_value_at(freqs_hz, amplitude, float(matched), 1.5 * step)
            axis.plot([float(matched)], [height], "o", color=MATCH_COLOUR, markersize=5, zorder=5)
            snr = item.get("snr_db")
            label = item.get("label", "")
            if snr is not None:
                label = f"{label} ({float(snr):.0f} dB)"
            axis.annotate(label, (float(matched), height), xytext=(4, 5), textcoords="offset points",
                          fontsize=7.5, color=MATCH_COLOUR, rotation=30)
        marked += 1
    axis.set_ylim(0.0, top * 1.3 if top > 0 else 1.0)
    return marked


def render_evidence_png(display: Mapping, evidence: Sequence[Mapping], title: str,
                        width_px: int = 1100) -> bytes:
    """Draw the acceleration spectrum, the envelope spectrum and the scalogram of one burst.

    Parameters
    ----------
    display : dict
        ``diagnostics.pipeline.display_data(...)``: ``spectrum`` (``freqs_hz``, ``amplitude_m_s2``),
        ``envelope`` (``freqs_hz``, ``amplitude`` dimensionless, ``band_hz``, ``view``), optionally
        ``scalogram`` (``times_s``, ``freqs_hz``, ``magnitude`` shape (n_freqs, n_times), m/s²).
    evidence : sequence of dict
        ``Evidence.to_dict()`` items (``label``, ``expected_hz``, ``matched_hz``, ``snr_db``,
        ``domain`` = ``"spectrum"`` or ``"envelope"``); each is drawn on its panel as a dashed line at
        the expected frequency and a red dot on the matched peak.
    title : str
        Figure title, e.g. ``"GS-2001 · alternator_de · 2026-11-25 10:00 UTC"``.
    width_px : int
        Image width in pixels (height follows at a fixed aspect).

    Returns
    -------
    bytes
        A PNG image.
    """
    spectrum_hz = np.asarray(display["spectrum"]["freqs_hz"], dtype=float)
    spectrum_amp = np.asarray(display["spectrum"]["amplitude_m_s2"], dtype=float)
    envelope = display["envelope"]
    envelope_hz = np.asarray(envelope["freqs_hz"], dtype=float)
    envelope_amp = np.asarray(envelope["amplitude"], dtype=float)
    scalogram = display.get("scalogram")
    panels = 3 if scalogram and scalogram.get("magnitude") else 2
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, width_px * (0.3 * panels) / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.subplots(panels, 1)
    height_px = width_px * 0.3 * panels
    # Margins in pixels, so the title never collides with the first panel's heading.
    figure.subplots_adjust(left=0.075, right=0.98, top=1 - 62 / height_px, bottom=52 / height_px,
                           hspace=0.6)
    figure.suptitle(title, fontsize=11.5, fontweight="bold", x=0.075, y=1 - 12 / height_px,
                    ha="left", va="top")

    spectrum_axis, envelope_axis = axes[0], axes[1]
    spectrum_max_hz = spectrum_axis_limit_hz(evidence, float(spectrum_hz[-1]) if spectrum_hz.size else 1.0)
    top = _plot_trace(spectrum_axis, spectrum_hz, spectrum_amp, spectrum_max_hz)
    band = envelope.get("band_hz")
    heading = "Acceleration spectrum (Hann, peak amplitude)"
    if band and len(band) == 2 and float(band[0]) < spectrum_max_hz:
        spectrum_axis.axvspan(float(band[0]), float(band[1]), color=BAND_COLOUR, alpha=0.18,
                              label=f"demodulated band {band[0]:.0f}–{band[1]:.0f} Hz")
        spectrum_axis.legend(loc="upper right", fontsize=8, frameon=False)
    elif band and len(band) == 2:   # zoomed in on the finding's lines: say where the band lies
        heading += f", 0–{spectrum_max_hz:.0f} Hz around the matched lines (demodulated band {band[0]:.0f}–{band[1]:.0f} Hz)"
    _mark_evidence(spectrum_axis, evidence, "spectrum", spectrum_max_hz, top, spectrum_hz, spectrum_amp)
    spectrum_axis.set_title(heading, fontsize=9.5, loc="left")
    spectrum_axis.set_ylabel("m/s²", fontsize=8.5)

    envelope_limit = envelope_axis_limit_hz(
        evidence, default_hz=float(envelope_hz[-1]) if envelope_hz.size else 500.0,
        nyquist_hz=float(envelope_hz[-1]) if envelope_hz.size else None)
    top = _plot_trace(envelope_axis, envelope_hz, envelope_amp, envelope_limit)
    _mark_evidence(envelope_axis, evidence, "envelope", envelope_limit, top, envelope_hz, envelope_amp)
    view = envelope.get("view", "")
    envelope_axis.set_title(f"Envelope spectrum ({view}) — dashed: expected defect lines, red: matched peaks",
                            fontsize=9.5, loc="left")
    envelope_axis.set_ylabel("squared envelope", fontsize=8.5)
    for axis in (spectrum_axis, envelope_axis):
        axis.set_xlabel("Frequency (Hz)", fontsize=8.5)
        axis.tick_params(labelsize=8)

    if panels == 3:
        _plot_scalogram(axes[2], scalogram)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _plot_scalogram(axis, scalogram: Mapping) -> None:
    """Morlet scalogram (time × log frequency), magnitude as colour."""
    times = np.asarray(scalogram["times_s"], dtype=float)
    freqs = np.asarray(scalogram["freqs_hz"], dtype=float)
    magnitude = np.asarray(scalogram["magnitude"], dtype=float)
    order = np.argsort(freqs)  # pcolormesh wants rising coordinates
    axis.pcolormesh(times * 1e3, freqs[order], magnitude[order], shading="nearest", cmap="magma")
    axis.set_yscale("log")
    axis.set_title("Wavelet scalogram (Morlet, first 0.25 s): impacts show as vertical streaks",
                   fontsize=9.5, loc="left")
    axis.set_xlabel("Time (ms)", fontsize=8.5)
    axis.set_ylabel("Hz", fontsize=8.5)
    axis.tick_params(labelsize=8)
