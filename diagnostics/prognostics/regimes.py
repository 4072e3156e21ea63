"""Operating-regime normalisation.

Sensor levels move far more with the operating condition (altitude and throttle for a turbofan,
load and speed for an excavator pump) than with wear. Clustering the operating settings into
regimes and standardising every channel by its own regime's mean and standard deviation, learned
on training data only, leaves mostly the wear signal.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def kmeans(points: np.ndarray, k: int, seed: int = 0, iterations: int = 100) -> tuple[np.ndarray, float]:
    """Lloyd's k-means with k-means++ seeding.

    Parameters
    ----------
    points : shape (n, d), already scaled so every dimension counts alike.
    k : number of clusters, 1 <= k <= n.
    seed : random seed (the result is reproducible for a seed).

    Returns
    -------
    centres : shape (k, d)
    inertia : sum of squared distances of points to their centre.
    """
    rng = np.random.default_rng(seed)
    n = points.shape[0]
    centres = [points[rng.integers(n)]]
    for _ in range(1, k):
        d2 = np.min(((points[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        pick = rng.integers(n) if total <= 0 else rng.choice(n, p=d2 / total)
        centres.append(points[pick])
    centres = np.array(centres, dtype=float)
    labels = np.zeros(n, dtype=int)
    for _ in range(iterations):
        d2 = ((points[:, None, :] - centres[None]) ** 2).sum(-1)
        new_labels = d2.argmin(axis=1)
        if _ > 0 and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for j in range(k):
            members = points[labels == j]
            if len(members):
                centres[j] = members.mean(axis=0)
    d2 = ((points[:, None, :] - centres[None]) ** 2).sum(-1)
    return centres, float(d2.min(axis=1).sum())


def choose_regime_count(settings: np.ndarray, max_k: int = 8, tolerance: float = 1e-3, seed: int = 0) -> int:
    """Number of discrete operating regimes in ``settings`` (n, d); 1 when there are none.

    Operating regimes are discrete set points plus a little scatter, so the share of the
    settings' variance that k-means leaves unexplained drops from large to nearly nothing at the
    true count. Settings that are only scatter around one point (or vary continuously) never get
    under ``tolerance`` for any k up to ``max_k``: that is one regime.
    """
    scaled = _scale(settings, *_scale_params(settings))
    sample = scaled[np.random.default_rng(seed).permutation(len(scaled))[:5000]]
    total = float(((sample - sample.mean(axis=0)) ** 2).sum())
    if total <= 0:
        return 1
    for k in range(2, max_k + 1):
        # Several seeds: one unlucky k-means++ start must not hide a real regime structure.
        inertia = min(kmeans(sample, k, seed=seed + s)[1] for s in range(3))
        if inertia <= tolerance * total:
            return k
    return 1


def _scale_params(settings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = settings.min(axis=0)
    span = settings.max(axis=0) - lo
    span[span == 0] = 1.0
    return lo, span


def _scale(settings: np.ndarray, lo: np.ndarray, span: np.ndarray) -> np.ndarray:
    return (settings - lo) / span


@dataclass
class RegimeNormalizer:
    """Per-regime standardisation of channels.

    Attributes
    ----------
    centres : shape (k, d), regime centres in scaled setting space.
    lo, span : shape (d,), the min-max scaling of the settings.
    mean, std : shape (k, c), channel statistics per regime (training data only).
    distinct : shape (c,), fewest distinct values a channel takes within any regime.
    """

    centres: np.ndarray
    lo: np.ndarray
    span: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    distinct: np.ndarray

    @classmethod
    def fit(cls, settings: np.ndarray, values: np.ndarray, n_regimes: int | None = None, seed: int = 0) -> "RegimeNormalizer":
        """Learn regimes from training settings (n, d) and channel statistics from values (n, c).

        ``n_regimes=None`` picks the count with ``choose_regime_count``. Settings may have
        zero columns (no operating condition recorded): then there is one regime.
        """
        settings = np.asarray(settings, dtype=float).reshape(len(values), -1)
        values = np.asarray(values, dtype=float)
        if settings.shape[1] == 0:
            settings = np.zeros((len(values), 1))
        lo, span = _scale_params(settings)
        scaled = _scale(settings, lo, span)
        k = n_regimes or choose_regime_count(settings, seed=seed)
        centres, _ = min((kmeans(scaled, k, seed=seed + s) for s in range(3)), key=lambda r: r[1])
        labels = _assign(scaled, centres)
        mean = np.zeros((k, values.shape[1]))
        std = np.ones((k, values.shape[1]))
        distinct = np.full(values.shape[1], np.iinfo(np.int64).max)
        for j in range(k):
            members = values[labels == j]
            if len(members):
                mean[j] = members.mean(axis=0)
                std[j] = members.std(axis=0)
                counts = np.array([np.unique(members[:, c]).size for c in range(values.shape[1])])
                distinct = np.minimum(distinct, counts)
        return cls(centres=centres, lo=lo, span=span, mean=mean, std=std, distinct=distinct)

    @property
    def n_regimes(self) -> int:
        return int(self.centres.shape[0])

    def regimes(self, settings: np.ndarray) -> np.ndarray:
        """Regime index per row, shape (n,), int."""
        settings = np.asarray(settings, dtype=float).reshape(len(settings), -1)
        if settings.shape[1] == 0:
            settings = np.zeros((len(settings), 1))
        return _assign(_scale(settings, self.lo, self.span), self.centres)

    def informative_channels(self, min_distinct: int = 3) -> np.ndarray:
        """Mask (c,) of channels that take at least ``min_distinct`` values in every regime.

        A channel stuck at one value (or flipping between two quantisation steps) within a
        regime carries no wear signal, only the regime, which normalisation already removed.
        Counting values rather than comparing spread to level keeps channels such as a fan
        speed of 2388 rpm that moves by hundredths, which is exactly its wear signal.
        """
        return self.distinct >= min_distinct

    def select(self, mask: np.ndarray) -> "RegimeNormalizer":
        """The same regimes with only the channels in ``mask`` (c,)."""
        return RegimeNormalizer(self.centres, self.lo, self.span, self.mean[:, mask], self.std[:, mask],
                                self.distinct[mask])

    def transform(self, settings: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Standardise values (n, c) by the statistics of each row's regime; returns (n, c)."""
        labels = self.regimes(settings)
        std = np.where(self.std > 0, self.std, 1.0)
        return (np.asarray(values, dtype=float) - self.mean[labels]) / std[labels]

    def to_dict(self) -> dict:
        return {k: getattr(self, k).tolist() for k in ("centres", "lo", "span", "mean", "std", "distinct")}

    @classmethod
    def from_dict(cls, d: dict) -> "RegimeNormalizer":
        arrays = {k: np.asarray(d[k], dtype=float) for k in ("centres", "lo", "span", "mean", "std")}
        return cls(**arrays, distinct=np.asarray(d["distinct"], dtype=np.int64))


def _assign(scaled: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return ((scaled[:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
