"""Write the airloop.yaml that `airloop init` proposes: every decision in a comment beside it."""

from __future__ import annotations

import json
import re
from typing import Any

from airloop.scaffold.profile import Profile

TRIALS = 12  # per candidate: the zoo's runs stay under 90 s on 2 cores (bench/results/zoo.md)
TUNING_TIMEOUT = 60

# (name, estimator, encoding, scale, params, search) per task family
Proposal = tuple[str, str, str, bool, dict[str, Any], dict[str, dict[str, Any]]]
CLASSIFIERS: list[Proposal] = [
    (
        "hgb",
        "sklearn.ensemble.HistGradientBoostingClassifier",
        "ordinal",
        False,
        {},
        {
            "learning_rate": {"type": "float", "low": 0.02, "high": 0.3, "log": True},
            "max_leaf_nodes": {"type": "int", "low": 8, "high": 64, "log": True},
            "min_samples_leaf": {"type": "int", "low": 5, "high": 100, "log": True},
            "l2_regularization": {"type": "float", "low": 1e-6, "high": 10.0, "log": True},
        },
    ),
    (
        "logreg",
        "sklearn.linear_model.LogisticRegression",
        "onehot",
        True,
        {"max_iter": 2000},
        {"C": {"type": "float", "low": 0.001, "high": 100.0, "log": True}},
    ),
]
REGRESSORS: list[Proposal] = [
    (
        "hgb",
        "sklearn.ensemble.HistGradientBoostingRegressor",
        "ordinal",
        False,
        {},
        CLASSIFIERS[0][5],
    ),
    (
        "ridge",
        "sklearn.linear_model.Ridge",
        "onehot",
        True,
        {},
        {"alpha": {"type": "float", "low": 0.001, "high": 1000.0, "log": True}},
    ),
]


def spec_name(stem: str) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "_", stem.lower()).strip("_-") or "project"
    return ("p_" + name if not name[0].isalpha() else name)[:63]


def q(value: Any) -> str:
    """A YAML scalar that reads back as the same string (spaces, colons, non-ASCII, yes/no)."""
    return json.dumps(value, ensure_ascii=False)


def gate(p: Profile) -> tuple[str, float, str]:
    """The promotion metric, its floor and why: a champion must beat the trivial answer."""
    if p.task == "binary":
        return "roc_auc", 0.55, "better than ranking at random (0.5)"
    if p.task == "multiclass":
        majority = max(p.class_shares.values()) if p.class_shares else 0.0
        floor = int(majority * 100) / 100
        return "accuracy", floor, f"the share of the most common class ({majority:.1%}): beat always guessing it"
    return "r2", 0.0, "better than predicting the mean (0.0)"


def render(p: Profile, name: str, source: str, fmt: str = "auto") -> str:
    lines = [
        f"# airloop.yaml written by `airloop init` from {source} ({p.rows} rows, {len(p.columns)} columns).",
        "# Every choice below is a proposal with its reason: edit freely, then `airloop validate` and `airloop run`.",
        f"name: {name}",
        f"task: {p.task}  # {p.target.name}: {p.task_reason}",
        "data:",
        "  source:",
        f"    path: {q(source)}",
        *([f"    format: {fmt}"] if fmt != "auto" else []),
        f"  target: {q(p.target.name)}",
    ]
    if p.target.nulls:
        lines.append(f"  missing_target: drop  # {p.target.nulls:.1%} of rows have no label: not trained on")
    if p.task == "binary":
        lines.append(
            "  # positive_class: inferred at run time (true/1/yes/y/positive, else the minority class);"
            " set it to choose"
        )
    lines += _features(p)
    lines += _split(p)
    lines += _candidates(p)
    metric, floor, why = gate(p)
    lines += [
        "tuning:",
        f"  trials: {TRIALS}  # per candidate; the first trial scores the estimator's defaults",
        f"  batch_size: {TRIALS // 2}",
        f"  timeout_seconds: {TUNING_TIMEOUT}",
        "promotion:",
        f"  metric: {metric}",
        "  thresholds:",
        f"    {metric}: {{min: {floor}}}  # {why}",
        "  min_improvement: 0.0  # a new model must be at least as good as the champion on the same holdout",
    ]
    if metric not in _default_metrics(p.task):
        lines += ["evaluation:", f"  metrics: [{', '.join(_default_metrics(p.task) + [metric])}]"]
    return "\n".join(lines) + "\n"


def _default_metrics(task: str) -> list[str]:
    from airloop.metrics import DEFAULT_METRICS

    return list(DEFAULT_METRICS[task])


def _features(p: Profile) -> list[str]:
    lines = ["  features:"]
    for kind in ("numeric", "categorical"):
        cols = [c for c in p.columns if c.use == "feature" and c.feature_kind == kind]
        lines.append(f"    {kind}:" + ("" if cols else " []"))
        for c in cols:
            note = c.reason or f"{c.kind}, {c.distinct} values" + (f", {c.nulls:.0%} missing" if c.nulls else "")
            lines.append(f"      - {q(c.name)}  # {note}")
    if p.excluded:
        lines.append("    exclude:")
        lines += [f"      - {q(c.name)}  # {c.reason}" for c in p.excluded]
    return lines


def _split(p: Profile) -> list[str]:
    if p.time is not None:
        return ["split:", "  method: time", f"  column: {q(p.time.name)}  # {p.time.reason}", "  holdout_fraction: 0.2"]
    return [
        "split:  # no time column with 10+ dates: a seeded random holdout",
        "  method: random",
        "  holdout_fraction: 0.2",
    ]


def _candidates(p: Profile) -> list[str]:
    lines = ["candidates:"]
    for name, estimator, encoding, scale, params, search in REGRESSORS if p.task == "regression" else CLASSIFIERS:
        lines += [f"  - name: {name}", f"    estimator: {estimator}", f"    encoding: {encoding}"]
        if not scale:
            lines.append("    scale: false")
        if encoding == "ordinal":
            lines.append("    impute: false  # HistGradientBoosting learns where missing values go")
        if params:
            lines.append(f"    params: {json.dumps(params)}")
        lines.append("    search:")
        for key, space in search.items():
            lines.append(f"      {key}: {json.dumps(space)}")
    return lines
