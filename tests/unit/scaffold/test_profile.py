"""`airloop init`'s decisions: the task from the target, which columns the model uses, and why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airloop.scaffold.profile import InitError, column_kind, infer_task, plausible_targets, profile


def _frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "when": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "name": [f"person {i}" for i in range(n)],
            "country": rng.choice(["fr", "de", "it"], n),
            "constant": "same",
            "empty": [None] * n,
            "class": rng.choice(["1st", "2nd", "3rd"], n),
            "x": rng.normal(size=n),
            "answer": rng.choice(["YES", "NO"], n),
        }
    )


def test_roles_and_reasons() -> None:
    p = profile(_frame(), "answer")
    assert p.task == "binary"
    use = {c.name: (c.use, c.reason) for c in p.columns}
    assert use["id"][0] == "exclude"
    assert "id-like" in use["id"][1]
    assert "free text" in use["name"][1]
    assert use["constant"] == ("exclude", "constant: one value ('same')")
    assert use["empty"][0] == "exclude"
    assert use["when"][0] == "time"
    assert p.time is not None
    assert p.time.name == "when"
    assert p.used("numeric") == ["x"]
    assert p.used("categorical") == ["country", "class"]  # "1st", "2nd" are not dates


def test_date_text_is_told_from_ordinals_numbers_and_words() -> None:
    assert column_kind(pd.Series(["2013-01-02", "2013-02-03"])) == "date_text"
    assert column_kind(pd.Series(["Mar-2018", "Apr-2018"])) == "date_text"
    assert column_kind(pd.Series(["1st", "2nd", "3rd"])) == "categorical"
    assert column_kind(pd.Series(["12", "13"])) == "categorical"
    assert column_kind(pd.Series(["Monday", "May"])) == "categorical"


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([True, False, True], "binary"),
        (["a", "b", "c", "a"], "multiclass"),
        ([0.5, 1.5, 2.25, 3.0], "regression"),
        (list(range(40)), "regression"),
        ([0, 1, 1], "binary"),
    ],
)
def test_the_task_follows_the_targets_values(values, task) -> None:
    assert infer_task(pd.Series(values), "t")[0] == task


def test_unclear_targets_ask_with_a_fix() -> None:
    with pytest.raises(InitError, match="classes or a quantity") as err:
        infer_task(pd.Series([1, 2, 3, 4, 5] * 3), "stars")
    assert "--task multiclass" in (err.value.hint or "")
    assert err.value.exit_code == 2
    with pytest.raises(InitError, match="nothing to learn"):
        infer_task(pd.Series(["x", "x", None]), "t")
    with pytest.raises(InitError, match="too many classes"):
        infer_task(pd.Series([f"v{i}" for i in range(80)]), "t")
    assert infer_task(pd.Series([1, 2, 3]), "t", asked="regression") == ("regression", "asked for with --task")


def test_plausible_targets_put_label_like_names_first() -> None:
    names = [name for name, _ in plausible_targets(_frame())]
    assert names[0] == "class"  # a label word and three classes
    assert "answer" in names
    assert "when" not in names
    assert "constant" not in names
