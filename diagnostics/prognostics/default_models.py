"""Default RUL models of the excavator and genset component kinds, trained on the simulated fleet.

For every component kind, simulate units from new to failure (``diagnostics.degradation``), hold
out a quarter of the units, train the point and P10/P50/P90 models on the rest (plus late-start
copies) and evaluate on the held-out units (``train_kind``). Everything here is pure: the
command that reads the demo fleet's catalogue and registers and promotes the models in the SQL
registry is ``python -m fleet.rul_training`` (``fleet/rul_training.py``), because ``diagnostics``
never imports ``fleet``.
"""
from __future__ import annotations

import hashlib
import json
import time
import zlib
from dataclasses import asdict, dataclass

import numpy as np

from diagnostics.degradation import (
    HISTORY_CHANNELS,
    ComponentVariant,
    DegradationProfile,
    FleetHistories,
    run_to_failure_fleet,
)
from diagnostics.prognostics.bearing_fleet import METADATA_KEY as BEARING_METADATA_KEY
from diagnostics.prognostics.bearing_fleet import fit_fleet_bearings, is_bearing_component
from diagnostics.prognostics.bearing_life import BearingLifeModel
from diagnostics.prognostics.estimator import RulEstimator, fit_estimator
from diagnostics.prognostics.features import WindowSpec, feature_names
from diagnostics.prognostics.history import OPERATING_HOURS, bin_history
from diagnostics.prognostics.metrics import interval_coverage, mean_interval_width, phm08_score, rmse
from diagnostics.prognostics.splits import unit_split
from diagnostics.prognostics.training import TrainConfig

# Windows in observations of CADENCE_H hours: 1 to 3 days of level and trend.
CADENCE_H = 12.0
FLEET_SPEC = WindowSpec(mean_windows=(2, 4, 6), std_windows=(4,), slope_windows=(3, 6), ewm_alphas=(0.3,),
                        baseline_rows=2)
FLEET_CONFIG = TrainConfig(num_boost_round=200, learning_rate=0.05, num_leaves=15, min_data_in_leaf=10,
                           calibration_share=0.25)
RUL_CAP_H = 240.0  # beyond this, a component is "healthy for at least 240 h": early life carries no signal
MIN_HISTORY = 3    # observations (bins of CADENCE_H): 24 h of data before the first number
RECIPE_VERSION = 4  # bump when the simulation or training code changes what a recipe produces (4: bearing life)

# Shaft speed ranges (rpm): excavator engines idle near 1000 rpm and work near 1850 rpm
# (telemetry.simulator.machine_models); gensets hold 1500 rpm synchronous speed within the governor's droop.
EXCAVATOR_RPM = (1000.0, 1900.0)
GENSET_RPM = (1485.0, 1515.0)


def profiles_from_catalogue(components_by_machine_kind: dict) -> list[DegradationProfile]:
    """One degradation profile per component kind, with a variant per build found in the catalogue.

    ``components_by_machine_kind`` maps ``"excavator"`` / ``"genset"`` to component templates
    having ``.kind`` and ``.kinematics`` (``fleet.demo_fleet.COMPONENTS_BY_KIND``).
    """
    variants: dict[str, list[ComponentVariant]] = {}
    for machine_kind, templates in sorted(components_by_machine_kind.items()):
        rpm = GENSET_RPM if machine_kind == "genset" else EXCAVATOR_RPM
        for template in templates:
            variant = ComponentVariant(dict(template.kinematics), *rpm)
            if variant not in variants.setdefault(template.kind, []):
                variants[template.kind].append(variant)
    return [DegradationProfile(kind, tuple(v), median_life_h=360.0, cadence_h=CADENCE_H)
            for kind, v in sorted(variants.items())]


def late_start_copies(h: FleetHistories, rng: np.random.Generator, copies: int = 2) -> FleetHistories:
    """The histories plus copies that start being watched at a random point of life.

    Live components were rarely new when monitoring began: their history's baseline is some
    mid-life state, and "age" is the time since that baseline. Each copy keeps the rows from a
    random start (in the first 80 % of life) on, re-based to age 0 there, under a new unit id.
    """
    units, ages, values, ruls = [h.units], [h.age_h], [h.values], [h.rul_h]
    for unit in np.unique(h.units):
        rows = np.flatnonzero(h.units == unit)
        for c in range(copies):
            start = int(rng.integers(1, max(2, int(0.8 * rows.size))))
            kept = rows[start:]
            units.append(np.array([f"{unit}@{c}"] * kept.size))
            ages.append(h.age_h[kept] - h.age_h[kept[0]])
            values.append(h.values[kept])
            ruls.append(h.rul_h[kept])
    return FleetHistories(np.concatenate(units), np.concatenate(ages), np.vstack(values), h.channels,
                          np.concatenate(ruls), h.paths)


def damage_monotonicity() -> dict[str, int]:
    """Where physics fixes the sign: RUL rises with the health index, falls as vibration grows.

    Constrained are the level-like features (level, rolling means, EWM) of ``health_index``
    (+1) and ``acc_rms_m_s2`` (-1); spreads and slopes stay free.
    """
    signs = {"health_index": +1, "acc_rms_m_s2": -1}
    levels = ("level", "mean", "ewm")
    return {name: signs[name.split("__")[0]]
            for name in feature_names(list(HISTORY_CHANNELS), FLEET_SPEC)
            if name.split("__")[0] in signs and name.split("__")[1].startswith(levels)}


def physical_units(units: np.ndarray) -> np.ndarray:
    """The simulated unit behind each history id (late-start copies are ``<unit>@<copy>``)."""
    return np.array([str(u).split("@", 1)[0] for u in units])


def _subset(h: FleetHistories, mask: np.ndarray) -> FleetHistories:
    return FleetHistories(h.units[mask], h.age_h[mask], h.values[mask], h.channels, h.rul_h[mask], h.paths)


def evaluate(estimator: RulEstimator, h: FleetHistories) -> dict:
    """Held-out metrics over every row with enough history (hours; true RUL capped like the target)."""
    X = estimator.features(h.units, h.age_h, h.values[:, [h.channels.index(c) for c in estimator.channels]])
    rows_seen = X[:, estimator.feature_names.index("rows_seen")]
    scored = rows_seen >= estimator.min_history
    out = estimator.predict_features(X[scored])
    true = np.minimum(h.rul_h[scored], RUL_CAP_H)
    return {
        "rows": int(scored.sum()),
        "rmse_h": round(rmse(out.point, true), 2),
        "rmse_p50_h": round(rmse(out.p50, true), 2),
        "phm08_score_per_row": round(phm08_score(out.point / CADENCE_H, true / CADENCE_H) / max(1, scored.sum()), 3),
        "p10_p90_coverage": round(interval_coverage(out.p10, out.p90, true), 3),
        "mean_interval_width_h": round(mean_interval_width(out.p10, out.p90), 1),
    }


def evaluate_bearing_life(model: BearingLifeModel, h: FleetHistories, estimator: RulEstimator | None = None,
                          cuts=(0.5, 0.7, 0.9)) -> dict:
    """The bearing life model on held-out simulated units cut at shares of their life: P50 RMSE
    (h), P10-P90 coverage, how many cuts were after the onset alarm, and (``estimator`` given) the
    LightGBM model's figures on the same cuts, for comparison (its estimates are capped at
    ``RUL_CAP_H``)."""
    column = h.channels.index("acc_rms_m_s2")
    errors, inside, degrading, gbm_errors, gbm_inside = [], 0, 0, [], 0
    for path in h.paths:
        rows = h.units == path.unit
        if not rows.any():
            continue
        age, rms, values = h.age_h[rows], h.values[rows, column], h.values[rows]
        for share in cuts:
            keep = age <= share * path.life_h
            if keep.sum() <= model.config.ready_snapshots:
                continue
            estimate = model.predict(age[keep] * 3600.0, rms[keep])
            true_h = path.life_h - age[keep][-1]
            errors.append(estimate.p50_s / 3600.0 - true_h)
            inside += estimate.p10_s / 3600.0 <= true_h <= estimate.p90_s / 3600.0
            degrading += estimate.state == "degrading"
            if estimator is not None and keep.sum() >= estimator.min_history:
                columns = [h.channels.index(c) for c in estimator.channels]
                _, gbm = estimator.predict_last(np.full(int(keep.sum()), "u"), age[keep], values[keep][:, columns])
                gbm_errors.append(float(gbm.p50[0]) - true_h)
                gbm_inside += float(gbm.p10[0]) <= true_h <= float(gbm.p90[0])
    n = len(errors)
    out = {"cuts": n, "after_onset": degrading,
           "rmse_p50_h": round(float(np.sqrt(np.mean(np.square(errors)))), 1) if n else None,
           "p10_p90_coverage": round(float(inside) / n, 3) if n else None}
    if gbm_errors:
        out["lightgbm_same_cuts"] = {"cuts": len(gbm_errors),
                                     "rmse_p50_h": round(float(np.sqrt(np.mean(np.square(gbm_errors)))), 1),
                                     "p10_p90_coverage": round(float(gbm_inside) / len(gbm_errors), 3)}
    return out


@dataclass
class KindResult:
    kind: str
    estimator: RulEstimator
    metrics: dict
    recipe: str


def recipe_key(profile: DegradationProfile, n_units: int, seed: int) -> str:
    """Hash of everything that determines the trained model (bumped by RECIPE_VERSION on code change)."""
    recipe = {"profile": asdict(profile), "units": n_units, "seed": seed, "spec": FLEET_SPEC.to_dict(),
              "monotone": damage_monotonicity(),
              "config": FLEET_CONFIG.to_dict(), "cap": RUL_CAP_H, "min_history": MIN_HISTORY,
              "cadence_h": CADENCE_H, "version": RECIPE_VERSION}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FieldLife:
    """One component's life in the field, ended by a replacement for a confirmed fault.

    times_ns (n,) int ns of its bursts; values (n, c) their features named :data:`HISTORY_CHANNELS`
    (rows with a missing feature already dropped); failed_ns: when it was replaced.
    hour_meter_h (n,): the engine hour meter at each burst (h, NaN where the burst had none), or
    None; failed_hour_meter_h: the machine's hour meter at the replacement (h), or None.
    """

    unit: str
    times_ns: np.ndarray
    values: np.ndarray
    failed_ns: int
    hour_meter_h: np.ndarray | None = None
    failed_hour_meter_h: float | None = None


def field_histories(lives: list[FieldLife], cadence_h: float = CADENCE_H) -> FleetHistories | None:
    """Field lives as training rows, on the axis the scoring puts them on and the simulated units
    have (operating hours: they run continuously, so their clock hours are engine hours).

    Bursts are averaged into ``cadence_h`` bins from the first by :func:`history.bin_history`, the
    scoring's own binning: on operating hours when the bursts carry the hour meter and the meter at
    the replacement is known, the true RUL then being the operating hours from the bin's last burst
    to the replacement; otherwise on the clock, age and RUL both in wall hours, as before the hour
    meter came with the bursts. Bursts after the replacement are dropped. None when no life has a row.
    """
    units, ages, values, ruls = [], [], [], []
    for life in lives:
        keep = life.times_ns <= life.failed_ns
        times, rows = life.times_ns[keep], life.values[keep]
        if times.size == 0:
            continue
        meter = None
        if life.hour_meter_h is not None and life.failed_hour_meter_h is not None:
            meter = np.asarray(life.hour_meter_h, dtype=float)[keep]
        binned = bin_history(times, rows, cadence_h, meter)
        if binned.axis == OPERATING_HOURS:
            first = meter[binned.left_out]
            rul = life.failed_hour_meter_h - (first + binned.end_h)
        else:
            rul = (life.failed_ns - times[0]) / 3.6e12 - binned.end_h
        units.append(np.full(binned.age_h.size, f"field:{life.unit}"))
        ages.append(binned.age_h)
        values.append(binned.values)
        ruls.append(np.maximum(rul, 0.0))
    if not units:
        return None
    return FleetHistories(np.concatenate(units), np.concatenate(ages), np.vstack(values), list(HISTORY_CHANNELS),
                          np.minimum(np.concatenate(ruls), RUL_CAP_H), [])


def _concat(a: FleetHistories, b: FleetHistories) -> FleetHistories:
    columns = [b.channels.index(c) for c in a.channels]
    return FleetHistories(np.concatenate([a.units.astype(str), b.units.astype(str)]), np.concatenate([a.age_h, b.age_h]),
                          np.vstack([a.values, b.values[:, columns]]), a.channels,
                          np.concatenate([a.rul_h, b.rul_h]), a.paths)


def train_kind(profile: DegradationProfile, n_units: int = 20, seed: int = 0, workers: int = 2,
               progress=None, field: FleetHistories | None = None) -> KindResult:
    """Simulate, split by unit, train on three quarters (plus late-start copies), evaluate the rest.

    ``field`` (:func:`field_histories`): lives observed in the field up to a confirmed failure,
    added to the training rows (with their own late-start copies); the held-out evaluation stays
    on simulated units, so the metrics remain comparable between models with and without them.
    """
    started = time.perf_counter()
    # Each kind gets its own stream of units (else every kind would draw the same lives).
    fleet = run_to_failure_fleet(profile, n_units, seed * 1000 + zlib.crc32(profile.kind.encode()) % 1000,
                                 workers=workers, progress=progress)
    train_mask, test_mask = unit_split(fleet.units, 0.25, seed=seed)
    train = _subset(fleet, train_mask)
    if field is not None:
        train = _concat(train, field)
    train = late_start_copies(train, np.random.default_rng(seed))
    held = _subset(fleet, test_mask)
    held_late = late_start_copies(held, np.random.default_rng(seed + 1), copies=1)
    config = TrainConfig(**{**FLEET_CONFIG.to_dict(), "seed": seed, "monotone": damage_monotonicity()})
    estimator = fit_estimator(train.units, train.age_h, train.values, train.rul_h, train.channels,
                              rul_cap=RUL_CAP_H, spec=FLEET_SPEC, config=config, min_history=MIN_HISTORY,
                              n_regimes=1, progress=progress, label=profile.kind,
                              groups=physical_units(train.units))
    estimator.metadata["cadence_hours"] = CADENCE_H
    # The simulated units run continuously (clock hours are engine hours), and field lives are put
    # on operating hours where they can be: the scoring bins live histories on the same axis.
    estimator.metadata["age_axis"] = OPERATING_HOURS
    bearing_metrics = None
    if all(is_bearing_component(v.kinematics) for v in profile.variants):
        # Bearing kinds also carry the FEMTO path (onset, then the degradation model), fitted on the
        # same simulated units from new (not the late-start copies: their "life" is not a life).
        train_units = _subset(fleet, train_mask)
        life = fit_fleet_bearings(train_units.units, train_units.age_h,
                                  train_units.values[:, train_units.channels.index("acc_rms_m_s2")])
        estimator.metadata[BEARING_METADATA_KEY] = life.to_dict()
        bearing_metrics = evaluate_bearing_life(life, held, estimator)
    metrics = {
        "held_out_units": int(np.unique(held.units).size),
        "train_units": int(np.unique(fleet.units[train_mask]).size),
        "median_life_h": round(float(np.median([p.life_h for p in fleet.paths])), 1),
        "held_out": evaluate(estimator, held),
        "held_out_late_start": evaluate(estimator, _subset(held_late, np.char.find(held_late.units.astype(str), "@") >= 0)),
        "rul_cap_h": RUL_CAP_H,
        "cadence_h": CADENCE_H,
        "seconds_total": round(time.perf_counter() - started, 1),
    }
    if bearing_metrics is not None:
        metrics["bearing_life"] = bearing_metrics
    recipe = recipe_key(profile, n_units, seed)
    if field is not None:
        metrics["field_units"] = int(np.unique(field.units).size)
        metrics["field_rows"] = int(field.units.size)
        # Field data makes a different model from the same recipe: the key says so.
        digest = hashlib.sha256(np.ascontiguousarray(field.values).tobytes() + field.rul_h.tobytes()).hexdigest()
        recipe = f"{recipe}+field:{digest[:12]}"
    return KindResult(profile.kind, estimator, metrics, recipe)


def format_table(results: list[KindResult]) -> str:
    lines = ["| component kind | train/held-out units | median life h | RMSE h | RMSE P50 h | P10-P90 coverage | "
             "width h | late-start RMSE h | late-start coverage | s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        m, late = r.metrics["held_out"], r.metrics["held_out_late_start"]
        lines.append(f"| {r.kind} | {r.metrics['train_units']}/{r.metrics['held_out_units']} | "
                     f"{r.metrics['median_life_h']:.0f} | {m['rmse_h']:.1f} | {m['rmse_p50_h']:.1f} | "
                     f"{m['p10_p90_coverage']:.0%} | {m['mean_interval_width_h']:.0f} | {late['rmse_h']:.1f} | "
                     f"{late['p10_p90_coverage']:.0%} | {r.metrics['seconds_total']:.0f} |")
    return "\n".join(lines)
