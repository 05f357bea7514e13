"""Drift of each feature, and of the predictions, against the champion's training reference.

The reference data is summarised once, when the champion is trained (`Reference.fit`), into plain
JSON; drift is then computed on any later batch without the training rows. Work is vectorised per
column (one binary search and one bincount for numeric features, one value_counts for categorical
ones); Python only loops over features and bins.

Conventions (the unit tests check them against a straightforward per-bin implementation):
- numeric bins are ``[e_i, e_i+1)`` over edges ``[-inf, *cuts, +inf]``, where the cuts are the
  deduplicated quantiles of the finite reference values. When the top cut is the reference maximum (a
  point mass: a constant or binary column), the next float above it is a cut too, so values above the
  reference range get their own bin. Missing values are one more bin, so a change in the null rate is
  drift.
- categorical bins are the top-K reference categories (compared as strings), ``__other__`` (every
  other value, including ones the reference never saw) and ``__missing__``. Integral floats compare
  as ints ("1", not "1.0"): one null turns an int column into floats.
- PSI = sum((cur - ref) * ln(cur / ref)) over bins, each proportion floored at ``EPS`` first, so an
  empty bin counts but cannot make PSI infinite. Drifted when PSI >= the threshold.
- chi2 is the two-sample test on the 2 x bins table of reference and current counts: the reference is
  itself a sample, and testing against its proportions as if they were exact over-flags large batches.
  That is why the reference keeps counts (proportions are derived from them).
- KS compares the reference's seeded sample with every finite current value (scipy's ks_2samp).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from airloop.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

EPS = 1e-4
OTHER = "__other__"
MISSING = "__missing__"
PREDICTION = "__prediction__"


@dataclass
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical
    method: str  # psi | chi2 | ks
    statistic: float  # NaN when the method has nothing to compare (KS with no finite values on a side)
    p_value: float | None  # None for PSI, which is a distance, not a test
    drifted: bool
    threshold: float  # the PSI threshold for psi, the p-value threshold for chi2 and ks

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Thresholds:
    psi: float = 0.2  # a PSI at or above it is drift
    p: float = 0.01  # a test's p-value below it is drift


@dataclass(frozen=True)
class Statistic:
    """A drift statistic: which feature kinds it applies to, and how it compares a summary with values.

    ``compute(feature, kind, summary, values, thresholds)`` gets the reference summary of one feature
    (``NumericSummary`` or ``CategoricalSummary``) and the current column (a float array for numeric
    features, the raw series for categorical ones).
    """

    name: str
    kinds: tuple[str, ...]
    compute: Callable[[str, str, Any, Any, Thresholds], FeatureDrift]
    scale: str  # "distance" (PSI) or "test" (a statistic with a p-value): the report's panels


# name -> statistic. Adding one is one decorated function: the spec, compute_drift and the report read this.
STATISTICS: dict[str, Statistic] = {}


def statistic(name: str, kinds: tuple[str, ...], scale: str) -> Callable[[Any], Any]:
    def register(fn: Callable[[str, str, Any, Any, Thresholds], FeatureDrift]) -> Any:
        STATISTICS[name] = Statistic(name, kinds, fn, scale)
        return fn

    return register


def methods_for(kind: str) -> tuple[str, ...]:
    """The statistics that apply to ``kind`` ("numeric" or "categorical")."""
    return tuple(n for n, s in STATISTICS.items() if kind in s.kinds)


@dataclass
class NumericSummary:
    cuts: list[float]  # inner quantile edges; the outer -inf/+inf stay implicit so the JSON stays strict
    counts: list[int]  # one per bin, then the missing bin: len(cuts) + 2
    sample: list[float] = field(default_factory=list)  # sorted finite reference values, for KS

    @property
    def edges(self) -> list[float]:
        return [-math.inf, *self.cuts, math.inf]

    @property
    def proportions(self) -> list[float]:
        return _proportions(self.counts)

    @classmethod
    def fit(cls, values: Any, *, bins: int = 10, ks_sample: int = 10_000, seed: int = 0) -> NumericSummary:
        import numpy as np

        if bins < 1:
            raise ValueError(f"bins must be >= 1, got {bins}")
        x = _as_float(values)
        finite = x[np.isfinite(x)]
        if finite.size:
            # arange/bins, not linspace: i/bins exactly, so the cuts are the quantiles at i/bins.
            cuts = np.unique(np.quantile(finite, np.arange(1, bins) / bins))
            top = finite.max()
            if cuts.size and cuts[-1] == top:
                cuts = np.append(cuts, np.nextafter(top, np.inf))
        else:
            cuts = np.empty(0)
        counts = _numeric_counts(x, cuts)
        if finite.size > ks_sample:
            # A fresh generator per column: the sample does not depend on the column order.
            rng = np.random.default_rng(seed)
            finite = finite[rng.choice(finite.size, size=ks_sample, replace=False)]
        return cls(cuts=cuts.tolist(), counts=counts.tolist(), sample=np.sort(finite).tolist())

    def counts_of(self, values: Any) -> np.ndarray:
        import numpy as np

        return _numeric_counts(_as_float(values), np.asarray(self.cuts, dtype=np.float64))


@dataclass
class CategoricalSummary:
    categories: list[str]  # the top-K reference categories, most frequent first
    counts: list[int]  # one per category, then __other__, then __missing__

    @property
    def labels(self) -> list[str]:
        return [*self.categories, OTHER, MISSING]

    @property
    def proportions(self) -> list[float]:
        return _proportions(self.counts)

    @classmethod
    def fit(cls, values: Any, *, top_k: int = 50) -> CategoricalSummary:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        known, missing = _category_counts(values)
        # Ties broken by name, so the same data always gives the same categories.
        known = known.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        top = known.iloc[:top_k]
        counts = [int(c) for c in top.tolist()] + [int(known.iloc[top_k:].sum()), missing]
        return cls(categories=[str(c) for c in top.index], counts=counts)

    def counts_of(self, values: Any) -> np.ndarray:
        import numpy as np

        known, missing = _category_counts(values)
        hits = known.reindex(self.categories, fill_value=0).to_numpy(dtype=np.int64)
        other = int(known.sum()) - int(hits.sum())
        return np.concatenate([hits, np.array([other, missing], dtype=np.int64)])


@dataclass
class Reference:
    """Per-feature summary of the reference (training) data; JSON round-trips exactly."""

    numeric: dict[str, NumericSummary] = field(default_factory=dict)
    categorical: dict[str, CategoricalSummary] = field(default_factory=dict)
    rows: int = 0

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        numeric: Sequence[str],
        categorical: Sequence[str],
        bins: int = 10,
        ks_sample: int = 10_000,
        seed: int = 0,
        top_k: int = 50,
    ) -> Reference:
        _require_columns(frame, [*numeric, *categorical], "reference")
        if len(frame) == 0:
            raise DataError("the reference data has no rows", hint="fit the reference on the training data")
        return cls(
            numeric={
                name: NumericSummary.fit(_column(frame, name), bins=bins, ks_sample=ks_sample, seed=seed)
                for name in numeric
            },
            categorical={name: CategoricalSummary.fit(frame[name], top_k=top_k) for name in categorical},
            rows=len(frame),
        )

    def to_json(self) -> str:
        # Not sort_keys: the feature order is the order of compute_drift's results.
        return json.dumps(asdict(self), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Reference:
        raw = json.loads(text)
        return cls(
            numeric={name: NumericSummary(**s) for name, s in raw["numeric"].items()},
            categorical={name: CategoricalSummary(**s) for name, s in raw["categorical"].items()},
            rows=raw["rows"],
        )


def psi(reference_counts: Any, current_counts: Any, eps: float = EPS) -> float:
    """Population stability index of two count (or proportion) vectors over the same bins."""
    import numpy as np

    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.shape != cur.shape:
        raise ValueError(f"bins differ: {ref.shape} vs {cur.shape}")
    if ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("PSI needs at least one count on each side")
    ref = np.maximum(ref / ref.sum(), eps)
    cur = np.maximum(cur / cur.sum(), eps)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def compute_drift(
    reference: Reference,
    current: pd.DataFrame,
    *,
    numeric_method: str = "psi",
    categorical_method: str = "psi",
    psi_threshold: float = 0.2,
    p_threshold: float = 0.01,
    ks: bool = False,
) -> list[FeatureDrift]:
    """Drift of every reference feature in ``current``: numeric features first, in reference order.

    ``numeric_method`` is "psi" or "ks"; ``categorical_method`` is "psi" or "chi2". ``ks=True`` adds a KS
    result after the PSI result of each numeric feature.
    """
    for kind, method in (("numeric", numeric_method), ("categorical", categorical_method)):
        if method not in methods_for(kind):
            raise ValueError(f"{kind}_method must be one of {methods_for(kind)}, got {method!r}")
    _require_columns(current, [*reference.numeric, *reference.categorical], "current")
    if len(current) == 0:
        raise DataError("no current rows to compare with the reference", hint="wait for predictions to be logged")

    limits = Thresholds(psi=psi_threshold, p=p_threshold)
    numeric = [STATISTICS[numeric_method]] + ([STATISTICS["ks"]] if ks and numeric_method != "ks" else [])
    categorical = STATISTICS[categorical_method]
    results: list[FeatureDrift] = []
    for name, num in reference.numeric.items():
        x = _column(current, name)
        results += [stat.compute(name, "numeric", num, x, limits) for stat in numeric]
    for name, cat in reference.categorical.items():
        results.append(categorical.compute(name, "categorical", cat, current[name], limits))
    return results


def prediction_drift(
    reference_scores: Any, current_scores: Any, *, bins: int = 10, psi_threshold: float = 0.2
) -> FeatureDrift:
    """PSI of the model's scores (probabilities or values) on quantile bins of the reference scores.

    ``reference_scores`` is a 1-D array-like, or a `NumericSummary` fitted on them earlier (so the
    reference scores need not be kept).
    """
    if isinstance(reference_scores, NumericSummary):
        summary = reference_scores
    else:
        summary = NumericSummary.fit(_scores(reference_scores, "reference"), bins=bins, ks_sample=0)
    counts = summary.counts_of(_scores(current_scores, "current"))
    return _psi_result(PREDICTION, "numeric", summary.counts, counts, psi_threshold)


def _psi_result(name: str, kind: str, ref: Sequence[int], cur: Any, threshold: float) -> FeatureDrift:
    value = psi(ref, cur)
    return FeatureDrift(name, kind, "psi", value, None, value >= threshold, threshold)


@statistic("psi", kinds=("numeric", "categorical"), scale="distance")
def _psi(name: str, kind: str, summary: Any, values: Any, limits: Thresholds) -> FeatureDrift:
    return _psi_result(name, kind, summary.counts, summary.counts_of(values), limits.psi)


@statistic("chi2", kinds=("categorical",), scale="test")
def _chi2(name: str, kind: str, summary: Any, values: Any, limits: Thresholds) -> FeatureDrift:
    import numpy as np
    from scipy import stats

    table = np.array([summary.counts, summary.counts_of(values)], dtype=np.float64)
    # A bin empty on both sides says nothing and would give an expected count of 0.
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return FeatureDrift(name, kind, "chi2", 0.0, 1.0, False, limits.p)
    res = stats.chi2_contingency(table, correction=False)
    p = float(res.pvalue)
    return FeatureDrift(name, kind, "chi2", float(res.statistic), p, p < limits.p, limits.p)


@statistic("ks", kinds=("numeric",), scale="test")
def _ks(name: str, kind: str, summary: Any, values: Any, limits: Thresholds) -> FeatureDrift:
    import numpy as np
    from scipy import stats

    cur = values[np.isfinite(values)]
    if not summary.sample or cur.size == 0:
        return FeatureDrift(name, kind, "ks", math.nan, None, False, limits.p)
    res = stats.ks_2samp(np.asarray(summary.sample, dtype=np.float64), cur)
    p = float(res.pvalue)
    return FeatureDrift(name, kind, "ks", float(res.statistic), p, p < limits.p, limits.p)


def _numeric_counts(x: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    import numpy as np

    idx = np.searchsorted(cuts, x, side="right")
    missing = np.isnan(x)
    # NaN sorts after every cut, so searchsorted puts it in the top bin; it gets its own bin instead.
    idx[missing] = cuts.size + 1
    return np.bincount(idx, minlength=cuts.size + 2)


def _category_counts(values: Any) -> tuple[pd.Series, int]:
    """Counts per distinct non-missing value, keyed by its string form; and the number missing."""
    import numpy as np
    import pandas as pd

    s = values if isinstance(values, pd.Series) else pd.Series(values)
    vc = s.value_counts(dropna=True, sort=False)
    missing = len(s) - int(vc.sum())
    vc = vc[vc > 0]  # a categorical dtype lists unused categories with a count of 0
    keys = vc.index
    floats = keys.to_numpy() if keys.dtype.kind == "f" else None
    if floats is not None and bool(np.all((np.mod(floats, 1) == 0) & (np.abs(floats) < 2**53))):
        keys = keys.astype("int64")
    vc.index = keys.astype(str)
    if not vc.index.is_unique:  # 1 and "1" are the same category once compared as strings
        vc = vc.groupby(level=0, sort=False).sum()
    return vc, missing


def _as_float(values: Any) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if isinstance(values, pd.Series):
        if values.dtype == np.float64:
            return values.to_numpy()
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(values, dtype=np.float64)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    try:
        return _as_float(frame[name])
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"column {name!r} is numeric in the reference but holds non-numeric values ({exc})",
            hint="check the column's type against the data contract",
        ) from exc


def _scores(values: Any, side: str) -> np.ndarray:
    x = _as_float(values)
    if x.ndim != 1:
        raise ValueError(f"{side} scores must be 1-D (one score per row, e.g. the positive-class probability)")
    if x.size == 0:
        raise DataError(f"no {side} scores to compare", hint="wait for predictions to be logged")
    return x


def _proportions(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def _require_columns(frame: pd.DataFrame, names: Sequence[str], side: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(
            f"the {side} data has no column(s) {', '.join(map(repr, missing))}",
            hint="compare frames with the features the reference was fitted on",
        )
