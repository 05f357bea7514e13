"""Choosing the monitoring policy on a project's history: chosen on the first half of the periods,
reported on the second half alone, ties broken by fewer trainings; candidates from files or a grid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers.projects import write_project

from airloop.backtest.policies import OWN, Scores, candidates, choose, grid, scores_of, suggestion
from airloop.errors import SpecError, UsageError
from airloop.spec import load_spec


def S(metric: list[float | None], trained: list[bool] | None = None) -> Scores:
    return Scores(metric, trained if trained is not None else [False] * len(metric))


def test_the_choice_sees_the_first_half_and_the_report_the_second_only() -> None:
    scores = {
        "static": S([0.70, 0.70, 0.60, 0.60]),
        "scheduled": S([0.71, 0.71, 0.70, 0.70], [True, True, True, False]),
        "early": S([0.80, 0.80, 0.50, 0.50]),  # best while choosing, worst after
        "late": S([0.70, 0.70, 0.90, 0.90], [False, True, True, False]),
    }
    got = choose(scores, ["early", "late"], maximize=True)
    assert got["chosen"] == "early"  # the second half, where `late` wins, was never looked at
    assert got["first_half"] == 2
    assert got["chosen_on"] == {"early": {"mean": 0.80, "trainings": 0}, "late": {"mean": 0.70, "trainings": 1}}
    assert got["report"]["early"] == {"mean": 0.50, "trainings": 0}
    assert got["report"]["late"] == {"mean": 0.90, "trainings": 1}
    assert got["report"]["scheduled"] == {"mean": 0.70, "trainings": 1}  # reported beside, never chosen
    assert set(got["chosen_on"]) == {"early", "late"}


def test_lower_is_better_for_an_error_metric() -> None:
    scores = {"a": S([10.0, 10.0, 1.0]), "b": S([5.0, 50.0, 50.0])}
    got = choose(scores, ["a", "b"], maximize=False)
    assert got["chosen"] == "b"  # first half is period 1 alone (3 periods: 1 to choose, 2 to report)
    assert got["report"]["b"]["mean"] == 50.0


def test_a_tie_goes_to_fewer_trainings_then_to_the_order_given() -> None:
    scores = {
        OWN: S([0.7, 0.7, 0.7, 0.7], [True, True, False, False]),
        "lazy": S([0.7, 0.7, 0.1, 0.1], [False, True, True, True]),
        "same": S([0.7, 0.7, 0.7, 0.7], [False, True, False, False]),
    }
    assert choose(scores, [OWN, "lazy", "same"], maximize=True)["chosen"] == "lazy"  # 1 training, first in order
    assert choose(scores, [OWN, "same", "lazy"], maximize=True)["chosen"] == "same"
    assert choose({OWN: scores[OWN], "x": scores[OWN]}, [OWN, "x"], maximize=True)["chosen"] == OWN


def test_a_mean_better_by_a_hair_beats_fewer_trainings() -> None:
    scores = {"cheap": S([0.7000, 0.7], [False, False]), "busy": S([0.7001, 0.7], [True, False])}
    assert choose(scores, ["cheap", "busy"], maximize=True)["chosen"] == "busy"


def test_unscored_periods_are_left_out_of_the_means() -> None:
    scores = {"a": S([None, 0.6, None, 0.8]), "b": S([0.9, None, None, None])}
    got = choose(scores, ["a", "b"], maximize=True)
    assert got["chosen"] == "b"
    assert got["report"]["a"]["mean"] == 0.8
    assert got["report"]["b"]["mean"] is None


def test_nothing_to_choose_on_says_so() -> None:
    with pytest.raises(UsageError, match="2 periods or more"):
        choose({"a": S([0.5])}, ["a"], maximize=True)
    with pytest.raises(UsageError, match="no period of the first half was scored") as info:
        choose({"a": S([None, 0.5])}, ["a"], maximize=True)
    assert info.value.hint


def test_scores_come_from_the_replayed_periods() -> None:
    periods = [
        {"static": 0.6, "scheduled": 0.7, "loop": 0.65, "loop_trained": True, "scheduled_run": {},
         "policies": {"g": {"metric": 0.66, "trained": False}}},
        {"static": 0.5, "scheduled": 0.6, "loop": 0.62, "loop_trained": False,
         "policies": {"g": {"metric": 0.61, "trained": True}}},
        {"static": None, "scheduled": None, "loop": None, "loop_trained": False, "note": "no rows in this period"},
    ]  # fmt: skip
    got = scores_of(periods, [OWN, "g"])
    assert got["static"] == S([0.6, 0.5, None])
    assert got["scheduled"] == S([0.7, 0.6, None], [True, False, False])
    assert got[OWN] == S([0.65, 0.62, None], [True, False, False])
    assert got["g"] == S([0.66, 0.61, None], [False, True, False])


def test_the_grid_varies_thresholds_staleness_and_cooldown() -> None:
    g = grid("month")
    assert len(g) == 36
    values = {k: {b[k] for b in g.values()} for k in ("max_relative_drop", "max_staleness_loss", "cooldown_hours")}
    assert values == {
        "max_relative_drop": {0.05, 0.1, 0.2},
        "max_staleness_loss": {0.05, 0.1, None},
        "cooldown_hours": {0.0, 1095.8},  # none, or 1.5 months
    }
    off = [b for b in g.values() if b["drift_importance"] is None]
    assert len(off) == 18
    assert all(b["drifted_features"] is None for b in off)  # else drift falls back to counting features
    assert grid("week")["drop10-drift50-stale10-cool252h"]["cooldown_hours"] == 252.0


@pytest.fixture
def spec(tmp_path: Path):
    path = write_project(tmp_path / "p", extra="monitoring:\n  min_rows: 40\n  max_relative_drop: 0.1\n")
    return load_spec(path).spec


def test_policy_files_are_laid_over_the_specs_monitoring(spec, tmp_path: Path) -> None:
    (tmp_path / "strict.yaml").write_text("monitoring:\n  max_relative_drop: 0.05\n  cooldown_hours: 0\n")
    (tmp_path / "fragment.yaml").write_text("name: other\nmonitoring:\n  max_staleness_loss: null\n")
    got = candidates(f"{tmp_path / 'strict.yaml'},{tmp_path / 'fragment.yaml'}", spec, "month")
    assert list(got) == [OWN, "strict", "fragment"]
    assert got[OWN] is spec.monitoring
    assert got["strict"].max_relative_drop == 0.05
    assert got["strict"].min_rows == 40  # the spec's own setting, kept
    assert got["fragment"].max_staleness_loss is None
    assert got["fragment"].max_relative_drop == 0.1
    assert len(candidates("grid", spec, "month")) == 37


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("min_rows: 10\n", "no `monitoring:` block"),
        ("monitoring:\n  max_relative_drop: -1\n", "monitoring.max_relative_drop"),
        ("monitoring:\n  cooldown: 3\n", "did you mean `cooldown_hours`"),
        ("monitoring:\n  min_rows: 1\n  min_rows: 2\n", "duplicate key `min_rows`"),
    ],
)
def test_a_bad_policy_file_is_a_spec_error_that_says_where(spec, tmp_path: Path, text: str, problem: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(SpecError) as info:
        candidates(str(bad), spec, "month")
    assert problem in info.value.format()
    assert str(bad) in info.value.format()


def test_a_missing_policy_file_is_a_usage_error(spec, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        candidates(str(tmp_path / "nope.yaml"), spec, "month")


def test_the_suggestion_is_the_chosen_block_headed_by_its_numbers(spec) -> None:
    chosen = candidates("grid", spec, "month")["drop5-driftoff-stale5-cool0h"]
    periods = [{"start": f"2024-0{m}-01T00:00:00+00:00"} for m in range(1, 5)]
    choice = {
        "chosen": "drop5-driftoff-stale5-cool0h", "first_half": 2, "periods": 4,
        "chosen_on": {"drop5-driftoff-stale5-cool0h": {"mean": 0.8, "trainings": 1}},
        "report": {"drop5-driftoff-stale5-cool0h": {"mean": 0.7, "trainings": 2},
                   "static": {"mean": 0.6, "trainings": 0}, "scheduled": {"mean": 0.65, "trainings": 2}},
    }  # fmt: skip
    text = suggestion(chosen, choice, "roc_auc", periods)
    assert "chosen on the first 2 periods (2024-01-01 to 2024-03-01)" in text
    assert "mean roc_auc 0.7000, 2 trainings" in text
    block = yaml.safe_load(text)["monitoring"]
    assert block["max_relative_drop"] == 0.05
    assert block["drifted_features"] is None
    assert block["min_rows"] == 40  # the spec's own settings stay in the block
