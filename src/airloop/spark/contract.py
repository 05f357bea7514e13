"""The data contract on Spark: a batch's counts per column (nulls, values outside their bounds at
their own time, unseen categories) as one aggregate, judged by the same functions that judge a
pandas batch (``airloop.data.contract.judge_*``). Only counts and a few example values reach the
driver, never the rows."""

from __future__ import annotations

from typing import Any

from airloop.data import contract as dc

INF = float("inf")


def kind_of(dtype: Any) -> str:
    """A Spark type as the contract's kind (as pandas would see the column after ``toPandas``)."""
    from pyspark.sql import types as T

    if isinstance(dtype, T.BooleanType):
        return "boolean"
    if isinstance(dtype, T.NumericType):
        return "numeric"
    if isinstance(dtype, T.TimestampType | T.TimestampNTZType | T.DateType):
        return "datetime"
    return "categorical"


def _col(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col(f"`{name}`")


def _missing(name: str, kind: str) -> Any:
    from pyspark.sql import functions as F

    c = _col(name)
    return (c.isNull() | F.isnan(c.cast("double"))) if kind == "numeric" else c.isNull()


def missing(frame: Any, name: str) -> Any:
    """Whether a row's value is missing, as pandas' ``isna`` sees it (NaN included)."""
    return _missing(name, kind_of(frame.schema[name].dataType))


def time_days(frame: Any, name: str) -> Any:
    """The clock as float days since the epoch (UTC), as ``contract.time_days`` reads it in pandas."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    dtype = frame.schema[name].dataType
    c = _col(name)
    if isinstance(dtype, T.NumericType) and not isinstance(dtype, T.BooleanType):
        return c.cast("double")
    stamp = c.cast("timestamp") if isinstance(dtype, T.DateType | T.TimestampNTZType) else c
    if isinstance(dtype, T.StringType):
        stamp = F.to_timestamp(c)
    return F.unix_micros(stamp).cast("double") / 86_400_000_000.0


def bounds(rule: Any, contract: dc.Contract, tol: Any, t: Any, name: str) -> tuple[Any, Any]:
    """``contract.bounds_at`` as column expressions: the padded range, a trending side widened by
    the trend at the row's own time since the reference's end, and by its band past it."""
    from pyspark.sql import functions as F

    if not contract.time_aware:
        fixed = dc.fixed_bounds(rule, contract, tol)
        return F.lit(fixed[0]), F.lit(fixed[1])
    pad = dc._pad(rule.min, rule.max, tol.range_tolerance, rule.integer) if rule.min is not None else 0.0
    lo: Any = F.lit(rule.min - pad if rule.min is not None else -INF)
    hi: Any = F.lit(rule.max + pad if rule.max is not None else INF)
    trend = rule.trend
    if t is not None and contract.reference_end is not None and trend is not None and None not in (rule.min, rule.max):
        ahead = F.greatest(F.coalesce(t - F.lit(contract.reference_end), F.lit(0.0)), F.lit(0.0))
        band = F.when(ahead > 0, F.lit(dc.BAND_Z * (rule.spread or 0.0))).otherwise(F.lit(0.0))
        if rule.trend_scale == "log":
            if trend > 0:
                hi = F.greatest(hi, F.lit(rule.max) * F.exp(F.lit(trend) * ahead + band) + F.lit(pad))
            else:
                lo = F.least(lo, F.lit(rule.min) * F.exp(F.lit(trend) * ahead - band) - F.lit(pad))
        elif trend > 0:
            hi = hi + F.lit(trend) * ahead + band
        else:
            lo = lo + F.lit(trend) * ahead - band
    if name == contract.time:
        hi = F.lit(INF)  # the clock only moves forward
    return lo, hi


def check(frame: Any, contract: dc.Contract, tol: Any) -> tuple[int, list[dc.Violation]]:
    """(rows, every violation of ``contract`` in ``frame``), in ``contract.check``'s order."""

    out: list[dc.Violation] = []
    columns = list(frame.columns)
    kinds = {f.name: kind_of(f.dataType) for f in frame.schema.fields}
    k = tol.example_values
    for c in contract.columns:
        if c not in kinds:
            out.append(dc.Violation(c, "missing_column", "column is missing from the batch"))
    for c in columns:
        if c not in contract.columns:
            out.append(dc.Violation(c, "extra_column", "column is not in the contract", _examples(frame, c, None, k)))
    aggs, judged = _aggregates(frame, contract, tol, kinds)
    row = frame.agg(*aggs).first()
    n = int(row[0])
    for name, rule in contract.columns.items():
        if name not in judged:
            continue
        parts = judged[name]
        if "dtype" in parts:
            dtype = frame.schema[name].dataType.simpleString()
            message = f"expected {rule.kind}, got {parts['dtype']} ({dtype})"
            out.append(dc.Violation(name, "dtype", message, _examples(frame, name, None, k)))
            continue
        found = [dc.judge_nulls(name, int(row[parts["nulls"]] or 0), max(n, 1), rule, contract, tol)]
        if "bad" in parts and row[parts["bad"]]:
            bad = int(row[parts["bad"]])
            shown = (float(row[parts["lo"]]), float(row[parts["hi"]]))
            examples = _examples(frame, name, parts["outside"], k)
            found.append(dc.judge_range(name, bad, max(n, 1), shown, examples, rule, contract, tol))
        if "unseen" in parts and row[parts["unseen"]]:
            unseen, distinct = int(row[parts["unseen"]]), int(row[parts["distinct"]])
            top = _top(frame, name, parts["new"], k)
            found.append(dc.judge_unseen(name, unseen, distinct, max(n, 1), top, rule, contract, tol))
        out += [v for v in found if v is not None]
    for v in out:
        if v.rule not in ("null_rate", "unseen_category"):
            v.severity = dc.severity_of(v, tol)
    return n, out


def _aggregates(
    frame: Any, contract: dc.Contract, tol: Any, kinds: dict[str, str]
) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """The one aggregate of a check, and per column where its counts sit in the result row."""
    from pyspark.sql import functions as F

    t = None
    if contract.time_aware and contract.time and contract.time in kinds:
        t = time_days(frame, contract.time)
    aggs = [F.count(F.lit(1)).alias("__n")]
    judged: dict[str, dict[str, Any]] = {}
    for name, rule in contract.columns.items():
        if name not in kinds:
            continue
        kind = kinds[name]
        if kind != rule.kind and not (kind == "numeric" and rule.kind == "boolean"):
            judged[name] = {"dtype": kind}
            continue
        parts: dict[str, Any] = {"nulls": len(aggs)}
        aggs.append(F.sum(_missing(name, kind).cast("long")))
        if dc.judges_range(name, rule, contract):
            v = _col(name).cast("double")
            lo, hi = bounds(rule, contract, tol, t, name)
            outside = v.isNotNull() & ~F.isnan(v) & ((v < lo) | (v > hi))
            parts.update(bad=len(aggs), outside=outside, lo=len(aggs) + 1, hi=len(aggs) + 2)
            aggs += [F.sum(outside.cast("long")), F.min(lo), F.max(hi)]
        if rule.kind == "categorical" and rule.categories is not None:
            text = _col(name).cast("string")
            new = text.isNotNull() & ~text.isin(list(rule.categories))
            parts.update(unseen=len(aggs), distinct=len(aggs) + 1, new=new)
            aggs += [F.sum(new.cast("long")), F.count_distinct(F.when(new, text))]
        judged[name] = parts
    return aggs, judged


def _examples(frame: Any, name: str, where: Any, k: int) -> list[Any]:
    rows = frame.select(_col(name)) if where is None else frame.where(where).select(_col(name))
    values = [r[0] for r in rows.dropna().distinct().limit(k).collect()]
    return [v if isinstance(v, int | float | str) else str(v) for v in values]


def _top(frame: Any, name: str, where: Any, k: int) -> list[tuple[Any, int]]:
    from pyspark.sql import functions as F

    text = _col(name).cast("string").alias("v")
    rows = frame.where(where).groupBy(text).count().orderBy(F.desc("count"), "v").limit(k).collect()
    return [(r["v"], int(r["count"])) for r in rows]


def infer(frame: Any, sample: Any, target: str, source: str, time: str | None, tol: Any) -> dc.Contract:
    """The contract of the whole table: kinds, null rates, ranges and categories from aggregates over
    every row; what a healthy newer batch looks like (novelty, trends, exceedance) from ``sample``,
    the rows the candidates train on, replayed in time order as ``contract.infer`` does."""
    from pyspark.sql import functions as F

    contract = dc.infer(sample, target, source=source, time=time, tol=tol)
    kinds = {f.name: kind_of(f.dataType) for f in frame.schema.fields}
    names = [c for c in contract.columns if c in kinds]
    aggs = [F.count(F.lit(1))]
    for c in names:
        aggs.append(F.sum(_missing(c, kinds[c]).cast("long")))
        numeric = kinds[c] == "numeric" and contract.columns[c].kind == "numeric"
        x = _col(c).cast("double")
        value = F.when(~F.isnan(x), x)  # Spark orders NaN above every number; pandas skips it
        aggs += [F.min(value), F.max(value)] if numeric else [F.lit(None), F.lit(None)]
    row = frame.agg(*aggs).first()
    n = max(int(row[0]), 1)
    for i, c in enumerate(names):
        rule = contract.columns[c]
        rule.null_rate = round(int(row[1 + 3 * i] or 0) / n, 6)
        rule.nullable = bool(rule.null_rate > 0)
        if row[2 + 3 * i] is not None and rule.kind == "numeric":
            rule.min, rule.max = float(row[2 + 3 * i]), float(row[3 + 3 * i])
        if rule.categories is not None:  # the sample's are a subset: every value of the table, or none
            values = frame.select(_col(c).cast("string")).dropna().distinct().limit(dc.MAX_CATEGORIES + 1).collect()
            rule.categories = sorted(r[0] for r in values) if len(values) <= dc.MAX_CATEGORIES else None
    if contract.time and contract.time in kinds:
        end = frame.agg(F.max(time_days(frame, contract.time))).first()[0]
        contract.reference_end = float(end) if end is not None else contract.reference_end
    return contract
