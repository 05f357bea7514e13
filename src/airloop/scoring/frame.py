"""Records to answers: the request frame the model was trained on, and one pass through its pipeline.

The server, its shadow and the smoke test (``scoring.smoke``) answer through these same functions,
so a version that passed the smoke test answered exactly the way it will answer requests.
``snap`` is anything with ``model``, ``task``, ``contract``, ``feature_names`` and ``column_index``
(the server's ``Snapshot``, the smoke test's ``Target``).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from airloop_runtime.transform import UserTransform


class ContractColumns:
    """The request frame's columns of anything that holds a model's ``contract`` (the server's
    ``Snapshot``, the smoke test's ``Loaded``): computed once per loaded version."""

    contract: Any

    @functools.cached_property
    def feature_names(self) -> tuple[str, ...]:
        """The contract's features, in the order of the request frame and of the log's rows."""
        return tuple(self.contract.feature_columns())

    @functools.cached_property
    def column_index(self) -> Any:
        """The request frame's column labels, one Index shared by every frame."""
        import pandas as pd

        return pd.Index(self.feature_names, dtype=object)


def to_frame(snap: Any, records: list[dict[str, Any]]) -> Any:
    """Validated records as the frame the model was trained on: the columns, dtypes and values the
    public ``pd.DataFrame({name: array})`` gives (a test holds them equal), built in half its time."""
    import numpy as np
    import pandas as pd

    text = _text_dtype()
    arrays: list[Any] = []
    for col in snap.feature_names:
        values = [rec.get(col) for rec in records]
        kind = snap.contract.columns[col].kind
        if kind == "numeric":
            arrays.append(np.array([np.nan if v is None else v for v in values], dtype="float64"))
        elif kind == "datetime":
            arrays.append(_datetimes(values))
        elif text is not None and any(isinstance(v, str) for v in values) and all(_text_or_none(v) for v in values):
            arrays.append(pd.array(values, dtype=text))  # what pandas infers for strings, without inferring
        else:
            arrays.append(np.array(values, dtype=object))
    # the constructor checks and infers each column again (~0.1 ms of a single-record request);
    # these arrays are already what it would make. Column labels are plain objects: a transform
    # that adds columns inserts into this index on every request, ~0.1 ms more with Arrow strings
    build = getattr(pd.DataFrame, "_from_arrays", None)
    if build is None or text is None:
        return pd.DataFrame(dict(zip(snap.column_index, arrays, strict=True)), columns=snap.column_index, copy=False)
    return build(arrays, snap.column_index, pd.RangeIndex(len(records)), verify_integrity=False)


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


@functools.cache
def _text_dtype() -> Any:
    """The dtype pandas gives a column of Python strings (pandas 3: Arrow-backed ``str``), or None."""
    import numpy as np
    import pandas as pd

    dtype = pd.DataFrame({"x": np.array(["a"], dtype=object)})["x"].dtype
    return dtype if isinstance(dtype, pd.StringDtype) else None


def _datetimes(values: list[Any]) -> Any:
    """Times (ISO-8601 text or epoch seconds, see ``parse_time``) as naive UTC datetime64, how the
    training data held them."""
    import numpy as np

    out = np.empty(len(values), dtype="datetime64[us]")
    for i, v in enumerate(values):
        out[i] = np.datetime64("NaT") if v is None else np.datetime64(parse_time(v), "us")
    return out


def parse_time(value: Any) -> datetime:
    """A time feature's value as naive UTC: ISO-8601 text ("2013-07-02T10:00:00Z", an offset, or
    none: then it is taken as UTC already) or a number of seconds since 1970-01-01 UTC. Raises
    ValueError (or TypeError) for anything else; request validation calls it too, so that the
    frame is only ever built from values that parse."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            dt = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError) as exc:  # outside the years 1-9999 (or NaN)
            raise ValueError(f"{value!r} seconds is not a time between the years 1 and 9999") from exc
    else:
        raise TypeError(f"a time is ISO-8601 text or epoch seconds, not {type(value).__name__}")
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo is not None else dt


def predict(snap: Any, records: list[dict[str, Any]]) -> tuple[list[Any], list[list[float]] | None]:
    """The answers as JSON takes them: probabilities rounded to 6 decimals."""
    preds, proba = answers(snap, records)
    return preds.tolist(), None if proba is None else proba.round(6).tolist()


def answers(snap: Any, records: list[dict[str, Any]]) -> tuple[Any, Any]:
    """(predictions, class probabilities or None) as arrays, unrounded: what ``airloop score`` writes."""
    frame = to_frame(snap, records)
    model = snap.model
    if snap.task != "regression" and hasattr(model, "predict_proba"):
        proba = _through_pipeline(model, frame, "predict_proba")
        # one pass through the pipeline: the predicted class is the most probable one
        return model.classes_[proba.argmax(axis=1)], proba
    return _through_pipeline(model, frame, "predict"), None


def _through_pipeline(model: Any, frame: Any, method: str) -> Any:
    """Pipeline.predict_proba without its per-call routing and validation (~0.5 ms a request)."""
    steps = getattr(model, "steps", None)
    if not steps:
        return getattr(model, method)(frame)
    data = frame
    for _, step in steps[:-1]:
        if isinstance(step, UserTransform):  # the request's frame is this call's own: no defensive copy
            data = step.transform(data, copy=False)
        elif step is not None and step != "passthrough":
            data = step.transform(data)
    return getattr(steps[-1][1], method)(data)
