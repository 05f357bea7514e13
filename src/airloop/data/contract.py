"""The data contract: inferred from reference data or declared, then checked on every batch.

A contract is plain JSON (stored in the workspace and with every model version). Checking is
vectorised pandas; a violation carries the column, the rule, a message and example values.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from airloop.spec.models import Contract as ContractSpec

# Above this many distinct values a text column is treated as free text: no category check.
MAX_CATEGORIES = 1000
DATE_SAMPLE = 200
# two numbers with a separator (2013-01-02, 1/2/13, 10:30) or a month name beside a year (Mar-2018)
DATE_SHAPE = r"\d{1,4}[-/.: T]\d{1,2}|[A-Za-z]{3,}\W?\d{4}|\d{4}\W?[A-Za-z]{3,}"


@dataclass
class ColumnRule:
    kind: str  # numeric | categorical | boolean | datetime
    null_rate: float = 0.0
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None


@dataclass
class Contract:
    columns: dict[str, ColumnRule]
    target: str
    declared: bool = False  # declared bounds are exact: no tolerance applies
    source: str = ""  # fingerprint of the data it was inferred from
    # the batches (file name, rows) it was inferred from: its reference, never judged against it
    reference_batches: list[list[Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Contract:
        raw = json.loads(text)
        cols = {name: ColumnRule(**rule) for name, rule in raw.pop("columns").items()}
        return cls(columns=cols, **raw)

    def feature_columns(self) -> list[str]:
        return [c for c in self.columns if c != self.target]

    def only(self, names: list[str]) -> Contract:
        """The same contract restricted to ``names`` (a stored contract may know columns no longer judged)."""
        keep = set(names)
        cols = {c: r for c, r in self.columns.items() if c in keep}
        return Contract(cols, self.target, self.declared, self.source, list(self.reference_batches))

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


def infer(frame: pd.DataFrame, target: str, source: str = "") -> Contract:
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
    return Contract(columns=cols, target=target, source=source)


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
    for name, rule in contract.columns.items():
        if name not in frame.columns:
            continue
        s = frame[name]
        kind = kind_of(s)
        if kind != rule.kind and not (kind == "numeric" and rule.kind == "boolean"):
            out.append(Violation(name, "dtype", f"expected {rule.kind}, got {kind} ({s.dtype})", _examples(s, k)))
            continue
        for column_rule in COLUMN_RULES:
            found = column_rule(name, s, rule, contract, tol, n)
            if found is not None:
                out.append(found)
    for v in out:
        if v.rule not in ("null_rate", "unseen_category"):  # those two weigh their own excess
            v.severity = severity_of(v, tol)
    return out


def blocking(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == "block"]


def _null_rate(name: str, s: pd.Series, rule: Any, contract: Contract, tol: ContractSpec, n: int) -> Violation | None:
    if name == contract.target:
        return None
    nulls = int(s.isna().sum())
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


def _range(name: str, s: pd.Series, rule: Any, contract: Contract, tol: ContractSpec, n: int) -> Violation | None:
    if rule.kind != "numeric" or (rule.min is None and rule.max is None):
        return None
    pad = 0.0
    if not contract.declared and rule.min is not None and rule.max is not None:
        span = rule.max - rule.min
        pad = tol.range_tolerance * (span if span else abs(rule.max) or 1.0)
    lo = rule.min - pad if rule.min is not None else float("-inf")
    hi = rule.max + pad if rule.max is not None else float("inf")
    values = s.dropna()
    bad = values[(values < lo) | (values > hi)]
    allowed = 0.0 if contract.declared else tol.out_of_range_tolerance
    if len(bad) and len(bad) / n > allowed:
        return Violation(
            name,
            "range",
            f"{len(bad)} values ({len(bad) / n:.3%}) outside [{lo:.6g}, {hi:.6g}], at most {allowed:.3%} allowed",
            _examples(bad, tol.example_values),
            len(bad),
        )
    return None


def _unseen(name: str, s: pd.Series, rule: Any, contract: Contract, tol: ContractSpec, n: int) -> Violation | None:
    if rule.kind != "categorical" or rule.categories is None:
        return None
    values = s.dropna().astype(str)
    unseen = values[~values.isin(set(rule.categories))]
    share = len(unseen) / n
    allowed = 0.0 if contract.declared else tol.unseen_category_tolerance
    plausible = share if contract.declared else wilson_lower(len(unseen), n, tol.confidence)
    if len(unseen) and plausible > allowed:
        counts = unseen.value_counts().head(tol.example_values)
        v = Violation(
            name,
            "unseen_category",
            f"{len(unseen)} rows ({share:.3%}) with categories never seen, at most {allowed:.3%} allowed",
            [f"{v} ({c})" for v, c in counts.items()],
            len(unseen),
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
