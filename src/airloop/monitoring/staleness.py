"""How fast a model of this project decays with the age of its data, measured once at training.

Under a time split the holdout is newer than everything the gated fit learned from, so slicing it
by time shows the fit at growing ages: ``fit`` takes each slice's age (days since the newest
training row) and its metric, and regresses the relative loss (how much worse than the whole
holdout, as a share of it) on the age. The decay kept is the slope's lower confidence bound,
never below zero: a stationary project, whose slices differ by noise alone, measures no decay, and
its loop keeps no clock. The policy (``policy.decide``) multiplies the decay by the champion's data
age at the window and asks for a retrain when that expected loss exceeds
``monitoring.max_staleness_loss``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

DAY = 86400.0
MIN_SLICES = 3  # a slope through fewer points states nothing
MAX_SLICES = 8
MIN_SLICE_ROWS = 50  # rows a slice's metric is computed on, at least


@dataclass(frozen=True)
class Decay:
    """The expected relative loss per day of data age (``per_day``: 0.001 is 0.1% a day), with the
    evidence: the slope, its standard error, and each slice as (age in days, metric)."""

    metric: str
    per_day: float
    slope: float = 0.0
    stderr: float = 0.0
    slices: list[list[float]] = field(default_factory=list)

    def loss_at(self, age_days: float) -> float:
        """The expected loss (a share of the holdout metric) of a model whose data is this old."""
        return self.per_day * max(age_days, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Decay:
        return cls(**raw)


def slices(n: int) -> int:
    """How many equal slices of ``n`` holdout rows to score (0: too few for a slope)."""
    k = min(MAX_SLICES, n // MIN_SLICE_ROWS)
    return k if k >= MIN_SLICES else 0


def fit(
    metric: str,
    ages: list[float],
    values: list[float],
    holdout: float,
    maximize: bool,
    confidence: float | None,
) -> Decay | None:
    """The decay through (age in days, metric) points; None without enough distinct ages or a
    holdout value to be relative to. ``confidence`` (one-sided): how sure the decay kept is (None:
    the slope itself)."""
    import numpy as np

    points = [(a, v) for a, v in zip(ages, values, strict=True) if v == v]
    if len(points) < MIN_SLICES or holdout == 0:
        return None
    x = np.asarray([a for a, _ in points], dtype=np.float64)
    if np.ptp(x) <= 0:
        return None
    v = np.asarray([v for _, v in points], dtype=np.float64)
    loss = (holdout - v if maximize else v - holdout) / abs(holdout)
    slope, intercept = np.polyfit(x, loss, 1)
    residual = loss - (slope * x + intercept)
    dof = len(x) - 2
    stderr = float(np.sqrt(residual @ residual / dof / np.sum((x - x.mean()) ** 2))) if dof > 0 else 0.0
    z = NormalDist().inv_cdf(confidence) if confidence is not None else 0.0
    kept = max(float(slope) - z * stderr, 0.0)
    return Decay(metric, kept, float(slope), stderr, [[float(a), float(b)] for a, b in points])
