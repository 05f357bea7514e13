"""A payload planted in a registered version's artifacts runs nothing in the server (issue 20).

Before, every version was a cloudpickle: whoever could write to the artifact store could make the
next server that loaded the champion run any code (MLflow itself warns on every log). Now the server
loads only airloop's data format through a fixed table of readers; a pickle, in place of the
whole model or of its estimator file, and a skops file that names a function, are refused with the
reason on /model while the previous champion keeps answering, and the payload never runs. Files
changed in the artifact store after registration are refused by the registry's own hash of them
(`airloop.model_sha256`); the other cases plant a version whose registry tags were rewritten too, so
that the readers themselves are what refuses them."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import skops.io
from helpers.projects import SERVING, records, train_with_steps, write_project
from helpers.server import Server
from sklearn.preprocessing import FunctionTransformer

from airloop.model.store import data_folder
from airloop.tracking import Tracker
from airloop.tracking.tags import CHAMPION, Tag
from airloop.workspace import Workspace
from airloop_runtime import META
from airloop_runtime.pipeline import sha256

pytestmark = pytest.mark.integration


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def as_pickled_model(v1: Path, out: Path, marker: Path) -> Path:
    """v1's folder rewritten as a scikit-learn cloudpickle model whose pickle runs a command."""
    shutil.copytree(v1, out)
    (out / "model.pkl").write_bytes(pickle.dumps(Payload(marker)))
    mlmodel = (
        "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    model_path: model.pkl\n"
        "  sklearn:\n    pickled_model: model.pkl\n    serialization_format: cloudpickle\n    sklearn_version: 1.9.1\n"
    )
    (out / "MLmodel").write_text(mlmodel)
    return out


def with_estimator_bytes(v1: Path, out: Path, data: bytes) -> Path:
    """v1's folder with other bytes in place of its estimator file (the checksum updated too)."""
    shutil.copytree(v1, out)
    folder = data_folder(out)
    assert folder is not None
    meta = json.loads((folder / META).read_text())
    path = folder / meta["estimator"]["file"]
    path.write_bytes(data)
    meta["estimator"]["sha256"] = sha256(path)
    (folder / META).write_text(json.dumps(meta))
    return out


def test_a_planted_payload_is_refused_and_the_champion_keeps_answering(tmp_path: Path, record_property) -> None:
    import mlflow.artifacts

    spec = write_project(tmp_path / "project", extra=SERVING, min_auc=0.0)
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws)
    tracker = Tracker(ws)
    v1 = tracker.version("tiny", "1")
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri="models:/tiny/1", dst_path=str(tmp_path / "v1")))
    marker = tmp_path / "payload-ran"
    planted = {
        "pickle": (as_pickled_model(local, tmp_path / "p1", marker), "pickle registered before"),
        "pickle as estimator": (
            with_estimator_bytes(local, tmp_path / "p2", pickle.dumps(Payload(marker))),
            "does not read as skops",
        ),
        "skops naming a function": (
            with_estimator_bytes(
                local, tmp_path / "p3", skops.io.dumps(FunctionTransformer(os.system, kw_args={"command": "true"}))
            ),
            "does not trust",
        ),
        "files rewritten, registry untouched": (
            with_estimator_bytes(local, tmp_path / "p4", pickle.dumps(Payload(marker))),
            "changed after it was registered",
        ),
    }
    assert v1.tags[Tag.MODEL_SHA256] == sha256(data_folder(local) / META)
    srv = Server(spec, ws.root, tmp_path / "server.log").start()
    seen = []
    try:
        assert srv.request("GET", "/model")[1]["stored"]["stored_as"] == "skops"
        for kind, (folder, why) in planted.items():
            tags = v1.tags if kind == "files rewritten, registry untouched" else {**v1.tags, Tag.MODEL_SHA256: ""}
            version = tracker.client.create_model_version("tiny", str(folder), run_id=v1.run_id, tags=tags).version
            tracker.set_alias("tiny", CHAMPION, str(version))  # moved behind airloop's back
            srv.wait_until(
                lambda v=str(version): (srv.request("GET", "/model")[1]["last_error"] or {}).get("version") == v
            )
            model = srv.request("GET", "/model")[1]
            assert model["version"] == "1", kind
            assert why in model["last_error"]["error"], (kind, model["last_error"])
            status, body = srv.request("POST", "/predict", {"records": records(2)})
            assert status == 200, body
            assert body["model"]["version"] == "1"
            seen.append(f"{kind}: {model['last_error']['error'][:70]}")
        assert srv.proc is not None
        assert srv.proc.poll() is None  # the server is alive
    finally:
        srv.stop()
    assert not marker.exists(), "the planted payload ran"
    record_property("observed", "; ".join(seen))
