"""Registered models are pickles that name their classes by module path: old paths must keep loading."""

from __future__ import annotations

from pathlib import Path

import cloudpickle
import pandas as pd
import pytest

from airloop.model.prepare import Prepare
from airloop.model.transform import FeatureTransform

FIXTURE = Path(__file__).parent / "fixtures" / "pipeline_c48e436.pkl"


def test_a_pipeline_pickled_under_the_old_paths_still_loads_and_predicts() -> None:
    # Written at commit c48e436 by pickling a fitted pipeline whose classes lived at
    # airloop.steps.encoding.Prepare and airloop.steps.modeling.FeatureTransform.
    raw = FIXTURE.read_bytes()
    assert b"airloop.steps.encoding" in raw
    assert b"airloop.steps.modeling" in raw
    pipe = cloudpickle.loads(raw)
    assert isinstance(pipe.named_steps["prepare"], Prepare)
    assert isinstance(pipe.named_steps["transform"], FeatureTransform)
    probe = pd.DataFrame({"x": [-2.0, 0.3, 2.0], "c": ["a", "b", "zzz"]})
    # the probabilities the pipeline gave when it was pickled
    assert pipe.predict_proba(probe)[:, 1].round(6).tolist() == pytest.approx([0.001138, 0.339025, 0.999481])


def test_new_pickles_name_the_model_package() -> None:
    raw = cloudpickle.dumps(Prepare(["x"], []))
    assert b"airloop.model.prepare" in raw
    assert b"airloop.steps" not in raw
