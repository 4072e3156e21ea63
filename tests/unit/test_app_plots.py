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


def test_render_evidence_png_is_a_png_of_the_requested_width():
    from matplotlib.image import imread

    freqs = np.linspace(0, 12800, 12801)
    amplitude = np.abs(np.sin(freqs / 300.0)) * 0.1
    env_freqs = np.linspace(0, 1000, 1001)
    env_amp = np.exp(-env_freqs / 300.0) * 0.05
    png = render_evidence_png(freqs, amplitude, env_freqs, env_amp, EVIDENCE, "GS-2001 · alternator_de",
                              band_hz=(3000.0, 4600.0), width_px=900)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(io.BytesIO(png))
    assert image.shape[1] == 900
    # The drawing is not blank: more than one colour is on it.
    assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 10
