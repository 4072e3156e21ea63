"""The FEMTO bearing path (health indicator, onset against the own baseline, life before and after
onset) as the fleet uses it for its bearing components.

The method is the one measured on the FEMTO / PRONOSTIA run-to-failure bearings
(``bearing_life.BearingLifeModel``, docs/prognostics.md); what differs in the fleet is the sampling:
a gateway sends one 1 s burst per sensor an hour (every 6 running hours in the demo's thinned backfill), not a 0.1 s
snapshot every 10 s. A 1 s burst's RMS is already an average over 100 times as many samples, so
the indicator needs little smoothing (a median of 3 bursts, so one odd burst cannot alarm) and a short baseline (the first 3
bursts after installation or repair), and the alarm level stays the same (+6 dB over the own
baseline). The population it is fitted on is the fleet's simulated run-to-failure units of the
component kind (``diagnostics.degradation``, the same histories the LightGBM models train on).

After the onset the fleet uses the ``trajectory`` model (the indicator's own path, Bayesian
updated with every burst): the simulated bearings' indicator grows steadily after onset, which is
where that model is the right one; before onset the estimate is the population's life given
survival since the baseline began, and says so (``state = "healthy"``).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .bearing_life import BearingLifeModel, RulEstimate
from .health_indicator import IndicatorConfig

__all__ = ["FLEET_INDICATOR", "FLEET_POST_ALARM", "METADATA_KEY", "is_bearing_component", "fit_fleet_bearings",
           "estimate_hours"]

#: Bursts, not snapshots: median of 3 (one odd burst cannot alarm), baseline of the first 3 (from installation or repair).
FLEET_INDICATOR = IndicatorConfig(smooth_snapshots=3, settle_snapshots=0, baseline_snapshots=3)
FLEET_POST_ALARM = "trajectory"
#: Where a registered model of a bearing kind carries its bearing life model (estimator metadata).
METADATA_KEY = "bearing_life"
_NS = 1e9


def is_bearing_component(kinematics: Mapping | None) -> bool:
    """True for a component whose kinematics list rolling bearings and no gears (alternator
    bearings, the hydraulic pump): its life is a bearing's. A gearbox with an input bearing keeps the
    generic model, its wear is mostly the gears'."""
    kinematics = kinematics or {}
    return bool(kinematics.get("bearings")) and not kinematics.get("gears")


def fit_fleet_bearings(units: np.ndarray, age_h: np.ndarray, acc_rms: np.ndarray,
                       config: IndicatorConfig = FLEET_INDICATOR, post_alarm: str = FLEET_POST_ALARM
                       ) -> BearingLifeModel:
    """Fit the bearing life model on run-to-failure units (each unit's rows end at its failure).

    Parameters
    ----------
    units, age_h, acc_rms : np.ndarray, shape (n,)
        Unit of each row, its age in hours and the burst's RMS acceleration; rows of a unit in time
        order. Units with fewer bursts than the baseline needs plus one are left out.

    Returns
    -------
    BearingLifeModel
        Times in seconds (so its RUL comes out in seconds).
    """
    units, age_h, acc_rms = np.asarray(units), np.asarray(age_h, float), np.asarray(acc_rms, float)
    histories = []
    for unit in dict.fromkeys(units.tolist()):
        rows = units == unit
        if rows.sum() > config.ready_snapshots:
            histories.append((age_h[rows] * 3600.0, acc_rms[rows]))
    return BearingLifeModel.fit(histories, config, post_alarm=post_alarm)


def estimate_hours(model: BearingLifeModel, times_ns: np.ndarray, rms: np.ndarray,
                   age_s: np.ndarray | None = None) -> tuple[RulEstimate, dict]:
    """The model's estimate after the newest burst of a component's history.

    Parameters
    ----------
    times_ns : np.ndarray, shape (n,)
        Burst times (int ns, increasing).
    rms : np.ndarray, shape (n,)
        RMS acceleration of each burst; NaN points (missing, sensor faults) are dropped.
    age_s : np.ndarray, shape (n,), optional
        Each burst's place on the axis the model was fitted on, in seconds: operating seconds from
        the hour meter (the simulated units it is fitted on run continuously, so their clock time
        is operating time). None: clock time since the first burst.

    Returns
    -------
    (RulEstimate, dict)
        The estimate in seconds as the model gives it, and its hours: ``{"p10_h", "p50_h",
        "p90_h", "point_h", "cap_h"}``.
    """
    times_ns, rms = np.asarray(times_ns, dtype=np.int64), np.asarray(rms, dtype=float)
    keep = np.isfinite(rms)
    times_ns, rms = times_ns[keep], rms[keep]
    if times_ns.size == 0:
        raise ValueError("no bursts with an RMS value")
    axis = (times_ns - times_ns[0]) / _NS if age_s is None else np.asarray(age_s, dtype=float)[keep]
    estimate = model.predict(axis - axis[0], rms)
    hours = {"p10_h": estimate.p10_s / 3600.0, "p50_h": estimate.p50_s / 3600.0, "p90_h": estimate.p90_s / 3600.0,
             "point_h": estimate.point_s / 3600.0, "cap_h": model.cap_s / 3600.0}
    return estimate, hours
