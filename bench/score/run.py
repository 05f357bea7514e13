"""`airloop score` at volume: the pandas engine and the Spark engine on the same rows, and the Spark
contract check of those rows.

One small binary project (engine: spark; 15 features: 10 numeric, 5 categorical with 5-50
categories; LogisticRegression on 20,000 rows) is trained once in-process; its champion scores
generated Parquet inputs (parts of 500,000 rows; one row in 10,000 carries a category the model never
saw and one in 20,000 a null feature, so each run refuses some records). Each measured configuration
runs in a process of its own (a fresh JVM per Spark run, its master from $AIRLOOP_SPARK_MASTER):

- pandas: ``airloop.scoring.batch.score`` (chunks of 50,000 records, `airloop score`'s default)
- spark local[1] / local[2]: ``airloop.spark.score.score`` with ``spark=None`` (it opens its session,
  as `airloop score` does)
- validate local[2]: ``airloop.spark.contract.check`` of the rows against the model's contract

While a configuration runs, psutil samples every 0.2 s the RSS of (a) the Python side: the driver
Python process plus every Python process under it (PySpark's daemon and its workers; forked workers
share pages with the daemon, so the sum overstates it), and (b) the JVM (the java child). The peaks,
the wall time of the call and rows/s go to bench/results/score.{json,md}.

    .venv/bin/python bench/score/run.py                      # 5M and 20M rows (+ pandas 1M)
    .venv/bin/python bench/score/run.py --rows 5000000 --pandas-rows 1000000
    .venv/bin/python bench/score/run.py --quick              # 200k rows, results score_quick.*

The full run (9 processes; the longest is Spark local[1] at 20M rows) takes about 2 hours on a quiet
2-core machine, estimated from the CPU seconds per row of small runs (pandas ~22 us/row; Spark
~75 us/row in the Python workers + ~80 us/row in the JVM; the contract check ~80 us/row of JVM).

Generated data, the project and its workspace are kept in $BENCH_SCORE_DIR (default
/tmp/airloop-bench-score) and reused by the next run; outputs are deleted after each configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "results"
SCRATCH = Path(os.environ.get("BENCH_SCORE_DIR", "/tmp/airloop-bench-score"))
DATA_VERSION = "1"  # bump when the generator or the project changes: cached data is made again
PART_ROWS = 500_000
TRAIN_ROWS = 20_000
CHUNK_ROWS = 50_000  # `airloop score --chunk-rows` default, for both engines
NUMERIC = [f"n{i}" for i in range(10)]
CATEGORICAL = {f"c{i}": k for i, k in enumerate((5, 12, 20, 35, 50))}
UNSEEN_EVERY, NULL_EVERY = 10_000, 20_000
SAMPLE_SECONDS = 0.2
TARGETS = {"pandas_1m_seconds": 20, "pandas_peak_rss_gb": 2}

SPEC = """\
name: benchscore
task: binary
engine: spark
data:
  source:
    path: data/train
  target: label
  max_train_rows: {train_rows}
split:
  method: random
  holdout_fraction: 0.25
candidates:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {{max_iter: 300}}
tuning:
  trials: 1
  batch_size: 1
promotion:
  metric: roc_auc
"""


# ---------------------------------------------------------------- data


def frame(n: int, seed: int, first_row: int = 0, plant: bool = True) -> Any:
    """n rows as Arrow: numbers bounded (so the rows stay inside the training ranges), categories
    with skewed weights; planted: row r's c0 a category never seen when r % UNSEEN_EVERY == 0, its
    n1 null when r % NULL_EVERY == 1."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        if i % 2 == 0:
            cols[name] = np.clip(rng.normal(0, 1, n), -3, 3) * (1 + i / 10) + i
        else:
            cols[name] = rng.uniform(0, 10 * (i + 1), n)
    codes = {}
    for name, k in CATEGORICAL.items():
        weights = np.linspace(1, 3, k)
        codes[name] = rng.choice(k, size=n, p=weights / weights.sum())
    logit = 0.8 * (cols["n0"]) - 0.4 * (cols["n2"] - 2) + 0.03 * cols["n3"] - 0.6 + 0.25 * codes["c0"]
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    arrays: dict[str, Any] = {name: pa.array(v) for name, v in cols.items()}
    for name, k in CATEGORICAL.items():
        words = [f"{name}_{j}" for j in range(k)]
        values = pa.DictionaryArray.from_arrays(pa.array(codes[name], pa.int32()), pa.array(words))
        arrays[name] = values.cast(pa.string())
    if plant:
        rows = np.arange(first_row, first_row + n)
        unseen = pa.array(rows % UNSEEN_EVERY == 0)
        arrays["c0"] = pc.if_else(unseen, pa.scalar("c0_unseen"), arrays["c0"])
        null = pa.array(rows % NULL_EVERY == 1)
        arrays["n1"] = pc.if_else(null, pa.scalar(None, pa.float64()), arrays["n1"])
    else:
        arrays["label"] = pa.array(label)
    return pa.table(arrays)


def inputs(rows: int) -> Path:
    """The scoring input of ``rows`` rows (parts of PART_ROWS, made one at a time), made once."""
    import pyarrow.parquet as pq

    folder = SCRATCH / f"v{DATA_VERSION}" / f"rows-{rows}-parts-{PART_ROWS}"
    done = folder / "_DONE"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    for i, first in enumerate(range(0, rows, PART_ROWS)):
        n = min(PART_ROWS, rows - first)
        pq.write_table(frame(n, seed=1000 + i, first_row=first), folder / f"part-{i:05d}.parquet", compression="zstd")
    done.write_text(json.dumps({"rows": rows, "seconds": round(time.perf_counter() - started, 1)}))
    print(f"generated {rows:,} rows in {folder} ({time.perf_counter() - started:.0f} s)", flush=True)
    return folder


def project() -> tuple[Path, Path]:
    """The project and its workspace with a champion, trained once (in a process of its own: the
    training opens a Spark session)."""
    base = SCRATCH / f"v{DATA_VERSION}"
    proj, ws = base / "project", base / "ws"
    if (base / "_TRAINED").exists():
        return proj, ws
    import pyarrow.parquet as pq

    shutil.rmtree(proj, ignore_errors=True)
    shutil.rmtree(ws, ignore_errors=True)
    (proj / "data" / "train").mkdir(parents=True)
    for i in range(2):
        part = frame(TRAIN_ROWS // 2, seed=i, plant=False)
        pq.write_table(part, proj / "data" / "train" / f"part-{i}.parquet")
    (proj / "airloop.yaml").write_text(textwrap.dedent(SPEC.format(train_rows=TRAIN_ROWS)))
    res = child({"kind": "train", "project": str(proj), "ws": str(ws)}, "local[2]", tag="train")
    print(f"trained v{res['result']['version']} in {res['wall_seconds']} s", flush=True)
    (base / "_TRAINED").write_text(json.dumps(res["result"]))
    return proj, ws


# ---------------------------------------------------------------- one configuration, in its own process


def run_child(job: dict[str, Any]) -> dict[str, Any]:
    """What a child process measures: one call, timed from before its imports' first use."""
    from airloop.spec import load_spec
    from airloop.workspace import Workspace

    loaded = load_spec(Path(job["project"]) / "airloop.yaml")
    ws = Workspace(Path(job["ws"]))
    kind = job["kind"]
    if kind == "train":
        from airloop.local.inprocess import run_train
        from airloop.tracking import Tracker
        from airloop.tracking.tags import CHAMPION

        refs = run_train(loaded, ws, "bench_1")
        version = Tracker(ws).alias_version(loaded.spec.name, CHAMPION)
        if version is None:
            raise SystemExit(f"no champion after training: {json.dumps(refs, default=str)[:2000]}")
        return {"version": str(version), "sampled": refs.get("sampled")}
    started = time.perf_counter()
    if kind == "pandas":
        from airloop.scoring.batch import score

        marks: list[tuple[float, int]] = []  # (time, rows done) after each chunk: the rate past the start

        def tick(s: Any) -> None:
            marks.append((time.perf_counter() - started, s.scored + s.rejected))

        s = score(loaded, ws, [str(Path(job["input"]) / "*.parquet")], job["out"], chunk_rows=CHUNK_ROWS, on_chunk=tick)
        seconds = time.perf_counter() - started
        phases = {"first_chunk_seconds": round(marks[0][0], 2)} if marks else {}
        if len(marks) > 1:
            (t0, r0), (t1, r1) = marks[0], marks[-1]
            phases["rows_per_s_after_first_chunk"] = round((r1 - r0) / (t1 - t0))
        return {"seconds": seconds, **phases, **_summary(s)}
    if kind == "spark":
        from airloop.spark.score import score as spark_score
        from airloop.spark.session import opened

        # the session `airloop score` would open (airloop.spark.session.opened on $AIRLOOP_SPARK_MASTER),
        # opened here to time its start apart and count the input's partitions; the call is the same
        with opened(loaded.spec, "benchscore-score") as session:
            up = time.perf_counter()
            partitions = session.read.parquet(job["input"]).rdd.getNumPartitions()
            counted = time.perf_counter()
            s = spark_score(loaded, ws, [job["input"]], job["out"], chunk_rows=CHUNK_ROWS, spark=session)
            done = time.perf_counter()
        return {
            "seconds": done - started - (counted - up),
            "session_start_seconds": round(up - started, 2),
            "score_call_seconds": round(done - counted, 2),
            "partitions": partitions,
            **_summary(s),
        }
    if kind == "validate":
        from airloop.scoring.batch import _load
        from airloop.spark import contract as sc
        from airloop.spark.session import opened

        model = _load(loaded, ws, None)
        features = list(model.feature_names)
        contract = model.contract.only(features)
        loaded_at = time.perf_counter()
        with opened(loaded.spec, "benchscore-validate") as session:
            up = time.perf_counter()
            table = session.read.parquet(job["input"])
            rows, violations = sc.check(table.select(*features), contract, loaded.spec.contract)
            checked = time.perf_counter()
        return {
            "seconds": time.perf_counter() - started,
            "model_load_seconds": round(loaded_at - started, 2),
            "session_start_seconds": round(up - loaded_at, 2),
            "check_seconds": round(checked - up, 2),
            "rows": rows,
            "violations": [{"column": v.column, "rule": v.rule, "count": v.count} for v in violations],
        }
    raise SystemExit(f"unknown job {kind}")


def _summary(s: Any) -> dict[str, Any]:
    return {"scored": s.scored, "rejected": s.rejected, "rejected_by_field": s.rejected_by_field, "parts": s.parts}


def _tree(pid: int, cpu: dict[int, tuple[str, float]] | None = None) -> tuple[int, int, int]:
    """(RSS of the Python side, of the JVM, of the driver process alone) now, in bytes; ``cpu``
    gets each process's CPU seconds so far (user + system), by pid."""
    import psutil

    try:
        top = psutil.Process(pid)
        procs = [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0, 0
    py = jvm = own = 0
    for p in procs:
        try:
            rss = p.memory_info().rss
            name = p.name()
            cmd = " ".join(p.cmdline()[:2])
            times = p.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if p.pid == pid:
            own = rss
        side = (
            "jvm"
            if name == "java" or cmd.endswith("/java") or "/java " in cmd
            else "python"
            if "python" in (name + cmd)
            else "other"
        )
        if side == "jvm":
            jvm += rss
        elif side == "python":
            py += rss
        if cpu is not None:
            cpu[p.pid] = (side, times.user + times.system)
    return py, jvm, own


def child(job: dict[str, Any], master: str | None, tag: str, timeout: float = 4 * 3600) -> dict[str, Any]:
    """``job`` in a fresh process, sampled; returns its result, peaks and wall time."""
    import psutil

    logs = SCRATCH / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if master:
        env["AIRLOOP_SPARK_MASTER"] = master
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    result_file = logs / f"{tag}.result.json"
    result_file.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job), "--result", str(result_file)]
    peak = {"python": 0, "jvm": 0, "driver": 0, "total": 0}
    samples = 0
    cpu: dict[int, tuple[str, float]] = {}
    started = time.perf_counter()
    with open(logs / f"{tag}.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while proc.poll() is None:
                py, jvm, own = _tree(proc.pid, cpu)
                peak["python"], peak["jvm"] = max(peak["python"], py), max(peak["jvm"], jvm)
                peak["driver"], peak["total"] = max(peak["driver"], own), max(peak["total"], py + jvm)
                samples += 1
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(f"{tag} ran over {timeout:.0f} s")
                time.sleep(SAMPLE_SECONDS)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the group this run started: driver, java, workers
                proc.wait()
    wall = time.perf_counter() - started
    # the JVM and the Python workers end after the driver (the JVM on its stdin's close): 15 s for
    # them to go, then what is still in the process group this run started is killed and counted
    deadline = time.perf_counter() + 15
    while (
        left := [p for p in psutil.process_iter(["pid"]) if _group(p) == proc.pid]
    ) and time.perf_counter() < deadline:
        time.sleep(0.5)
    if left:
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode or not result_file.exists():
        tail = (logs / f"{tag}.log").read_text()[-4000:]
        raise SystemExit(f"{tag} failed (exit {proc.returncode}); log {logs / f'{tag}.log'}:\n{tail}")
    return {
        "result": json.loads(result_file.read_text()),
        "wall_seconds": round(wall, 2),
        "samples": samples,
        "peak_rss_gb": {k: round(v / 1024**3, 3) for k, v in peak.items()},
        # CPU seconds as last sampled (up to 0.2 s short per process): on a busy machine the wall
        # time stretches, the CPU time much less
        "cpu_seconds": {side: round(sum(t for sd, t in cpu.values() if sd == side), 1) for side in ("python", "jvm")},
        "left_behind": len(left),
    }


def _group(p: Any) -> int | None:
    try:
        return os.getpgid(p.pid)
    except (ProcessLookupError, PermissionError):
        return None


def measure(kind: str, rows: int, master: str | None, proj: Path, ws: Path) -> dict[str, Any]:
    folder = inputs(rows)
    out = SCRATCH / "out" / f"{kind}-{rows}"
    shutil.rmtree(out, ignore_errors=True)
    for leftover in out.parent.glob(f".{out.name}.*"):
        shutil.rmtree(leftover, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    engine = f"{kind} {master}" if master else kind
    tag = f"{kind}-{(master or '').replace('[', '').replace(']', '')}-{rows}"
    print(f"{engine}, {rows:,} rows ...", flush=True)
    job = {"kind": kind, "project": str(proj), "ws": str(ws), "input": str(folder), "out": str(out)}
    try:
        res = child(job, master, tag)
        res["output_bytes"] = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) if out.exists() else 0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    r = res.pop("result")
    seconds = r.pop("seconds")
    row = {
        "engine": engine,
        "kind": kind,
        "master": master,
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        **res,
        **r,
    }
    pk = row["peak_rss_gb"]
    print(
        f"  {row['seconds']} s ({row['rows_per_s']:,} rows/s), wall {row['wall_seconds']} s; peak RSS python "
        f"{pk['python']} GB, jvm {pk['jvm']} GB",
        flush=True,
    )
    return row


# ---------------------------------------------------------------- report


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for dist in ("airloop", "pyspark", "pandas", "pyarrow", "scikit-learn", "mlflow", "psutil"):
        try:
            out[dist] = version(dist)
        except Exception:
            out[dist] = "?"
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    out["java"] = (java.stderr.splitlines() or ["?"])[0]
    return out


def machine() -> dict[str, Any]:
    import psutil

    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "cpu": platform.processor() or platform.machine(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def markdown(result: dict[str, Any]) -> str:
    m, v = result["machine"], result["versions"]
    loaded = max(m["load_avg_at_start"][0], m["load_avg_at_end"][0]) > m["nproc"]
    busy = ": a busy machine, the times are stretched" if loaded else ""
    lines = [
        f"# `airloop score` at volume{' (QUICK smoke run: not the issue numbers)' if result['quick'] else ''}",
        "",
        f"{result['date']}; {m['nproc']} cores, {m['ram_gb']} GB RAM (load average at start "
        f"{m['load_avg_at_start'][0]}, at end {m['load_avg_at_end'][0]}"
        f"{busy}); "
        f"Python {v['python']}, PySpark {v['pyspark']}, {v['java']}, pandas {v['pandas']}, pyarrow {v['pyarrow']}, "
        f"scikit-learn {v['scikit-learn']}, MLflow {v['mlflow']}.",
        "",
        f"The champion of a binary project (engine: spark; 15 features, 10 numeric and 5 categorical; "
        f"LogisticRegression on {TRAIN_ROWS:,} rows) scores generated Parquet (parts of {PART_ROWS:,} rows; one "
        f"row in {UNSEEN_EVERY:,} has an unseen category and one in {NULL_EVERY:,} a null feature, refused). "
        f"Chunks / Arrow batches of {CHUNK_ROWS:,} records. Each line is a process of its own (a fresh JVM "
        "per Spark line); `s` is the call (Spark: session start included, as `airloop score` runs it), `wall` "
        "the process (imports and JVM exit included). Peak RSS sampled every 0.2 s: Python = the driver plus "
        "the PySpark daemon and workers (summed: forked workers share pages, so this overstates), JVM = java.",
        "",
        f"Reproduce: `{result['command']}` (generated data is cached in {SCRATCH}).",
        "",
        "| engine | rows | s | rows/s | wall s | CPU s Python + JVM | peak RSS Python GB | peak RSS JVM GB "
        "| scored | rejected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["runs"]:
        pk = r["peak_rss_gb"]
        scored = f"{r['scored']:,}" if "scored" in r else f"(check of {r['rows']:,})"
        rejected = f"{r['rejected']:,}" if "rejected" in r else f"{len(r['violations'])} violations"
        lines.append(
            f"| {r['engine']} | {r['rows']:,} | {r['seconds']} | {r['rows_per_s']:,} | {r['wall_seconds']} "
            f"| {r['cpu_seconds']['python']} + {r['cpu_seconds']['jvm']} "
            f"| {pk['python']} | {pk['jvm']} | {scored} | {rejected} |"
        )
    lines += ["", "## Against the issue's targets", ""]
    for check in result["checks"]:
        lines.append(f"- {check}")
    for r in result["runs"]:
        if r["kind"] == "validate":
            found = ", ".join(f"{x['column']} {x['rule']} ({x['count']})" for x in r["violations"]) or "none"
            lines.append(f"- contract check on Spark, {r['engine']}, {r['rows']:,} rows: violations {found}")
    lines += ["", "Phases (s): "]
    for r in result["runs"]:
        keys = (
            "first_chunk_seconds",
            "rows_per_s_after_first_chunk",
            "session_start_seconds",
            "score_call_seconds",
            "partitions",
            "model_load_seconds",
            "check_seconds",
        )
        shown = ", ".join(f"{k} {r[k]}" for k in keys if k in r)
        lines.append(f"- {r['engine']}, {r['rows']:,} rows: {shown}")
    return "\n".join(lines) + "\n"


def checks(runs: list[dict[str, Any]], pandas_rows: int) -> list[str]:
    out = []
    by = {(r["engine"], r["rows"]): r for r in runs}
    p = by.get(("pandas", pandas_rows))
    if p:
        ok = p["seconds"] <= TARGETS["pandas_1m_seconds"] * pandas_rows / 1_000_000
        mem = p["peak_rss_gb"]["python"] <= TARGETS["pandas_peak_rss_gb"]
        lines = f"pandas, {pandas_rows:,} rows: {p['seconds']} s"
        out.append(
            f"{lines} (target <= 20 s per 1M rows: {'met' if ok else 'MISSED'}), peak RSS {p['peak_rss_gb']['python']} "
            f"GB (target <= 2 GB: {'met' if mem else 'MISSED'})"
        )
    sizes = sorted({r["rows"] for r in runs if r["kind"] == "spark"})
    for n in sizes:
        pd_ = by.get(("pandas", n))
        for master in ("local[1]", "local[2]"):
            s = by.get((f"spark {master}", n))
            if s and pd_:
                ratio = s["rows_per_s"] / pd_["rows_per_s"]
                out.append(
                    f"spark {master}, {n:,} rows: {s['rows_per_s']:,} rows/s = {ratio:.2f}x "
                    f"the pandas engine's {pd_['rows_per_s']:,} rows/s"
                )
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        for engine in sorted({r["engine"] for r in runs if r["kind"] in ("spark", "validate")}):
            a, b = by.get((engine, lo)), by.get((engine, hi))
            if a and b:
                for side in ("python", "jvm"):
                    x, y = a["peak_rss_gb"][side], b["peak_rss_gb"][side]
                    grew = y > x * 1.2 + 0.05
                    out.append(
                        f"{engine}, peak {side} RSS {lo:,} -> {hi:,} rows: {x} -> {y} GB "
                        f"({'GROWS with the rows' if grew else 'flat'})"
                    )
    return out


def main() -> None:
    global PART_ROWS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default=os.environ.get("BENCH_SCORE_ROWS", "5000000,20000000"), help="Spark sizes")
    ap.add_argument("--pandas-rows", type=int, default=int(os.environ.get("BENCH_SCORE_PANDAS_ROWS", 1_000_000)))
    ap.add_argument("--masters", default="local[1],local[2]", help="Spark masters for scoring")
    ap.add_argument("--validate-masters", default="local[2]", help="Spark masters for the contract check")
    ap.add_argument("--no-pandas-ratio", action="store_true", help="skip the pandas engine at the Spark sizes")
    ap.add_argument("--part-rows", type=int, default=PART_ROWS, help="rows per generated Parquet file")
    ap.add_argument(
        "--quick", action="store_true", help="200k rows everywhere in files of 50k (4 Spark partitions); score_quick.*"
    )
    ap.add_argument("--name", default=None, help="results name (default score, or score_quick)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        res = run_child(json.loads(args.child))
        Path(args.result).write_text(json.dumps(res, default=str))
        return
    PART_ROWS = 50_000 if args.quick else args.part_rows
    sizes = [200_000] if args.quick else [int(x) for x in args.rows.split(",") if x]
    pandas_rows = 200_000 if args.quick else args.pandas_rows
    name = args.name or ("score_quick" if args.quick else "score")
    command = "PYTHONPATH=src .venv/bin/python bench/score/run.py " + shlex.join(sys.argv[1:])
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "command": command.strip(),
        "machine": machine(),
        "versions": versions(),
        "settings": {"part_rows": PART_ROWS, "chunk_rows": CHUNK_ROWS, "train_rows": TRAIN_ROWS},
        "runs": [],
    }
    proj, ws = project()
    runs = result["runs"]
    runs.append(measure("pandas", pandas_rows, None, proj, ws))
    for n in sizes:
        if n != pandas_rows and not args.no_pandas_ratio:
            runs.append(measure("pandas", n, None, proj, ws))
        for master in args.masters.split(","):
            runs.append(measure("spark", n, master, proj, ws))
        for master in filter(None, args.validate_masters.split(",")):
            runs.append(measure("validate", n, master, proj, ws))
    result["checks"] = checks(runs, pandas_rows)
    result["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=2))
    md = markdown(result)
    (OUT / f"{name}.md").write_text(md)
    print(md)
    print("wrote", OUT / f"{name}.json")


if __name__ == "__main__":
    main()
