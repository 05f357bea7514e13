"""Issue 22: the train plan's deploy step commits the new champion's manifests to a GitOps repository
(a local git repository here), a refused candidate commits nothing, and `airloop rollback` (and
`airloop promote` by hand) commit the manifests the version was deployed with. The plan runs in this process through the
same step runner a DAG task calls (``airloop.local.inprocess``): real MLflow on SQLite, no Airflow."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers.projects import train_with_steps, write_project

from airloop.cli import main
from airloop.packaging import checks
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration

IMAGE = "registry.example.com/team/tiny"
DEPLOY = f"\ndeploy:\n  gitops_dir: ../gitops\n  image: {IMAGE}\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def image_of(folder: Path) -> str:
    deployment = yaml.safe_load((folder / "deployment.yaml").read_text())
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace, Path]:
    """v1: a weak model (the first champion); the GitOps repository with a team's overlay in it."""
    root = tmp_path_factory.mktemp("gitops")
    repo = root / "gitops"
    (repo / "tiny" / "overlays" / "prod").mkdir(parents=True)
    (repo / "tiny" / "overlays" / "prod" / "kustomization.yaml").write_text("resources: [../../base]\n")
    git(root, "init", "-q", str(repo))
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "the team's overlay")
    spec = write_project(
        root / "project",
        estimator="sklearn.dummy.DummyClassifier",
        params="{strategy: prior}",
        search="{}",
        min_auc=0.0,
        extra=DEPLOY,
    )
    return spec, Workspace(root / "ws"), repo


def test_promotions_commit_a_refusal_does_not_and_a_rollback_commits_the_previous(project) -> None:
    spec, ws, repo = project
    base = repo / "tiny" / "base"

    first = train_with_steps(spec, ws, run_id="manual__1")
    assert first["promoted"]
    assert first["deployed"]["committed"], first["deployed"]
    v1_image = image_of(base)
    assert v1_image.startswith(f"{IMAGE}:v1-")
    assert first["deployed"]["image"] == v1_image
    assert checks.validate_manifests(base).ok, checks.validate_manifests(base).line()
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("airloop: deploy tiny v1 as champion")
    assert "gate: passed on roc_auc" in message
    assert "no champion yet" in message
    assert "metrics (holdout): accuracy=" in message
    assert "roc_auc=" in message
    assert "Airflow-Run-Id: manual__1" in message
    assert "Airloop-Version: 1" in message
    # only the model's base/ and kserve/ are in the commit; the team's overlay beside them is untouched
    files = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert "tiny/kserve/inferenceservice.yaml" in files
    assert all(f.startswith(("tiny/base/", "tiny/kserve/")) for f in files), files
    assert checks.validate_kserve(repo / "tiny" / "kserve").ok
    assert "check: KServe v1beta1 schema" in message
    assert sorted(p.name for p in base.iterdir()) == sorted([*checks_files(), "kustomization.yaml"])
    # the build context the image is built from stays in the workspace, tagged the same
    assert (ws.package_dir("tiny", "1") / "Dockerfile").is_file()

    spec.write_text(
        spec.read_text()
        .replace("sklearn.dummy.DummyClassifier", "sklearn.linear_model.LogisticRegression")
        .replace("{strategy: prior}", "{max_iter: 200}")
        .replace("search: {}", "search: {C: {type: float, low: 0.1, high: 10, log: true}}")
    )
    second = train_with_steps(spec, ws, run_id="manual__2")
    assert second["version"] == "2"
    assert second["promoted"], second["gate"]
    v2_image = image_of(base)
    assert v2_image.startswith(f"{IMAGE}:v2-")
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("airloop: deploy tiny v2 as champion (was v1)")
    assert "beats champion v1" in message
    assert "Airflow-Run-Id: manual__2" in message

    head = git(repo, "rev-parse", "HEAD")
    spec.write_text(spec.read_text().replace("roc_auc: {min: 0.0}", "roc_auc: {min: 0.999}"))
    third = train_with_steps(spec, ws, run_id="manual__3")
    assert third["version"] == "3"
    assert not third["promoted"]
    assert third["deployed"] == {
        "committed": False,
        "reason": "v3 was not promoted: nothing is committed, the cluster keeps its champion",
    }
    assert git(repo, "rev-parse", "HEAD") == head
    assert image_of(base) == v2_image
    assert git(repo, "status", "--porcelain") == ""

    result = CliRunner().invoke(main, ["rollback", str(spec), "--workspace", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert f"committed {v1_image}" in result.output
    assert image_of(base) == v1_image  # the image built for v1, not a new tag nobody built
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("airloop: roll tiny back to v1 (champion was v2)")
    assert "Airloop-Rollback-From: 2" in message
    assert f"Airloop-Image: {v1_image}" in message
    first_commit = git(repo, "log", "--format=%H", "--grep=^Airloop-Version: 1$").split()[-1]
    assert git(repo, "diff", first_commit, "HEAD", "--", "tiny") == ""
    assert git(repo, "status", "--porcelain") == ""

    result = CliRunner().invoke(main, ["promote", str(spec), "2", "--workspace", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert image_of(base) == v2_image  # promoted by hand: v2's manifests as it was deployed
    assert git(repo, "log", "-1", "--format=%B").startswith("airloop: promote tiny v2 by hand (champion was v1)")

    # the monitor's live judgements: a canary rolled back never ran in the cluster (no commit); a
    # canary promoted on live traffic is committed as the deploy step commits a gated champion
    from airloop.steps import live
    from airloop.steps.context import StepContext
    from airloop.tracking import Tracker, aliases

    tracker = Tracker(ws)
    ctx = StepContext("tiny", str(spec), ws, dag_id="tiny__monitor", run_id="scheduled__m1")
    head = git(repo, "rev-parse", "HEAD")
    aliases.start_canary(tracker, "tiny", "3", "canary")
    aliases.end_canary(tracker, "tiny", "canary", "rolled back", "worse by 0.05")
    assert live.deploy_moved(ctx, tracker, "2", "canary v3 rolled back", "worse by 0.05") is None
    assert git(repo, "rev-parse", "HEAD") == head
    aliases.start_canary(tracker, "tiny", "3", "canary")
    aliases.end_canary(tracker, "tiny", "canary", "promoted", "as good as v2 on 500 labeled")
    done = live.deploy_moved(ctx, tracker, "2", "canary v3 promoted on live traffic", "as good as v2 on 500 labeled")
    assert done is not None
    assert done["committed"]
    assert image_of(base).startswith(f"{IMAGE}:v3-")
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("airloop: deploy tiny v3 as champion (was v2), canary v3 promoted on live traffic")
    assert "as good as v2 on 500 labeled" in message
    assert "Airloop-Promoted-By: monitor" in message
    assert "Airflow-Run-Id: scheduled__m1" in message


def checks_files() -> list[str]:
    from airloop.packaging.manifests import FILES

    return list(FILES)


def test_the_train_dag_deploys_through_airflow(tmp_path: Path) -> None:
    """The one real DAG run: the deploy task is wired after promote and the commit names Airflow's run id."""
    from airloop.local.embedded import run_train_dag
    from airloop.spec import load_spec

    repo = tmp_path / "gitops"
    git(tmp_path, "init", "-q", str(repo))
    spec = write_project(tmp_path / "project", min_auc=0.0, extra=DEPLOY)
    outcome = run_train_dag(load_spec(spec), Workspace(tmp_path / "ws"))
    assert outcome.ok, outcome.events[-1]
    states = {t["task_id"]: t["state"] for t in outcome.result["tasks"]}
    assert states["deploy"] == "success"
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("airloop: deploy tiny v1 as champion")
    assert f"Airflow-Run-Id: {outcome.run_id}\n" in message
    assert "Airflow-Dag-Id: tiny__train" in message
    assert image_of(repo / "tiny" / "base").startswith(f"{IMAGE}:v1-")
