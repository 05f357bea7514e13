"""`airloop score --out postgresql://…/database/table`: one transaction per chunk, a run key on
every row; a rerun, or a run retried after it failed mid-way, leaves every row in the table once."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from helpers.projects import SERVING, make_frame, train_with_steps, write_project

from airloop.cli import main
from airloop.scoring import batch
from airloop.scoring.sql import SqlSink
from airloop.spec import load_spec
from airloop.workspace import Workspace

pytestmark = pytest.mark.services
BAD = {3: ("x", "abc"), 10: ("color", "purple")}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace]:
    root = tmp_path_factory.mktemp("score-sql")
    spec = write_project(root / "project", extra=SERVING + "  passthrough: [ref]\n", min_auc=0.0)
    ws = Workspace(root / "ws")
    train_with_steps(spec, ws)
    return spec, ws


def scoring_file(path: Path, n: int = 150) -> Path:
    frame = make_frame(n, seed=9, start="2024-03-01").astype({"x": object})
    frame["ref"] = [f"id-{i}" for i in range(n)]
    for row, (col, value) in BAD.items():
        frame.loc[row, col] = value
    frame.to_csv(path, index=False)
    with path.open("a") as fh:
        fh.write("2024-03-09,1.0\n")  # a line that is no record
    return path


def table_url(database: str) -> tuple[str, str]:
    table = f"scored_{uuid.uuid4().hex[:8]}"
    return f"{database.replace('postgresql+psycopg2://', 'postgresql://')}/{table}", table


def rows(database: str, table: str) -> tuple[list[int], int]:
    with sa.create_engine(database).connect() as con:
        ids = con.execute(sa.text(f"select row_id from {table} order by row_id")).scalars().all()
        rejects = con.execute(sa.text(f"select count(*) from {table}_rejects")).scalar_one()
    return list(ids), int(rejects)


def test_scores_into_a_table_and_a_rerun_adds_nothing(project, pg_database: str, tmp_path: Path) -> None:
    spec, ws = project
    data = scoring_file(tmp_path / "in.csv")
    url, table = table_url(pg_database)
    args = ["score", str(spec), str(data), "--out", url, "--chunk-rows", "64", "--workspace", str(ws.root)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "added 148 rows" in res.output, res.output
    ids, rejects = rows(pg_database, table)
    assert ids == [i for i in range(150) if i not in BAD]
    assert rejects == 3  # two refused records and the line that is no record
    with sa.create_engine(pg_database).connect() as con:
        first = con.execute(sa.text(f"select * from {table} where row_id = 0")).mappings().one()
    assert set(first) >= {"run_key", "row_id", "model_version", "prediction", "proba_0", "proba_1", "ref"}
    assert (first["model_version"], first["ref"]) == ("1", "id-0")
    res = CliRunner().invoke(main, [*args[:-4], "--chunk-rows", "50", *args[-2:]])  # another chunking too
    assert res.exit_code == 0, res.output
    assert "added 0 rows (148 were there from an earlier run)" in res.output
    assert rows(pg_database, table) == (ids, rejects)


def test_a_run_failing_after_chunk_two_then_rerun_leaves_every_row_once(
    project, pg_database: str, tmp_path: Path, monkeypatch
) -> None:
    spec, ws = project
    data = scoring_file(tmp_path / "in.csv")
    url, table = table_url(pg_database)
    real, calls = SqlSink.write, []

    def failing(self, table_, rejects, part):
        calls.append(part)
        if len(calls) == 3:
            raise ConnectionError("killed in chunk 3")
        real(self, table_, rejects, part)

    monkeypatch.setattr(SqlSink, "write", failing)
    with pytest.raises(ConnectionError):
        batch.score(load_spec(spec), ws, [str(data)], url, chunk_rows=40)
    ids, _ = rows(pg_database, table)
    assert ids == [i for i in range(80) if i not in BAD]  # chunks 1 and 2 committed, nothing of chunk 3
    monkeypatch.setattr(SqlSink, "write", real)
    summary = batch.score(load_spec(spec), ws, [str(data)], url, chunk_rows=40)
    assert (summary.scored, summary.inserted) == (148, 148 - len(ids))
    assert rows(pg_database, table) == ([i for i in range(150) if i not in BAD], 3)


def test_a_run_killed_mid_way_then_rerun_equals_a_clean_run(project, pg_database: str, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    spec, ws = project
    data = scoring_file(tmp_path / "in.csv")
    clean_url, clean = table_url(pg_database)
    batch.score(load_spec(spec), ws, [str(data)], clean_url, chunk_rows=20)
    url, table = table_url(pg_database)
    args = [sys.executable, "-m", "airloop.cli", "score", str(spec), str(data), "--out", url]
    args += ["--chunk-rows", "20", "--workspace", str(ws.root)]
    # the test project's transform sleeps per call when asked: a run slow enough to be killed mid-way
    env = {**os.environ, "AIRLOOP_TEST_TRANSFORM_SLEEP": "0.5"}
    slow = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    engine = sa.create_engine(pg_database)
    deadline, written = time.time() + 120, 0
    while written < 30 and slow.poll() is None and time.time() < deadline:
        time.sleep(0.05)
        with engine.connect() as con:
            if sa.inspect(con).has_table(table):
                written = con.execute(sa.text(f"select count(*) from {table}")).scalar_one()
    slow.send_signal(signal.SIGKILL)
    slow.wait()
    assert slow.returncode == -signal.SIGKILL, slow.stderr.read() if slow.stderr else ""
    partial, _ = rows(pg_database, table)
    assert 30 <= len(partial) < 148  # whole chunks: the killed one's transaction rolled back
    res = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"added {148 - len(partial)} rows" in res.stdout
    columns = "row_id, model_version, prediction, proba_0, proba_1, ref"
    with engine.connect() as con:
        got = con.execute(sa.text(f"select {columns} from {table} order by row_id")).all()
        want = con.execute(sa.text(f"select {columns} from {clean} order by row_id")).all()
        rejects = [
            con.execute(sa.text(f"select row_id, field, problem from {t}_rejects order by 1, 2")).all()
            for t in (table, clean)
        ]
    engine.dispose()
    assert got == want
    assert len(got) == 148
    assert rejects[0] == rejects[1]


def test_the_copy_path_keeps_nulls_empty_texts_and_special_floats(pg_database: str) -> None:
    import math

    import pyarrow as pa

    from airloop.scoring.sql import Target

    url, table = table_url(pg_database)
    sink = SqlSink(Target.parse(url), "k" * 32)
    chunk = pa.table(
        {
            "row_id": pa.array([0, 1, 2, 3]),
            "prediction": pa.array([True, False, None, True]),
            "proba_1": pa.array([0.5, float("nan"), None, float("inf")]),
            "ref": pa.array(["a", "", None, 'q"u,o\nte']),
        }
    )
    sink.write(chunk, [], 0)
    sink.write(chunk, [], 0)  # retried: nothing twice
    sink.close()
    assert sink.inserted == 4
    with sa.create_engine(pg_database).connect() as con:
        got = con.execute(sa.text(f"select row_id, prediction, proba_1, ref from {table} order by 1")).all()
    want = [(0, True, "a"), (1, False, ""), (2, None, None), (3, True, 'q"u,o\nte')]
    assert [(r[0], r[1], r[3]) for r in got] == want
    assert got[0][2] == 0.5
    assert math.isnan(got[1][2])
    assert got[2][2] is None
    assert got[3][2] == math.inf


def test_a_table_of_another_shape_is_a_data_error(pg_database: str) -> None:
    import pyarrow as pa

    from airloop.errors import DataError
    from airloop.scoring.sql import Target

    url, table = table_url(pg_database)
    sink = SqlSink(Target.parse(url), "k" * 32)
    sink.write(pa.table({"row_id": pa.array([0]), "prediction": pa.array([1.5])}), [], 0)
    with pytest.raises(DataError, match=f"cannot write to .*/{table}"):  # text into a number column
        sink.write(pa.table({"row_id": pa.array([1]), "prediction": pa.array(["yes"])}), [], 1)
    with pytest.raises(DataError, match="lacks the column"):
        SqlSink(Target.parse(url), "k" * 32).write(pa.table({"row_id": pa.array([2]), "other": pa.array([1])}), [], 0)
    sink.close()
