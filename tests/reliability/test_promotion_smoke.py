"""Issue 24, finding 7: models were not checked before they answered. Before: `airloop promote`
made a truncated artifact champion (the next server start refused to start) and an unfitted
estimator was swapped in by the server, after which every request got 422 "the model cannot use
these records" while /ready said ready and last_error was null. Now every door to the champion
(`airloop promote`, the DAG's promote step, the server's swap) first loads the version and has it
answer its own MLflow input example; a version that fails is refused with the reason and the old
one keeps serving. A model failing at request time is a 500, never a 4xx."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.inapp import GOOD, client, fitted, snapshot
from helpers.models import swap_estimator
from helpers.projects import SERVING, train_with_steps, write_project

from airloop.cli import main
from airloop.errors import UserCodeError
from airloop.serving.holder import ModelHolder
from airloop.steps import promote
from airloop.steps.context import StepContext
from airloop.tracking import Tracker
from airloop.tracking.tags import CHAMPION, Tag
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace, str, str]:
    """Champion v1 (trained), v2 a copy of it whose stored estimator is unfitted (loads, cannot
    predict) and v3 a copy whose stored estimator is cut in half (does not load)."""
    import mlflow.artifacts
    from sklearn.base import clone

    from airloop.model import store
    from airloop.model.store import data_folder

    root = tmp_path_factory.mktemp("smoke")
    spec = write_project(root / "project", extra=SERVING, min_auc=0.0)
    ws = Workspace(root / "ws")
    train_with_steps(spec, ws)
    tracker = Tracker(ws)
    v1 = tracker.version("tiny", "1")
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri="models:/tiny/1"))
    fitted = store.load(str(local), store.LoadOptions(runtime="python")).estimator  # not its ONNX form
    estimator = clone(fitted)  # the estimator unfitted, the rest trained
    unfitted_copy = swap_estimator(local, root / "unfitted", estimator)
    # registered by hand without the registry's hash of its files (which would refuse the copy at once):
    # the smoke test is what must catch it
    by_hand = {k: v for k, v in v1.tags.items() if k != Tag.MODEL_SHA256}
    unfitted = tracker.client.create_model_version("tiny", str(unfitted_copy), run_id=v1.run_id, tags=by_hand).version
    cut = root / "truncated"
    shutil.copytree(local, cut)
    stored = next((data_folder(cut) or cut).glob("estimator.*"))
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])
    truncated = tracker.client.create_model_version("tiny", str(cut), run_id=v1.run_id, tags=v1.tags).version
    return spec, ws, str(unfitted), str(truncated)


def test_airloop_promote_refuses_a_version_that_cannot_answer(broken, record_property) -> None:
    spec, ws, unfitted, truncated = broken
    args = ["--workspace", str(ws.root)]
    cannot_predict = CliRunner().invoke(main, ["promote", str(spec), unfitted, *args])
    cannot_load = CliRunner().invoke(main, ["promote", str(spec), truncated, *args])
    record_property(
        "observed",
        f"unfitted: exit {cannot_predict.exit_code}; truncated: exit {cannot_load.exit_code}; "
        f"champion v{Tracker(ws).alias_version('tiny', CHAMPION)}",
    )
    assert cannot_predict.exit_code == 5, cannot_predict.output
    assert "cannot answer its input example" in cannot_predict.output
    assert "NotFittedError" in cannot_predict.output
    assert cannot_load.exit_code == 6, cannot_load.output
    assert "does not load" in cannot_load.output
    assert Tracker(ws).alias_version("tiny", CHAMPION) == "1"
    # a canary answers real clients too: `airloop canary` runs the same check before the alias moves
    canary = CliRunner().invoke(main, ["canary", str(spec), unfitted, *args])
    assert canary.exit_code == 5, canary.output
    assert Tracker(ws).alias_version("tiny", "canary") is None


def test_the_promote_step_fails_and_tags_why_the_champion_untouched(broken) -> None:
    spec, ws, unfitted, _ = broken
    ctx = StepContext("tiny", str(spec), ws, dag_id="tiny__train", run_id="smoke_1")
    tracker = Tracker(ws)
    refs = {"version": unfitted, "gate": {"passed": True}, "mlflow_run_id": tracker.version("tiny", "1").run_id}
    with pytest.raises(UserCodeError, match="NotFittedError"):
        promote.run(ctx, refs)
    assert tracker.alias_version("tiny", CHAMPION) == "1"
    tags = tracker.version("tiny", unfitted).tags
    assert tags[Tag.PROMOTED] == "false"
    assert "smoke test" in tags[Tag.REASON]


def test_the_server_keeps_the_champion_when_the_new_one_cannot_answer(broken, record_property) -> None:
    spec, ws, unfitted, truncated = broken
    holder = ModelHolder(ws, "tiny", "binary", "accept", 50)
    assert holder.load_initial().version == "1"
    tracker = Tracker(ws)
    try:
        for bad, why in ((unfitted, "NotFittedError"), (truncated, "does not load")):
            tracker.set_alias("tiny", CHAMPION, bad)  # moved behind airloop's back
            out = holder.refresh()
            assert out["status"] == "failed", out
            assert holder.current is not None
            assert holder.current.version == "1"
            assert holder.last_error is not None
            assert why in holder.last_error["error"]
        record_property("observed", f"server kept v1; last_error: {holder.last_error['error'][:90]}")
    finally:
        tracker.set_alias("tiny", CHAMPION, "1")


def test_a_model_failing_at_request_time_is_a_500_not_a_422(tmp_path: Path) -> None:
    from sklearn.base import clone

    with client(tmp_path) as http:
        http.app.state.service.holder.current = snapshot(model=clone(fitted()))  # type: ignore[attr-defined]
        answer = http.post("/predict", json=GOOD)
        assert answer.status_code == 500, answer.text
        assert answer.json()["error"].startswith("the model failed")
