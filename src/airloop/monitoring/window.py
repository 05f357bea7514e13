"""One pass over a window of logged predictions, batch by batch, keeping only what the monitor
needs: drift tallies per feature and of the scores, the labeled rows' answers (for the live
metrics), the scores and answers of every scored row (for estimated performance), the row count,
the newest log time and the newest value of the data's own time column.

Memory: the drift tallies are bounded by the reference; the rest is a few numbers per row
(8 bytes of score and 1 of answer per scored row; label, prediction and probabilities per labeled
row), never the features. The monitor (`steps/monitor.py`) and the backtest feed it; with one
batch it gives what a single frame gives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from airloop.monitoring.accumulate import DriftAccumulator, ScoreDriftAccumulator

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airloop.monitoring.drift import NumericSummary, Reference


@dataclass
class Answers:
    """The labeled rows' truth and answers, batch by batch."""

    labels: list[Any] = field(default_factory=list)  # object arrays
    predictions: list[Any] = field(default_factory=list)
    proba: list[Any] = field(default_factory=list)  # (rows x classes) float arrays, or None
    count: int = 0

    def add(self, label: Any, prediction: Any, proba: Any) -> None:
        self.labels.append(label)
        self.predictions.append(prediction)
        self.proba.append(proba)
        self.count += len(prediction)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(labels, predictions, probabilities): probabilities when the first labeled row has them."""
        import numpy as np

        if not self.count:
            return np.empty(0, object), np.empty(0, object), None
        first = self.proba[0]
        usable = first is not None and not np.isnan(first[0]).all()
        proba = np.concatenate(self.proba) if usable and all(p is not None for p in self.proba) else None
        return _joined(self.labels), _joined(self.predictions), proba


def _joined(parts: list[Any]) -> np.ndarray:
    """Batches of one dtype as that dtype; of several (a new model answering in strings) as objects,
    which keep each value as it was."""
    import numpy as np

    if len({p.dtype for p in parts}) > 1:
        parts = [p.astype(object) for p in parts]
    return np.concatenate(parts)


class WindowPass:
    """``add`` each batch (a frame with ``prediction``, ``label``, ``logged_at`` and the features,
    and the probabilities as a matrix or None), then read the results.

    ``positive_index``: the column of the positive class's probability (-1 when unknown);
    ``positive``: the positive class (None when unknown); ``time_column``: the data's clock;
    ``recent``: the champion's newest training rows as a reference of their own (drift against them
    is ``drift()["recent"]``, what tells persistent drift from new)."""

    def __init__(
        self,
        reference: Reference | None,
        score_summary: NumericSummary | None,
        *,
        task: str,
        positive_index: int = -1,
        positive: Any = None,
        time_column: str | None = None,
        numeric_method: str = "psi",
        categorical_method: str = "psi",
        psi_threshold: float = 0.2,
        p_threshold: float = 0.01,
        recent: Reference | None = None,
    ) -> None:
        self.task, self.at, self.positive, self.time_column = task, positive_index, positive, time_column
        self.features = (
            DriftAccumulator(reference, numeric_method, categorical_method, psi_threshold, p_threshold)
            if reference is not None
            else None
        )
        # the champion's newest training rows: a drift there too has moved on since the last training
        self.recent = (
            DriftAccumulator(recent, numeric_method, categorical_method, psi_threshold, p_threshold)
            if recent is not None
            else None
        )
        self.scores = ScoreDriftAccumulator(score_summary, psi_threshold) if score_summary is not None else None
        # regression models give no probabilities: their predictions are the scores
        self.values = ScoreDriftAccumulator(score_summary, psi_threshold) if score_summary is not None else None
        self.rows = 0
        self.scored_rows = 0
        self.labeled = Answers()
        self.scored: list[tuple[Any, Any]] = []  # binary: (positive score, answered positive)
        self.max_sum = 0.0  # multiclass: the sum of each scored row's top probability
        self.last_logged: float | None = None
        self.data_end: float | None = None

    def add(self, frame: pd.DataFrame, proba: np.ndarray | None) -> None:
        import numpy as np

        if not len(frame):
            return
        self.rows += len(frame)
        if self.features is not None:
            self.features.add(frame)
        if self.recent is not None:
            self.recent.add(frame)
        logged, end = newest(frame, "logged_at"), newest(frame, self.time_column)
        if logged is not None:
            self.last_logged = logged if self.last_logged is None else max(self.last_logged, logged)
        if end is not None:
            self.data_end = end if self.data_end is None else max(self.data_end, end)
        has = ~np.isnan(proba).all(axis=1) if proba is not None else np.zeros(len(frame), bool)
        preds = frame["prediction"].to_numpy()  # its own dtype: a comparison with the positive class is vectorised
        if has.any():
            p = proba[has]  # type: ignore[index]
            top = p.max(axis=1)
            score = p[:, self.at] if p.shape[1] == 2 else top
            if self.scores is not None:
                self.scores.add(score)
            self.scored_rows += len(p)
            if self.task == "binary":
                answered = preds[has] == self.positive if self.positive is not None else p[:, self.at] >= 0.5
                self.scored.append((p[:, self.at], np.asarray(answered, dtype=bool)))
            self.max_sum += float(top.sum())
        if self.values is not None and not self.scored_rows:
            try:
                self.values.add(np.asarray(frame["prediction"], dtype="float64"))
            except (TypeError, ValueError):  # class labels: no score to compare
                self.values = None
        labeled = frame["label"].notna().to_numpy()
        if labeled.any():
            label = frame["label"].to_numpy(dtype=object)[labeled]
            self.labeled.add(label, preds[labeled], proba[labeled] if proba is not None else None)

    @property
    def end(self) -> float | None:
        """The window's place on the data's clock: the time column's newest value, else the newest log time."""
        return self.data_end if self.data_end is not None else self.last_logged

    def drift(self) -> dict[str, Any]:
        """Per-feature drift and prediction drift, as the monitor records them."""
        if self.features is None:
            return {"error": "the champion carries no drift reference (trained before airloop stored one)"}
        results = self.features.results()
        out: dict[str, Any] = {
            "features": [r.to_dict() for r in results],
            "drifted": [r.feature for r in results if r.drifted],
        }
        if self.recent is not None:
            out["recent"] = [r.to_dict() for r in self.recent.results()]
        source = self.scores if self.scored_rows else self.values
        if source is not None and source.rows:
            out["prediction"] = source.result().to_dict()
        return out

    def scored_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Binary models: every scored row's positive-class score and whether it answered positive."""
        import numpy as np

        if not self.scored:
            return np.empty(0), np.empty(0, bool)
        return np.concatenate([s for s, _ in self.scored]), np.concatenate([a for _, a in self.scored])


def newest(frame: pd.DataFrame, column: str | None) -> float | None:
    """The newest time in a column (epoch seconds), None when it has none."""
    import pandas as pd

    if not column or column not in frame.columns:
        return None
    when = pd.to_datetime(frame[column], utc=True, errors="coerce").dropna()
    return float(when.max().timestamp()) if len(when) else None


def small_pages(fn: F) -> F:
    """Run ``fn`` with numpy's huge-page advice off. numpy asks the kernel for transparent huge pages
    for every array over 4 MB; where the kernel then compacts memory on the fault (THP defrag
    "madvise", Debian's default), each fresh 80 MB array stalled 0.2-0.4 s here, and a pass over
    10M predictions makes dozens (estimated performance: 2.3 s with the advice, 1.0 s without).
    The setting is numpy's own (``NUMPY_MADVISE_HUGEPAGE``), restored on return."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import numpy as np

        setter = getattr(getattr(np, "_core", None), "multiarray", None)
        setter = getattr(setter, "_set_madvise_hugepage", None)
        if setter is None:  # another numpy: leave it as it is
            return fn(*args, **kwargs)
        before = setter(False)
        try:
            return fn(*args, **kwargs)
        finally:
            setter(before)

    return wrapper  # type: ignore[return-value]
