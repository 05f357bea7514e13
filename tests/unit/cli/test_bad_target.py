"""Data that cannot be learned as the spec says is refused before Airflow starts: exit 2, the spec's
line, the data's values and the fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from airloop.cli import main

SPEC = """\
name: bad
task: {task}
data:
  source: {{path: data.csv}}
  target: y
{extra}split: {split}
candidates:
  - {{name: lr, estimator: sklearn.linear_model.LogisticRegression}}
"""


def _project(tmp_path: Path, y: list, task="binary", extra="", split="{method: random}", when=None) -> Path:
    frame = pd.DataFrame({"x": range(len(y)), "y": y})
    if when is not None:
        frame["when"] = when
    frame.to_csv(tmp_path / "data.csv", index=False)
    path = tmp_path / "airloop.yaml"
    path.write_text(SPEC.format(task=task, extra=extra, split=split))
    return path


@pytest.mark.parametrize(
    ("kwargs", "line", "message", "fix"),
    [
        ({"y": ["a"] * 12}, 5, "holds a single class ('a')", "choose another target"),
        ({"y": ["a", "b", "c"] * 4}, 5, "binary but target `y` has 3 classes: 'a', 'b', 'c'", "task: multiclass"),
        (
            {"y": ["YES", "NO"] * 6, "extra": "  positive_class: MAYBE\n"},
            6,
            "'MAYBE' is not among the labels of `y`",
            "one of 'NO', 'YES'",
        ),
        (
            {"y": [0, 1] * 6, "split": "{method: time, column: when}", "when": ["soon", "later", "2024-01-01"] * 4},
            6,
            "`when` does not parse as a time: 8 of 12 values do not (e.g. 'soon', 'later')",
            "split.method: random",
        ),
    ],
    ids=["constant", "three-classes-binary", "unknown-positive", "time-unparseable"],
)
def test_unlearnable_data_exits_2_before_airflow_starts(tmp_path: Path, kwargs, line, message, fix) -> None:
    spec = _project(tmp_path, **kwargs)
    ws = tmp_path / "ws"
    res = CliRunner().invoke(main, ["run", str(spec), "--workspace", str(ws)])
    assert res.exit_code == 2, res.output
    assert f"airloop.yaml:{line}" in res.output
    assert message in res.output
    assert fix in res.output
    assert not (ws / "airflow").exists()  # refused before any engine was set up


@pytest.mark.parametrize(
    ("estimator", "task", "message", "fix"),
    [
        ("sklearn.linear_model.Ridge", "binary", "is a regressor; a binary task needs a classifier", "classifier"),
        ("sklearn.svm.SVC", "binary", "gives no predicted probabilities", "probability: true"),
        ("sklearn.linear_model.LogisticRegression", "regression", "is a classifier", "use a regressor"),
    ],
)
def test_a_candidate_that_cannot_do_the_task_is_refused_up_front(tmp_path: Path, estimator, task, message, fix) -> None:
    spec = _project(tmp_path, [0.5, 1.5] * 10 if task == "regression" else [0, 1] * 10, task=task)
    spec.write_text(spec.read_text().replace("sklearn.linear_model.LogisticRegression", estimator))
    res = CliRunner().invoke(main, ["validate", str(spec)])
    assert res.exit_code == 2, res.output
    assert "airloop.yaml:8 [candidates[0].estimator]" in res.output
    assert message in res.output
    assert fix in res.output


def test_a_missing_target_column_and_too_few_rows_are_said_before_the_run(tmp_path: Path) -> None:
    spec = _project(tmp_path, [0, 1] * 10)
    spec.write_text(spec.read_text().replace("target: y", "target: label"))
    res = CliRunner().invoke(main, ["validate", str(spec)])
    assert res.exit_code == 2
    assert "target `label` is not a column of the data" in res.output
    assert "one of: x, y" in res.output
    spec = _project(tmp_path, [0, 1, 0, 1, 1])
    res = CliRunner().invoke(main, ["validate", str(spec)])
    assert res.exit_code == 2
    assert "only 5 rows of data" in res.output


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_a_candidate_from_an_extra_that_is_not_installed_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: str
) -> None:
    """Issue 20: XGBoost and LightGBM come as extras; a spec that names one without it installed is
    refused before Airflow starts, and the fix is the extra to install."""
    monkeypatch.setitem(sys.modules, library, None)  # as if not installed: `import` raises ImportError
    spec = _project(tmp_path, [0, 1] * 10)
    spec.write_text(spec.read_text().replace("sklearn.linear_model.LogisticRegression", f"{library}.Booster"))
    res = CliRunner().invoke(main, ["validate", str(spec)])
    assert res.exit_code == 2, res.output
    assert "[candidates[0].estimator]" in res.output
    assert f'pip install "airloop[{library}]"' in res.output
