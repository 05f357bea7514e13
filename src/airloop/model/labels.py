"""Class labels as the user's data has them, and the one positive class of a binary task.

Labels may be strings, booleans, integers or categoricals: training sees them normalised to plain
Python-typed values (so a served prediction is "YES", not ``np.str_`` or ``1.0``), and every
binary metric, the gate, the monitor and the serving answer use the positive class chosen here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airloop.errors import UnusableData

if TYPE_CHECKING:
    import pandas as pd

# label values that read as "the positive answer", compared lower-cased
POSITIVE_WORDS = ("true", "1", "yes", "y", "positive", "pos", "t")


@dataclass(frozen=True)
class Labels:
    """The classes of a classification target (sorted as scikit-learn sorts them) and the positive one."""

    classes: list[Any]
    positive: Any = None  # binary only
    reason: str = ""  # why this positive class, for the run summary

    @property
    def positive_index(self) -> int:
        return self.classes.index(self.positive) if self.positive is not None else len(self.classes) - 1

    def to_dict(self) -> dict[str, Any]:
        return {"classes": self.classes, "positive": self.positive, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Labels | None:
        return cls(list(data["classes"]), data.get("positive"), data.get("reason", "")) if data else None


def normalize(y: pd.Series, task: str) -> pd.Series:
    """Labels as one plain type: categoricals by value, integral floats as int, text as str."""
    from pandas.api import types

    if task == "regression":
        return y
    if isinstance(y.dtype, types.CategoricalDtype):
        y = y.astype(y.cat.categories.dtype if len(y.cat.categories) else object)
    present = y.dropna()
    if types.is_bool_dtype(y.dtype) or (len(present) and all(isinstance(v, bool) for v in present.head(1000))):
        return y.astype(bool) if not y.isna().any() else y.astype(object)
    if types.is_integer_dtype(y.dtype) or (types.is_float_dtype(y.dtype) and (present % 1 == 0).all()):
        # a nullable Int64 or integral float column would make the model's classes_ floats (0.0, 1.0)
        return y.astype("int64") if not y.isna().any() else y
    if types.is_string_dtype(y.dtype) or y.dtype == object:
        return y.map(lambda v: v if v is None or v != v else str(v)).astype(object)
    return y


def infer(y: pd.Series, task: str, declared: Any = None, target: str = "target") -> Labels | None:
    """The classes of ``y`` and, for a binary task, its positive class; a clear error when unusable."""
    if task == "regression":
        return None
    y = normalize(y.dropna(), task)
    counts = y.value_counts()
    classes = sorted(counts.index.tolist(), key=_sort_key)
    classes = [plain(c) for c in classes]
    if len(classes) < 2:
        raise UnusableData(
            f"target `{target}` holds a single class ({_show(classes)}): there is nothing to learn",
            hint="check data.target and the data range, or choose another target",
        )
    if task == "multiclass":
        return Labels(classes)
    if len(classes) > 2:
        raise UnusableData(
            f"task is binary but target `{target}` has {len(classes)} classes: {_show(classes)}",
            hint="set task: multiclass, or map the target to two classes in the data",
        )
    if declared is not None:
        match = match_class(declared, classes)
        if match is None:
            raise UnusableData(
                f"data.positive_class {declared!r} is not among the labels of `{target}`: {_show(classes)}",
                hint=f"set data.positive_class to one of {_show(classes)}",
                where=("data", "positive_class"),
            )
        return Labels(classes, match, "declared in the spec (data.positive_class)")
    words = [c for c in classes if str(c).strip().lower() in POSITIVE_WORDS]
    if len(words) == 1:
        return Labels(classes, words[0], f"{words[0]!r} reads as the positive answer")
    share = {c: counts[c] / counts.sum() for c in counts.index}
    minority = min(classes, key=lambda c: (share[c], -classes.index(c)))
    return Labels(
        classes,
        minority,
        f"{minority!r} is the minority class ({100 * share[minority]:.1f}% of rows); "
        "set data.positive_class to choose another",
    )


def match_class(value: Any, classes: list[Any]) -> Any:
    """The class ``value`` names: equal, equal as text, or equal ignoring case (YAML reads yes as True)."""
    for c in classes:
        if c == value and type(c) is type(value):
            return c
    text = str(value).strip().lower()
    same = [c for c in classes if str(c).strip().lower() == text]
    if len(same) == 1:
        return same[0]
    if isinstance(value, bool):
        words = ("true", "yes", "y", "1", "t") if value else ("false", "no", "n", "0", "f")
        same = [c for c in classes if str(c).strip().lower() in words]
        if len(same) == 1:
            return same[0]
    return None


def coerce(values: list[Any], classes: list[Any]) -> list[Any]:
    """Labels posted back (JSON, CSV) as the model's classes: "1" -> 1, "yes" -> "YES" when unambiguous."""
    lookup = {str(c).strip().lower(): c for c in classes}
    out = []
    for v in values:
        if any(v == c and type(v) is type(c) for c in classes):
            out.append(v)
        else:
            out.append(lookup.get(str(v).strip().lower(), v))
    return out


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds."""
    return value.item() if hasattr(value, "item") else value


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float, bool)) else (1, str(value))


def _show(classes: list[Any], limit: int = 8) -> str:
    shown = ", ".join(repr(c) for c in classes[:limit])
    return shown + (f" ... ({len(classes)} in all)" if len(classes) > limit else "")
