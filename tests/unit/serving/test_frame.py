"""The request frame equals what pandas' public constructor makes of the same columns: the model
sees the dtypes and values it was trained on, whatever shortcut builds the frame."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airloop.scoring.frame import _datetimes, to_frame

KINDS = {"n": "numeric", "t": "categorical", "when": "datetime", "code": "categorical", "flag": "boolean"}


def snapshot() -> Any:
    columns = {name: SimpleNamespace(kind=kind) for name, kind in KINDS.items()}
    names = tuple(KINDS)
    return SimpleNamespace(
        feature_names=names, column_index=pd.Index(names, dtype=object), contract=SimpleNamespace(columns=columns)
    )


def public(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The plain way: one array per column into pd.DataFrame, which infers text columns itself."""
    out: dict[str, Any] = {}
    for name, kind in KINDS.items():
        values = [r.get(name) for r in records]
        if kind == "numeric":
            out[name] = np.array([np.nan if v is None else v for v in values], dtype="float64")
        elif kind == "datetime":
            out[name] = _datetimes(values)
        else:
            out[name] = np.array(values, dtype=object)
    return pd.DataFrame(out)


RECORDS = [
    {"n": 1.5, "t": "a", "when": "2013-07-02T10:00:00Z", "code": 7, "flag": True},
    {"n": None, "t": None, "when": None, "code": "x", "flag": None},
    {"n": 3, "t": "ü", "when": "2013-07-02T10:00:00", "code": None, "flag": False},
]


@pytest.mark.parametrize("rows", [slice(0, 1), slice(1, 2), slice(0, 3), slice(2, 3)])
def test_the_request_frame_equals_the_public_constructors(rows: slice) -> None:
    records = RECORDS[rows]
    got, want = to_frame(snapshot(), records), public(records)
    assert list(got.columns) == list(want.columns)
    assert got.dtypes.to_dict() == want.dtypes.to_dict()
    pd.testing.assert_frame_equal(got, want, check_column_type=False)
    assert got.columns.dtype == object  # labels a transform inserts into cheaply


def test_probabilities_are_logged_as_the_json_json_would_write() -> None:
    import json

    from airloop.serving.batcher import _json_lists

    rows = [[0.242237, 0.757763], [1.0, 0.0], [1e-07, 0.9999999], [-0.0, 1.0]]
    assert _json_lists(rows) == [json.dumps(r) for r in rows]
    odd = [[float("nan"), 1.0], [0.5, 0.5]]  # not finite: json's own spelling
    assert _json_lists(odd) == [json.dumps(r) for r in odd]
