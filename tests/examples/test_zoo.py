"""The zoo's representative subset, one set per label type: `airloop init` then the train DAG,
unedited, to a champion whose labels keep the data's own type (bench/zoo runs all of them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ZOO = Path(__file__).parents[2] / "bench" / "zoo"
sys.path.insert(0, str(ZOO))

from run import run_set  # noqa: E402
from sets import BY_KEY, TEST_SUBSET  # noqa: E402

pytestmark = pytest.mark.integration

LABEL_TYPES = {"titanic": str, "penguins_raw": str, "mroz": bool, "birthwt": int}


@pytest.mark.parametrize("key", TEST_SUBSET)
def test_init_then_run_reaches_a_champion(tmp_path: Path, key: str) -> None:
    row = run_set(BY_KEY[key], tmp_path)
    assert "error" not in row, row.get("error")
    assert row["champion"] is not None, row["gate"]
    classes = row["labels"]["classes"]
    assert all(type(c) is LABEL_TYPES[key] for c in classes), classes
    if row["task"] == "binary":
        assert row["labels"]["positive"] in classes
    assert row["init"]["numeric"] + row["init"]["categorical"] > 0
    assert row["baseline"] > 0
