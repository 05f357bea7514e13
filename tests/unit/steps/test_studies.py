"""Where studies live, and the bookkeeping that keeps a run's trials bounded and none RUNNING."""

from __future__ import annotations

import optuna
import pytest

from airloop.errors import EnvironmentProblem
from airloop.steps import studies
from airloop.steps.context import StepContext
from airloop.workspace import Workspace


@pytest.fixture
def ctx(tmp_path, monkeypatch) -> StepContext:
    monkeypatch.delenv("AIRLOOP_AIRFLOW_DB", raising=False)
    monkeypatch.delenv("AIRLOOP_OPTUNA_DB", raising=False)
    return StepContext(project="p", spec_path="x", workspace=Workspace(tmp_path / "ws"), run_id="manual__1")


def test_embedded_studies_stay_in_the_run_folder_under_the_candidates_name(ctx) -> None:
    assert ctx.workspace.optuna_db_url is None
    assert studies.study_name(ctx, "lr") == "candidate-lr"
    assert studies.storage(ctx).url == f"sqlite:///{ctx.run_dir / 'optuna.db'}"


def test_a_server_database_for_airflow_holds_the_studies_one_name_per_run(ctx, monkeypatch) -> None:
    monkeypatch.setenv("AIRLOOP_AIRFLOW_DB", "postgresql+psycopg2://u@db:5432/airflow")
    assert ctx.workspace.optuna_db_url == "postgresql+psycopg2://u@db:5432/airflow"
    assert studies.study_name(ctx, "lr") == "p/manual__1/candidate-lr"
    monkeypatch.setenv("AIRLOOP_OPTUNA_DB", "sqlite:////shared/optuna.db")  # the explicit one wins
    assert ctx.workspace.optuna_db_url == "sqlite:////shared/optuna.db"


def test_optuna_never_shares_a_mysql_database_with_airflow_unless_told(monkeypatch) -> None:
    monkeypatch.delenv("AIRLOOP_OPTUNA_DB", raising=False)
    with pytest.raises(EnvironmentProblem, match="alembic_version") as info:
        studies.own_schema("mysql://u@db/airflow")
    assert "AIRLOOP_OPTUNA_DB" in (info.value.hint or "")
    monkeypatch.setenv("AIRLOOP_OPTUNA_DB", "mysql://u@db/optuna")
    assert studies.own_schema("mysql://u@db/optuna") == "mysql://u@db/optuna"


def _study(ctx: StepContext) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(study_name="s", storage=studies.storage(ctx), direction="maximize")


def test_a_retried_batch_runs_only_the_trials_its_earlier_try_did_not_finish(ctx) -> None:
    study = _study(ctx)
    batch = {"index": 1, "trials": 3}

    def objective(trial: optuna.Trial) -> float:
        studies.mark(trial, 1)
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=2)
    study.ask()  # the third was running when its worker died
    other = study.ask()
    study.tell(other, 0.5)  # another batch's trial counts for that batch only
    assert studies.owed(study, batch) == 1
    assert studies.owed(study, {"index": 2, "trials": 3}) == 3


def test_trials_left_running_after_the_batches_are_failed(ctx, caplog) -> None:
    study = _study(ctx)
    done = study.ask()
    study.tell(done, 1.0)
    lost = study.ask()
    studies.mark(lost, 0)

    with caplog.at_level("WARNING", logger="airloop.steps"):
        assert studies.fail_running(study, "lr") == [lost.number]

    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL]
    assert "trial 1 of candidate lr was still RUNNING after every batch ended" in caplog.text
    assert studies.fail_running(study, "lr") == []


def test_a_study_database_that_is_down_is_named_not_waited_for() -> None:
    with pytest.raises(EnvironmentProblem) as info:
        studies.shared_storage("postgresql+psycopg2://u:secret@127.0.0.1:1/airflow")
    assert (
        "the Optuna study database postgresql+psycopg2://u:***@127.0.0.1:1/airflow cannot be used" in info.value.message
    )
    assert "secret" not in info.value.format()
