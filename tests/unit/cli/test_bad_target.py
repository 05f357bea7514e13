"""Data that cannot be learned as the spec says is refused before Airflow starts: exit 2, the spec's
line, the data's values and the fix."""

from __future__ import annotations

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
        ({"y": ["a"] * 6}, 5, "holds a single class ('a')", "choose another target"),
        ({"y": ["a", "b", "c"] * 2}, 5, "binary but target `y` has 3 classes: 'a', 'b', 'c'", "task: multiclass"),
        (
            {"y": ["YES", "NO"] * 3, "extra": "  positive_class: MAYBE\n"},
            6,
            "'MAYBE' is not among the labels of `y`",
            "one of 'NO', 'YES'",
        ),
        (
            {"y": [0, 1] * 3, "split": "{method: time, column: when}", "when": ["soon", "later", "2024-01-01"] * 2},
            6,
            "`when` does not parse as a time: 4 of 6 values do not (e.g. 'soon', 'later')",
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
