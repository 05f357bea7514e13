"""Where a served single-record prediction spends its time, per runtime: the request frame, the
user's transform, the column preparation, the estimator (scikit-learn vs its verified ONNX form).

In process, through the server's own path (``scoring.frame.predict`` on a loaded ``Snapshot``), on
the flights champion of bench/serve/run.py (run that first: it trains it). Mean of 2,000 calls after
200 warm-up calls. Writes bench/results/serve_model_path.{json,md}.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "results"
N = 2000


def timed(fn, n: int = N) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e3


def main() -> int:
    import pandas as pd

    from airloop.model.store import LoadOptions
    from airloop.scoring.frame import predict, to_frame
    from airloop.serving.holder import load_snapshot
    from airloop.tracking import Tracker
    from airloop.workspace import Workspace

    ws = Workspace((ROOT / ".airloop" / "bench" / "demo").resolve())
    project = ws.root / "flights"
    sys.path.insert(0, str(project))
    version = Tracker(ws).alias_version("flights", "champion")
    frame = pd.read_parquet(project / "data" / "flights_2013_07.parquet").drop(columns=["late"])
    record = json.loads(frame.head(1).to_json(orient="records", date_format="iso"))
    results = {}
    for runtime in ("python", "onnx"):
        snap = load_snapshot(ws, "flights", version, "binary", "accept", 100, options=LoadOptions(runtime=runtime))
        timed(lambda s=snap: predict(s, record), 200)
        row = {"runtime": snap.model.runtime, "predict_ms": timed(lambda s=snap: predict(s, record))}
        row["frame_ms"] = timed(lambda s=snap: to_frame(s, record))
        data = to_frame(snap, record)
        for name, step in snap.model.steps[:-1]:
            row[f"{name}_ms"] = timed(lambda st=step, d=data: st.transform(d.copy()))
            data = step.transform(data.copy())
        row["estimator_ms"] = timed(lambda e=snap.model.steps[-1][1], d=data: e.predict_proba(d))
        results[runtime] = row
        print(runtime, row, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "serve_model_path.json").write_text(json.dumps(results, indent=2))
    py, ox = results["python"], results["onnx"]
    lines = [
        "# A single-record prediction, by part (in process, the server's own path)",
        "",
        f"Flights champion v{version}; mean of {N:,} calls; `python bench/serve/model_path.py`.",
        "",
        "| runtime | predict() ms | request frame | user transform | column preparation | estimator |",
        "|---|---|---|---|---|---|",
    ]
    for row in (py, ox):
        lines.append(
            f"| {row['runtime']} | {row['predict_ms']:.3f} | {row['frame_ms']:.3f} | {row.get('transform_ms', 0):.3f} "
            f"| {row['prepare_ms']:.3f} | {row['estimator_ms']:.3f} |"
        )
    lines += [
        "",
        f"ONNX: the estimator {py['estimator_ms'] / ox['estimator_ms']:.0f}x faster, the whole prediction "
        f"{py['predict_ms'] / ox['predict_ms']:.2f}x; what remains is mostly the user's transform "
        "(the flights example's pandas code) and the request frame.",
    ]
    (OUT / "serve_model_path.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
