"""The RUL estimator: regime normalisation + windowed features + LightGBM models, as one object.

An estimator turns a unit's raw history (ages, channel values, operating settings) into RUL
estimates with P10/P50/P90, and serialises to one self-contained JSON document (the boosters'
text inside), so the registry can store it and read it back bit for bit.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np

from .features import WindowSpec, build_features, last_rows
from .fusion import FUSED_CHANNEL, apply_fusion, fit_fusion
from .regimes import RegimeNormalizer
from .calibration import row_offsets
from .training import Progress, TrainConfig, order_quantiles, predict_raw, train_models


@dataclass
class FeatureMap:
    """Raw history to feature rows: regime normalisation, the fused indicator, windowed statistics.

    Attributes
    ----------
    channels : names of the value channels it reads (informative ones only).
    normalizer : per-regime statistics for ``channels``.
    spec : window lengths of the features.
    feature_names : feature column order.
    fusion : weights (c + 1,) of the fused health indicator channel, or None without one.
    """

    channels: list[str]
    normalizer: RegimeNormalizer
    spec: WindowSpec
    feature_names: list[str]
    fusion: np.ndarray | None = None

    def features(self, units: np.ndarray, age: np.ndarray, values: np.ndarray,
                 settings: np.ndarray | None = None) -> np.ndarray:
        """Feature matrix (n, f) for rows grouped by unit and sorted by age.

        ``values`` has one column per name in ``channels`` (shape (n, c)); ``settings`` one per
        operating setting the normalizer was fitted on (shape (n, d)), or None when there are none.
        """
        values = np.asarray(values, dtype=float)
        settings = np.zeros((len(values), 0)) if settings is None else np.asarray(settings, dtype=float)
        X, names = build_features(units, age, *self._channels(self.normalizer.transform(settings, values)),
                                  self.spec)
        if names != self.feature_names:
            raise ValueError("feature layout differs from the one the model was trained on")
        return X

    def _channels(self, normalised: np.ndarray) -> tuple[np.ndarray, list[str]]:
        if self.fusion is None:
            return normalised, list(self.channels)
        return apply_fusion(normalised, self.fusion), list(self.channels) + [FUSED_CHANNEL]

    @classmethod
    def fit(cls, units: np.ndarray, age: np.ndarray, values: np.ndarray, target: np.ndarray,
            channels: list[str], settings: np.ndarray, spec: WindowSpec, rul_cap: float | None,
            n_regimes: int | None = None, seed: int = 0, fuse: bool = True,
            progress: Progress | None = None, label: str = "") -> tuple["FeatureMap", np.ndarray]:
        """Fit the normalisation and the fused indicator on training histories; return the map and
        the training rows' features (n, f). Shapes as ``fit_estimator``; ``target`` is the capped RUL."""
        normalizer = RegimeNormalizer.fit(settings, values, n_regimes=n_regimes, seed=seed)
        keep = normalizer.informative_channels()
        kept = [c for c, k in zip(channels, keep) if k]
        normalizer = normalizer.select(keep)
        if progress:
            progress(f"[{label}] {normalizer.n_regimes} operating regime(s); {len(kept)} of "
                     f"{len(channels)} channels vary, dropped: {sorted(set(channels) - set(kept)) or 'none'}")
        normalised = normalizer.transform(settings, values[:, keep])
        fusion = fit_fusion(normalised, target, rul_cap) if fuse else None
        feature_map = cls(channels=kept, normalizer=normalizer, spec=spec, feature_names=[], fusion=fusion)
        X, feature_map.feature_names = build_features(units, age, *feature_map._channels(normalised), spec)
        return feature_map, X


FORMAT = "ironwatch-rul-estimator/1"


@dataclass
class RulEstimate:
    """RUL estimates per scored row, in the unit of ``age`` (cycles, hours); all shape (n,)."""

    point: np.ndarray
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray


def data_fingerprint(*arrays: np.ndarray) -> str:
    """SHA-256 over the bytes of the training arrays (shape and dtype included)."""
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


@dataclass
class RulEstimator:
    """A trained RUL model with everything needed to score a raw history.

    Attributes
    ----------
    channels : names of the value channels it reads (informative ones only).
    settings : names of the operating-setting channels used for regimes ([] for none).
    normalizer : per-regime statistics for ``channels``.
    spec : window lengths of the features.
    feature_names : LightGBM feature order.
    rul_cap : training targets were capped here (piecewise-linear target), or None.
    min_history : fewest observations a unit needs before it gets a number.
    boosters : ``point``, ``base``, ``p10``, ``p50``, ``p90`` (see ``training.predict_raw``).
    interval_edges, interval_offsets : conformal widening of both ends of the P10-P90 interval,
        per band of the predicted P50 (``calibration.binned_offsets``).
    metadata : training facts (data hash and size, metrics, config, seconds, ...).
    fusion : weights (c + 1,) of the fused health indicator channel, or None without one.
    """

    channels: list[str]
    settings: list[str]
    normalizer: RegimeNormalizer
    spec: WindowSpec
    feature_names: list[str]
    rul_cap: float | None
    min_history: int
    boosters: dict[str, lgb.Booster]
    interval_edges: np.ndarray
    interval_offsets: np.ndarray
    metadata: dict = field(default_factory=dict)
    fusion: np.ndarray | None = None

    # ----- scoring -------------------------------------------------------------------------
    @property
    def feature_map(self) -> FeatureMap:
        return FeatureMap(channels=self.channels, normalizer=self.normalizer, spec=self.spec,
                          feature_names=self.feature_names, fusion=self.fusion)

    def features(self, units: np.ndarray, age: np.ndarray, values: np.ndarray,
                 settings: np.ndarray | None = None) -> np.ndarray:
        """Feature matrix (n, f) for rows grouped by unit and sorted by age (``FeatureMap.features``;
        ``settings`` has one column per name in ``self.settings``)."""
        return self.feature_map.features(units, age, values, settings)

    def predict_features(self, X: np.ndarray, num_threads: int = 2) -> RulEstimate:
        """Point and ordered P10/P50/P90 for feature rows X (n, f); never below zero."""
        raw = predict_raw(self.boosters, X, num_threads)
        widen = row_offsets(raw["p50"], self.interval_edges, self.interval_offsets)
        p10, p50, p90 = order_quantiles(raw["p10"] - widen, raw["p50"], raw["p90"] + widen)
        return RulEstimate(point=np.maximum(raw["point"], 0.0), p10=p10, p50=p50, p90=p90)

    def predict_last(self, units: np.ndarray, age: np.ndarray, values: np.ndarray,
                     settings: np.ndarray | None = None) -> tuple[np.ndarray, RulEstimate]:
        """Estimates at the last row of each unit: (unit ids (u,), RulEstimate of shape (u,))."""
        X = self.features(units, age, values, settings)
        last = last_rows(units)
        return np.asarray(units)[last], self.predict_features(X[last])

    # ----- serialisation -------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """One JSON document (UTF-8, sorted keys) holding the models and all metadata."""
        doc = {
            "format": FORMAT,
            "channels": self.channels,
            "settings": self.settings,
            "normalizer": self.normalizer.to_dict(),
            "spec": self.spec.to_dict(),
            "feature_names": self.feature_names,
            "rul_cap": self.rul_cap,
            "min_history": self.min_history,
            "interval_edges": [float(v) for v in self.interval_edges],
            "interval_offsets": [float(v) for v in self.interval_offsets],
            "metadata": self.metadata,
            "boosters": {k: b.model_to_string() for k, b in sorted(self.boosters.items())},
            "fusion": None if self.fusion is None else [float(v) for v in self.fusion],
        }
        return json.dumps(doc, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, blob: bytes) -> "RulEstimator":
        doc = json.loads(blob.decode("utf-8"))
        if doc.get("format") != FORMAT:
            raise ValueError(f"not an Ironwatch RUL estimator (format {doc.get('format')!r})")
        return cls(
            channels=list(doc["channels"]),
            settings=list(doc["settings"]),
            normalizer=RegimeNormalizer.from_dict(doc["normalizer"]),
            spec=WindowSpec.from_dict(doc["spec"]),
            feature_names=list(doc["feature_names"]),
            rul_cap=doc["rul_cap"],
            min_history=int(doc["min_history"]),
            interval_edges=np.asarray(doc["interval_edges"], dtype=float),
            interval_offsets=np.asarray(doc["interval_offsets"], dtype=float),
            metadata=doc["metadata"],
            boosters={k: lgb.Booster(model_str=s) for k, s in doc["boosters"].items()},
            fusion=None if doc.get("fusion") is None else np.asarray(doc["fusion"], dtype=float),
        )


def fit_estimator(
    units: np.ndarray,
    age: np.ndarray,
    values: np.ndarray,
    rul: np.ndarray,
    channels: list[str],
    settings: np.ndarray | None = None,
    setting_names: list[str] | None = None,
    rul_cap: float | None = None,
    spec: WindowSpec | None = None,
    config: TrainConfig | None = None,
    min_history: int = 10,
    n_regimes: int | None = None,
    progress: Progress | None = None,
    label: str = "",
    groups: np.ndarray | None = None,
    monotone_age: bool = False,
    fuse: bool = True,
    keep_fold_models: list | None = None,
) -> RulEstimator:
    """Train an estimator on run-to-failure histories.

    Parameters
    ----------
    units : shape (n,), unit id per row; rows grouped by unit and sorted by age.
    age : shape (n,), time since new (cycles or hours).
    values : shape (n, c), channel values; ``channels`` names them.
    rul : shape (n,), true remaining life at each row, in the unit of ``age``.
    settings : shape (n, d) operating settings for regime normalisation, or None.
    rul_cap : cap of the piecewise-linear target (early life counts as healthy), or None.
    config : LightGBM settings; ``config.monotone`` constrains named features (+1 / -1).
    monotone_age : also constrain RUL to be non-increasing in age (point model only).
    fuse : add the fused health indicator channel (``fusion.fit_fusion``).
    n_regimes : fixed regime count, or None to detect it from the settings.
    groups : shape (n,), physical unit per row when several histories share one unit (late-start
        copies); the calibration split never separates a group. Default: ``units``.
    keep_fold_models : a list that collects the cross-fitted calibration fold models, for
        cross-validation (``training.train_models``); they are not part of the estimator.

    Returns
    -------
    A trained RulEstimator; ``metadata`` holds the data hash and size, the config and timings.
    """
    started = time.perf_counter()
    spec = spec or WindowSpec()
    config = config or TrainConfig()
    values = np.asarray(values, dtype=float)
    settings_arr = np.zeros((len(values), 0)) if settings is None else np.asarray(settings, dtype=float)
    target = np.asarray(rul, dtype=float)
    if rul_cap is not None:
        target = np.minimum(target, rul_cap)

    feature_map, X = FeatureMap.fit(units, age, values, target, channels, settings_arr, spec, rul_cap,
                                    n_regimes=n_regimes, seed=config.seed, fuse=fuse, progress=progress,
                                    label=label)
    if monotone_age:
        # Older means less life left when all else is equal. Physically sound, but LightGBM's
        # constrained trees pay for it (C-MAPSS FD001, unit-wise CV fold: RMSE 11.8 with, 10.0
        # without; docs/prognostics.md), so it is a choice, not a default.
        config = TrainConfig(**{**config.to_dict(), "monotone": {"age": -1, "rows_seen": -1, **config.monotone}})
    trained = train_models(X, target, np.asarray(units), feature_map.feature_names, config, progress=progress,
                           label=label, groups=None if groups is None else np.asarray(groups),
                           min_rows=min_history, keep_fold_models=keep_fold_models)
    metadata = {
        "data_hash": data_fingerprint(np.asarray(units), np.asarray(age, dtype=float), values, settings_arr, target),
        "data_rows": int(len(values)),
        "data_units": int(np.unique(units).size),
        "config": config.to_dict(),
        "calibration": trained.calibration,
        "n_regimes": feature_map.normalizer.n_regimes,
        "training_seconds": round(time.perf_counter() - started, 3),
    }
    return RulEstimator(
        channels=feature_map.channels,
        settings=list(setting_names or []),
        normalizer=feature_map.normalizer,
        spec=spec,
        feature_names=feature_map.feature_names,
        rul_cap=rul_cap,
        min_history=min_history,
        boosters=trained.boosters,
        interval_edges=trained.interval_edges,
        interval_offsets=trained.interval_offsets,
        metadata=metadata,
        fusion=feature_map.fusion,
    )
