"""Shadow over real HTTP: the challenger answers copies of the requests off the request path."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from helpers.models import EXPLODING, TRUSTS_PICKLES, register_model
from helpers.projects import SERVING, records, train_with_steps, write_project
from helpers.server import Server

from airloop.data.scan import read_shadow
from airloop.tracking import Tracker
from airloop.tracking.tags import CHALLENGER
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def wait_for(srv: Server, check, timeout: float = 20.0) -> dict:
    deadline, model = time.time() + timeout, {}
    while time.time() < deadline:
        model = srv.request("GET", "/model")[1]
        if check(model["shadow"]):
            return model
        time.sleep(0.2)
    raise AssertionError(f"shadow never reached the state: {model.get('shadow')}")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace]:
    """A champion v1; each test aliases its own challenger and removes the alias when done."""
    root = tmp_path_factory.mktemp("shadow")
    spec = write_project(root / "project", extra=SERVING + "  shadow: challenger\n" + TRUSTS_PICKLES, min_auc=0.0)
    ws = Workspace(root / "ws")
    train_with_steps(spec, ws)
    return spec, ws


def test_a_failing_shadow_costs_no_client_anything(trained, tmp_path: Path, record_property) -> None:
    spec, ws = trained
    project = spec.parent
    srv = Server(spec, ws.root, tmp_path / "server.log").start()
    try:
        # no challenger yet: the server starts and says so
        status, model = srv.request("GET", "/model")
        assert model["shadow"]["version"] is None
        assert model["shadow"]["note"] == "no `challenger` version: nothing to shadow"
        bad = register_model(ws, project, EXPLODING, "Exploding")
        Tracker(ws).set_alias("tiny", CHALLENGER, bad)
        wait_for(srv, lambda s: s["version"] == bad)
        body = json.dumps({"records": records(3)}).encode()
        results: list[int] = []
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                status, _ = srv.request("POST", "/predict", raw=body)
                results.append(status)

        threads = [threading.Thread(target=client) for _ in range(16)]
        for t in threads:
            t.start()
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join(30)
        assert results
        assert set(results) == {200}
        model = wait_for(srv, lambda s: s["pending"] == 0 and s["failed"] > 0)
        assert model["version"] == "1"
        assert model["shadow"]["answered"] == 0
        assert "this model fails on every request" in model["shadow"]["last_error"]["error"]
        _, text = srv.request("GET", "/metrics")
        failed = next(line for line in text.splitlines() if line.startswith("airloop_shadow_failed_total "))
        assert float(failed.split()[1]) >= model["shadow"]["failed"]  # a round may finish between the two reads
        record_property(
            "observed", f"{len(results)} requests from 16 clients, all 200; {model['shadow']['failed']} shadow failures"
        )
        # the challenger is promoted away or removed: the shadow stops
        Tracker(ws).delete_alias("tiny", CHALLENGER)
        wait_for(srv, lambda s: s["version"] is None)
    finally:
        srv.stop()


def test_a_working_shadow_logs_its_answers_beside_the_champions(trained, tmp_path: Path) -> None:
    spec, ws = trained
    tracker = Tracker(ws)
    v1 = tracker.version("tiny", "1")
    v2 = tracker.client.create_model_version("tiny", v1.source, run_id=v1.run_id, tags=v1.tags)
    tracker.set_alias("tiny", CHALLENGER, str(v2.version))
    srv = Server(spec, ws.root, tmp_path / "server.log").start()
    try:
        good = records(4, seed=3)
        status, body = srv.request(
            "POST", "/predict", {"records": [good[0], {**good[1], "color": "purple"}, *good[2:]]}
        )
        assert status == 200
        assert len(body["errors"]) == 1
        wait_for(srv, lambda s: s["answered"] == 3)
    finally:
        srv.stop()
        tracker.delete_alias("tiny", CHALLENGER)
    paired = read_shadow(ws.prediction_log("tiny"), str(v2.version))
    assert sorted(paired["row"]) == [0, 2, 3]  # the refused record was not shadowed either
    # the same model in both roles: the same answers
    assert list(paired["prediction"]) == list(paired["shadow_prediction"])
    assert set(paired["model_version"]) == {"1"}
