"""The data contract: inferred from reference data or declared, then checked on every batch.

A contract is plain JSON (stored in the workspace and with every model version). Checking is
vectorised pandas; a violation carries the column, the rule, a message and example values.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from airloop.spec.models import Contract as ContractSpec

# Above this many distinct values a text column is treated as free text: no category check.
MAX_CATEGORIES = 1000
DATE_SAMPLE = 200
# two numbers with a separator (2013-01-02, 1/2/13, 10:30) or a month name beside a year (Mar-2018)
DATE_SHAPE = r"\d{1,4}[-/.: T]\d{1,2}|[A-Za-z]{3,}\W?\d{4}|\d{4}\W?[A-Za-z]{3,}"

# A contract that knows time (docs/design/contract-over-time.md; evidence: bench/contract/time_aware.py).
# The reference replayed in time order, cut in this many slices of equal rows: 16 slices of a
# half-year of bookings see the bursts a week brings; 4 slices saw 4% agent novelty against weeks of 9-12%.
HISTORY = 16
# |Spearman(column, time)| from which a numeric column trends: the four bench sets show a clear gap
# (every feature below 0.39 or above 0.57).
TREND_RHO = 0.5
# Learned expectations are capped: a flood (every row new or out of range) has a Wilson lower bound
# of 1 / (1 + z^2 / n), above 0.5 from n = 10 at confidence 0.999, so it is always refused.
MAX_SHARE = 0.5
# Rows of one new category are not independent (a new agent brings a group's bookings): counted in
# clusters of at most this many rows, and at most n / 10, so a flood is still >= 10 units.
MAX_CLUSTER = 10.0
# At least this share of rows may be new or beyond anything seen (one outlier in 300 rows passes).
FLOOR = 0.001
INTEGER_PAD = 1.0  # a count one above its reference maximum is inside the range
# A trending column's bound is widened, beyond the trend itself, by this many standard deviations of
# the reference's residuals around its trend: a healthy row leaves that band with probability FLOOR
# (normal residuals). Prices swing around a long trend by far more than any range pad: World Bank oil
# from 1960-2004 has a residual of 0.72 log-units, and 2005-2014 stood up to 2.5x the trend's reach
# from the 2004 maximum (bench/results/contract_time_aware_src.md).
BAND_Z = NormalDist().inv_cdf(1 - FLOOR)
DAY = 86400.0
FORMAT = 2  # 1: stored before the time-aware fields existed, judged as then


@dataclass
class ColumnRule:
    kind: str  # numeric | categorical | boolean | datetime
    null_rate: float = 0.0
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None
    # learned from the reference replayed in time order; absent in contracts stored before (format 1)
    novelty: float | None = None  # expected share of a healthy batch's rows with unseen categories
    exceed: float | None = None  # expected share of a healthy batch's rows outside the padded range
    trend: float | None = None  # per day against Contract.time: units (linear) or log-units (log)
    trend_scale: str | None = None  # "linear" | "log"
    spread: float | None = None  # the reference's standard deviation around its trend, in the trend's units
    integer: bool = False  # every reference value is a whole number


@dataclass
class Contract:
    columns: dict[str, ColumnRule]
    target: str
    declared: bool = False  # declared bounds are exact: no tolerance applies
    source: str = ""  # fingerprint of the data it was inferred from
    # the batches (file name, rows) it was inferred from: its reference, never judged against it
    reference_batches: list[list[Any]] = field(default_factory=list)
    time: str | None = None  # the data's clock (spec.split.column) the trends are measured against
    reference_end: float | None = None  # the newest reference time, days since the epoch (UTC)
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Contract:
        """Tolerant both ways: missing keys take their defaults (a contract stored before the
        time-aware fields is format 1, judged as then) and unknown keys are dropped (a contract
        written by a newer airloop still loads)."""
        raw = json.loads(text)
        known = {f.name for f in dataclasses.fields(ColumnRule)}
        cols = {
            name: ColumnRule(**{k: v for k, v in rule.items() if k in known}) for name, rule in raw["columns"].items()
        }
        fields = {f.name for f in dataclasses.fields(cls)} - {"columns"}
        rest = {k: v for k, v in raw.items() if k in fields}
        rest.setdefault("format", 1)
        return cls(columns=cols, **rest)

    @property
    def time_aware(self) -> bool:
        """Judged by what the reference taught (novelty, trends, exceedance, floor); declared
        contracts and contracts stored before are judged as written."""
        return not self.declared and self.format >= 2

    def feature_columns(self) -> list[str]:
        return [c for c in self.columns if c != self.target]

    def only(self, names: list[str]) -> Contract:
        """The same contract restricted to ``names`` (a stored contract may know columns no longer judged)."""
        keep = set(names)
        cols = {c: r for c, r in self.columns.items() if c in keep}
        return dataclasses.replace(self, columns=cols, reference_batches=list(self.reference_batches))

    def is_reference(self, name: str, rows: int) -> bool:
        return [name, rows] in self.reference_batches


@dataclass
class Violation:
    column: str
    rule: str
    message: str
    examples: list[Any] = field(default_factory=list)
    count: int = 0
    severity: str = "block"  # block: the batch is refused; warn: trained on, reported


def wilson_lower(k: int, n: int, confidence: float) -> float:
    """The lower end of the one-sided Wilson score interval for a share of k in n: the smallest
    true share that is still plausible at ``confidence``. A batch breaks a share bound only when
    even this is above the bound, so a 0.3-point excess in 4,000 rows is noise, a 20-point jump is not."""
    from statistics import NormalDist

    if n <= 0 or k <= 0:
        return 0.0
    z = NormalDist().inv_cdf(confidence)
    p = k / n
    center = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (center - margin) / (1 + z * z / n))


def severity_of(v: Violation, tol: ContractSpec, excess: float = 0.0) -> str:
    """The spec's severity for this column and rule; by default null_rate warns unless the rise is
    large (``excess`` over the bound beyond ``null_rate_block_margin``), and every other rule blocks."""
    given = tol.column_severity.get(v.column, {}).get(v.rule) or tol.severity.get(v.rule)  # type: ignore[call-overload]
    if given:
        return str(given)
    if v.rule == "null_rate":
        return "block" if excess > tol.null_rate_block_margin else "warn"
    return "block"


def kind_of(series: pd.Series) -> str:
    from pandas.api import types

    if types.is_bool_dtype(series.dtype):
        return "boolean"
    if types.is_numeric_dtype(series.dtype):
        return "numeric"
    if types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    return "categorical"


def looks_like_dates(series: pd.Series) -> bool:
    """Text whose values parse as dates (2013-01-02, 1/2/13, Mar-2018): not a category list."""
    import pandas as pd

    values = series.dropna()
    if values.empty or not all(isinstance(v, str) for v in values.head(50)):
        return False
    sample = values.sample(n=min(DATE_SAMPLE, len(values)), random_state=0).astype(str)
    if sample.str.fullmatch(r"\s*[-+]?\d+(\.\d+)?\s*").mean() > 0.5:
        return False  # numbers stored as text are not dates
    if not sample.str.contains(DATE_SHAPE).all():
        return False  # "Monday", "1st", "3rd": words and ordinals, not dates
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.99)


def infer(
    frame: pd.DataFrame, target: str, source: str = "", time: str | None = None, tol: ContractSpec | None = None
) -> Contract:
    """The contract of ``frame``: kinds, null rates, ranges, categories, and (unless the spec's
    ``contract.learn_time`` is false) what a healthy newer batch looks like, measured on the
    reference replayed in time order by ``time``."""
    cols: dict[str, ColumnRule] = {}
    for name in frame.columns:
        s = frame[name]
        kind = kind_of(s)
        rule = ColumnRule(kind=kind, null_rate=round(float(s.isna().mean()), 6))
        rule.nullable = bool(rule.null_rate > 0)
        non_null = s.dropna()
        if kind == "numeric" and len(non_null):
            rule.min, rule.max = float(non_null.min()), float(non_null.max())
        elif kind == "categorical" and looks_like_dates(non_null):
            rule.categories = None  # dates as text: every new batch brings new ones, so no category check
        elif kind == "categorical":
            values = non_null.astype(str).unique()
            rule.categories = sorted(values.tolist()) if len(values) <= MAX_CATEGORIES else None
        cols[str(name)] = rule
    if tol is not None and not tol.learn_time:
        return Contract(columns=cols, target=target, source=source, format=1)
    contract = Contract(columns=cols, target=target, source=source)
    learn_time(contract, frame, time, tol.range_tolerance if tol is not None else 0.1)
    return contract


def learn_time(contract: Contract, frame: pd.DataFrame, time: str | None, range_tolerance: float) -> None:
    """Fill the time-aware fields of ``contract`` from its reference ``frame``. Without a clock only
    Good-Turing novelty and the integer flag are learned: the replay and the trends need one (the
    file order is not)."""
    t = None
    if time and time in frame.columns:
        t = time_days(frame[time])
        if t.notna().sum() == 0:
            t = None
    contract.time = time if t is not None else None
    contract.reference_end = float(t.max()) if t is not None else None
    for name, rule in contract.columns.items():
        if name not in frame.columns:
            continue
        s = frame[name]
        if rule.kind == "categorical" and rule.categories is not None:
            rule.novelty = round(expected_novelty(s, t), 6)
        elif rule.kind == "numeric" and name not in (contract.target, time) and rule.min is not None:
            values = s.dropna().astype(float)
            rule.integer = bool(len(values)) and bool((values % 1 == 0).all())
            if t is None:
                continue
            rule.trend, rule.trend_scale, rule.spread = trend_of(s.astype(float), t)
            if rule.trend is None:
                rule.exceed = round(expected_exceedance(s.astype(float), t, range_tolerance, rule.integer), 6)


def upgrade(contract: Contract, reference: pd.DataFrame, time: str | None, tol: ContractSpec) -> Contract:
    """A contract stored before the time-aware fields (format 1), with only those learned from its
    own ``reference``: ranges and categories are kept as they were."""
    import copy

    out = copy.deepcopy(contract)
    out.format = FORMAT
    learn_time(out, reference, time, tol.range_tolerance)
    return out


def time_days(values: pd.Series) -> pd.Series:
    """A time column as float days since the epoch (UTC): datetimes, date text, or numbers as they are."""
    import pandas as pd
    from pandas.api import types

    if types.is_numeric_dtype(values.dtype) and not types.is_bool_dtype(values.dtype):
        return values.astype(float)
    stamps = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return (stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds() / DAY


def _history(t: pd.Series) -> list[Any]:
    """The index of ``t`` (non-null) cut into HISTORY slices of equal rows, in time order; empty
    when there are too few rows to replay (10 a slice)."""
    import numpy as np

    t = t.dropna()
    if len(t) < HISTORY * 10:
        return []
    order = t.index[np.argsort(t.to_numpy(), kind="stable")]
    return [part for part in np.array_split(order, HISTORY) if len(part)]


def expected_novelty(values: pd.Series, t: pd.Series | None, slices: int = HISTORY) -> float:
    """The share of a healthy batch's rows whose category the contract has not seen: the larger of
    Good-Turing (the share of reference rows whose category appears once) and the reference replayed
    in time order (the largest share of a later-half slice's rows whose category no earlier slice
    showed: new values come in bursts a per-row estimate misses), capped at MAX_SHARE."""
    v = values.dropna().astype(str)
    if v.empty:
        return 0.0
    counts = v.value_counts()
    share = float((counts == 1).sum()) / len(v)
    parts = _history(t.loc[v.index]) if t is not None else []
    seen: set[str] = set()
    for i, part in enumerate(parts):
        current = v.loc[part]
        if i >= len(parts) // 2:
            share = max(share, float((~current.isin(seen)).mean()))
        seen |= set(current)
    return min(MAX_SHARE, share)


def expected_exceedance(values: pd.Series, t: pd.Series, range_tolerance: float, integer: bool) -> float:
    """The reference replayed in time order: the largest share of a later-half slice's rows outside
    the range of every earlier slice, padded as the check pads it. Long tails (a guest's 30th
    booking) keep breaking their old maximum by a few rows; a broken unit moves every row."""
    import numpy as np

    v = values.dropna()
    worst, lo, hi = 0.0, math.inf, -math.inf
    parts = _history(t.loc[v.index])
    for i, part in enumerate(parts):
        current = v.loc[part].to_numpy(dtype=float)
        if i >= len(parts) // 2:
            pad = _pad(lo, hi, range_tolerance, integer)
            worst = max(worst, float(np.mean((current < lo - pad) | (current > hi + pad))))
        lo, hi = min(lo, float(current.min())), max(hi, float(current.max()))
    return min(MAX_SHARE, worst)


def trend_of(
    values: pd.Series, t: pd.Series, min_rho: float = TREND_RHO
) -> tuple[float | None, str | None, float | None]:
    """(change per day, scale, spread) of a column that moves with time (|Spearman| >= ``min_rho``),
    else (None, None, None). A column whose reference values are all positive trends by a growth
    rate (its log regressed on time: prices), any other by a slope (a numeric date). The spread is
    the residuals' standard deviation around the fitted line, in the same units."""
    import numpy as np
    import pandas as pd

    both = pd.DataFrame({"x": values, "t": t}).dropna()
    if len(both) < 40 or both["x"].nunique() < 3 or both["t"].nunique() < 3:
        return None, None, None
    rho = float(both["x"].rank().corr(both["t"].rank()))
    if not math.isfinite(rho) or abs(rho) < min_rho:
        return None, None, None
    scale = "log" if bool((both["x"] > 0).all()) else "linear"
    y = np.log(both["x"]) if scale == "log" else both["x"]
    tc = both["t"] - both["t"].mean()
    slope = float((tc * (y - y.mean())).sum() / (tc * tc).sum())
    if not math.isfinite(slope):
        return None, None, None
    spread = float((y - y.mean() - slope * tc).std())
    return slope, scale, round(spread, 6) if math.isfinite(spread) else None


def _pad(lo: float, hi: float, range_tolerance: float, integer: bool) -> float:
    span = hi - lo
    pad = range_tolerance * (span if span else abs(hi) or 1.0)
    return max(pad, INTEGER_PAD) if integer else pad


def bounds_at(rule: ColumnRule, contract: Contract, t: pd.Series | None, pad: float, n: int) -> tuple[Any, Any]:
    """Per row, the bounds a value may take: the padded reference range, where a trending column's
    bound it moves toward is widened by the trend at the row's own time since the reference's end
    (never narrowed), and past that end by BAND_Z of its reference spread. The clock itself only moves
    forward."""
    import numpy as np

    lo = np.full(n, rule.min - pad if rule.min is not None else -np.inf)
    hi = np.full(n, rule.max + pad if rule.max is not None else np.inf)
    if t is None or contract.reference_end is None:
        return lo, hi
    ahead = np.clip((t - contract.reference_end).fillna(0.0).to_numpy(dtype=float), 0.0, None)
    trend = rule.trend
    if trend is None or rule.min is None or rule.max is None:
        return lo, hi
    band = np.where(ahead > 0, BAND_Z * (rule.spread or 0.0), 0.0)  # past the reference: its swings too
    if rule.trend_scale == "log":
        if trend > 0:
            hi = np.maximum(hi, rule.max * np.exp(trend * ahead + band) + pad)
        else:
            lo = np.minimum(lo, rule.min * np.exp(trend * ahead - band) - pad)
    elif trend > 0:
        hi = hi + trend * ahead + band
    else:
        lo = lo + trend * ahead - band
    return lo, hi


def from_spec(spec_contract: ContractSpec, target: str) -> Contract:
    cols = {}
    for name, c in (spec_contract.columns or {}).items():
        cols[name] = ColumnRule(
            kind=c.kind,
            null_rate=1.0 if c.nullable else 0.0,
            nullable=c.nullable,
            min=c.min,
            max=c.max,
            categories=list(c.categories) if c.categories else None,
        )
    return Contract(columns=cols, target=target, declared=True)


def learn_categories(contract: Contract, accepted: pd.DataFrame) -> Contract:
    """The contract plus the categories an accepted frame brought (within the tolerance)."""
    import copy

    out = copy.deepcopy(contract)
    for name, rule in out.columns.items():
        if rule.kind != "categorical" or rule.categories is None or name not in accepted.columns:
            continue
        new = set(accepted[name].dropna().astype(str).unique()) - set(rule.categories)
        if new and len(rule.categories) + len(new) <= MAX_CATEGORIES:
            rule.categories = sorted(set(rule.categories) | new)
    return out


def check(frame: pd.DataFrame, contract: Contract, tol: ContractSpec) -> list[Violation]:
    """Every violation of ``contract`` in ``frame``; empty when the batch is acceptable."""
    out: list[Violation] = []
    n = max(len(frame), 1)
    k = tol.example_values
    for c in contract.columns:
        if c not in frame.columns:
            out.append(Violation(c, "missing_column", "column is missing from the batch"))
    for c in frame.columns:
        if c not in contract.columns:
            out.append(Violation(str(c), "extra_column", "column is not in the contract", _examples(frame[c], k)))
    t = None
    if contract.time_aware and contract.time and contract.time in frame.columns:
        t = time_days(frame[contract.time]).reset_index(drop=True)
    for name, rule in contract.columns.items():
        if name not in frame.columns:
            continue
        s = frame[name]
        kind = kind_of(s)
        if kind != rule.kind and not (kind == "numeric" and rule.kind == "boolean"):
            out.append(Violation(name, "dtype", f"expected {rule.kind}, got {kind} ({s.dtype})", _examples(s, k)))
            continue
        for column_rule in COLUMN_RULES:
            found = column_rule(name, s, rule, contract, tol, n, t)
            if found is not None:
                out.append(found)
    for v in out:
        if v.rule not in ("null_rate", "unseen_category"):  # those two weigh their own excess
            v.severity = severity_of(v, tol)
    return out


def blocking(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == "block"]


def _null_rate(
    name: str, s: pd.Series, rule: Any, contract: Contract, tol: ContractSpec, n: int, t: pd.Series | None = None
) -> Violation | None:
    return judge_nulls(name, int(s.isna().sum()), n, rule, contract, tol)


def judge_nulls(name: str, nulls: int, n: int, rule: Any, contract: Contract, tol: ContractSpec) -> Violation | None:
    """A column's ``nulls`` in a batch of ``n`` rows against its rule (however they were counted:
    pandas here, Spark aggregates in ``airloop.spark.contract``)."""
    if name == contract.target:
        return None
    rate = nulls / n
    # A declared non-nullable column allows no null; an inferred one allows its reference
    # null rate plus the tolerance, even when that reference rate was zero.
    strict = contract.declared and not rule.nullable
    allowed = 0.0 if strict else (1.0 if contract.declared else rule.null_rate + tol.null_rate_tolerance)
    plausible = rate if strict else wilson_lower(nulls, n, tol.confidence)
    if nulls and plausible > allowed:
        at_least = f"at least {plausible:.2%} at {tol.confidence:.1%} confidence"
        limit = "none allowed" if strict else f"at most {allowed:.2%} ({at_least})"
        v = Violation(name, "null_rate", f"{rate:.2%} nulls ({nulls} rows), {limit}", count=nulls)
        v.severity = severity_of(v, tol, excess=plausible - allowed)
        return v
    return None


def judges_range(name: str, rule: Any, contract: Contract) -> bool:
    """Whether a numeric column's values are judged for range at all."""
    if rule.kind != "numeric" or (rule.min is None and rule.max is None):
        return False
    # the target is what the model learns: a new price level is not a broken batch
    return not (name == contract.target and contract.time_aware)


def fixed_bounds(rule: Any, contract: Contract, tol: ContractSpec) -> tuple[float, float]:
    """The padded range of a contract that does not know time (declared, or stored before)."""
    pad = 0.0
    if not contract.declared and rule.min is not None and rule.max is not None:
        pad = _pad(rule.min, rule.max, tol.range_tolerance, False)
    lo = rule.min - pad if rule.min is not None else float("-inf")
    hi = rule.max + pad if rule.max is not None else float("inf")
    return lo, hi


def _range(
    name: str, s: pd.Series, rule: Any, contract: Contract, tol: ContractSpec, n: int, t: pd.Series | None = None
) -> Violation | None:
    if not judges_range(name, rule, contract):
        return None
    if contract.time_aware:
        return _range_over_time(name, s, rule, contract, tol, n, t)
    lo, hi = fixed_bounds(rule, contract, tol)
    values = s.dropna()
    bad = values[(values < lo) | (values > hi)]
    return judge_range(name, len(bad), n, (lo, hi), _examples(bad, tol.example_values), rule, contract, tol)


def judge_range(
    name: str,
    bad: int,
    n: int,
    shown: tuple[float, float],
    examples: list[Any],
    rule: Any,
    contract: Contract,
    tol: ContractSpec,
) -> Violation | None:
    """``bad`` of ``n`` values outside their bounds (``shown``: the lowest and highest bound) against
    what the contract allows: a fixed share, or (knowing time) the share the replayed reference
    expects, judged like nulls (Wilson, at the batch's n), never below FLOOR."""
    lo, hi = shown
    if not contract.time_aware:
        allowed = 0.0 if contract.declared else tol.out_of_range_tolerance
        if bad and bad / n > allowed:
            return Violation(
                name,
                "range",
                f"{bad} values ({bad / n:.3%}) outside [{lo:.6g}, {hi:.6g}], at most {allowed:.3%} allowed",
                examples,
                bad,
            )
        return None
    allowed = max(tol.out_of_range_tolerance, FLOOR, rule.exceed or 0.0)
    if bad and wilson_lower(bad, n, tol.confidence) > allowed:
        trend = f", bounds moved by its {rule.trend_scale} trend ({rule.trend:+.4g}/day)" if rule.trend else ""
        return Violation(
            name,
            "range",
            f"{bad} values ({bad / n:.3%}) outside [{lo:.6g}, {hi:.6g}]{trend}, at most {allowed:.3%} expected",
            examples,
            bad,
        )
    return None


def _range_over_time(
    name: str, s: pd.Series, rule: Any, contract: Contract, tol: ContractSpec, n: int, t: pd.Series | None
) -> Violation | None:
    """The share of rows outside the bounds at their own time."""
    import numpy as np

    pad = _pad(rule.min, rule.max, tol.range_tolerance, rule.integer) if rule.min is not None else 0.0
    values = s.astype(float).reset_index(drop=True)
    lo, hi = bounds_at(rule, contract, t, pad, len(values))
    if name == contract.time:
        hi = np.full(len(values), np.inf)  # the clock only moves forward
    arr = values.to_numpy()
    mask = ~np.isnan(arr) & ((arr < lo) | (arr > hi))
    bad = int(mask.sum())
    if not bad:
        return None
    shown = (float(np.min(lo)), float(np.max(hi)))
    return judge_range(name, bad, n, shown, _examples(values[mask], tol.example_values), rule, contract, tol)


def _unseen(
    name: str, s: pd.Series, rule: Any, contract: Contract, tol: ContractSpec, n: int, t: pd.Series | None = None
) -> Violation | None:
    if rule.kind != "categorical" or rule.categories is None:
        return None
    values = s.dropna().astype(str)
    unseen = values[~values.isin(set(rule.categories))]
    if not len(unseen):
        return None
    top = list(unseen.value_counts().head(tol.example_values).items())
    return judge_unseen(name, len(unseen), int(unseen.nunique()), n, top, rule, contract, tol)


def judge_unseen(
    name: str,
    unseen: int,
    distinct: int,
    n: int,
    top: list[tuple[Any, int]],
    rule: Any,
    contract: Contract,
    tol: ContractSpec,
) -> Violation | None:
    """``unseen`` of ``n`` rows with a category the contract has not seen (``distinct`` new values,
    ``top`` the most frequent with their counts) against the share it allows or expects."""
    if not unseen:
        return None
    share = unseen / n
    allowed = 0.0 if contract.declared else tol.unseen_category_tolerance
    plausible = share if contract.declared else wilson_lower(unseen, n, tol.confidence)
    word = "allowed"
    if contract.time_aware:
        allowed, word = max(allowed, FLOOR, rule.novelty or 0.0), "expected"
        # rows of one new category come together (a new agent's group): counted in clusters,
        # at most MAX_CLUSTER rows and n / 10 each, so a flood still counts as >= 10 units
        c = max(1.0, min(MAX_CLUSTER, unseen / distinct, n / 10))
        plausible = wilson_lower(round(unseen / c), max(1, round(n / c)), tol.confidence)
    if plausible > allowed:
        v = Violation(
            name,
            "unseen_category",
            f"{unseen} rows ({share:.3%}) with categories never seen, at most {allowed:.3%} {word}",
            [f"{v} ({c})" for v, c in top],
            unseen,
        )
        v.severity = severity_of(v, tol)
        return v
    return None


# Checks of one column whose dtype matches its rule, in report order.
COLUMN_RULES = (_null_rate, _range, _unseen)


def _examples(s: pd.Series, k: int) -> list[Any]:
    vals = s.dropna().drop_duplicates().head(k).tolist()
    return [v.item() if hasattr(v, "item") else (str(v) if not isinstance(v, int | float | str) else v) for v in vals]


def render(batch: str, rows: int, violations: list[Violation]) -> str:
    """A readable report: one line per violation, with the rule and example values."""
    blocks = len(blocking(violations))
    warns = len(violations) - blocks
    lines = [f"{batch} ({rows:,} rows): {blocks} violation(s)" + (f", {warns} warning(s)" if warns else "")]
    width = max((len(v.column) for v in violations), default=0)
    for v in violations:
        ex = f"  e.g. {', '.join(map(str, v.examples))}" if v.examples else ""
        mark = "" if v.severity == "block" else " (warn)"
        lines.append(f"  - {v.column:<{width}}  {v.rule:<16} {v.message}{mark}{ex}")
    return "\n".join(lines)
