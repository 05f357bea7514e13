"""XGBoost, LightGBM, PyTorch and Keras candidates through the real train DAG (issue 20): they tune,
train, pass the gate, register in their own safe format (UBJSON, model text, an MLP's arrays), serve
over HTTP the answers the in-process model gives, load in a fresh virtualenv without airloop, and
backtest. The labels are
text ("YES"/"NO"): XGBoost's classifier takes only 0..K-1 and is taught them by airloop."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.extras import require
from helpers.projects import SERVING, records, write_project
from helpers.server import Server
from helpers.venv import answers_in_fresh_venv

from airloop.local.embedded import run_train_dag
from airloop.model import store
from airloop.spec import load_spec
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration

BOOSTED = "{learning_rate: {type: float, low: 0.05, high: 0.3, log: true}}"
MLP = "{learning_rate: {type: float, low: 0.003, high: 0.03, log: true}, width: {type: int, low: 8, high: 24}}"
MLP_PARAMS = "{layers: 1, epochs: 6, batch_size: 128, patience: 3}"  # a few seconds a fit: make test's budget
# family -> (estimator, params, search, stored format, the package its requirements pin)
FAMILIES = {
    "xgboost": ("xgboost.XGBClassifier", "{n_estimators: 30, max_depth: 3, n_jobs: 1}", BOOSTED, "xgboost-ubj",
                "xgboost-cpu"),
    "lightgbm": ("lightgbm.LGBMClassifier", "{n_estimators: 30, num_leaves: 7, verbose: -1, n_jobs: 1}", BOOSTED,
                 "lightgbm-text", "lightgbm"),
    # an MLP is stored as arrays that numpy answers: neither torch nor keras is needed to load it
    "torch": ("airloop.families.TorchMLPClassifier", MLP_PARAMS, MLP, "mlp-npz", None),
    "keras": ("airloop.families.KerasMLPClassifier", MLP_PARAMS, MLP, "mlp-npz", None),
}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Workspace]:
    family = request.param
    require(family)
    estimator, params, search, _, _ = FAMILIES[family]
    root = tmp_path_factory.mktemp(family)
    spec = write_project(root / "project", estimator=estimator, params=params, search=search, min_auc=0.0, batches=3,
                         extra=SERVING)  # fmt: skip
    for part in sorted((root / "project" / "data").glob("*.csv")):  # the user's labels are text
        frame = pd.read_csv(part)
        frame.assign(label=np.where(frame["label"] == 1, "YES", "NO")).to_csv(part, index=False)
    spec.write_text(spec.read_text().replace("  target: label\n", "  target: label\n  positive_class: 'YES'\n"))
    ws = Workspace(root / "ws")
    outcome = run_train_dag(load_spec(spec), ws)
    assert outcome.state == "success", outcome
    return family, spec, ws


def test_the_champion_is_stored_in_its_own_format_and_serves_the_in_process_answers(
    trained, tmp_path: Path, monkeypatch
) -> None:
    family, spec, ws = trained
    monkeypatch.syspath_prepend(str(spec.parent))  # the transform's module, as the server finds it
    require("onnxruntime")
    from airloop.tracking import Tracker

    Tracker(ws)  # points MLflow at the workspace
    model = store.load("models:/tiny@champion")
    assert store.describe(model)["stored_as"] == FAMILIES[family][3]
    assert model.classes_.tolist() == ["NO", "YES"]
    sent = records(20, seed=4)
    frame = pd.DataFrame.from_records(sent)
    expected = model.predict_proba(frame)
    srv = Server(spec, ws.root, tmp_path / "server.log").start()
    try:
        status, body = srv.request("POST", "/predict", {"records": sent})
        info = srv.request("GET", "/model")[1]
    finally:
        srv.stop()
    assert status == 200, body
    assert info["stored"]["stored_as"] == FAMILIES[family][3]
    # with the onnx extra, the estimator's verified ONNX form answers, within 1e-5 of the library's own
    assert info["stored"]["runtime"].startswith("onnxruntime"), info["stored"]
    python = store.load("models:/tiny@champion", store.LoadOptions(runtime="python"))
    np.testing.assert_allclose(python.predict_proba(frame), expected, rtol=0, atol=1e-5)
    assert body["predictions"] == model.predict(frame).tolist()
    np.testing.assert_allclose(body["probabilities"], expected, rtol=0, atol=1e-6)  # answers carry 6 decimals


def test_the_champion_loads_in_a_fresh_venv_without_airloop(trained, tmp_path: Path, monkeypatch) -> None:
    import mlflow.artifacts

    family, spec, ws = trained
    monkeypatch.syspath_prepend(str(spec.parent))  # the transform's module, as the server finds it
    from airloop.tracking import Tracker

    Tracker(ws)
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri="models:/tiny@champion", dst_path=str(tmp_path / "m"))
    )
    reqs = (local / "requirements.txt").read_text()
    library = FAMILIES[family][4]
    pinned = {line.split("==")[0] for line in reqs.splitlines() if line and not line.startswith("-")}
    assert pinned - {"mlflow-skinny", "numpy", "pandas"} == ({library} if library else set()), reqs
    assert "scikit-learn" not in reqs  # the library's own format needs no scikit-learn to load
    records_file = tmp_path / "records.json"
    pd.DataFrame.from_records(records(30, seed=6)).to_json(records_file, orient="records")
    answered = answers_in_fresh_venv(local, records_file, tmp_path)
    frame = pd.read_json(records_file, orient="records")
    here = store.load(str(local), store.LoadOptions(runtime="python"))  # what the venv runs: no onnxruntime there
    assert answered["labels"] == here.predict(frame).tolist()
    np.testing.assert_allclose(answered["proba"], here.predict_proba(frame), rtol=0, atol=1e-12)


def test_the_family_backtests(trained, tmp_path: Path) -> None:
    _, spec, _ = trained
    out = tmp_path / "bt.json"
    res = subprocess.run(
        [sys.executable, "-m", "airloop.cli", "backtest", str(spec), "--start", "2024-02-01", "--end", "2024-03-26",
         "--every", "month", "--workspace", str(tmp_path / "ws"), "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    result = json.loads(out.read_text())
    assert len(result["periods"]) == 2
    assert all(p["static"] is not None and p["static"] > 0.5 for p in result["periods"])  # the family's AUC
