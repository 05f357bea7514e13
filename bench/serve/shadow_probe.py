"""Why the champion's p99 at c=16 grows with a shadow on (bench/results/serve.md: 6.06x of shadow off
with the ONNX runtime, 1.06x before it). Same flights champion and challenger as bench/serve/run.py;
single records at c=16 with wrk; four servers taken in turn, `ROUNDS` times: shadow off / on, with the
estimator in onnxruntime (serving.runtime: auto) or in Python (runtime: python). Writes
bench/results/serve_shadow.{json,md}.

    python bench/serve/shadow_probe.py        # BENCH_SECONDS (10) per run, BENCH_ROUNDS (3)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from run import OUT, ROOT, airloop_serving, free_port, shadow_spec, start, stop, wait_ready, wrk  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def main() -> int:
    base = Path(os.environ.get("BENCH_WORKSPACE", ROOT / ".airloop" / "bench"))
    ws, project = base / "demo", base / "demo" / "flights"
    if not (ws / "mlflow" / "mlflow.db").exists():
        demo = [sys.executable, str(ROOT / "examples" / "flights" / "demo.py"), "--quick", "--workspace", str(base)]
        subprocess.run(demo, check=True, stdout=subprocess.DEVNULL)
    import pandas as pd

    shadow_spec(project, ws)  # airloop-python.yaml, airloop-shadow.yaml, @challenger set
    spec = yaml.safe_load((project / "airloop-shadow.yaml").read_text())
    spec["serving"]["runtime"] = "python"
    (project / "airloop-shadow-python.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    frame = pd.read_parquet(project / "data" / "flights_2013_07.parquet").drop(columns=["late"])
    body = json.dumps(json.loads(frame.head(1).to_json(orient="records", date_format="iso"))[0]).encode()
    variants = {
        "onnx, shadow off": project / "airloop.yaml",
        "onnx, shadow on": project / "airloop-shadow.yaml",
        "python, shadow off": project / "airloop-python.yaml",
        "python, shadow on": project / "airloop-shadow-python.yaml",
    }
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for _ in range(ROUNDS):
            for name, spec_path in variants.items():
                cmd, env, ready, path = airloop_serving(spec_path, ws)
                port = free_port()
                proc = start(cmd(port), env, tmp / "server.log", cwd=Path(__file__).parent)
                try:
                    wait_ready(f"http://127.0.0.1:{port}{ready}", proc)
                    url = f"http://127.0.0.1:{port}{path}"
                    wrk(url, body, 1, tmp)  # warm-up
                    out = wrk(url, body, 16, tmp)
                    runs[name].append(out)
                    print(name, out, flush=True)
                finally:
                    stop(proc)
                time.sleep(1)
    summary = {
        name: {
            "p99_ms_median": statistics.median(r["p99_ms"] for r in rs),
            "p99_ms": [r["p99_ms"] for r in rs],
            "rps_median": statistics.median(r["rps"] for r in rs),
        }
        for name, rs in runs.items()
    }
    for runtime in ("onnx", "python"):
        on, off = summary[f"{runtime}, shadow on"], summary[f"{runtime}, shadow off"]
        summary[f"{runtime} p99 ratio"] = on["p99_ms_median"] / off["p99_ms_median"]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "serve_shadow.json").write_text(json.dumps({"rounds": ROUNDS, "runs": runs, "summary": summary}, indent=2))
    lines = [
        "# Shadow on vs off: the champion's p99 at c=16 (bench/serve/shadow_probe.py)",
        "",
        f"Single flights records, wrk c=16, {ROUNDS} rounds with the four servers in turn; median of the rounds.",
        "",
        "| server | p99 ms (median) | p99 ms per round | req/s (median) |",
        "|---|---|---|---|",
    ]
    for name in variants:
        s = summary[name]
        per = ", ".join(f"{p:.1f}" for p in s["p99_ms"])
        lines.append(f"| {name} | {s['p99_ms_median']:.1f} | {per} | {s['rps_median']:.0f} |")
    lines += [
        "",
        f"p99 shadow on / off: onnx **{summary['onnx p99 ratio']:.2f}x**, "
        f"python **{summary['python p99 ratio']:.2f}x**.",
    ]
    (OUT / "serve_shadow.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
