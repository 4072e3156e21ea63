"""A fused health indicator: one linear combination of the normalised channels that tracks RUL.

Each sensor alone is noisy; wear moves many of them at once. A ridge regression of the remaining
life on the regime-normalised channels, fitted on the training units' wear-out phase (rows below
the target's cap, where RUL is linear in time), averages that noise away. Its output is added as
one more channel before windowing, so the trees get its levels, trends and EWM like any sensor's.
"""
from __future__ import annotations

import numpy as np

FUSED_CHANNEL = "fused_hi"


def fit_fusion(normalised: np.ndarray, target: np.ndarray, rul_cap: float | None, ridge: float = 1e-3) -> np.ndarray:
    """Ridge weights (c + 1,) (intercept last) of target on channels, over the wear-out rows.

    Parameters
    ----------
    normalised : shape (n, c), regime-normalised channels (unitless).
    target : shape (n,), capped RUL.
    rul_cap : rows at the cap carry no wear signal and are left out; None keeps all rows.
    ridge : L2 penalty on the row-averaged Gram matrix (keeps collinear sensors stable).
    """
    rows = target < rul_cap if rul_cap is not None else np.ones(len(target), dtype=bool)
    if rows.sum() <= normalised.shape[1] + 1:
        rows = np.ones(len(target), dtype=bool)
    Z = np.column_stack([normalised[rows], np.ones(int(rows.sum()))])
    gram = Z.T @ Z / len(Z)
    penalty = ridge * np.eye(Z.shape[1])
    penalty[-1, -1] = 0.0  # never shrink the intercept
    return np.linalg.solve(gram + penalty, Z.T @ target[rows] / len(Z))


def apply_fusion(normalised: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Channels (n, c) with the fused indicator appended as the last column: (n, c + 1)."""
    fused = normalised @ weights[:-1] + weights[-1]
    return np.column_stack([normalised, fused])
