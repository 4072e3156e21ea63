"""Signal processing against signals with known answers."""
import numpy as np
import pytest
import scipy.fft as sfft

from diagnostics.envelope import band_envelope_spectrum, prewhiten
from diagnostics.iso20816 import iso_zone, zone_limits
from diagnostics.kurtogram import kurtogram
from diagnostics.spectrum import amplitude_spectrum, time_statistics, velocity_rms_mm_s, velocity_signal_mm_s
from diagnostics.wavelets import packet_energies

FS = 25600.0
T = np.arange(int(FS)) / FS


def test_sine_statistics():
    x = 3.0 * np.sin(2 * np.pi * 100.0 * T)
    s = time_statistics(x)
    assert s["acc_rms_m_s2"] == pytest.approx(3.0 / np.sqrt(2), rel=1e-4)
    assert s["peak_m_s2"] == pytest.approx(3.0, rel=1e-3)
    assert s["crest_factor"] == pytest.approx(np.sqrt(2), rel=1e-3)
    assert s["kurtosis"] == pytest.approx(1.5, rel=1e-3)


def test_gaussian_noise_kurtosis_is_three():
    x = np.random.default_rng(0).standard_normal(200_000)
    assert time_statistics(x)["kurtosis"] == pytest.approx(3.0, abs=0.05)


def test_amplitude_spectrum_reads_sine_amplitude():
    x = 2.5 * np.sin(2 * np.pi * 440.0 * T) + 0.7 * np.sin(2 * np.pi * 1234.0 * T)
    spec = amplitude_spectrum(x, FS)
    assert spec.amplitude[440] == pytest.approx(2.5, rel=1e-3)
    assert spec.amplitude[1234] == pytest.approx(0.7, rel=1e-3)


def test_velocity_rms_of_known_sine():
    # Velocity amplitude 5 mm/s at 80 Hz: acceleration amplitude 5e-3 * 2 pi 80 m/s^2; RMS 5/sqrt 2.
    f = 80.0
    acc = 5e-3 * 2 * np.pi * f * np.cos(2 * np.pi * f * T)
    assert velocity_rms_mm_s(acc, FS) == pytest.approx(5.0 / np.sqrt(2), rel=1e-3)
    vel = velocity_signal_mm_s(acc, FS)
    assert np.max(np.abs(vel)) == pytest.approx(5.0, rel=1e-2)
    # Outside the 10-1000 Hz band the line does not count.
    acc_hi = 5e-3 * 2 * np.pi * 3000 * np.cos(2 * np.pi * 3000 * T)
    assert velocity_rms_mm_s(acc_hi, FS) < 0.01


def test_velocity_rms_agrees_with_velocity_waveform_across_bands_and_lengths():
    # Parseval in the band equals the RMS of the integrated waveform; each case runs twice, so a
    # cached band (bins and (2 pi f)^2 per length, rate and band) is checked against a fresh one.
    rng = np.random.default_rng(3)
    for n, fs, band in ((25600, FS, (10.0, 1000.0)), (25601, FS, (2.0, 1000.0)), (4096, 4096.0, (10.0, 1500.0))):
        x = rng.standard_normal(n)
        for _ in range(2):
            vel = velocity_signal_mm_s(x, fs, band)
            assert velocity_rms_mm_s(x, fs, band) == pytest.approx(np.sqrt(np.mean(vel ** 2)), rel=1e-9)


def test_iso_zones_and_limits():
    limits = zone_limits(None, "iso20816-3/group2/rigid")
    assert limits == (1.4, 2.8, 4.5)
    assert [iso_zone(v, limits) for v in (1.0, 1.4, 3.0, 4.5)] == ["A", "B", "C", "D"]
    assert zone_limits([1, 2, 3], "iso20816-3/group2/rigid") == (1.0, 2.0, 3.0)


def _impulse_train(rate_hz, ring_hz=4000.0):
    x = np.zeros(T.size)
    x[(np.arange(0, 1, 1 / rate_hz) * FS).astype(int)] = 1.0
    t = np.arange(400) / FS
    # Smooth attack: a resonance rings up over a few cycles, it does not start with a broadband step.
    ring = (1 - np.exp(-t / 3e-4)) ** 2 * np.exp(-600 * t) * np.sin(2 * np.pi * ring_hz * t)
    rng = np.random.default_rng(1)
    return np.convolve(x, ring)[: T.size] * 10 + 0.2 * rng.standard_normal(T.size)


def test_envelope_spectrum_shows_impulse_rate():
    x = _impulse_train(97.0)
    env = band_envelope_spectrum(sfft.rfft(x), x.size, FS, (3000.0, 5000.0))
    assert env.resolution_hz == pytest.approx(1.0)
    peak = np.argmax(env.amplitude[20:400]) + 20
    assert env.freqs_hz[peak] == pytest.approx(97.0, abs=1.0)
    white = band_envelope_spectrum(prewhiten(sfft.rfft(x)), x.size, FS, (500.0, 12000.0))
    assert white.freqs_hz[np.argmax(white.amplitude[20:400]) + 20] == pytest.approx(97.0, abs=1.0)


def test_kurtogram_finds_the_ringing_band():
    x = _impulse_train(50.0, ring_hz=6000.0) + 2.0 * np.sin(2 * np.pi * 1500 * T)
    kg = kurtogram(x, FS)
    # STFT cells are fs / window wide; SK often peaks on a flank of the resonance, so allow one cell.
    assert kg.band_hz[0] - 800.0 <= 6000.0 <= kg.band_hz[1] + 800.0
    assert kg.max_sk > 3.0


def test_packet_energies_in_frequency_order():
    for f, node in ((500.0, 0), (5000.0, 3), (12000.0, 7)):
        e = packet_energies(np.sin(2 * np.pi * f * T))
        assert int(np.argmax(e)) == node
        assert e.sum() == pytest.approx(1.0)


def test_iso_band_widens_for_slow_machines():
    from diagnostics.iso20816 import iso_band_hz

    assert iso_band_hz(1500.0, 25600.0) == (10.0, 1000.0)
    assert iso_band_hz(300.0, 25600.0) == (2.0, 1000.0)
    assert iso_band_hz(1500.0, 1000.0) == (10.0, 450.0)
