"""A chunk's records judged column by column before record by record: the rows a typed Arrow
column shows to be certainly valid skip pydantic; every other row is judged by the server's own
record model (``serving.schema.judge``), so refusals and their wording are the server's.

The screen is conservative: a row it calls clean is one the record model accepts (a test judges
random chunks both ways). A column it cannot read with certainty (text read from CSV, text
booleans, dates that are not Arrow timestamps, decimals, nested values) makes every row of the chunk
a suspect, which costs only time. On 1M Parquet rows x 15 features it takes ~0.2 s where pydantic
took ~10 s (bench/results/score.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airloop.serving.schema import ENTITY, Judged, RecordShape, judge


@dataclass(frozen=True)
class _Rule:
    kind: str  # numeric | boolean | datetime | category | text | entity | scalar
    nullable: bool = True
    categories: frozenset[str] | None = None  # a closed set (serving.unknown_categories: reject)


@dataclass(frozen=True)
class Screen:
    rules: dict[str, _Rule]

    @classmethod
    def of(cls, contract: Any, unknown: str, shape: RecordShape) -> Screen:
        """The record model's rules (``serving.schema.record_model``), column by column."""
        rules: dict[str, _Rule] = {}
        for col in contract.feature_columns():
            rule = contract.columns[col]
            if rule.kind in ("numeric", "boolean", "datetime"):
                rules[col] = _Rule(rule.kind, rule.nullable)
            elif rule.categories and unknown == "reject":
                rules[col] = _Rule("category", rule.nullable, frozenset(rule.categories))
            else:
                rules[col] = _Rule("text", rule.nullable)
        for col in (ENTITY, shape.entity):
            rules.setdefault(col, _Rule("entity"))
        for col in shape.passthrough:
            rules.setdefault(col, _Rule("scalar"))
        return cls(rules)

    def clean(self, table: Any) -> Any:
        """Per row of ``table`` (the chunk as read; NaN in a numeric feature is missing): True where
        the record model certainly accepts the record, or None when no row can be told apart."""
        import numpy as np
        import pyarrow.compute as pc

        ok = np.ones(table.num_rows, dtype=bool)
        for name in table.column_names:
            rule = self.rules.get(name)
            if rule is None:  # a column the record does not name: the record model decides
                return None
            column = table.column(name)
            valid = _valid(rule, column)
            if valid is None:
                return None
            missing = column.is_null()
            if rule.kind == "numeric" and _floating(column.type):
                missing = pc.or_(missing, pc.fill_null(pc.is_nan(column), False))  # as the record reads it
            if not rule.nullable:
                valid = pc.and_(valid, pc.invert(missing))
            ok &= (pc.or_(missing, valid) if rule.nullable else valid).to_numpy(zero_copy_only=False)
        return ok


def _floating(tp: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_floating(tp))


def _valid(rule: _Rule, column: Any) -> Any:
    """A boolean Arrow array: the non-null values this rule certainly accepts (nulls are judged by
    the caller); None when the column's type leaves any doubt."""
    import pyarrow as pa
    import pyarrow.compute as pc

    tp = column.type
    text = pa.types.is_string(tp) or pa.types.is_large_string(tp)
    integer = pa.types.is_integer(tp)
    if rule.kind == "numeric":  # StrictFloat | StrictInt, finite; NaN is missing
        if integer:
            return pc.is_valid(column)
        return pc.fill_null(pc.is_finite(column), True) if _floating(tp) else None
    if rule.kind == "boolean":
        return pc.is_valid(column) if pa.types.is_boolean(tp) else None
    if rule.kind == "datetime":  # the parser takes a datetime as it is
        return pc.is_valid(column) if pa.types.is_timestamp(tp) else None
    if rule.kind == "category":
        return pc.fill_null(pc.is_in(column, value_set=pa.array(sorted(rule.categories or ()))), True) if text else None
    if rule.kind == "text":
        return pc.is_valid(column) if text else None
    if rule.kind == "entity":  # StrictStr | StrictInt
        return pc.is_valid(column) if text or integer else None
    # a passthrough scalar: text, whole numbers, booleans, finite floats
    if text or integer or pa.types.is_boolean(tp):
        return pc.is_valid(column)
    return pc.fill_null(pc.is_finite(column), True) if _floating(tp) else None


def judged(check: Any, screen: Screen, table: Any, records: list[dict[str, Any]]) -> Judged:
    """``serving.schema.judge`` of ``records`` (the rows of ``table``), with the rows the screen
    calls clean accepted without it."""
    import numpy as np

    clean = screen.clean(table)
    if clean is None:
        return judge(check, {"records": records})
    suspects = np.flatnonzero(~clean).tolist()
    if not suspects:
        return Judged(None, [])
    verdict = judge(check, {"records": [records[i] for i in suspects]})
    if verdict.positions is None:
        return Judged(None, [])
    refused = [{**r, "index": suspects[r["index"]]} for r in verdict.refused]
    out = {suspects[i] for i in {r["index"] for r in verdict.refused}}
    return Judged([i for i in range(len(records)) if i not in out], refused, verdict.error)
