"""Small synthetic run-to-failure data for the prognostics tests (fast to train on)."""
from __future__ import annotations

import numpy as np

from diagnostics.prognostics import TrainConfig, WindowSpec, fit_estimator

CHANNELS = ["wear", "noise", "temp"]
SPEC = WindowSpec(mean_windows=(3, 6), std_windows=(6,), slope_windows=(4,), ewm_alphas=(0.3,), baseline_rows=3)
CONFIG = TrainConfig(num_boost_round=40, num_leaves=7, min_data_in_leaf=10, num_threads=1)


def synthetic_fleet(n_units: int = 24, seed: int = 0):
    """Units whose 'wear' channel grows quadratically to failure; (units, age, values, rul, settings)."""
    rng = np.random.default_rng(seed)
    units, ages, values, ruls, settings = [], [], [], [], []
    for u in range(n_units):
        life = int(rng.integers(40, 80))
        age = np.arange(life, dtype=float)
        regime = rng.integers(0, 2, size=life).astype(float)  # two operating set points
        wear = (age / life) ** 2 + 0.05 * rng.standard_normal(life) + 3.0 * regime
        noise = rng.standard_normal(life)
        temp = 60.0 + 10.0 * regime + rng.standard_normal(life)
        units.append(np.full(life, u))
        ages.append(age)
        values.append(np.column_stack([wear, noise, temp]))
        ruls.append(life - age)
        settings.append(regime[:, None])
    return (np.concatenate(units), np.concatenate(ages), np.vstack(values), np.concatenate(ruls),
            np.vstack(settings))


def small_estimator(seed: int = 0, cap: float | None = 50.0, with_settings: bool = True, **config):
    """A quickly trained estimator on ``synthetic_fleet(seed=seed)``; ``config`` overrides ``CONFIG``."""
    units, age, values, rul, settings = synthetic_fleet(seed=seed)
    if not with_settings:
        settings = None
    return fit_estimator(units, age, values, rul, CHANNELS, settings=settings,
                         setting_names=["regime"] if with_settings else None,
                         rul_cap=cap, spec=SPEC, config=TrainConfig(**{**CONFIG.to_dict(), "seed": seed, **config}),
                         min_history=5)
