"""engine: spark end to end on a real local Spark: the train DAG (Airflow's dag.test(), the Spark
provider's @task.pyspark) prepares a Parquet directory through a spark_transform, judges it with
aggregates and trains on a sample; `airloop score` on Spark answers as the pandas engine does; bad
input and a Spark that does not answer are clear errors that write nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers.extras import require_spark
from helpers.spark import scoring_records, spark, write_spark_project  # noqa: F401 (a fixture)

from airloop.cli import main
from airloop.errors import DataError
from airloop.local.embedded import run_train_dag
from airloop.spec import load_spec
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace, object]:
    require_spark()
    root = tmp_path_factory.mktemp("spark")
    spec = write_spark_project(root / "project")
    ws = Workspace(root / "ws")
    outcome = run_train_dag(load_spec(spec), ws)
    assert outcome.ok, outcome.final_failure() or outcome.events[-1:]
    return spec, ws, outcome


def read_scores(out: Path) -> pd.DataFrame:
    import pyarrow.dataset as ds

    return ds.dataset(out, format="parquet").to_table().to_pandas().sort_values("ref", ignore_index=True)


def test_the_train_dag_prepares_validates_and_samples_on_spark(trained) -> None:
    spec, ws, outcome = trained
    out = outcome.outputs()
    assert out["rows"] == 1800  # every event of the Parquet directory, joined by the spark_transform
    assert out["sampled"]["of"] == 1800
    assert 900 <= out["sampled"]["rows"] <= 1000  # data.max_train_rows, a seeded Bernoulli draw per class
    assert out["train_rows"] + out["holdout_rows"] == out["sampled"]["rows"]
    run_dir = ws.run_dir("sparky", outcome.run_id)
    table = pd.read_parquet(run_dir / "table")
    assert len(table) == 1800
    assert "warmth" in table.columns  # the join's column is in the training table
    contract = (ws.contract_file("sparky")).read_text()
    assert '"warmth"' in contract  # and in the contract, inferred from aggregates over every row
    from airloop.tracking import Tracker

    tracker = Tracker(ws)
    assert tracker.alias_version("sparky", "champion") == "1"


def test_spark_scores_equal_the_pandas_engines(trained, spark, tmp_path: Path) -> None:  # noqa: F811
    from airloop.scoring import batch
    from airloop.spark.score import score as on_spark

    spec, ws, _ = trained
    scoring_records(tmp_path / "joined.csv", joined=True)  # records as the training table has them
    scoring_records(tmp_path / "raw.csv")  # the same records as the events are
    loaded = load_spec(spec)
    a = batch.score(loaded, ws, [str(tmp_path / "joined.csv")], tmp_path / "pandas")
    # Spark prepares the raw records with the project's spark_transform (the join), then scores them
    b = on_spark(loaded, ws, [str(tmp_path / "raw.csv")], tmp_path / "spark", spark=spark)
    assert (b.scored, b.rejected, b.version) == (a.scored, a.rejected, a.version) == (298, 2, "1")
    assert b.rejected_by_field == a.rejected_by_field == {"x": 1, "color": 1, "warmth": 1}
    assert b.ignored_columns == a.ignored_columns == []
    mine, theirs = read_scores(tmp_path / "spark"), read_scores(tmp_path / "pandas")
    assert (
        list(mine.columns)
        == list(theirs.columns)
        == [
            "row_id",
            "model_version",
            "prediction",
            "proba_0",
            "proba_1",
            "ref",
        ]
    )
    assert (mine["ref"] == theirs["ref"]).all()
    assert (mine["prediction"] == theirs["prediction"]).all()
    assert (mine["proba_1"] - theirs["proba_1"]).abs().max() < 1e-12
    rejects = pd.read_csv(tmp_path / "spark" / "_rejects.csv")
    expected = pd.read_csv(tmp_path / "pandas" / "_rejects.csv")
    assert sorted(zip(rejects["field"], rejects["problem"], strict=True)) == sorted(
        zip(expected["field"], expected["problem"], strict=True)
    )
    assert set(rejects["file"]) == {str(tmp_path / "raw.csv")}
    assert sorted(p.name for p in (tmp_path).iterdir() if p.name.startswith(".")) == []  # no work folder left


def test_a_file_without_a_feature_column_or_that_does_not_parse_writes_nothing(
    trained,
    spark,  # noqa: F811
    tmp_path: Path,
) -> None:
    from airloop.spark.score import score as on_spark

    spec, ws, _ = trained
    frame = scoring_records(tmp_path / "in.csv")
    frame.drop(columns=["size"]).to_csv(tmp_path / "lacks.csv", index=False)
    with pytest.raises(DataError, match="lacks the feature column.*size"):
        on_spark(load_spec(spec), ws, [str(tmp_path / "lacks.csv")], tmp_path / "out1", spark=spark)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(DataError, match="broken.parquet"):
        on_spark(load_spec(spec), ws, [str(tmp_path / "broken.parquet")], tmp_path / "out2", spark=spark)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.parquet", "in.csv", "lacks.csv"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_master_is_named_and_nothing_is_written(trained, tmp_path: Path, monkeypatch) -> None:
    spec, ws, _ = trained
    scoring_records(tmp_path / "in.csv")
    master = f"spark://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("AIRLOOP_SPARK_MASTER", master)
    started = time.monotonic()
    result = CliRunner().invoke(
        main,
        ["score", str(spec), str(tmp_path / "in.csv"), "--out", str(tmp_path / "out"), "--workspace", str(ws.root)],
    )
    assert result.exit_code == 8, result.output
    assert f"the Spark master {master} ($AIRLOOP_SPARK_MASTER) does not answer" in result.output
    assert time.monotonic() - started < 30  # named at once: Spark alone retries its registration for a minute
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_the_train_dag_retries_a_master_that_does_not_answer(tmp_path: Path, monkeypatch) -> None:
    """The provider's connection points at a dead master: ingest fails in seconds naming it, is
    retried by Airflow, and no table is written."""
    require_spark()
    spec = write_spark_project(tmp_path / "project", name="sparkdown", retries=1, parts=1)
    port = _closed_port()
    master = f"spark://127.0.0.1:{port}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": "spark://127.0.0.1", "port": port})
    )
    ws = Workspace(tmp_path / "ws")
    outcome = run_train_dag(load_spec(spec), ws)
    assert not outcome.ok
    tries = [e for e in outcome.events if e["task"] == "ingest" and e["event"] == "failed"]
    assert [e["try"] for e in tries] == [1, 2]
    assert all(
        f"the Spark master {master} (Airflow connection spark_default) does not answer" in e["error"] for e in tries
    )
    assert not (ws.run_dir("sparkdown", outcome.run_id) / "table").exists()


def test_a_scoring_run_killed_midway_then_rerun_equals_a_clean_run(
    trained,
    spark,  # noqa: F811
    tmp_path: Path,
) -> None:
    from airloop.spark.score import score as on_spark

    spec, ws, _ = trained
    scoring_records(tmp_path / "in.csv", n=3000)
    on_spark(load_spec(spec), ws, [str(tmp_path / "in.csv")], tmp_path / "clean", spark=spark)
    cmd = [
        sys.executable,
        "-m",
        "airloop.cli",
        "score",
        str(spec),
        str(tmp_path / "in.csv"),
        "--workspace",
        str(ws.root),
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    work = tmp_path / ".out.scoring"
    proc = subprocess.Popen(
        [*cmd, "--out", str(tmp_path / "out")],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not work.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver, its JVM and its Python workers
    proc.wait()
    assert not (tmp_path / "out").exists()  # a killed run leaves no OUTPUT
    subprocess.run([*cmd, "--out", str(tmp_path / "out")], check=True, env=env, capture_output=True)
    assert not work.exists()
    pd.testing.assert_frame_equal(read_scores(tmp_path / "out"), read_scores(tmp_path / "clean"))
    assert (tmp_path / "out" / "_rejects.csv").read_text() == (tmp_path / "clean" / "_rejects.csv").read_text()
