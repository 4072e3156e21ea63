"""Evidence plots: a PNG of the right size, and the envelope axis leaves room for the matched lines."""
import io

import numpy as np
import pytest

from app.plots import envelope_axis_limit_hz, render_evidence_png

EVIDENCE = [
    {"label": "BPFO x1", "expected_hz": 89.6, "matched_hz": 89.5, "amplitude": 0.8, "snr_db": 18.0, "domain": "envelope"},
    {"label": "BPFO x2", "expected_hz": 179.2, "matched_hz": 179.0, "amplitude": 0.5, "snr_db": 12.0, "domain": "envelope"},
    {"label": "1x", "expected_hz": 25.0, "matched_hz": 25.0, "amplitude": 0.2, "snr_db": 9.0, "domain": "spectrum"},
]


def test_envelope_limit_makes_room_for_highest_expected_line():
    assert envelope_axis_limit_hz(EVIDENCE) == pytest.approx(179.2 * 1.25)


def test_envelope_limit_defaults_without_envelope_evidence_and_respects_nyquist():
    assert envelope_axis_limit_hz([EVIDENCE[2]], default_hz=400.0) == 400.0
    assert envelope_axis_limit_hz(EVIDENCE, nyquist_hz=150.0) == 150.0


def _display(with_scalogram: bool) -> dict:
    freqs = np.linspace(0, 12800, 2001)
    env_freqs = np.linspace(0, 600, 601)
    display = {
        "spectrum": {"freqs_hz": freqs.tolist(), "amplitude_m_s2": (np.abs(np.sin(freqs / 300.0)) * 0.1).tolist()},
        "envelope": {"freqs_hz": env_freqs.tolist(), "amplitude": np.exp(-env_freqs / 300.0).tolist(),
                     "band_hz": [3000.0, 4600.0], "view": "whitened kurtogram band"},
    }
    if with_scalogram:
        display["scalogram"] = {"times_s": np.linspace(0, 0.25, 50).tolist(),
                                "freqs_hz": np.geomspace(11520, 100, 12).tolist(),
                                "magnitude": np.random.default_rng(0).random((12, 50)).tolist()}
    return display


@pytest.mark.parametrize("with_scalogram", [False, True])
def test_render_evidence_png_is_a_png_of_the_requested_width(with_scalogram):
    from matplotlib.image import imread

    png = render_evidence_png(_display(with_scalogram), EVIDENCE, "GS-2001 · alternator_de", width_px=900)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(io.BytesIO(png))
    assert image.shape[1] == 900
    # A third panel makes the figure taller.
    assert image.shape[0] == (810 if with_scalogram else 540)
    # The drawing is not blank: many colours are on it.
    assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 10


def test_matched_peak_dot_sits_on_the_trace():
    from app.plots import _trace_value_at

    freqs = np.arange(0.0, 100.0, 1.0)
    amplitude = np.zeros_like(freqs)
    amplitude[40] = 3.0
    assert _trace_value_at(freqs, amplitude, 40.4, 1.5) == 3.0
    assert _trace_value_at(freqs, amplitude, 70.0, 1.5) == 0.0
