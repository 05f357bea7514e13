"""The model families on the zoo: each set's `airloop init` spec with its candidates replaced by one
family's estimator (a small default search), trained through the same DAG, against the same
HistGradientBoosting baseline. What this table shows decides what `airloop init` proposes when a
family is installed (issue 20).

    python bench/zoo/families.py [--only titanic,mroz] [--families xgboost,lightgbm,torch,keras]

Writes bench/results/zoo-<family>.{json,md} per family and bench/results/zoo-families.md beside
bench/results/zoo.json (the scikit-learn candidates init proposes today).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import ROOT, markdown, run_set  # noqa: E402
from sets import BY_KEY, SETS  # noqa: E402

# one candidate per family and task: the library's scikit-learn class, one thread per trial (trials
# run side by side), missing values left to the trees, categories as ordinal codes
FAMILIES: dict[str, dict[str, Any]] = {
    "xgboost": {
        "classifier": "xgboost.XGBClassifier",
        "regressor": "xgboost.XGBRegressor",
        "params": {"n_jobs": 1, "tree_method": "hist"},
        "search": {
            "n_estimators": {"type": "int", "low": 50, "high": 400},
            "max_depth": {"type": "int", "low": 2, "high": 8},
            "learning_rate": {"type": "float", "low": 0.02, "high": 0.3, "log": True},
            "min_child_weight": {"type": "float", "low": 0.5, "high": 10, "log": True},
        },
    },
    "lightgbm": {
        "classifier": "lightgbm.LGBMClassifier",
        "regressor": "lightgbm.LGBMRegressor",
        "params": {"n_jobs": 1, "verbose": -1},
        "search": {
            "n_estimators": {"type": "int", "low": 50, "high": 400},
            "num_leaves": {"type": "int", "low": 7, "high": 63},
            "learning_rate": {"type": "float", "low": 0.02, "high": 0.3, "log": True},
            "min_child_samples": {"type": "int", "low": 5, "high": 50},
        },
    },
}
# the MLP families: one-hot categories, numbers imputed and scaled (the candidate defaults)
MLP_SEARCH = {
    "layers": {"type": "int", "low": 1, "high": 3},
    "width": {"type": "int", "low": 16, "high": 256, "log": True},
    "dropout": {"type": "float", "low": 0.0, "high": 0.3},
    "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "batch_size": {"type": "categorical", "choices": [32, 128, 512]},
}
# the boosters with their native categorical splits instead of ordinal codes (encoding: native)
for _lib in ("xgboost", "lightgbm"):
    FAMILIES[f"{_lib}-native"] = {**FAMILIES[_lib], "encoding": "native"}
for _lib, _prefix in (("torch", "Torch"), ("keras", "Keras")):
    FAMILIES[_lib] = {
        "classifier": f"airloop.families.{_prefix}MLPClassifier",
        "regressor": f"airloop.families.{_prefix}MLPRegressor",
        "params": {"epochs": 60, "patience": 8},
        "search": MLP_SEARCH,
        "scaled": True,
    }


def candidates(family: str, task: str) -> str:
    """The `candidates:` override for ``family`` on a ``task`` set (a YAML flow value)."""
    f = FAMILIES[family]
    estimator = f["regressor"] if task == "regression" else f["classifier"]
    cand = {"name": family.replace("-", "_"), "estimator": estimator, "params": f["params"], "search": f["search"]}
    if not f.get("scaled"):  # trees: categories as ordinal (or native) codes, missing values left to them
        cand.update(encoding=f.get("encoding", "ordinal"), impute=False, scale=False)
    return json.dumps([cand])


def table(per_family: dict[str, list[dict[str, Any]]], base: dict[str, dict[str, Any]]) -> str:
    from airloop.metrics import METRICS

    families = sorted(per_family)
    lines = [
        "# The zoo by model family",
        "",
        "Each set: `airloop init`'s spec (scikit-learn candidates, `bench/results/zoo.json`), and the same spec",
        "with its candidates replaced by one family's estimator (`bench/zoo/families.py`), each through the",
        "train DAG; the baseline is HistGradientBoosting with its defaults on the same split and holdout.",
        "Scores are the promotion metric on the holdout (higher is better, or lower for errors: see metric).",
        "",
        "| set | metric | baseline | scikit-learn (init) | " + " | ".join(families) + " | best |",
        "|---|---|---|---|" + "---|" * len(families) + "---|",
    ]
    wins = dict.fromkeys(["scikit-learn", *families], 0)
    for key, row in base.items():
        scores = {"scikit-learn": row.get("champion")}
        for fam in families:
            other = next((r for r in per_family[fam] if r["key"] == key), {})
            scores[fam] = other.get("champion")
        known = {k: v for k, v in scores.items() if v is not None}
        lower = row.get("metric") in METRICS and METRICS[row["metric"]].direction == "minimize"
        best = (min if lower else max)(known, key=known.__getitem__) if known else "-"
        if best in wins:
            wins[best] += 1
        cells = " | ".join("-" if scores[f] is None else f"{scores[f]:.4f}" for f in families)
        lines.append(
            f"| {key} | {row.get('metric', '')} | {row.get('baseline', 0):.4f} | "
            f"{'-' if scores['scikit-learn'] is None else format(scores['scikit-learn'], '.4f')} | {cells} | {best} |"
        )
    lines += ["", "Best per set: " + ", ".join(f"{k} {v}" for k, v in wins.items()) + "."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated set keys")
    parser.add_argument("--families", default="xgboost,lightgbm")
    parser.add_argument(
        "--add", action="store_true", help="add the family's candidate to init's (the tuner chooses), not replace them"
    )
    parser.add_argument("--work", default=str(ROOT / ".zoo-families"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    out, work = Path(args.out), Path(args.work)
    chosen = [BY_KEY[k] for k in args.only.split(",")] if args.only else list(SETS)
    base = {r["key"]: r for r in json.loads((out / "zoo.json").read_text())}
    per_family: dict[str, list[dict[str, Any]]] = {}
    for family in args.families.split(","):
        rows = []
        for zs in chosen:
            task = base.get(zs.key, {}).get("task") or zs.task or "binary"
            setting = f"candidates{'+' if args.add else ''}={candidates(family, task)}"
            row = run_set(zs, work / family, [setting])
            shown = {k: row.get(k) for k in ("champion", "baseline", "delta", "wall", "error")}
            print(family, zs.key, shown, flush=True)
            rows.append(row)
        per_family[family] = rows
        name = f"zoo-{'init+' if args.add else ''}{family}"
        (out / f"{name}.json").write_text(json.dumps(rows, indent=2, default=str))
        (out / f"{name}.md").write_text(markdown(rows))
    for family in FAMILIES:  # the families not run this time, from their last run
        kept = out / f"zoo-{'init+' if args.add else ''}{family}.json"
        if family not in per_family and kept.exists():
            per_family[family] = json.loads(kept.read_text())
    summary = out / f"zoo-families{'-added' if args.add else ''}.md"
    summary.write_text(table(per_family, {zs.key: base.get(zs.key, {}) for zs in chosen}))
    print(summary.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
