"""The monitor's streaming pass equals the whole-window computation: drift per feature, prediction
drift, live metrics and estimated performance, to 1e-9, over segments plus the SQLite tail read
in small batches."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airloop.data.predlog import PredictionLog
from airloop.data.scan import read_predictions, scan
from airloop.data.segments import compact
from airloop.metrics import compute
from airloop.monitoring.drift import NumericSummary, Reference, compute_drift, prediction_drift
from airloop.monitoring.estimate import Calibration, estimate_binary
from airloop.steps.window import estimated as estimated_of
from airloop.steps.window import over, performance
from airloop.tracking.tags import Tag


class Split:
    column = "when"


class Monitoring:
    numeric_method = "psi"
    categorical_method = "chi2"
    psi_threshold = 0.2
    p_threshold = 0.01
    min_labeled = 10
    min_rows = 100
    confidence = 0.9
    performance = "auto"  # measured, else estimated: the estimates' intervals are computed


class Spec:
    task = "binary"
    split = Split()
    monitoring = Monitoring()
    metric_names = ("roc_auc", "log_loss", "accuracy", "f1")


class Champion:
    tags = {Tag.CLASSES: "[0, 1]", Tag.POSITIVE_CLASS: "1"}


def training(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "k": rng.integers(0, 20, n).astype(float),
            "c": rng.choice(list("abcde"), n),
        }
    )


@pytest.fixture
def logged(tmp_path: Path) -> tuple[Path, dict]:
    rng = np.random.default_rng(3)
    ref_frame = training(2000, rng)
    reference = Reference.fit(ref_frame, numeric=["x", "k"], categorical=["c"])
    scores = NumericSummary.fit(rng.uniform(0, 1, 2000), bins=10, ks_sample=0)
    log = PredictionLog(tmp_path / "p.db")
    now = time.time()
    for part in range(4):  # two compacted into segments, two left in SQLite
        live = training(700, rng)
        live.loc[rng.random(700) < 0.05, "x"] = None
        live["x"] = live["x"] + part * 0.3
        live["c"] = np.where(rng.random(700) < 0.1, "new", live["c"])
        p = rng.uniform(0.01, 0.99, 700)
        rows = []
        for i, rec in enumerate(live.to_dict("records")):
            rec = {k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()}
            rec["when"] = f"2013-0{part + 1}-{i % 28 + 1:02d} 10:00"
            rows.append(
                (
                    f"r{part}-{i}",
                    0,
                    now + part,
                    "1",
                    f"e{part}-{i}",
                    rec,
                    json.dumps(int(p[i] > 0.5)),
                    json.dumps([1 - p[i], p[i]]),
                )
            )
        log.write(rows)
        truth = (rng.random(700) < p).astype(int)
        log.add_labels([{"entity_id": f"e{part}-{i}", "label": int(truth[i])} for i in range(0, 700, 2)])
        if part < 2:
            compact(log.path, force=True)
    log.close()
    calibration = {"scores": [0.0, 0.5, 1.0], "probabilities": [0.05, 0.5, 0.95]}
    refs = {"features": json.loads(reference.to_json()), "prediction": scores.__dict__, "calibration": calibration}
    return log.path, refs


@pytest.mark.parametrize("ids", [True, False], ids=["frames-with-ids", "as-the-monitor-reads"])
def test_the_streaming_pass_equals_the_whole_window(logged: tuple[Path, dict], ids: bool) -> None:
    path, refs = logged
    # the monitor reads without ids: text features as dictionary codes, predictions in their own dtype
    seen = over(Spec(), Champion(), scan(path, batch_rows=97, ids=ids), refs)
    frame = read_predictions(path)  # today's monitor: the whole window as one frame
    assert seen.rows == len(frame) == 2800

    reference = Reference.from_json(json.dumps(refs["features"]))
    whole = compute_drift(reference, frame, numeric_method="psi", categorical_method="chi2")
    streamed = seen.drift()
    assert len(streamed["features"]) == len(whole) == 3
    for got, want in zip(streamed["features"], whole, strict=True):
        assert got["feature"] == want.feature
        assert got["statistic"] == pytest.approx(want.statistic, abs=1e-9)
        assert (got["p_value"] is None) == (want.p_value is None)
        if want.p_value is not None:
            assert got["p_value"] == pytest.approx(want.p_value, abs=1e-9)
        assert got["drifted"] == want.drifted
    scores = np.array([p[1] for p in frame["probabilities"]])
    pred_drift = prediction_drift(NumericSummary(**refs["prediction"]), scores)
    assert streamed["prediction"]["statistic"] == pytest.approx(pred_drift.statistic, abs=1e-9)

    labels = {"classes": [0, 1], "positive": 1}
    perf = performance(Spec(), seen, labels)
    labeled = frame[frame["label"].notna()]
    assert perf["labeled"] == len(labeled) == 1400
    y = np.asarray(list(labeled["label"]))
    pred = np.asarray(list(labeled["prediction"]))
    proba = np.asarray(list(labeled["probabilities"]))
    for name in Spec.metric_names:
        assert perf["metrics"][name] == pytest.approx(compute(name, y, pred, proba, [0, 1], 1), abs=1e-9)

    expected = estimate_binary(Calibration(**refs["calibration"]), scores, [int(p) == 1 for p in frame["prediction"]])
    got = estimated_of(Spec(), seen, refs["calibration"])
    for name in Spec.metric_names:
        assert got[name] == pytest.approx(expected[name], abs=1e-9)
    assert seen.end == pd.Timestamp("2013-04-28 10:00", tz="UTC").timestamp()


def test_a_window_start_reads_only_what_came_after(logged: tuple[Path, dict]) -> None:
    path, refs = logged
    frame = read_predictions(path)
    since = frame["logged_at"].iloc[1400].timestamp() - 1e-3  # datetime64[ns] rounds the float
    seen = over(Spec(), Champion(), scan(path, start=since, batch_rows=50), refs)
    assert seen.rows == 1400


def test_a_small_window_carries_its_intervals_and_psi_chance_levels(logged: tuple[Path, dict]) -> None:
    from airloop.monitoring.confidence import psi_noise
    from airloop.steps.window import estimated_intervals, observe, of_frame

    path, refs = logged
    frame = read_predictions(path)
    labels = {"classes": [0, 1], "positive": 1}
    small = frame.iloc[-60:].reset_index(drop=True)  # the last part: x moved by 0.9 sd
    seen = over(Spec(), Champion(), [of_frame(small)], refs)
    perf = performance(Spec(), seen, labels)
    assert set(perf["intervals"]) == {n for n, v in perf["metrics"].items() if v is not None}
    for name, (low, high) in perf["intervals"].items():
        assert low <= perf["metrics"][name] <= high
        assert low < high
    drift = seen.drift()
    window = observe(Spec(), seen, refs, drift, perf)
    assert window.intervals == {k: tuple(v) for k, v in perf["intervals"].items()}
    x = next(s for s in window.signals if s.feature == "x")
    assert x.drifted  # PSI, numeric
    assert x.noise == psi_noise(refs["features"]["numeric"]["x"]["counts"], 60, 0.9)
    assert next(s for s in window.signals if s.feature == "c").noise is None  # chi2: a test at its own n

    guessed = window.estimated_intervals  # CBPE's sampling error at this size
    assert set(guessed) == {n for n, v in window.estimated.items() if v is not None}
    for name, (low, high) in guessed.items():
        assert low <= window.estimated[name] <= high
        assert low < high

    class MeasuredOnly(Monitoring):
        performance = "measured"

    class SpecMeasured(Spec):
        monitoring = MeasuredOnly()

    assert estimated_intervals(SpecMeasured(), seen, refs["calibration"]) == {}  # never judged: not computed

    full = over(Spec(), Champion(), [of_frame(frame)], refs)  # 2800 rows: point estimates, as before
    full_perf = performance(Spec(), full, labels)
    assert "intervals" not in full_perf
    whole = observe(Spec(), full, refs, full.drift(), full_perf)
    assert all(s.noise is None for s in whole.signals)
    assert whole.estimated_intervals == {}


def test_a_large_window_with_few_labels_measures_them_with_intervals(logged: tuple[Path, dict]) -> None:
    from airloop.steps.window import of_frame

    class FewLabels(Monitoring):
        min_labeled = 50

    class SpecFew(Spec):
        monitoring = FewLabels()

    path, refs = logged
    frame = read_predictions(path)
    labels = {"classes": [0, 1], "positive": 1}
    part = frame.iloc[-400:].reset_index(drop=True)
    labeled = part.index[part["label"].notna()]

    def with_labels(n: int) -> dict[str, Any]:
        rows = part.assign(label=part["label"].where(part.index.isin(labeled[:n])))  # n labels in 400 rows
        return performance(SpecFew(), over(SpecFew(), Champion(), [of_frame(rows)], refs), labels)

    perf = with_labels(12)
    assert perf["labeled"] == 12
    low, high = perf["intervals"]["accuracy"]
    assert low <= perf["metrics"]["accuracy"] <= high
    assert low < high
    assert "metrics" not in with_labels(9)  # under the floor: nothing measured
    assert "intervals" not in with_labels(60)  # min_labeled and more: point values, as before
