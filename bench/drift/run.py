"""Drift benchmark: airloop's vectorised drift vs a scipy KS loop vs Evidently's DataDriftPreset.

Data: 1,000,000 reference and 1,000,000 current rows of 20 numeric and 5 categorical columns
(seeded). Some columns shift between reference and current (mean, spread, shape, null rate,
category proportions, a new category), one shifts by a tiny, practically irrelevant amount, the
rest do not. Timed, best of 3, on this machine:
  (a) Reference.fit on the reference rows;
  (b) compute_drift for all 25 features with the reference already fitted (target <= 1.5 s), and
      fit + compute together;
  (c) scipy.stats.ks_2samp on the full columns, looped over the 20 numeric columns;
  (d) Evidently's DataDriftPreset on the same data, in its own venv (EVIDENTLY_PYTHON, or one made
      at .airloop/bench/evidently-venv), fed through Parquet files; capped by EVIDENTLY_TIMEOUT.
Results go to bench/results/drift.{json,md}; the md is printed.
Env: BENCH_DRIFT_ROWS (default 1000000), EVIDENTLY_PYTHON, EVIDENTLY_TIMEOUT (s, default 240),
EVIDENTLY_PSI=0 to skip the second Evidently run that uses PSI for every column.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy
from scipy import stats

from airloop.monitoring.drift import Reference, compute_drift

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "results"
HERE = Path(__file__).resolve().parent
ROWS = int(os.environ.get("BENCH_DRIFT_ROWS", "1000000"))
SEED = 20240601
REPEATS = 3
EVIDENTLY_TIMEOUT = float(os.environ.get("EVIDENTLY_TIMEOUT", "240"))
EVIDENTLY_VENV = ROOT / ".airloop" / "bench" / "evidently-venv"
# Evidently 0.7 imports a pandas internal that pandas 3 removed.
EVIDENTLY_REQUIREMENTS = ["evidently", "pandas<3", "pyarrow"]

NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
CARDINALITY = [3, 8, 20, 60, 300]  # cat_4 has more categories than top_k=50: the tail is __other__
SHIFTS = {
    "num_00": "mean +0.5 sd",
    "num_01": "sd x1.5",
    "num_02": "lognormal sigma 0.5 -> 0.8",
    "num_03": "null rate 0% -> 20%",
    "cat_0": "proportions 1/3 each -> 0.6/0.2/0.2",
    "cat_1": "new category, 15% of rows",
}
TINY = {"num_04": "mean +0.02 sd"}


def truth(column: str) -> str:
    return "shifted" if column in SHIFTS else "tiny" if column in TINY else "unshifted"


def numeric_column(i: int, rng: np.random.Generator, n: int, current: bool) -> np.ndarray:
    name = NUMERIC[i]
    shift = current and name in SHIFTS
    kind = i % 4
    if name == "num_00":
        return rng.normal(10.0 + (0.5 * 2.0 if shift else 0.0), 2.0, n)
    if name == "num_01":
        return rng.normal(0.0, 1.5 if shift else 1.0, n)
    if name == "num_02":
        return rng.lognormal(0.0, 0.8 if shift else 0.5, n)
    if name == "num_03":
        x = rng.normal(5.0, 1.0, n)
        if shift:
            x[rng.random(n) < 0.2] = np.nan
        return x
    if name == "num_04":
        return rng.normal(0.02 if current else 0.0, 1.0, n)
    if kind == 0:
        x = rng.normal(i, 1.0 + i / 10, n)
    elif kind == 1:
        x = rng.exponential(1.0 + i, n)
    elif kind == 2:
        x = rng.uniform(-i, i, n)
    else:
        x = rng.poisson(3.0, n).astype(np.float64)  # ties on the bin edges
    if i % 5 == 0:
        x[rng.random(n) < 0.05] = np.nan  # a stable null rate is not drift
    return x


def categorical_column(j: int, rng: np.random.Generator, n: int, current: bool) -> np.ndarray:
    k = CARDINALITY[j]
    labels = np.array([f"c{j}_{v:03d}" for v in range(k)])
    weights = 1.0 / np.arange(1, k + 1) ** 0.8  # zipf-like: a few frequent, a long tail
    probs = weights / weights.sum()
    if j == 0:
        probs = np.array([0.6, 0.2, 0.2]) if current else np.full(3, 1 / 3)
    values = labels[rng.choice(k, size=n, p=probs)]
    if j == 1 and current:
        values[rng.random(n) < 0.15] = "c1_new"
    if j == 2:
        values = values.astype(object)
        values[rng.random(n) < 0.03] = None
    return values


def make_frame(n: int, seed: int, current: bool) -> pd.DataFrame:
    # One generator per column: a column's data does not depend on the others.
    seeds = np.random.SeedSequence([seed, int(current)]).spawn(len(NUMERIC) + len(CATEGORICAL))
    data: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        data[name] = numeric_column(i, np.random.default_rng(seeds[i]), n, current)
    for j, name in enumerate(CATEGORICAL):
        data[name] = categorical_column(j, np.random.default_rng(seeds[len(NUMERIC) + j]), n, current)
    return pd.DataFrame(data)


def best_of(fn: Callable[[], Any], repeats: int = REPEATS) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def ks_loop(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, Any]:
    out = {}
    for name in NUMERIC:
        a = ref[name].to_numpy()
        b = cur[name].to_numpy()
        res = stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)])
        out[name] = {
            "statistic": float(res.statistic),
            "p_value": float(res.pvalue),
            "drifted": bool(res.pvalue < 0.01),
        }
    return out


# --- Evidently, in its own venv -----------------------------------------------------------------


def evidently_python() -> tuple[str | None, str]:
    """The Evidently venv's python and how it was found, or None and why not."""
    configured = os.environ.get("EVIDENTLY_PYTHON")
    if configured:
        if not _imports_evidently(configured):
            return None, f"EVIDENTLY_PYTHON={configured} cannot import evidently"
        return configured, "EVIDENTLY_PYTHON"
    python = EVIDENTLY_VENV / "bin" / "python"
    if python.exists() and _imports_evidently(str(python)):
        return str(python), f"existing {EVIDENTLY_VENV.relative_to(ROOT)}"
    try:
        print(f"creating {EVIDENTLY_VENV} (pip install {' '.join(EVIDENTLY_REQUIREMENTS)}) ...", flush=True)
        EVIDENTLY_VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *EVIDENTLY_REQUIREMENTS],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or b""
        tail = detail.decode(errors="replace").strip().splitlines()[-1:] if detail else []
        return None, f"could not create the venv: {exc} {' '.join(tail)}".strip()
    if not _imports_evidently(str(python)):
        return None, "evidently installed but does not import"
    return str(python), f"created {EVIDENTLY_VENV.relative_to(ROOT)}"


def _imports_evidently(python: str) -> bool:
    try:
        probe = subprocess.run(
            [python, "-c", "import evidently.presets"],
            capture_output=True,
            timeout=120,
            env={**os.environ, "DO_NOT_TRACK": "1"},
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def run_evidently(python: str, ref: pd.DataFrame, cur: pd.DataFrame, methods: list[str | None]) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="airloop-drift-bench-") as tmp:
        folder = Path(tmp)
        ref.to_parquet(folder / "reference.parquet")
        cur.to_parquet(folder / "current.parquet")
        (folder / "columns.json").write_text(json.dumps({"numeric": NUMERIC, "categorical": CATEGORICAL}))
        for method in methods:
            args = [str(folder / "reference.parquet"), str(folder / "current.parquet"), str(folder / "columns.json")]
            if method:
                args += ["--method", method]
            label = method or "default"
            t0 = time.perf_counter()
            try:
                proc = subprocess.run(
                    [python, str(HERE / "evidently_run.py"), *args],
                    capture_output=True,
                    text=True,
                    timeout=EVIDENTLY_TIMEOUT,
                    env={**os.environ, "DO_NOT_TRACK": "1", "PYTHONWARNINGS": "ignore"},
                )
            except subprocess.TimeoutExpired:
                results.append({"method": label, "error": f"timed out after {EVIDENTLY_TIMEOUT:.0f} s (the cap)"})
                continue
            except OSError as exc:
                results.append({"method": label, "error": f"cannot run {python}: {exc}"})
                continue
            wall = time.perf_counter() - t0
            try:
                if proc.returncode != 0:
                    raise ValueError(f"exit {proc.returncode}")
                result = json.loads(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError) as exc:
                tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
                results.append({"method": label, "error": f"evidently: not available ({exc}: {tail})"})
                continue
            result["subprocess_wall_s"] = wall
            results.append(result)
    return results


# --- report -------------------------------------------------------------------------------------


def decisions(results: list[Any]) -> dict[str, dict[str, bool]]:
    out: dict[str, dict[str, bool]] = {}
    for r in results:
        out.setdefault(r.feature, {})[r.method] = bool(r.drifted)
    return out


def agreement(ours: dict[str, bool], theirs: dict[str, bool]) -> dict[str, Any]:
    judged = [c for c in ours if truth(c) != "tiny" and c in theirs]
    same = [c for c in judged if ours[c] == theirs[c]]
    return {
        "columns": len(judged),
        "agree": len(same),
        "disagree": sorted(set(judged) - set(same)),
    }


def correct(decided: dict[str, bool]) -> dict[str, Any]:
    judged = [c for c in decided if truth(c) != "tiny"]
    wrong = [c for c in judged if decided[c] != (truth(c) == "shifted")]
    return {"columns": len(judged), "correct": len(judged) - len(wrong), "wrong": sorted(wrong)}


def main() -> None:
    print(f"generating 2 x {ROWS:,} rows ...", flush=True)
    t0 = time.perf_counter()
    ref = make_frame(ROWS, SEED, current=False)
    cur = make_frame(ROWS, SEED, current=True)
    generate_s = time.perf_counter() - t0

    fit_s, reference = best_of(lambda: Reference.fit(ref, NUMERIC, CATEGORICAL))
    compute_s, psi_results = best_of(lambda: compute_drift(reference, cur))
    fit_compute_s, _ = best_of(lambda: compute_drift(Reference.fit(ref, NUMERIC, CATEGORICAL), cur))
    chi2_s, chi2_results = best_of(lambda: compute_drift(reference, cur, categorical_method="chi2"))
    ks_s, ks_results = best_of(lambda: compute_drift(reference, cur, categorical_method="chi2", ks=True))
    ks_loop_s, ks_full = best_of(lambda: ks_loop(ref, cur))
    print(f"ours: fit {fit_s:.3f} s, compute {compute_s:.3f} s, scipy KS loop {ks_loop_s:.3f} s", flush=True)

    ours_psi = {f: d["psi"] for f, d in decisions(psi_results).items()}
    ours_tests = {f: d.get("ks", d.get("chi2")) for f, d in decisions(ks_results).items()}
    ours_best = {**ours_psi, **{f: d["chi2"] for f, d in decisions(chi2_results).items() if "chi2" in d}}
    scores = {r.feature: r.statistic for r in psi_results}

    python, how = evidently_python()
    evidently: dict[str, Any] = {"available": python is not None, "how": how, "runs": []}
    if python:
        methods: list[str | None] = [None]
        if os.environ.get("EVIDENTLY_PSI", "1") != "0":
            methods.append("psi")
        print(f"running Evidently ({how}; cap {EVIDENTLY_TIMEOUT:.0f} s per run) ...", flush=True)
        evidently["runs"] = run_evidently(python, ref, cur, methods)

    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "versions": {"numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__},
        "rows": ROWS,
        "numeric": len(NUMERIC),
        "categorical": len(CATEGORICAL),
        "shifted": SHIFTS,
        "tiny": TINY,
        "generate_s": generate_s,
        "reference_json_bytes": len(reference.to_json()),
        "ours": {
            "fit_s": fit_s,
            "compute_s": compute_s,
            "fit_plus_compute_s": fit_compute_s,
            "compute_chi2_s": chi2_s,
            "compute_chi2_plus_ks_s": ks_s,
            "target_compute_s": 1.5,
            "meets_target": compute_s <= 1.5,
            "psi": {f: {"statistic": scores[f], "drifted": ours_psi[f]} for f in ours_psi},
            "tests": ours_tests,
            "psi_correct": correct(ours_psi),
            "psi_chi2_correct": correct(ours_best),
            "chi2_ks_correct": correct({f: bool(v) for f, v in ours_tests.items()}),
        },
        "scipy_ks_loop": {
            "seconds": ks_loop_s,
            "ratio_to_compute": ks_loop_s / compute_s,
            "columns": ks_full,
            "correct": correct({c: v["drifted"] for c, v in ks_full.items()}),
        },
        "evidently": evidently,
    }
    for run in evidently["runs"]:
        if "error" in run:
            continue
        theirs = {c: bool(v.get("drifted")) for c, v in run["columns"].items()}
        run["ratio_to_compute"] = run["best_run_s"] / compute_s
        run["ratio_to_fit_plus_compute"] = run["best_run_s"] / fit_compute_s
        run["agreement_with_our_psi"] = agreement(ours_psi, theirs)
        run["correct"] = correct(theirs)

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "drift.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    md = render(result)
    (OUT / "drift.md").write_text(md)
    print(md)


def render(r: dict[str, Any]) -> str:
    ours, ks = r["ours"], r["scipy_ks_loop"]
    lines = [
        "# Drift benchmark",
        "",
        f"{r['rows']:,} reference + {r['rows']:,} current rows, {r['numeric']} numeric + {r['categorical']} "
        f"categorical columns; {r['machine']['cpus']} CPUs; best of {REPEATS}. Reference summary: "
        f"{r['reference_json_bytes'] / 1e6:.1f} MB of JSON.",
        "",
        "| what | seconds | vs our compute_drift |",
        "|---|---|---|",
        f"| airloop `compute_drift`, 25 features, PSI (reference fitted) | {ours['compute_s']:.3f} | 1.0x |",
        f"| airloop `Reference.fit` | {ours['fit_s']:.3f} | {ours['fit_s'] / ours['compute_s']:.1f}x |",
        f"| airloop fit + compute | {ours['fit_plus_compute_s']:.3f} | "
        f"{ours['fit_plus_compute_s'] / ours['compute_s']:.1f}x |",
        f"| airloop compute, chi2 for categorical | {ours['compute_chi2_s']:.3f} | "
        f"{ours['compute_chi2_s'] / ours['compute_s']:.1f}x |",
        f"| airloop compute, chi2 + KS (10k-value reference sample) | {ours['compute_chi2_plus_ks_s']:.3f} | "
        f"{ours['compute_chi2_plus_ks_s'] / ours['compute_s']:.1f}x |",
        f"| scipy `ks_2samp` loop, {r['numeric']} numeric columns, all rows on both sides | {ks['seconds']:.3f} | "
        f"{ks['ratio_to_compute']:.1f}x |",
    ]
    ev = r["evidently"]
    for run in ev["runs"]:
        if "error" in run:
            lines.append(f"| Evidently DataDriftPreset ({run['method']}) | {run['error']} | - |")
        else:
            lines.append(
                f"| Evidently {run['evidently_version']} DataDriftPreset ({run['method']}), `Report.run` | "
                f"{run['best_run_s']:.3f} | {run['ratio_to_compute']:.1f}x "
                f"({run['ratio_to_fit_plus_compute']:.1f}x fit + compute) |"
            )
    if not ev["available"]:
        lines.append(f"| evidently: not available ({ev['how']}) | - | - |")
    target = "meets" if ours["meets_target"] else "MISSES"
    lines += ["", f"`compute_drift` {target} the <= {ours['target_compute_s']} s target.", ""]

    lines += ["Drift decisions (shifted columns, the tiny shift, and how many unshifted columns were flagged):", ""]
    header = ["column", "truth", "ours PSI", "ours chi2/KS", "scipy KS full"]
    runs = [run for run in ev["runs"] if "error" not in run]
    header += [f"Evidently {run['method']}" for run in runs]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def mark(flag: bool | None) -> str:
        return "-" if flag is None else "drift" if flag else "ok"

    def cells(column: str) -> list[str]:
        row = [
            mark(ours["psi"][column]["drifted"]) + f" ({ours['psi'][column]['statistic']:.3f})",
            mark(ours["tests"].get(column)),
            mark(ks["columns"][column]["drifted"]) if column in ks["columns"] else "-",
        ]
        for run in runs:
            col = run["columns"].get(column, {})
            score = col.get("score")
            row.append(mark(col.get("drifted")) + (f" ({score:.3f})" if isinstance(score, float) else ""))
        return row

    for column in [*r["shifted"], *r["tiny"]]:
        label = r["shifted"].get(column) or r["tiny"][column]
        lines.append(f"| {column} | {truth(column)}: {label} | " + " | ".join(cells(column)) + " |")
    unshifted = [c for c in ours["psi"] if truth(c) == "unshifted"]

    def flagged(get: Callable[[str], bool | None]) -> str:
        return f"{sum(bool(get(c)) for c in unshifted)}/{len(unshifted)} flagged"

    row = [
        flagged(lambda c: ours["psi"][c]["drifted"]),
        flagged(lambda c: ours["tests"].get(c)),
        flagged(lambda c: ks["columns"][c]["drifted"] if c in ks["columns"] else None),
    ]
    row += [flagged(lambda c, run=run: run["columns"].get(c, {}).get("drifted")) for run in runs]
    lines.append("| unshifted columns | unshifted | " + " | ".join(row) + " |")
    lines.append("")
    lines.append(
        "Ours: PSI on 10 reference-quantile bins, drift at PSI >= 0.2; chi2 and KS at p < 0.01. Missing values are "
        "a bin of their own for PSI and chi2; KS and Evidently drop them."
    )
    for run in runs:
        a = run["agreement_with_our_psi"]
        disagree = ", ".join(a["disagree"]) or "none"
        methods = sorted({f"{c['method']} >= {c['threshold']}" for c in run["columns"].values()})
        lines.append(
            f"Evidently ({run['method']}: {'; '.join(methods)}; one run, {run['import_s']:.1f} s import and "
            f"{run['load_s']:.1f} s Parquet read not counted) agrees with our PSI on {a['agree']}/{a['columns']} "
            f"shifted + unshifted columns (disagreements: {disagree})."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
