"""Unit-wise splits: every row of one unit lands on the same side, never across."""
from __future__ import annotations

import numpy as np


def unit_split(units: np.ndarray, holdout_share: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split rows into (train_mask, holdout_mask) by unit.

    Parameters
    ----------
    units : shape (n,), unit id per row.
    holdout_share : share of *units* (not rows) held out, in (0, 1).
    seed : the same seed and units give the same split.

    Returns
    -------
    two boolean masks of shape (n,), complementary; at least one unit on each side when there
    are two or more units.
    """
    if not 0.0 < holdout_share < 1.0:
        raise ValueError(f"holdout_share must be in (0, 1), got {holdout_share}")
    units = np.asarray(units)
    unique = np.unique(units)
    if unique.size < 2:
        raise ValueError("a unit-wise split needs at least two units")
    shuffled = np.random.default_rng(seed).permutation(unique)
    n_hold = int(round(holdout_share * unique.size))
    n_hold = min(max(n_hold, 1), unique.size - 1)
    holdout = np.isin(units, shuffled[:n_hold])
    return ~holdout, holdout


def unit_folds(units: np.ndarray, n_folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """K-fold cross-validation by unit: ``[(train_mask, test_mask), ...]``, each unit tested once."""
    units = np.asarray(units)
    unique = np.random.default_rng(seed).permutation(np.unique(units))
    if unique.size < n_folds:
        raise ValueError(f"{unique.size} units cannot make {n_folds} folds")
    folds = []
    for chunk in np.array_split(unique, n_folds):
        test = np.isin(units, chunk)
        folds.append((~test, test))
    return folds


def truncation_rows(units: np.ndarray, draws: int, seed: int = 0, min_rows: int = 1) -> np.ndarray:
    """Test-like truncation points: ``draws`` rows per unit, each uniform over the unit's life.

    A test history ends at a random point of its unit's life and is scored once, at that last
    row. Because features only look back, the feature row at position ``t`` of a full history
    is exactly what the history truncated at ``t`` shows at its end, so a truncation point is
    just a row index. Draws are independent (with replacement), like separate test units cut
    from the same engine.

    Parameters
    ----------
    units : shape (n,), unit id per row; rows grouped by unit and sorted by age within a unit.
    draws : truncation points per unit (>= 1).
    seed : the same seed and units give the same rows.
    min_rows : shortest truncated history, in rows (units shorter than this get no draw).

    Returns
    -------
    Row indices into ``units``, shape (u * draws,), grouped by unit (units in sorted order).
    """
    if draws < 1 or min_rows < 1:
        raise ValueError(f"draws and min_rows must be at least 1, got {draws} and {min_rows}")
    units = np.asarray(units)
    rng = np.random.default_rng(seed)
    picked = []
    for unit in np.unique(units):
        eligible = np.flatnonzero(units == unit)[min_rows - 1:]
        if eligible.size:
            picked.append(eligible[rng.integers(0, eligible.size, draws)])
    return np.concatenate(picked) if picked else np.zeros(0, dtype=int)


def truncated_unit_folds(units: np.ndarray, n_folds: int, draws: int, seed: int = 0,
                         min_rows: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """K-fold CV by unit, scored like a test set: ``[(train_mask (n,), test_rows (m,)), ...]``.

    Each unit is held out in exactly one fold; there it is scored at ``draws`` test-like
    truncation points (``truncation_rows``), never at every row. ``train_mask`` holds every row
    of the other units.
    """
    units = np.asarray(units)
    folds = []
    for k, (fit, held) in enumerate(unit_folds(units, n_folds, seed=seed)):
        held_idx = np.flatnonzero(held)
        rows = held_idx[truncation_rows(units[held_idx], draws, seed=seed * 1000 + k, min_rows=min_rows)]
        folds.append((fit, rows))
    return folds
