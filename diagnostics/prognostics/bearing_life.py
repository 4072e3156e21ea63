"""Remaining life of a rolling bearing from its health indicator: the population's life before the
onset alarm, an exponential degradation model with Bayesian updating after it.

Before the alarm the bearing looks as it did when new, so its own history says only that it has
survived so far: the estimate is the population's life distribution conditioned on that survival
(:class:`PopulationLife`, a log-normal fitted to the training lives, Student-t in log life for the
few lives it is fitted on). After the alarm the indicator (nepers over the own baseline,
``diagnostics.prognostics.health_indicator``) grows about linearly in time while the vibration grows
exponentially, so :class:`ExponentialDegradation` fits ``z(tau) = theta + beta tau`` from the alarm
on, with a prior on (theta, ln beta) from the training bearings updated by each snapshot (Bayesian
regression in the spirit of Gebraeel et al. 2005, the posterior evaluated on a fixed grid), and a
failure level spread like the levels the training bearings failed at. Both distributions are
evaluated on fixed nodes, not random draws, so the same history always gives the same estimate.

The point estimate for planning is the value that maximises the expected PHM 2012 challenge score
under the predictive distribution (an early estimate costs less than a late one, so it sits below
the median); P10/P50/P90 are the predictive quantiles.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from .health_indicator import IndicatorConfig, Onset, baseline_rms, detect_onset, health_indicator

__all__ = ["challenge_accuracy", "PopulationLife", "ExponentialDegradation", "BearingTrack",
           "RulEstimate", "BearingLifeModel", "track_bearing"]

# Quantile nodes of the population distribution (equal probability each), and nodes per axis of
# the degradation posterior's (theta, ln beta) grid: the estimate's only numerical resolution.
QUANTILE_NODES = 400
POSTERIOR_GRID = 81
_LOG_HALF = float(np.log(0.5))


def challenge_accuracy(true_rul: np.ndarray, predicted_rul: np.ndarray) -> np.ndarray:
    """PHM 2012 accuracy A of each estimate, in (0, 1].

    Er = 100 (true - predicted) / true; A = exp(-ln 0.5 Er / 5) for Er <= 0 (late: predicted more
    life than there was), exp(+ln 0.5 Er / 20) for Er > 0 (early). Shapes broadcast.
    """
    true = np.asarray(true_rul, dtype=float)
    er = 100.0 * (true - np.asarray(predicted_rul, dtype=float)) / true
    late, early = np.minimum(er, 0.0), np.maximum(er, 0.0)  # each branch only where it applies: no overflow
    return np.where(er <= 0, np.exp(-_LOG_HALF * late / 5.0), np.exp(_LOG_HALF * early / 20.0))


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles ``q`` (in [0, 1]) of a discrete distribution: ``values`` with probabilities ``weights``."""
    order = np.argsort(values, kind="stable")
    v, cum = np.asarray(values, float)[order], np.cumsum(np.asarray(weights, float)[order])
    cum /= cum[-1]
    return v[np.minimum(np.searchsorted(cum, np.asarray(q, float), side="left"), v.size - 1)]


def score_optimal_point(values: np.ndarray, weights: np.ndarray | None = None, floor_s: float = 10.0) -> float:
    """The RUL estimate that maximises the expected challenge accuracy when the true RUL has the
    discrete distribution ``values`` / ``weights`` (equal weights when None).

    True values below ``floor_s`` (one snapshot period) count as ``floor_s``: the accuracy of a
    zero RUL is undefined.
    """
    values = np.maximum(np.asarray(values, dtype=float), floor_s)
    weights = np.ones(values.size) if weights is None else np.asarray(weights, dtype=float)
    sample = weighted_quantiles(values, weights, (np.arange(400) + 0.5) / 400)
    # Early estimates cost less than late ones, so the optimum of any unimodal distribution lies
    # at or below its median; searching only there keeps a lump of probability far out (a path
    # that barely rises) from pulling the estimate to it.
    candidates = weighted_quantiles(values, weights, np.linspace(0.01, 0.5, 50))
    expected = challenge_accuracy(sample[None, :], candidates[:, None]).mean(axis=1)
    return float(candidates[int(np.argmax(expected))])


@dataclass(frozen=True)
class PopulationLife:
    """Log-normal life distribution of a population, predictive Student-t in log life.

    Attributes
    ----------
    log_mean, log_std : float
        Mean and sample standard deviation of ln(life / s).
    n : int
        Lives it was fitted on.
    """

    log_mean: float
    log_std: float
    n: int

    @classmethod
    def fit(cls, lives_s: np.ndarray) -> "PopulationLife":
        logs = np.log(np.asarray(lives_s, dtype=float))
        if logs.size < 2:
            raise ValueError("lives_s: need at least two lives")
        return cls(float(logs.mean()), float(logs.std(ddof=1)), int(logs.size))

    def _dist(self):
        return stats.t(df=self.n - 1, loc=self.log_mean, scale=self.log_std * np.sqrt(1 + 1 / self.n))

    def remaining_draws(self, elapsed_s: float, u: np.ndarray) -> np.ndarray:
        """RUL (s) at probabilities ``u`` in (0, 1) of a unit that has survived ``elapsed_s``."""
        dist = self._dist()
        f = float(dist.cdf(np.log(max(elapsed_s, 1.0))))
        life = np.exp(dist.ppf(f + np.asarray(u) * (1.0 - f)))
        return np.maximum(life - elapsed_s, 0.0)


@dataclass(frozen=True)
class ExponentialDegradation:
    """Prior of the post-alarm indicator path ``z = theta + beta tau`` (tau in s since the alarm),
    its noise and the failure level, from training bearings; posterior on a grid.

    The vibration grows exponentially, so the indicator (its logarithm) grows linearly with a rate
    ``beta > 0``; the rate spans more than a decade between bearings (a spall that grows for an hour,
    one that breaks out in two minutes), so its prior is log-normal: ``ln beta ~ N``, ``theta ~ N``.
    The posterior over a fixed (theta, ln beta) grid is exact up to the grid and needs no random
    draws: the same history always gives the same quantiles.

    Attributes
    ----------
    theta_mean, theta_std : float
        Prior of the level at the alarm (nepers).
    log_rate_mean, log_rate_std : float
        Prior of ln(beta / (nepers/s)).
    noise_std : float
        Scatter of the indicator about a bearing's own line (nepers).
    failure_mean, failure_std : float
        Indicator level at failure over the training bearings (nepers).
    """

    theta_mean: float
    theta_std: float
    log_rate_mean: float
    log_rate_std: float
    noise_std: float
    failure_mean: float
    failure_std: float
    smooth_snapshots: int = IndicatorConfig().smooth_snapshots

    @classmethod
    def fit(cls, paths: list[tuple[np.ndarray, np.ndarray]],
            smooth_snapshots: int = IndicatorConfig().smooth_snapshots) -> "ExponentialDegradation":
        """From post-alarm paths ``(tau_s, z)`` of bearings run to failure (each ending at failure);
        ``smooth_snapshots``: the indicator's median window (its points count as 1/window each)."""
        thetas, log_rates, residuals, failures = [], [], [], []
        for tau, z in paths:
            tau, z = np.asarray(tau, float), np.asarray(z, float)
            failures.append(z[-1])
            if tau.size >= 3 and np.ptp(tau) > 0:
                beta, theta = np.polyfit(tau, z, 1)
                # A path that levelled off still failed: its rate is at least the mean rise to failure.
                beta = max(beta, (z[-1] - z[0]) / max(tau[-1], 1.0), 1e-6)
                thetas.append(theta)
                log_rates.append(np.log(beta))
                residuals.append(z - (theta + beta * tau))
        if len(thetas) < 2:
            raise ValueError("paths: need two post-alarm paths of three snapshots or more")
        noise = float(np.sqrt(np.mean(np.concatenate(residuals) ** 2)))
        return cls(float(np.mean(thetas)), float(max(np.std(thetas, ddof=1), 0.05)),
                   float(np.mean(log_rates)), float(max(np.std(log_rates, ddof=1), 0.1)),
                   max(noise, 1e-3), float(np.mean(failures)), float(max(np.std(failures, ddof=1), 0.05)),
                   int(smooth_snapshots))

    def posterior(self, tau: np.ndarray, z: np.ndarray, size: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Grid posterior of (theta, beta) after observing ``z`` at ``tau``.

        The points are a bearing's own indicator, smoothed over a window, so neighbours are not
        independent: each counts as ``1 / window`` of an observation (the effective sample size).

        Returns
        -------
        theta, beta, weight : np.ndarray, shape (size * size,)
            Grid nodes (``size`` per axis, default ``POSTERIOR_GRID``, +-4 prior standard deviations)
            and their posterior probabilities (sum 1).
        """
        tau, z = np.asarray(tau, float), np.asarray(z, float)
        size = size or POSTERIOR_GRID
        g = np.linspace(-4.0, 4.0, size)
        theta, log_rate = np.meshgrid(self.theta_mean + self.theta_std * g,
                                      self.log_rate_mean + self.log_rate_std * g, indexing="ij")
        theta, beta = theta.ravel(), np.exp(log_rate.ravel())
        # Sum of squared residuals for every node from the data's moments: no (nodes x points) array.
        n, st, stt = tau.size, tau.sum(), (tau * tau).sum()
        sz, szz, stz = z.sum(), (z * z).sum(), (tau * z).sum()
        sse = szz - 2 * theta * sz - 2 * beta * stz + n * theta ** 2 + 2 * theta * beta * st + beta ** 2 * stt
        weight = 1.0 / (max(self.smooth_snapshots, 1) * self.noise_std ** 2)
        log_post = -0.5 * (np.repeat(g, size) ** 2 + np.tile(g, size) ** 2) - 0.5 * weight * sse
        post = np.exp(log_post - log_post.max())
        return theta, beta, post / post.sum()

    def remaining_distribution(self, tau: np.ndarray, z: np.ndarray, cap_s: float,
                               levels: int = 21) -> tuple[np.ndarray, np.ndarray]:
        """RUL values (s) after the last observation and their probabilities (same shape, sum 1):
        every posterior node crossed with ``levels`` quantiles of the failure level."""
        theta, beta, w = self.posterior(tau, z)
        keep = w > 1e-9 * w.max()
        theta, beta, w = theta[keep], beta[keep], w[keep]
        fail = self.failure_mean + self.failure_std * stats.norm.ppf((np.arange(levels) + 0.5) / levels)
        now = float(np.asarray(tau)[-1])
        level_now = (theta + beta * now)[:, None]
        # The bearing has not failed yet: its failure level lies above where its path is now.
        rul = ((np.maximum(fail[None, :], level_now) - level_now) / beta[:, None]).ravel()
        weight = np.repeat(w / levels, levels)
        # A path so flat that it would outlast the longest life ever seen is no evidence of a
        # long life, only of a slope the data cannot tell from zero: condition on RUL <= cap_s.
        inside = rul <= cap_s
        if not inside.any():
            return np.array([cap_s]), np.array([1.0])
        return rul[inside], weight[inside] / weight[inside].sum()


@dataclass(frozen=True)
class BearingTrack:
    """A bearing's indicator and onset state at the end of its history.

    Attributes
    ----------
    times_s : np.ndarray, shape (n,)
        Snapshot times (s since the first).
    indicator : np.ndarray, shape (n,)
        Nepers over the own baseline.
    onset : Onset
    """

    times_s: np.ndarray
    indicator: np.ndarray
    onset: Onset

    @property
    def alarm_s(self) -> float | None:
        return None if self.onset.alarm_index is None else float(self.times_s[self.onset.alarm_index])

    @property
    def onset_s(self) -> float | None:
        return None if self.onset.onset_index is None else float(self.times_s[self.onset.onset_index])

    def post_alarm(self) -> tuple[np.ndarray, np.ndarray]:
        """(tau_s, z) from the alarm on; empty before it."""
        if self.onset.alarm_index is None:
            return np.empty(0), np.empty(0)
        i = self.onset.alarm_index
        return self.times_s[i:] - self.times_s[i], self.indicator[i:]


def track_bearing(times_s: np.ndarray, rms: np.ndarray, config: IndicatorConfig = IndicatorConfig()) -> BearingTrack:
    """Indicator and onset of one history (``rms``: per-snapshot RMS, shape (n,), time order)."""
    z = health_indicator(rms, config)
    return BearingTrack(np.asarray(times_s, float), z, detect_onset(z, config, baseline_rms(rms, config)))


@dataclass(frozen=True)
class RulEstimate:
    """One bearing's remaining life after its last snapshot (s).

    Attributes
    ----------
    p10_s, p50_s, p90_s : float
        Predictive quantiles.
    point_s : float
        The estimate to plan with (maximises the expected challenge accuracy; below P50).
    state : str
        ``"baseline"`` (too short for a baseline), ``"healthy"`` (no onset: population life given
        survival) or ``"degrading"`` (after the onset alarm: the degradation model).
    onset_s, alarm_s : float or None
        Seconds since the first snapshot; None before the alarm.
    """

    p10_s: float
    p50_s: float
    p90_s: float
    point_s: float
    state: str
    onset_s: float | None = None
    alarm_s: float | None = None

    def to_dict(self) -> dict:
        return {"p10_s": self.p10_s, "p50_s": self.p50_s, "p90_s": self.p90_s, "point_s": self.point_s,
                "state": self.state, "onset_s": self.onset_s, "alarm_s": self.alarm_s}


POST_ALARM_MODELS = ("trajectory", "lead", "mixture")


@dataclass
class BearingLifeModel:
    """The population, after-alarm and degradation models fitted on run-to-failure bearings.

    ``fit(histories)`` takes ``(times_s, rms)`` pairs, each a whole life ending at failure.

    Attributes
    ----------
    population : PopulationLife
        Whole lives: the estimate before the alarm.
    after_alarm : PopulationLife
        Time from the alarm to failure (the lead time).
    degradation : ExponentialDegradation
        The indicator's path after the alarm.
    post_alarm : str
        After the alarm, ``"trajectory"`` (the degradation model alone), ``"lead"`` (the lead-time
        distribution given the time survived since the alarm) or ``"mixture"`` (the two predictive
        distributions with equal weight): docs/prognostics.md compares them.
    """

    population: PopulationLife
    after_alarm: PopulationLife
    degradation: ExponentialDegradation
    config: IndicatorConfig = field(default_factory=IndicatorConfig)
    cap_s: float = 0.0
    post_alarm: str = "lead"

    @classmethod
    def fit(cls, histories: list[tuple[np.ndarray, np.ndarray]], config: IndicatorConfig = IndicatorConfig(),
            post_alarm: str = "lead") -> "BearingLifeModel":
        if post_alarm not in POST_ALARM_MODELS:
            raise ValueError(f"post_alarm: one of {POST_ALARM_MODELS}, got {post_alarm!r}")
        lives, paths = [], []
        for times, rms in histories:
            track = track_bearing(times, rms, config)
            lives.append(float(times[-1] - times[0]))
            tau, z = track.post_alarm()
            if tau.size:
                paths.append((tau, z))
        leads = np.array([max(float(tau[-1]), 10.0) for tau, _ in paths])
        return cls(PopulationLife.fit(np.array(lives)), PopulationLife.fit(leads),
                   ExponentialDegradation.fit(paths, config.smooth_snapshots), config, cap_s=float(max(lives)),
                   post_alarm=post_alarm)

    def to_dict(self) -> dict:
        """A JSON-friendly document of the fitted model (:meth:`from_dict` reads it back exactly)."""
        return {"population": asdict(self.population), "after_alarm": asdict(self.after_alarm),
                "degradation": asdict(self.degradation), "config": asdict(self.config), "cap_s": self.cap_s,
                "post_alarm": self.post_alarm}

    @classmethod
    def from_dict(cls, doc: dict) -> "BearingLifeModel":
        """The model :meth:`to_dict` wrote; ``ValueError`` for a document that is not one."""
        try:
            model = cls(PopulationLife(**doc["population"]), PopulationLife(**doc["after_alarm"]),
                        ExponentialDegradation(**doc["degradation"]), IndicatorConfig(**doc["config"]),
                        float(doc["cap_s"]), str(doc["post_alarm"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a bearing life model document: {exc}") from None
        if model.post_alarm not in POST_ALARM_MODELS:
            raise ValueError(f"post_alarm: one of {POST_ALARM_MODELS}, got {model.post_alarm!r}")
        return model

    def _after_alarm(self, tau: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = (np.arange(QUANTILE_NODES) + 0.5) / QUANTILE_NODES
        lead = self.after_alarm.remaining_draws(float(tau[-1]), u), np.full(QUANTILE_NODES, 1.0 / QUANTILE_NODES)
        if self.post_alarm == "lead":
            return lead
        path = self.degradation.remaining_distribution(tau, z, self.cap_s)
        if self.post_alarm == "trajectory":
            return path
        return np.concatenate([lead[0], path[0]]), np.concatenate([0.5 * lead[1], 0.5 * path[1]])

    def predict(self, times_s: np.ndarray, rms: np.ndarray) -> RulEstimate:
        """RUL after the last snapshot of a (truncated) history."""
        track = track_bearing(times_s, rms, self.config)
        elapsed = float(track.times_s[-1] - track.times_s[0])
        if track.onset.alarmed:
            values, weights = self._after_alarm(*track.post_alarm())
            state = "degrading"
        else:
            values = self.population.remaining_draws(elapsed, (np.arange(QUANTILE_NODES) + 0.5) / QUANTILE_NODES)
            weights = np.full(values.size, 1.0 / values.size)
            state = "healthy" if track.onset.ready else "baseline"
        # No estimate beyond the longest life the model has seen: a log-normal's tail is a guess there.
        values = np.minimum(values, self.cap_s)
        p10, p50, p90 = weighted_quantiles(values, weights, [0.1, 0.5, 0.9])
        return RulEstimate(float(p10), float(p50), float(p90), score_optimal_point(values, weights), state,
                           track.onset_s, track.alarm_s)
