"""The deploy step without a registry: what it refuses before packaging anything, and what it leaves alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from airloop.errors import EnvironmentProblem
from airloop.packaging import gitops
from airloop.steps import deploy
from airloop.steps.context import StepContext
from airloop.workspace import Workspace

IMAGE = "registry.example.com/team/demo"


def context(write_spec, tmp_path: Path, gitops_dir: Path) -> StepContext:
    spec = write_spec(deploy={"gitops_dir": str(gitops_dir), "image": IMAGE})
    return StepContext("demo", str(spec), Workspace(tmp_path / "ws"), dag_id="demo__train", run_id="manual__1")


def test_a_run_that_did_not_promote_commits_nothing(write_spec, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    out = deploy.run(context(write_spec, tmp_path, repo), {"version": "3", "promoted": False})
    assert out == {
        "deployed": {
            "committed": False,
            "reason": "v3 was not promoted: nothing is committed, the cluster keeps its champion",
        }
    }
    assert not (repo / "demo").exists()
    assert subprocess.run(["git", "-C", str(repo), "log"], capture_output=True).returncode != 0  # no commit at all


def test_a_gitops_dir_that_is_no_repository_at_task_time_fails_the_task_naming_it(write_spec, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    ctx = context(write_spec, tmp_path, plain)
    with pytest.raises(EnvironmentProblem) as caught:
        deploy.run(ctx, {"version": "1", "promoted": True, "gate": {"passed": True}})
    assert f"deploy.gitops_dir {plain} is not a git repository" in caught.value.message
    assert f"git init {plain}" in (caught.value.hint or "")
    assert not caught.value.retryable  # the same folder fails the same way: no retry
    assert not (tmp_path / "ws").exists() or not any((tmp_path / "ws").rglob("Dockerfile"))  # nothing packaged


def test_commit_folder_commits_only_its_paths(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "app" / "base").mkdir(parents=True)
    (repo / "app" / "base" / "a.yaml").write_text("a: 1\n")
    (repo / "staged.txt").write_text("someone's work\n")
    subprocess.run(["git", "-C", str(repo), "add", "staged.txt"], check=True)
    sha = gitops.commit_folder(repo, ["app/base", "app/kserve"], "deploy\n\nAirloop-Version: 1\n")
    assert sha is not None
    shown = subprocess.run(
        ["git", "-C", str(repo), "show", "--name-only", "--format=", sha], capture_output=True, text=True, check=True
    ).stdout.split()
    assert shown == ["app/base/a.yaml"]  # the file someone staged stays staged, uncommitted
    assert gitops.commit_folder(repo, ["app/base"], "again") is None  # nothing changed: no empty commit
    assert gitops.deployed_by(repo, "app", "1") == sha
    assert gitops.deployed_by(repo, "app", "11") is None


def test_a_rollback_refuses_a_gitops_dir_that_is_no_repository_before_any_alias_moves(
    write_spec, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from airloop.cli import main

    plain = tmp_path / "plain"
    plain.mkdir()
    spec = write_spec(deploy={"gitops_dir": str(plain), "image": IMAGE})
    result = CliRunner().invoke(main, ["rollback", str(spec), "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 8, result.output
    assert f"deploy.gitops_dir {plain} is not a git repository" in result.output
    assert f"git init {plain}" in result.output
