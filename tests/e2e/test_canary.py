"""Canary over real HTTP: a share of the traffic by entity_id, each answer naming its version; the
monitor rolls back a canary that is worse and the server stops routing to it."""

from __future__ import annotations

import html

import pytest
from click.testing import CliRunner
from helpers.models import COIN, TRUSTS_PICKLES, register_model
from helpers.projects import SERVING, make_frame, train_with_steps, write_project
from helpers.server import Server

from airloop.cli import main
from airloop.steps.context import StepContext
from airloop.steps.runner import execute
from airloop.tracking import Tracker
from airloop.tracking.tags import CANARY, CHAMPION, Tag
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration

CANARY_SPEC = SERVING + "  canary: {percent: 50}\n" + TRUSTS_PICKLES
JUDGE = "  min_improvement: 0.01\n  canary: {min_labeled: 60, max_drop: 0.05}\n"


def test_a_worse_canary_is_rolled_back_and_traffic_returns_to_the_champion(tmp_path, record_property) -> None:
    project = tmp_path / "project"
    spec = write_project(project, extra=CANARY_SPEC, min_auc=0.0)
    spec.write_text(spec.read_text().replace("  min_improvement: 0.01\n", JUDGE))
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws)
    coin = register_model(ws, project, COIN, "Coin")
    cli = CliRunner()
    args = ["--workspace", str(ws.root)]
    # bad input: an unknown version, no version at all, the champion itself
    unknown = cli.invoke(main, ["canary", str(spec), "99", *args])
    assert unknown.exit_code != 0
    assert "99" in unknown.output
    assert "1" in unknown.output
    assert cli.invoke(main, ["canary", str(spec), *args]).exit_code == 2
    assert "already the champion" in cli.invoke(main, ["canary", str(spec), "1", *args]).output
    started = cli.invoke(main, ["canary", str(spec), coin, *args])
    assert started.exit_code == 0, started.output
    srv = Server(spec, ws.root, tmp_path / "server.log").start()
    try:
        status, model = srv.request("GET", "/model")
        assert model["canary"]["version"] == coin
        assert model["canary"]["percent"] == 50
        frame = make_frame(400, seed=21)
        rows = frame.drop(columns=["label"]).to_dict(orient="records")
        for i, rec in enumerate(rows):
            rec["entity_id"] = f"e{i}"
        versions = []
        for start in range(0, len(rows), 50):
            status, body = srv.request("POST", "/predict", {"records": rows[start : start + 50]})
            assert status == 200, body
            versions += body["versions"]
        assert set(versions) == {"1", coin}
        assert 0.35 < versions.count(coin) / len(versions) < 0.65
        # the same entity always meets the same model; a single answer names its version
        again = srv.request("POST", "/predict", rows[7])[1]["model"]["version"]
        assert again == versions[7] == srv.request("POST", "/predict", rows[7])[1]["model"]["version"]
        labels = [{"entity_id": f"e{i}", "label": int(y)} for i, y in enumerate(frame["label"])]
        assert srv.request("POST", "/labels", {"labels": labels})[0] == 200
        ctx = StepContext("tiny", str(spec), ws, dag_id="tiny__monitor", run_id="m1")
        out = execute("monitor", ctx, {}, merge=False)
        assert out["monitor"]["verdict"] == f"canary v{coin} rolled back", out
        tracker = Tracker(ws)
        assert tracker.alias_version("tiny", CANARY) is None
        assert tracker.alias_version("tiny", CHAMPION) == "1"
        tags = tracker.version("tiny", coin).tags
        assert tags[Tag.CANARY] == "rolled back"
        assert tags[Tag.CANARY_REASON].startswith("canary is worse: roc_auc")
        from airloop.monitoring.report import write_report

        page = write_report(spec, ws).read_text()
        assert html.escape(f"canary: rolled back: {tags[Tag.CANARY_REASON]}") in page
        # the server follows the alias: the champion answers everything again
        srv.wait_until(lambda: srv.request("GET", "/model")[1]["canary"]["version"] is None)
        status, body = srv.request("POST", "/predict", {"records": rows[:50]})
        assert status == 200
        assert "versions" not in body
        assert body["model"]["version"] == "1"
        record_property("observed", out["monitor"]["reason"])
    finally:
        srv.stop()
