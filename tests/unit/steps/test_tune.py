"""Tuning starts from the estimator's defaults, and small data is scored by cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from airloop.spec.models import Candidate
from airloop.steps.tune import cross_validate, default_trial


def test_the_first_trial_is_the_estimators_defaults_inside_the_space() -> None:
    hgb = Candidate(
        name="hgb",
        estimator="sklearn.ensemble.HistGradientBoostingClassifier",
        search={
            "learning_rate": {"type": "float", "low": 0.02, "high": 0.3, "log": True},
            "max_leaf_nodes": {"type": "int", "low": 8, "high": 64},
            "l2_regularization": {"type": "float", "low": 1e-6, "high": 10, "log": True},  # default 0.0: outside
            "max_depth": {"type": "int", "low": 2, "high": 8},  # default None: not a number
        },
    )
    assert default_trial(hgb) == {"learning_rate": 0.1, "max_leaf_nodes": 31}
    fixed = Candidate(
        name="lr",
        estimator="sklearn.linear_model.LogisticRegression",
        params={"C": 5.0},
        search={"C": {"type": "float", "low": 0.001, "high": 100, "log": True}},
    )
    assert default_trial(fixed) == {"C": 5.0}  # the candidate's own params are its defaults
    grid = Candidate(
        name="r",
        estimator="sklearn.linear_model.Ridge",
        search={"alpha": {"type": "float", "low": 0.5, "high": 10, "step": 2}},  # 1.0 is not on 0.5, 2.5, ...
    )
    assert default_trial(grid) == {}


def test_cross_validation_scores_every_row_and_keeps_rare_classes_in_each_fold(make_spec) -> None:
    spec = make_spec(
        candidates=[{"name": "lr", "estimator": "sklearn.linear_model.LogisticRegression"}],
        evaluation={"metrics": ["roc_auc"]},
    )
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=120)})
    y = pd.Series(np.where(X["a"] + rng.normal(scale=0.5, size=120) > 1.2, 1, 0))  # about 10% positives
    refs = {"features": {"numeric": ["a"], "categorical": []}, "labels": {"classes": [0, 1], "positive": 1}}
    value = cross_validate(spec, spec.candidates[0], refs, {}, X, y, 5)
    assert 0.85 < value <= 1.0


def _ask(url: str, barrier, out) -> None:  # a batch's first ask, in a process of its own
    import optuna

    from airloop.steps.studies import sqlite_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="s", storage=sqlite_storage(url))
    barrier.wait()
    out.put(study.ask().number)


def test_batches_asking_at_once_never_share_the_enqueued_trial(tmp_path) -> None:
    """Four batches ask the shared SQLite study at the same moment: each gets a trial of its own
    (Optuna's plain RDB storage handed the one waiting trial to two of them in 8 rounds of 15)."""
    import multiprocessing as mp

    import optuna

    ctx = mp.get_context("fork")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    for r in range(6):
        url = f"sqlite:///{tmp_path / f'o{r}.db'}"
        optuna.create_study(study_name="s", storage=url).enqueue_trial({"x": 1.5})
        barrier, out = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_ask, args=(url, barrier, out)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        numbers = [out.get(timeout=5) for _ in procs]
        assert sorted(numbers) == [0, 1, 2, 3], numbers
