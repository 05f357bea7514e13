"""The generated DAG file: Airflow's DagBag loads it, and parsing it imports nothing heavy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[3] / "examples" / "flights" / "airloop.yaml"
HEAVY = ["mlflow", "sklearn", "pandas", "numpy", "optuna", "scipy", "pyarrow"]


@pytest.fixture
def dag_file(tmp_path: Path) -> Path:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "airloop.cli",
            "compile",
            str(EXAMPLE),
            "--dags-folder",
            str(tmp_path / "dags"),
            "--workspace",
            str(tmp_path / "ws"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote" in res.stdout
    return tmp_path / "dags" / "airloop_flights.py"


def test_parsing_the_dag_file_imports_nothing_heavy(dag_file: Path, tmp_path: Path) -> None:
    code = (
        "import json, runpy, sys\n"
        f"ns = runpy.run_path({str(dag_file)!r})\n"
        "print(json.dumps({'dags': sorted(k for k in ns if k.endswith('__train')),"
        f" 'heavy': sorted(m for m in {HEAVY!r} if m in sys.modules)}}))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out == {"dags": ["flights__train"], "heavy": []}


def test_airflow_dagbag_loads_the_train_dag(dag_file: Path, tmp_path: Path) -> None:
    code = (
        "import json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(dag_file)!r})\n"
        "dag = bag.dags['flights__train']  # no metadata DB needed\n"
        "mon = bag.dags['flights__monitor']\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},"
        " 'tasks': {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks},"
        " 'schedule': str(dag.schedule), 'retries': dag.default_args['retries'],"
        " 'monitor': {t.task_id: sorted(t.downstream_task_ids) for t in mon.tasks},"
        " 'monitor_outlets': [a.uri for a in mon.get_task('request_retrain').outlets],"
        " 'doc': dag.doc_md, 'task_docs': {t.task_id: t.doc_md for t in dag.tasks}}))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["errors"] == {}
    assert out["tasks"] == {
        "ingest": ["validate"],
        "validate": ["split"],
        "split": ["tune_plan", "tune_select", "tune_trials"],
        "tune_plan": ["tune_trials"],
        "tune_trials": ["tune_select"],
        "tune_select": ["train"],
        "train": ["evaluate"],
        "evaluate": ["gate"],
        "gate": ["refit"],
        "refit": ["register"],
        "register": ["promote"],
        "promote": [],
    }
    assert out["retries"] == 1
    # @weekly, or whenever the monitor requests retraining
    assert "expression='0 0 * * 0'" in out["schedule"]
    assert "airloop://flights/retrain-requested" in out["schedule"]
    # or when a _READY marker lands in data.incoming (the triggerer's watcher raises the event and
    # keeps the marker, renamed, for ingest)
    watcher = f"ReadyMarkerTrigger directory={EXAMPLE.parent / 'incoming'}, filename=_READY"
    assert watcher in out["schedule"]
    assert out["monitor"] == {"monitor": ["request_retrain"], "request_retrain": []}
    assert out["monitor_outlets"] == ["airloop://flights/retrain-requested"]
    # the DAG's docs (the Dag Docs button) say what it is, where its spec lives and where its runs and models go
    assert str(EXAMPLE.resolve()) in out["doc"]
    assert "spec hash" in out["doc"]
    assert "MLflow experiment | `flights`" in out["doc"]
    assert str(tmp_path / "ws") in out["doc"]
    assert all(out["task_docs"].values()), out["task_docs"]
    assert "contract" in out["task_docs"]["validate"]


def test_compile_print_names_spec_and_workspace(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "airloop.cli", "compile", str(EXAMPLE), "--print", "--workspace", str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "load_dags(spec=" in res.stdout
    assert str(EXAMPLE.resolve()) in res.stdout
    assert str(tmp_path / "ws") in res.stdout
