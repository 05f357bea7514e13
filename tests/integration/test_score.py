"""`airloop score`: a file of records as users have them (bad rows, columns the model does not use)
scored by the champion into Parquet, the refused records in the rejects file, atomically, the same
bytes on a rerun; bad input is a clear error with nothing written."""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers.projects import SERVING, make_frame, train_with_steps, write_project

from airloop.cli import main
from airloop.errors import DataError, RegistryError, UsageError
from airloop.scoring import batch
from airloop.spec import load_spec
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration
BAD = {3: ("x", "abc"), 10: ("color", "purple"), 70: ("size", "")}  # row -> (column, value)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace, Path]:
    root = tmp_path_factory.mktemp("score")
    spec = write_project(root / "project", extra=SERVING + "  passthrough: [ref]\n", min_auc=0.0)
    ws = Workspace(root / "ws")
    train_with_steps(spec, ws)
    return spec, ws, root


def scoring_file(path: Path, n: int = 150) -> pd.DataFrame:
    """``n`` records with the label and a note beside the features (ignored), an id to carry
    (``ref``), three bad values and, at the end, a line that is no record."""
    frame = make_frame(n, seed=9, start="2024-03-01").astype({"x": object, "size": object})
    frame["ref"] = [f"id-{i}" for i in range(n)]
    frame["note"] = "n"
    for row, (col, value) in BAD.items():
        frame.loc[row, col] = value
    frame.to_csv(path, index=False)
    with path.open("a") as fh:
        fh.write("2024-03-09,1.0\n")
    return frame


def expected_proba(spec: Path, ws: Workspace, frame: pd.DataFrame) -> np.ndarray:
    from airloop.model.store import LoadOptions
    from airloop.scoring.smoke import load

    loaded = load(ws, "tiny", "1", "binary", LoadOptions())
    good = frame.drop(index=list(BAD)).astype({"x": float, "size": float})
    return loaded.model.predict_proba(good[list(loaded.feature_names)])


def read_output(out: Path) -> pd.DataFrame:
    import pyarrow.dataset as ds

    return ds.dataset(out, format="parquet").to_table().to_pandas().sort_values("row_id", ignore_index=True)


def test_scores_the_good_records_and_rejects_the_others_by_field(project, tmp_path: Path) -> None:
    spec, ws, _ = project
    frame = scoring_file(tmp_path / "in.csv")
    out = tmp_path / "scored"
    summary = batch.score(load_spec(spec), ws, [str(tmp_path / "in.csv")], out, chunk_rows=64)
    assert (summary.scored, summary.rejected, summary.version) == (147, 4, "1")
    assert summary.parts == 3  # 150 records in chunks of 64
    assert summary.ignored_columns == ["label", "note"]
    assert summary.ignored_fields == 300
    scored = read_output(out)
    assert list(scored.columns) == ["row_id", "model_version", "prediction", "proba_0", "proba_1", "ref"]
    assert list(scored["row_id"]) == [i for i in range(150) if i not in BAD]
    assert list(scored["ref"]) == [f"id-{i}" for i in range(150) if i not in BAD]
    assert set(scored["model_version"]) == {"1"}
    proba = expected_proba(spec, ws, frame)
    np.testing.assert_allclose(scored[["proba_0", "proba_1"]].to_numpy(), proba, rtol=0, atol=1e-12)
    assert list(scored["prediction"]) == list(proba.argmax(axis=1))
    with (out / batch.REJECTS).open() as fh:
        rejects = {r["row_id"]: r for r in csv.DictReader(fh)}  # a line that is no record has no row id
    assert sorted((k, r["field"]) for k, r in rejects.items()) == [
        ("", "record"),
        ("10", "color"),
        ("3", "x"),
        ("70", "size"),
    ]
    assert rejects["3"]["problem"] == "wrong type: input should be a valid number (got str)"
    assert rejects["10"]["problem"] == "unknown category 'purple'"
    assert rejects["70"]["problem"] == "null is not allowed here"
    assert (rejects["70"]["file"], rejects["70"]["file_row"]) == (str(tmp_path / "in.csv"), "70")
    assert rejects[""]["problem"] == "line 152: expected 7 fields, got 2"
    assert json.loads((out / batch.SUMMARY).read_text())["scored"] == 147


def test_a_failed_run_leaves_no_output_and_a_rerun_writes_the_same_bytes(project, tmp_path: Path, monkeypatch) -> None:
    spec, ws, _ = project
    scoring_file(tmp_path / "in.csv")
    out = tmp_path / "scored"
    real, calls = batch.write_part, []

    def failing(table, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk gone")
        real(table, path)

    monkeypatch.setattr(batch, "write_part", failing)
    with pytest.raises(OSError, match="disk gone"):
        batch.score(load_spec(spec), ws, [str(tmp_path / "in.csv")], out, chunk_rows=64)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]  # nor a half folder beside it
    monkeypatch.setattr(batch, "write_part", real)
    (tmp_path / ".scored.scoring").mkdir()  # what a kill -9 leaves: the next run starts afresh
    (tmp_path / ".scored.scoring" / "part-00007.parquet").write_bytes(b"half")
    batch.score(load_spec(spec), ws, [str(tmp_path / "in.csv")], out, chunk_rows=64)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "scored"]
    with pytest.raises(UsageError, match="already exists"):
        batch.score(load_spec(spec), ws, [str(tmp_path / "in.csv")], out, chunk_rows=64)
    batch.score(load_spec(spec), ws, [str(tmp_path / "in.csv")], out, chunk_rows=64, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert sorted(first) == [
        "_rejects.csv",
        "_summary.json",
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]


def test_the_command_scores_parquet_by_glob_and_says_what_it_did(project, tmp_path: Path) -> None:
    spec, ws, _ = project
    for i in range(2):
        make_frame(40, seed=20 + i).to_parquet(tmp_path / f"part_{i}.parquet")
    out = tmp_path / "scored"
    args = ["score", str(spec), str(tmp_path / "*.parquet"), "--out", str(out), "--workspace", str(ws.root)]
    res = CliRunner().invoke(main, [*args, "--json", "--version", "1"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert (summary["scored"], summary["rejected"], summary["ignored_columns"]) == (80, 0, ["label"])
    assert list(read_output(out)["row_id"]) == list(range(80))
    res = CliRunner().invoke(main, [*args, "--overwrite"])
    assert res.exit_code == 0, res.output
    assert "scored 80 records with tiny v1" in res.output


def test_bad_input_is_a_clear_error_and_writes_nothing(project, tmp_path: Path) -> None:
    spec, ws, _ = project
    out = tmp_path / "scored"

    def run(*inputs: str, workspace: Workspace = ws) -> None:
        batch.score(load_spec(spec), workspace, list(inputs), out)

    with pytest.raises(DataError, match="no file matches") as info:
        run(str(tmp_path / "nothing-*.csv"))
    assert info.value.exit_code == 3
    make_frame(5, seed=1).drop(columns=["color"]).to_csv(tmp_path / "lacks.csv", index=False)
    with pytest.raises(DataError, match="lacks the feature column"):
        run(str(tmp_path / "lacks.csv"))
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read"):
        run(str(tmp_path / "junk.parquet"))
    make_frame(5, seed=1).to_csv(tmp_path / "ok.csv", index=False)
    with pytest.raises(RegistryError, match="has no champion") as info:
        run(str(tmp_path / "ok.csv"), workspace=Workspace(tmp_path / "empty-ws"))
    assert info.value.exit_code == 6
    assert not out.exists()
    res = CliRunner().invoke(
        main, ["score", str(spec), str(tmp_path / "lacks.csv"), "--out", str(out), "--workspace", str(ws.root)]
    )
    assert res.exit_code == 3
    assert "lacks the feature column(s) color" in res.output
    assert "fix:" in res.output


def test_two_runs_never_write_one_output_at_once(project, tmp_path: Path) -> None:
    import fcntl
    import os

    spec, ws, _ = project
    make_frame(5, seed=1).to_csv(tmp_path / "ok.csv", index=False)
    work = tmp_path / ".scored.scoring"
    work.mkdir()
    fd = os.open(work, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a run still writing holds it
    try:
        with pytest.raises(UsageError, match="another `airloop score` is writing"):
            batch.score(load_spec(spec), ws, [str(tmp_path / "ok.csv")], tmp_path / "scored")
    finally:
        os.close(fd)
    assert batch.score(load_spec(spec), ws, [str(tmp_path / "ok.csv")], tmp_path / "scored").scored == 5


def test_a_run_killed_mid_way_leaves_nothing_and_the_rerun_equals_a_clean_run(project, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    spec, ws, _ = project
    scoring_file(tmp_path / "in.csv")
    out = tmp_path / "scored"
    batch.score(load_spec(spec), ws, [str(tmp_path / "in.csv")], out, chunk_rows=20)
    clean = {p.name: p.read_bytes() for p in out.iterdir()}
    for p in out.iterdir():
        p.unlink()
    out.rmdir()
    args = [sys.executable, "-m", "airloop.cli", "score", str(spec), str(tmp_path / "in.csv"), "--out", str(out)]
    args += ["--chunk-rows", "20", "--workspace", str(ws.root)]
    # the test project's transform sleeps per call when asked: a run slow enough to be killed mid-way
    env = {**os.environ, "AIRLOOP_TEST_TRANSFORM_SLEEP": "0.5"}
    slow = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    work = tmp_path / ".scored.scoring"
    deadline = time.time() + 120
    while not (work / "part-00001.parquet").exists() and slow.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    slow.send_signal(signal.SIGKILL)
    slow.wait()
    assert slow.returncode == -signal.SIGKILL, slow.stderr.read() if slow.stderr else ""
    assert not out.exists()
    assert (work / "part-00000.parquet").exists()  # what it left: hidden beside OUTPUT
    res = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == clean
    assert not work.exists()


def test_log_writes_the_scored_records_to_the_prediction_log_once(project, tmp_path: Path) -> None:
    from airloop.data.scan import read_predictions
    from airloop.scoring.sql import run_key

    spec, ws, _ = project
    frame = scoring_file(tmp_path / "in.csv")
    frame["entity_id"] = [f"e{i}" for i in range(len(frame))]
    frame.to_csv(tmp_path / "in.csv", index=False)
    args = ["score", str(spec), str(tmp_path / "in.csv"), "--out", str(tmp_path / "scored"), "--log"]
    args += ["--chunk-rows", "64", "--workspace", str(ws.root)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "logged 147 to the prediction log" in res.output
    res = CliRunner().invoke(main, [*args, "--overwrite"])  # a rerun: the same chunks, logged already
    assert res.exit_code == 0, res.output
    assert "logged 0 to the prediction log" in res.output
    logged = read_predictions(ws.prediction_log("tiny"))
    key = run_key("1", [tmp_path / "in.csv"])  # this run's request ids: the log is the module's
    logged = logged[logged["request_id"].str.startswith(f"score-{key[:16]}-")]
    assert sorted(logged["row"]) == [i for i in range(150) if i not in BAD]  # once each: the row id
    assert logged["request_id"].nunique() == 3  # one per chunk
    assert list(logged.sort_values("row")["entity_id"]) == [f"e{i}" for i in range(150) if i not in BAD]
    assert set(logged["model_version"]) == {"1"}
    scored = read_output(tmp_path / "scored")
    proba = np.array(logged.sort_values("row")["probabilities"].tolist())
    np.testing.assert_allclose(proba, scored[["proba_0", "proba_1"]].to_numpy(), rtol=0, atol=1e-12)
    assert {"x", "size", "color"} <= set(logged.columns)  # the features, for the monitor's drift


def test_the_spec_says_where_to_write_and_to_log(project, tmp_path: Path) -> None:
    from airloop.data.scan import read_predictions

    spec, ws, _ = project
    scoring_file(tmp_path / "in.csv", n=30)
    other = spec.with_name("scoring.yaml")  # the same project, a scoring section added
    other.write_text(spec.read_text() + f"scoring:\n  output: {tmp_path / 'scored'}\n  log: true\n")
    before = len(read_predictions(ws.prediction_log("tiny")))
    args = ["score", str(other), str(tmp_path / "in.csv"), "--workspace", str(ws.root)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert len(read_output(tmp_path / "scored")) == 28  # rows 3 and 10 refused
    assert "logged 28 to the prediction log" in res.output
    assert len(read_predictions(ws.prediction_log("tiny"))) == before + 28
    res = CliRunner().invoke(main, [*args, "--overwrite", "--no-log"])
    assert res.exit_code == 0, res.output
    assert "logged" not in res.output
    res = CliRunner().invoke(main, ["score", str(spec), str(tmp_path / "in.csv"), "--workspace", str(ws.root)])
    assert res.exit_code == 2
    assert "no --out, and the spec has no scoring.output" in res.output


def test_the_score_dag_scores_landed_files_and_sets_aside_those_it_cannot(project, tmp_path: Path) -> None:
    """The <name>__score DAG through Airflow's dag.test(): files written before _READY are scored,
    each on its own; one that lacks a feature column or does not parse goes to rejected/ with a
    report, and the task fails naming it after the good file was scored."""
    from airloop.local.embedded import run_dag
    from airloop.plan import score_dag_id

    spec, ws, _ = project
    scored_spec = spec.with_name("airloop-score.yaml")
    scored_spec.write_text(spec.read_text() + "scoring:\n  incoming: to-score\n  output: scores\n")
    loaded = load_spec(scored_spec)
    landing = spec.parent / "to-score"
    landing.mkdir()
    frame = scoring_file(landing / "good.csv")
    frame.drop(columns=["x"]).to_csv(landing / "no_x.csv", index=False)
    (landing / "broken.parquet").write_bytes(b"not parquet at all")
    (landing / "_READY").touch()
    outcome = run_dag(loaded, ws, score_dag_id("tiny"))
    assert outcome.state == "failed"
    fail = outcome.final_failure()
    assert fail is not None
    assert fail["task"] == "score"
    assert "2 of 3 landed file(s) could not be scored" in fail["error"]
    assert "no_x.csv" in fail["error"]
    assert "lacks the feature column(s) x" in fail["error"]
    assert "broken.parquet" in fail["error"]
    (out,) = (spec.parent / "scores").iterdir()
    assert out.name.startswith("good-")
    scored = read_output(out)
    assert list(scored["ref"]) == [f"id-{i}" for i in range(150) if i not in BAD]
    assert (out / batch.REJECTS).exists()
    assert sorted(p.name for p in landing.iterdir()) == ["rejected", "scored"]  # markers retired
    assert [p.name for p in (landing / "scored").iterdir()] == ["good.csv"]
    rejected = sorted(p.name for p in (landing / "rejected").iterdir())
    assert rejected == ["broken.parquet", "broken.parquet.report.txt", "no_x.csv", "no_x.csv.report.txt"]
    assert "lacks the feature column(s) x" in (landing / "rejected" / "no_x.csv.report.txt").read_text()

    shutil.copy(landing / "scored" / "good.csv", landing / "again.csv")  # the same records, landed again
    (landing / "late.csv").write_text("written after the marker")
    os.utime(landing / "late.csv", (time.time() + 60, time.time() + 60))
    (landing / "_READY").touch()
    outcome = run_dag(loaded, ws, score_dag_id("tiny"))
    assert outcome.ok, outcome.final_failure()
    assert sorted(p.name for p in (spec.parent / "scores").iterdir())[0].startswith("again-")
    assert "late.csv" in [p.name for p in landing.iterdir()]  # newer than _READY: it waits
