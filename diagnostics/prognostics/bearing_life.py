"""Remaining life of a rolling bearing from its health indicator: the population's life before the
onset alarm, an exponential degradation model with Bayesian updating after it.

Before the alarm the bearing looks as it did when new, so its own history says only that it has
survived so far: the estimate is the population's life distribution conditioned on that survival
(:class:`PopulationLife`, a log-normal fitted to the training lives, Student-t in log life for the
few lives it is fitted on). After the alarm the indicator (nepers over the own baseline,
``diagnostics.prognostics.health_indicator``) grows about linearly in time while the vibration grows
exponentially, so :class:`ExponentialDegradation` fits ``z(tau) = theta + beta tau`` from the alarm
on, with a Gaussian prior on (theta, beta) from the training bearings updated by each snapshot
(conjugate Bayesian linear regression, Gebraeel et al. 2005), and a failure level drawn from the
levels the training bearings failed at. RUL quantiles come from a fixed set of posterior draws
(quasi-random normal scores), so the same history always gives the same estimate.

The point estimate for planning is the value that maximises the expected PHM 2012 challenge score
under the predictive distribution (an early estimate costs less than a late one, so it sits below
the median); P10/P50/P90 are the predictive quantiles.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.stats import qmc

from .health_indicator import IndicatorConfig, Onset, baseline_rms, detect_onset, health_indicator

__all__ = ["challenge_accuracy", "PopulationLife", "ExponentialDegradation", "BearingTrack",
           "RulEstimate", "BearingLifeModel", "track_bearing"]

_DRAWS = 4096
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


def score_optimal_point(draws: np.ndarray) -> float:
    """The RUL estimate that maximises the mean challenge accuracy over ``draws`` of the true RUL."""
    draws = np.asarray(draws, dtype=float)
    draws = draws[draws > 0]
    if draws.size == 0:
        return 0.0
    candidates = np.quantile(draws, np.linspace(0.01, 0.99, 99))
    sample = np.quantile(draws, np.linspace(0.0025, 0.9975, 400))
    expected = challenge_accuracy(sample[None, :], candidates[:, None]).mean(axis=1)
    return float(candidates[int(np.argmax(expected))])


def _normal_scores(n: int, dims: int) -> np.ndarray:
    """Fixed, well-spread standard normal draws of shape (n, dims) (scrambled Sobol, seed 0): the
    estimate is deterministic and its Monte-Carlo error small (docs/prognostics.md, stability)."""
    u = qmc.Sobol(d=dims, scramble=True, seed=0).random(n)
    return stats.norm.ppf(np.clip(u, 1e-6, 1 - 1e-6))


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
        """RUL draws (s) of a unit that has survived ``elapsed_s``, from uniforms ``u`` in (0, 1)."""
        dist = self._dist()
        f = float(dist.cdf(np.log(max(elapsed_s, 1.0))))
        life = np.exp(dist.ppf(f + np.asarray(u) * (1.0 - f)))
        return np.maximum(life - elapsed_s, 0.0)


@dataclass(frozen=True)
class ExponentialDegradation:
    """Prior of the post-alarm indicator path ``z = theta + beta tau`` (tau in s since the alarm),
    noise level and failure level, from training bearings.

    Attributes
    ----------
    prior_mean : np.ndarray, shape (2,)
        (theta in nepers, beta in nepers/s).
    prior_cov : np.ndarray, shape (2, 2)
    noise_std : float
        Scatter of the indicator about a bearing's own line (nepers).
    failure_mean, failure_std : float
        Indicator level at failure over the training bearings (nepers).
    """

    prior_mean: np.ndarray
    prior_cov: np.ndarray
    noise_std: float
    failure_mean: float
    failure_std: float
    lead: "PopulationLife"

    @classmethod
    def fit(cls, paths: list[tuple[np.ndarray, np.ndarray]]) -> "ExponentialDegradation":
        """From post-alarm paths ``(tau_s, z)`` of bearings run to failure (each ending at failure)."""
        coefs, residuals, failures, leads = [], [], [], []
        for tau, z in paths:
            leads.append(max(float(tau[-1]), 10.0))
            tau, z = np.asarray(tau, float), np.asarray(z, float)
            if tau.size >= 3 and np.ptp(tau) > 0:
                beta, theta = np.polyfit(tau, z, 1)
                coefs.append((theta, max(beta, 0.0)))
                residuals.append(z - (theta + beta * tau))
            failures.append(z[-1])
        if len(coefs) < 2:
            raise ValueError("paths: need two post-alarm paths of three snapshots or more")
        coefs = np.array(coefs)
        mean = coefs.mean(axis=0)
        # Diagonal prior: five bearings do not pin down a correlation; the spread of beta is wide.
        cov = np.diag(np.maximum(coefs.var(axis=0, ddof=1), [1e-4, (0.1 * mean[1]) ** 2 + 1e-12]))
        noise = float(np.sqrt(np.mean(np.concatenate(residuals) ** 2)))
        failures = np.array(failures)
        return cls(mean, cov, max(noise, 1e-3), float(failures.mean()), float(max(failures.std(ddof=1), 0.05)),
                   PopulationLife.fit(np.array(leads)))

    def posterior(self, tau: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean (2,) and covariance (2, 2) of (theta, beta) after observing ``z`` at ``tau``.

        The points are a bearing's own indicator, smoothed over a window, so neighbours are not
        independent: each counts as ``1 / window`` of an observation (the effective sample size).
        """
        tau, z = np.asarray(tau, float), np.asarray(z, float)
        design = np.column_stack([np.ones_like(tau), tau])
        weight = 1.0 / (self.noise_std ** 2 * IndicatorConfig().smooth_snapshots)
        prior_precision = np.linalg.inv(self.prior_cov)
        precision = prior_precision + weight * design.T @ design
        cov = np.linalg.inv(precision)
        mean = cov @ (prior_precision @ self.prior_mean + weight * design.T @ z)
        return mean, cov

    def remaining_draws(self, tau: np.ndarray, z: np.ndarray, scores: np.ndarray, cap_s: float) -> np.ndarray:
        """RUL draws (s) after the last observation, from normal scores of shape (n, 3).

        A draw whose path does not rise (beta <= 0: the indicator jumped and levelled off) takes its
        RUL from how long the training bearings lasted after their alarm, given the time already
        survived since this one's.
        """
        mean, cov = self.posterior(tau, z)
        chol = np.linalg.cholesky(cov + 1e-18 * np.eye(2))
        theta_beta = mean[None, :] + scores[:, :2] @ chol.T
        fail = self.failure_mean + self.failure_std * scores[:, 2]
        now = float(np.asarray(tau)[-1])
        # Failure cannot lie below where the bearing already is (it has not failed yet).
        level_now = theta_beta[:, 0] + theta_beta[:, 1] * now
        fail = np.maximum(fail, level_now)
        beta = theta_beta[:, 1]
        flat = self.lead.remaining_draws(now, stats.norm.cdf(scores[:, 0]))
        with np.errstate(divide="ignore", invalid="ignore"):
            rul = np.where(beta > 0, (fail - level_now) / beta, flat)
        return np.clip(rul, 0.0, cap_s)


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


@dataclass
class BearingLifeModel:
    """The population and degradation models fitted on run-to-failure bearings.

    ``fit(histories)`` takes ``(times_s, rms)`` pairs, each a whole life ending at failure.
    """

    population: PopulationLife
    degradation: ExponentialDegradation
    config: IndicatorConfig = field(default_factory=IndicatorConfig)
    cap_s: float = 0.0

    @classmethod
    def fit(cls, histories: list[tuple[np.ndarray, np.ndarray]],
            config: IndicatorConfig = IndicatorConfig()) -> "BearingLifeModel":
        lives, paths = [], []
        for times, rms in histories:
            track = track_bearing(times, rms, config)
            lives.append(float(times[-1] - times[0]))
            tau, z = track.post_alarm()
            if tau.size:
                paths.append((tau, z))
        return cls(PopulationLife.fit(np.array(lives)), ExponentialDegradation.fit(paths), config,
                   cap_s=float(max(lives)))

    def predict(self, times_s: np.ndarray, rms: np.ndarray) -> RulEstimate:
        """RUL after the last snapshot of a (truncated) history."""
        track = track_bearing(times_s, rms, self.config)
        elapsed = float(track.times_s[-1] - track.times_s[0])
        scores = _normal_scores(_DRAWS, 3)
        if track.onset.alarmed:
            tau, z = track.post_alarm()
            draws = self.degradation.remaining_draws(tau, z, scores, self.cap_s)
            state = "degrading"
        else:
            draws = self.population.remaining_draws(elapsed, stats.norm.cdf(scores[:, 0]))
            state = "healthy" if track.onset.ready else "baseline"
        p10, p50, p90 = np.quantile(draws, [0.1, 0.5, 0.9])
        return RulEstimate(float(p10), float(p50), float(p90), score_optimal_point(draws), state,
                           track.onset_s, track.alarm_s)
