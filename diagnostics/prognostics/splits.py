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
