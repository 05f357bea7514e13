"""The same train DAG with Airflow's metadata DB and MLflow's store on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers.projects import write_project

from airloop.local.embedded import run_train_dag
from airloop.spec import load_spec
from airloop.workspace import Workspace

pytestmark = pytest.mark.services


def test_train_dag_on_postgres(tmp_path: Path, pg_database: str, pg_database_2: str, monkeypatch) -> None:
    airflow_db, mlflow_db = pg_database, pg_database_2
    assert airflow_db != mlflow_db  # Airflow and MLflow each keep an alembic_version table
    monkeypatch.setenv("AIRLOOP_AIRFLOW_DB", airflow_db)
    monkeypatch.setenv("AIRLOOP_MLFLOW_URI", mlflow_db)
    spec = write_project(tmp_path / "p", min_auc=0.0)
    ws = Workspace(tmp_path / "ws")
    outcome = run_train_dag(load_spec(spec), ws)
    assert outcome.ok, outcome.events[-1]
    assert not ws.airflow_db.exists()  # nothing fell back to SQLite
    assert not (ws.mlflow_dir / "mlflow.db").exists()
    with sa.create_engine(airflow_db).connect() as con:
        states = con.execute(sa.text("select state from dag_run where dag_id = 'tiny__train'")).scalars().all()
        mapped = con.execute(
            sa.text("select count(*) from task_instance where task_id = 'tune_trials' and state = 'success'")
        ).scalar()
        run_id = con.execute(sa.text("select run_id from dag_run where dag_id = 'tiny__train'")).scalar()
        # the studies live beside Airflow's tables, in a schema of their own (each keeps an alembic_version)
        studies = con.execute(sa.text("select study_name from airloop_optuna.studies")).scalars().all()
    assert states == ["success"]
    assert mapped == 2
    assert studies == [f"tiny/{run_id}/candidate-logreg"]
    assert not list(ws.root.rglob("optuna.db"))
    from airloop.tracking import Tracker

    assert Tracker(ws).aliases("tiny") == {"champion": "1"}
