"""Drift of a window too large to hold, streamed in batches with the one-shot result.

Each batch is tallied (bin counts, counts per raw category value, KS counts at the reference sample's
points: `airloop.monitoring.drift`), the tallies add up, and the sum is judged once at the end. So
`DriftAccumulator.results()` equals `compute_drift` on the concatenated batches, and
`ScoreDriftAccumulator.result()` equals `prediction_drift` on the concatenated scores, while memory
stays bounded by the reference summary and the distinct category values, not by the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airloop.monitoring.drift import (
    FeatureDrift,
    NumericSummary,
    Reference,
    Thresholds,
    as_scores,
    drift_plan,
    feature_values,
    no_current_rows,
    no_scores,
    require_columns,
    score_drift,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Tally = Callable[[Any, Any], Any]
Judge = Callable[[str, str, Any, Any, Thresholds], FeatureDrift]


class DriftAccumulator:
    """`compute_drift` over batches: ``add`` each batch, then ``results()`` for the whole window."""

    def __init__(
        self,
        reference: Reference,
        numeric_method: str = "psi",
        categorical_method: str = "psi",
        psi_threshold: float = 0.2,
        p_threshold: float = 0.01,
        ks: bool = False,
    ) -> None:
        plan = drift_plan(reference, numeric_method, categorical_method, ks)
        one_shot = sorted({s.name for *_, stats in plan for s in stats if not s.streamable})
        if one_shot:
            raise ValueError(
                f"drift statistic(s) {', '.join(one_shot)} have no tally, so they cannot add up over batches: "
                "register them as a class with tally and judge, or use compute_drift on the whole window"
            )
        self._plan: list[tuple[str, str, Any, list[tuple[Tally, Judge]]]] = [
            (name, kind, summary, [(s.tally, s.judge) for s in stats if s.tally and s.judge])
            for name, kind, summary, stats in plan
        ]
        self._limits = Thresholds(psi=psi_threshold, p=p_threshold)
        self._states: list[list[Any]] | None = None
        self._rows = 0

    @property
    def rows(self) -> int:
        return self._rows

    def add(self, frame: pd.DataFrame) -> None:
        """Tally one batch (a frame with the reference's columns; it may be empty)."""
        require_columns(frame, [name for name, *_ in self._plan], "current")
        # Every column is read and tallied before any state changes: a bad batch leaves the window as it was.
        tallies = [
            [tally(summary, values) for tally, _ in stats]
            for name, kind, summary, stats in self._plan
            for values in [feature_values(frame, name, kind)]
        ]
        if self._states is None:
            self._states = tallies
        else:
            for states, new in zip(self._states, tallies, strict=True):
                for i, state in enumerate(new):
                    states[i] += state
        self._rows += len(frame)

    def results(self) -> list[FeatureDrift]:
        """One result per feature and statistic, in `compute_drift`'s order."""
        if self._states is None or self._rows == 0:
            raise no_current_rows()
        return [
            judge(name, kind, summary, state, self._limits)
            for (name, kind, summary, stats), states in zip(self._plan, self._states, strict=True)
            for (_, judge), state in zip(stats, states, strict=True)
        ]


class ScoreDriftAccumulator:
    """`prediction_drift` against a fitted score summary over batches of scores."""

    def __init__(self, summary: NumericSummary, psi_threshold: float = 0.2) -> None:
        self._summary = summary
        self._threshold = psi_threshold
        self._counts: np.ndarray | None = None
        self._rows = 0

    @property
    def rows(self) -> int:
        return self._rows

    def add(self, scores: Any) -> None:
        """Tally one batch of scores (1-D; it may be empty)."""
        x = as_scores(scores, "current", allow_empty=True)
        counts = self._summary.counts_of(x)
        self._counts = counts if self._counts is None else self._counts + counts
        self._rows += int(x.size)

    def result(self) -> FeatureDrift:
        if self._counts is None or self._rows == 0:
            raise no_scores("current")
        return score_drift(self._summary, self._counts, self._threshold)
