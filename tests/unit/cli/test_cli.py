"""The `airloop` command on bad specs: a located message, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from airloop.cli import main

EXAMPLE = Path(__file__).parents[3] / "examples" / "flights"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "airloop.yaml"
    path.write_text(text)
    return path


def test_validate_accepts_the_example() -> None:
    res = run("validate", str(EXAMPLE))
    assert res.exit_code == 0, res.output
    assert "project flights (binary), 2 candidate(s): hgb, logreg" in res.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\ntask: binary\n  bad: [\n", "malformed YAML"),
        (
            "name: x\ntask: binary\ndata: {source: {path: a.csv}, target: y}\ncandidates: []\nfoo: 1\n",
            "unknown key `foo`",
        ),
        (
            "name: x\ntask: binary\ndata: {source: {path: a.csv}, target: y}\ncandidates:\n"
            "  - {name: a, estimator: sklearn.dummy.DummyClassifier}\nretries: lots\n",
            "retries",
        ),
    ],
    ids=["malformed-yaml", "unknown-key", "wrong-type"],
)
def test_bad_spec_exits_2_with_location(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    for command in ("validate", "run", "compile"):
        res = run(command, str(path), *(["--workspace", str(tmp_path / "ws")] if command != "validate" else []))
        assert res.exit_code == 2, (command, res.output)
        assert expected in res.output
        assert f"{path}:" in res.output or "airloop.yaml:" in res.output
        assert "fix:" in res.output
        assert "Traceback" not in res.output
    assert not (tmp_path / "ws").exists()  # nothing was set up for a broken spec


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: Bad Name\ntask: ranking\ndata: {source: {path: a.csv}, target: y, featurs: {}}\n"
        "candidates:\n  - {name: a, estimator: sklearn.dummy.DummyClassifier}\nretries: lots\n",
    )
    res = run("validate", str(path))
    assert res.exit_code == 2
    assert "4 problem(s)" in res.output
    for line in (1, 2, 3, 6):
        assert f"airloop.yaml:{line}" in res.output


def test_missing_spec_file(tmp_path: Path) -> None:
    res = run("validate", str(tmp_path / "nope.yaml"))
    assert res.exit_code == 2
    assert "file not found" in res.output


def test_env_prints_what_airflow_commands_need_to_share_the_workspace(tmp_path: Path, monkeypatch) -> None:
    import shlex

    monkeypatch.setenv("AIRLOOP_AIRFLOW_DB", "postgresql+psycopg2://u@db/airflow")
    res = run("env", "--workspace", str(tmp_path / "ws"))
    assert res.exit_code == 0, res.output
    exported = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in res.output.splitlines())
    assert exported["AIRFLOW_HOME"] == str(tmp_path / "ws" / "airflow")
    assert exported["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://u@db/airflow"
    assert exported["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "ws" / "airflow" / "dags")
    assert exported["MLFLOW_TRACKING_URI"].startswith("sqlite:///")
