"""The spec `airloop init` writes loads as written: odd column names, every decision commented."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from airloop.cli import main
from airloop.spec import load_spec


def _data(path: Path, n: int = 400) -> Path:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "δ15N (‰)": rng.normal(size=n),
            "yes": rng.choice(["on", "off"], n),  # a name YAML would read as true
            "a: b": rng.normal(size=n),
            "kind": rng.choice(["p", "q", "r", "s"], n, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def test_init_writes_a_spec_that_loads_and_names_every_column_exactly(tmp_path: Path, monkeypatch) -> None:
    data = _data(tmp_path / "raw" / "readings.csv")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "raw/readings.csv", "--target", "kind", "--out", "proj"])
    assert result.exit_code == 0, result.output
    assert "task multiclass" in result.output
    spec = load_spec(tmp_path / "proj" / "airloop.yaml", deep=True).spec
    assert spec.name == "readings"
    assert spec.task == "multiclass"
    assert spec.data.features.numeric == ["δ15N (‰)", "a: b"]
    assert spec.data.features.categorical == ["yes"]
    assert spec.promotion.metric == "accuracy"
    assert 0.35 < spec.promotion.thresholds["accuracy"].min < 0.45  # always guessing "p" scores about 0.4
    assert (tmp_path / "proj" / spec.data.source.path).resolve() == data.resolve()
    text = (tmp_path / "proj" / "airloop.yaml").read_text()
    assert "# the share of the most common class" in text
    assert "airloop backtest ... --policies grid" in result.output  # no time column: what it needs


def test_init_with_a_time_column_names_the_backtest_that_chooses_the_policy(tmp_path: Path) -> None:
    data = _data(tmp_path / "d.csv", n=200)
    frame = pd.read_csv(data)
    frame["day"] = pd.date_range("2024-01-01", periods=len(frame), freq="D").strftime("%Y-%m-%d")
    frame.to_csv(data, index=False)
    result = CliRunner().invoke(main, ["init", str(data), "--target", "kind", "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert f"airloop backtest {tmp_path / 'p' / 'airloop.yaml'} --start" in result.output
    assert "--policies grid" in result.output


def test_init_without_a_target_lists_plausible_ones_and_exits_2(tmp_path: Path) -> None:
    data = _data(tmp_path / "d.csv")
    result = CliRunner().invoke(main, ["init", str(data), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "kind: multiclass" in result.output
    assert "--target COLUMN" in result.output
    assert not (tmp_path / "p" / "airloop.yaml").exists()


def test_init_keeps_an_existing_spec_unless_forced(tmp_path: Path) -> None:
    data = _data(tmp_path / "d.csv")
    args = ["init", str(data), "--target", "kind", "--out", str(tmp_path)]
    assert CliRunner().invoke(main, args).exit_code == 0
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2
    assert "--force" in again.output
    assert CliRunner().invoke(main, [*args, "--force"]).exit_code == 0


def test_init_names_the_project_by_its_folder_and_writes_a_relative_path(tmp_path: Path) -> None:
    """Issue 25: files in flights/data/ named the project `data`, and an absolute data path was
    written as it was given, so the spec broke when the folder moved."""
    for i in range(2):
        _data(tmp_path / "flights" / "data" / f"part_{i}.csv")
    given = str(tmp_path / "flights" / "data" / "*.csv")  # absolute, as a user may type it
    result = CliRunner().invoke(main, ["init", given, "--target", "kind", "--out", str(tmp_path / "flights")])
    assert result.exit_code == 0, result.output
    spec = load_spec(tmp_path / "flights" / "airloop.yaml").spec
    assert spec.name == "flights"
    assert spec.data.source.path == "data/*.csv"

    (tmp_path / "flights").rename(tmp_path / "moved")  # the project moves as a whole
    assert load_spec(tmp_path / "moved" / "airloop.yaml", deep=True).spec.name == "flights"
