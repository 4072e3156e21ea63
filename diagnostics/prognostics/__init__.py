"""Remaining-useful-life prognostics: windowed features, regime normalisation, LightGBM point and
P10/P50/P90 quantile models with conformal calibration, unit-wise splits, serialisation."""
from .estimator import RulEstimate, RulEstimator, data_fingerprint, fit_estimator
from .features import WindowSpec, build_features
from .regimes import RegimeNormalizer
from .splits import unit_folds, unit_split
from .training import TrainConfig

__all__ = [
    "RulEstimate", "RulEstimator", "data_fingerprint", "fit_estimator", "WindowSpec", "build_features",
    "RegimeNormalizer", "unit_folds", "unit_split", "TrainConfig",
]
