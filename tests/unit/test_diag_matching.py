"""Line matching helpers: the fast forms agree exactly with the plain NumPy ones they replace."""
import numpy as np
import pytest

from diagnostics.matching import _geometric_grid, _window_peaks, spread_indices


def test_geometric_grid_is_geomspace_bit_for_bit():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        lo = rng.uniform(0.1, 500.0)
        hi = lo * rng.uniform(1.01, 50.0)
        num = int(rng.integers(2, 80))
        assert np.array_equal(_geometric_grid(lo, hi, num), np.geomspace(lo, hi, num))


@pytest.mark.parametrize("size", [1, 2, 7, 30, 97])
def test_spread_indices_is_linspace_bit_for_bit(size):
    for count in range(1, 40):
        assert np.array_equal(spread_indices(size, count), np.linspace(0, size - 1, count).astype(int))


def _brute_force_peaks(level_db, centres, half):
    """One window at a time: the highest level among bins 1..m-1 and its lowest bin."""
    v, m = level_db.shape
    peak = np.full(centres.shape, -np.inf)
    where = np.zeros(centres.shape, int)
    for i in range(v):
        for k in range(centres.shape[1]):
            for b in range(centres[i, k] - half[i, k], centres[i, k] + half[i, k] + 1):
                if 1 <= b < m and level_db[i, b] > peak[i, k]:
                    peak[i, k], where[i, k] = level_db[i, b], b
    return peak, where


def test_window_peaks_match_a_window_by_window_search():
    rng = np.random.default_rng(1)
    for _ in range(50):
        v, m, k = int(rng.integers(1, 5)), int(rng.integers(10, 200)), int(rng.integers(1, 30))
        level = np.round(rng.normal(0.0, 3.0, (v, m)))  # rounded: ties must go to the lowest bin
        centres = rng.integers(-10, m + 10, (v, k))
        half = rng.integers(1, 5, (v, k))
        peak, where = _window_peaks(level, centres, half)
        expected_peak, expected_where = _brute_force_peaks(level, centres, half)
        assert np.array_equal(peak, expected_peak)
        inside = np.isfinite(expected_peak)
        assert np.array_equal(where[inside], expected_where[inside])
