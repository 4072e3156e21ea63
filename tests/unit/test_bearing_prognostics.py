"""Bearing health indicator, onset detector and life models on signals with known answers
(tiny synthetic histories; the real FEMTO check is tests/unit/test_femto_bench.py)."""
import numpy as np
import pytest

from diagnostics.prognostics.bearing_features import snapshot_features
from diagnostics.prognostics.bearing_life import (
    BearingLifeModel,
    ExponentialDegradation,
    PopulationLife,
    challenge_accuracy,
    score_optimal_point,
    weighted_quantiles,
)
from diagnostics.prognostics.health_indicator import (
    IndicatorConfig,
    causal_median,
    detect_onset,
    health_indicator,
    monotonicity,
    prognosability,
    trendability,
)

CONFIG = IndicatorConfig()


def run_to_failure(life_s, onset_fraction, growth_per_s, base=0.3, noise=0.02, seed=0, period=10.0):
    """RMS history: flat at ``base`` with small noise, then exponential growth from the onset."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, life_s + period / 2, period)
    onset = onset_fraction * life_s
    level = np.log(base) + np.where(t > onset, growth_per_s * (t - onset), 0.0)
    return t, np.exp(level + rng.normal(0, noise, t.size))


def test_snapshot_features_known_sine_and_bands():
    fs, n = 25600.0, 2560
    t = np.arange(n) / fs
    sine = 2.0 * np.sin(2 * np.pi * 3000.0 * t)  # 3 kHz: band 3 (2-4 kHz)
    acc = np.stack([sine, np.zeros(n)], axis=1)[None]
    f = snapshot_features(acc, fs)
    assert f["rms_0"][0] == pytest.approx(2.0 / np.sqrt(2), rel=1e-6)
    assert f["band3_rms_0"][0] == pytest.approx(2.0 / np.sqrt(2), rel=1e-3)
    assert f["band0_rms_0"][0] < 1e-6 and f["rms_1"][0] == 0.0
    assert f["kurtosis_0"][0] == pytest.approx(1.5, rel=1e-3)  # a sine's (non-excess) kurtosis


def test_causal_median_uses_only_the_past():
    x = np.array([1.0, 1.0, 1.0, 100.0, 1.0, 1.0])
    out = causal_median(x, 3)
    assert out[3] == 1.0  # one shock among three is dropped
    y = x.copy()
    y[5] = -50.0
    assert np.array_equal(causal_median(y, 3)[:5], out[:5])  # the future does not change the past


def test_indicator_is_zero_when_new_and_ln2_at_twice_the_baseline():
    t, rms = run_to_failure(10000, 0.6, 2e-4, noise=0.0)
    z = health_indicator(rms)
    assert np.allclose(z[:CONFIG.ready_snapshots], 0.0)
    i = np.searchsorted(t, 0.6 * 10000 + np.log(2) / 2e-4)
    assert z[i + CONFIG.smooth_snapshots // 2] == pytest.approx(np.log(2), abs=0.02)


def test_onset_alarm_after_the_known_onset_and_none_in_the_healthy_part():
    t, rms = run_to_failure(20000, 0.7, 3e-4, noise=0.05, seed=3)
    z = health_indicator(rms)
    onset = detect_onset(z)
    assert onset.alarmed
    alarm_s, onset_s = t[onset.alarm_index], t[onset.onset_index]
    expected_alarm = 0.7 * 20000 + np.log(2) / 3e-4
    assert abs(alarm_s - expected_alarm) < 120  # within the smoothing delay
    assert 0.7 * 20000 - 300 <= onset_s < alarm_s
    healthy = health_indicator(run_to_failure(20000, 1.0, 0.0, noise=0.05, seed=4)[1])
    assert not detect_onset(healthy).alarmed


def test_onset_waits_for_the_baseline():
    onset = detect_onset(np.full(CONFIG.ready_snapshots - 1, 5.0))
    assert not onset.ready and not onset.alarmed


def test_indicator_measures():
    t = np.arange(50.0)
    assert monotonicity(t) == 1.0 and trendability(t, t) == pytest.approx(1.0)
    assert monotonicity(np.tile([0.0, 1.0], 25)) < 0.05
    assert prognosability([0, 0, 0], [2.0, 2.0, 2.0]) == 1.0
    assert prognosability([0, 0, 0], [1.0, 2.0, 3.0]) < 0.7


def test_challenge_accuracy_matches_the_definition():
    assert challenge_accuracy(100.0, 100.0) == pytest.approx(1.0)
    assert challenge_accuracy(100.0, 105.0) == pytest.approx(0.5)   # 5 % late: half
    assert challenge_accuracy(100.0, 80.0) == pytest.approx(0.5)    # 20 % early: half
    assert np.isfinite(challenge_accuracy(1.0, 1e6))                # no overflow far out


def test_score_optimal_point_is_below_the_median():
    draws = np.exp(np.random.default_rng(0).normal(np.log(1000), 0.5, 4000))
    assert score_optimal_point(draws) < np.median(draws)


def test_population_life_conditions_on_survival():
    pop = PopulationLife.fit(np.array([1000.0, 2000.0, 4000.0, 8000.0]))
    u = np.array([0.5])
    assert pop.remaining_draws(0.0, u)[0] == pytest.approx(np.exp(pop.log_mean), rel=0.05)
    # Having survived past the median, the median remaining life is still positive.
    assert pop.remaining_draws(5000.0, u)[0] > 0


def test_degradation_model_recovers_a_known_line():
    rng = np.random.default_rng(1)
    paths = []
    for beta in (1e-3, 1.2e-3, 0.8e-3, 1.1e-3):
        tau = np.arange(0.0, 1500.0, 10.0)
        paths.append((tau, np.log(2) + beta * tau + rng.normal(0, 0.02, tau.size)))
    model = ExponentialDegradation.fit(paths)
    assert np.exp(model.log_rate_mean) == pytest.approx(1.0e-3, rel=0.15)
    assert model.failure_mean == pytest.approx(np.log(2) + 1.5e-3 * 1.0 * 1000, rel=0.15)
    tau = np.arange(0.0, 400.0, 10.0)
    z = np.log(2) + 2e-3 * tau  # faster than the prior: the posterior follows the data
    theta, beta, w = model.posterior(tau, z)
    assert np.sum(beta * w) > 1.4e-3
    # Remaining life along the known line: (failure level - level now) / rate.
    values, weights = model.remaining_distribution(tau, z, cap_s=1e5)
    expected = (model.failure_mean - z[-1]) / 2e-3
    assert weighted_quantiles(values, weights, [0.5])[0] == pytest.approx(expected, rel=0.35)


def test_life_model_estimates_a_known_failure():
    lives = [10000.0, 12000.0, 9000.0, 11000.0, 10500.0]
    histories = [run_to_failure(L, 0.8, np.log(6) / (0.2 * L), seed=i) for i, L in enumerate(lives)]
    model = BearingLifeModel.fit(histories)
    t, rms = run_to_failure(10000.0, 0.8, np.log(6) / 2000.0, seed=9)
    keep = t <= 9300.0
    est = model.predict(t[keep], rms[keep])
    assert est.state == "degrading" and est.alarm_s is not None
    assert est.p10_s <= 700.0 <= est.p90_s
    healthy = model.predict(t[t <= 5000.0], rms[t <= 5000.0])
    assert healthy.state == "healthy" and healthy.onset_s is None
    assert healthy.p10_s < healthy.p50_s < healthy.p90_s
    again = model.predict(t[keep], rms[keep])
    assert again == est  # deterministic: no seed


@pytest.mark.parametrize("post_alarm", ["trajectory", "lead", "mixture"])
def test_every_post_alarm_model_brackets_a_known_failure(post_alarm):
    lives = [10000.0, 12000.0, 9000.0, 11000.0, 10500.0]
    histories = [run_to_failure(L, 0.8, np.log(6) / (0.2 * L), seed=i) for i, L in enumerate(lives)]
    model = BearingLifeModel.fit(histories, post_alarm=post_alarm)
    t, rms = run_to_failure(10000.0, 0.8, np.log(6) / 2000.0, seed=9)
    est = model.predict(t[t <= 9000.0], rms[t <= 9000.0])
    assert est.state == "degrading" and est.p10_s <= 1000.0 <= est.p90_s


def test_unknown_post_alarm_model_is_refused():
    histories = [run_to_failure(L, 0.8, 1e-3, seed=i) for i, L in enumerate([9000.0, 10000.0, 11000.0])]
    with pytest.raises(ValueError, match="post_alarm"):
        BearingLifeModel.fit(histories, post_alarm="magic")


def test_onset_state_reports_baseline_healthy_then_degrading_with_times():
    from diagnostics.prognostics.health_indicator import onset_state
    t, rms = run_to_failure(20000, 0.7, 3e-4, noise=0.05, seed=5)
    t_ns = t * 1e9
    assert onset_state(t_ns[:10], rms[:10]).state == "baseline"
    early = onset_state(t_ns[:1000], rms[:1000])
    assert early.state == "healthy" and early.alarm_time is None and abs(early.level_nepers) < 0.2
    late = onset_state(t_ns, rms)
    assert late.state == "degrading" and late.onset_time < late.alarm_time <= t_ns[-1]
    assert late.alarm_time / 1e9 == pytest.approx(0.7 * 20000 + np.log(2) / 3e-4, abs=150)
    rms_gaps = rms.copy()
    rms_gaps[::7] = np.nan  # missing features are skipped, not read as zeros
    assert onset_state(t_ns, rms_gaps).state == "degrading"
    with pytest.raises(ValueError, match="shapes"):
        onset_state(t_ns[:5], rms[:4])
