"""How sure a small window can be: the two measures the policy needs to judge a window at its own
sample size instead of waiting for a fixed row count.

- ``interval``: a percentile bootstrap interval of a live metric over the window's labeled rows;
  the policy compares its ends (not only the point) with the holdout.
- ``psi_noise``: the PSI a window of ``n`` rows drawn from the reference itself reaches by chance,
  at the policy's confidence. PSI is a distance, not a test: with few rows it is large even without
  drift (empty bins count as the floor ``EPS``), so a small window's PSI counts as drift only above
  that level. chi2 and KS are tests already: their p-values are at the window's own size.

Both are seeded: the same window gives the same interval and level, in the monitor and the backtest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from airloop.monitoring.drift import EPS

DRAWS = 400  # bootstrap resamples and simulated windows: the 5% and 95% quantiles settle by then
SEED = 0


def interval(
    metric: Callable[[Any], float | None], n: int, confidence: float, draws: int = DRAWS, seed: int = SEED
) -> tuple[float, float] | None:
    """The central ``confidence`` interval of ``metric(rows)`` over bootstrap resamples of ``n`` rows
    (``rows``: an index array into the window's labeled rows). None when fewer than two rows, or when
    the metric is undefined on most resamples (one class only, say)."""
    return intervals(lambda rows: {"metric": metric(rows)}, ["metric"], n, confidence, draws, seed).get("metric")


def intervals(
    metrics: Callable[[Any], dict[str, float | None]],
    names: Sequence[str],
    n: int,
    confidence: float,
    draws: int = DRAWS,
    seed: int = SEED,
) -> dict[str, tuple[float, float]]:
    """``interval`` of each of ``names`` where one call, ``metrics(rows)``, computes them together:
    the same resamples as ``interval`` draws for each alone, each computed once."""
    import numpy as np

    if n < 2:
        return {}
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(draws):
        try:
            got = metrics(rng.integers(0, n, n))
        except ValueError:  # undefined on this resample
            continue
        for name in names:
            value = got.get(name)
            if value is not None and value == value:
                values[name].append(value)
    tail = (1 - confidence) / 2
    out = {}
    for name, seen in values.items():
        if len(seen) >= draws / 2:
            low, high = np.quantile(np.asarray(seen), [tail, 1 - tail])
            out[name] = (float(low), float(high))
    return out


def psi_noise(
    reference_counts: Sequence[int], n: int, confidence: float, draws: int = DRAWS, seed: int = SEED
) -> float:
    """The ``confidence`` quantile of the PSI between the reference and ``n`` rows drawn from it (the
    reference's own counts redrawn too: it is a sample as well)."""
    import numpy as np

    counts = np.asarray(reference_counts, dtype=np.float64)
    total = int(counts.sum())
    if n < 1 or total < 1:
        return float("inf")
    p = counts / total
    rng = np.random.default_rng(seed)
    ref = np.maximum(rng.multinomial(total, p, size=draws) / total, EPS)
    cur = np.maximum(rng.multinomial(n, p, size=draws) / n, EPS)
    values = np.sum((cur - ref) * np.log(cur / ref), axis=1)
    return float(np.quantile(values, confidence))
