"""A contract stored before it knew time (format 1) is upgraded from the reference files it names."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from airloop.data import contract as dc
from airloop.spec.models import Contract as ContractSpec
from airloop.spec.models import Spec
from airloop.steps.validate import upgraded


def ctx(learn_time: bool = True) -> Any:
    spec = Spec.model_validate(
        {
            "name": "demo",
            "task": "regression",
            "data": {"source": {"path": "data/*.csv"}, "target": "y"},
            "split": {"method": "time", "column": "ts"},
            "contract": {"learn_time": learn_time},
            "candidates": [{"name": "lr", "estimator": "sklearn.linear_model.LinearRegression"}],
        }
    )
    return SimpleNamespace(loaded=SimpleNamespace(spec=spec))


def reference() -> pd.DataFrame:
    day = np.repeat(np.arange(100), 4)
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, unit="D"),
            "level": 10 + 0.1 * day + rng.normal(0, 0.2, len(day)),
            "c": [f"v{d // 3}" for d in day],  # a new value every third day
            "y": rng.normal(size=len(day)),
        }
    )


def stored_before(frame: pd.DataFrame) -> dc.Contract:
    """The contract as airloop stored it before: no time-aware keys in its JSON."""
    contract = dc.infer(frame, "y", tol=ContractSpec(learn_time=False))
    contract.reference_batches = [["data/a.csv", 200], ["data/b.csv", 200]]
    raw = json.loads(contract.to_json())
    raw.pop("format")
    return dc.Contract.from_json(json.dumps(raw))


BATCHES = [{"name": "data/a.csv", "rows": 200}, {"name": "data/b.csv", "rows": 200}, {"name": "data/c.csv", "rows": 3}]


def test_a_format_1_contract_learns_time_from_its_reference_files() -> None:
    frame = reference()
    old = stored_before(frame)
    parts = [frame.iloc[:200], frame.iloc[200:], frame.iloc[:3]]

    new, origin = upgraded(ctx(), old, "inferred earlier (contract.json)", parts, BATCHES)

    assert "upgraded" in origin
    assert (new.format, new.time) == (dc.FORMAT, "ts")
    assert new.columns["level"].trend is not None
    assert new.columns["c"].novelty > 0
    # ranges and categories are kept as stored
    assert (new.columns["level"].min, new.columns["level"].max) == (old.columns["level"].min, old.columns["level"].max)
    assert new.columns["c"].categories == old.columns["c"].categories
    assert old.format == 1  # the stored one is not changed in place


def test_without_its_reference_files_it_is_kept_and_the_report_says_so() -> None:
    frame = reference()
    old = stored_before(frame)

    new, origin = upgraded(ctx(), old, "inferred earlier", [frame.iloc[200:]], BATCHES[1:2])

    assert new is old
    assert "judged as before" in origin
    assert "delete the contract file" in origin


def test_learn_time_false_keeps_it_as_stored() -> None:
    frame = reference()
    old = stored_before(frame)
    parts = [frame.iloc[:200], frame.iloc[200:], frame.iloc[:3]]
    assert upgraded(ctx(learn_time=False), old, "x", parts, BATCHES) == (old, "x")
