"""Serving benchmark: airloop serve vs `mlflow models serve` vs a bare ASGI floor, same model.

Model: the flights champion made by `examples/flights/demo.py --quick`. Load generator: wrk (C, epoll), each run
10 s, on this machine (2 cores shared by client and server). Scenarios: one record at
concurrency 1 and 16, and 100-record batches at concurrency 1 and 16. Results go to
bench/results/serve.{json,md}.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"{url} not ready")


def wrk(url: str, body: bytes, connections: int, tmp: Path) -> dict:
    script = tmp / "post.lua"
    (tmp / "body.json").write_bytes(body)
    script.write_text(
        'local f = io.open("%s", "rb"); wrk.body = f:read("*a"); f:close()\n'
        'wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"\n' % (tmp / "body.json")
    )
    threads = min(connections, 2)
    res = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{DURATION}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    text = res.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", text)
        value, unit = float(m.group(1)), m.group(2)
        lat[f"p{pct}_ms"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    total = int(re.search(r"(\d+) requests in", text).group(1))
    return {
        "rps": rps,
        **lat,
        "requests": total,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else None,
    }


def start(cmd: list[str], env: dict, log: Path, cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, env={**os.environ, **env}, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
    )


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(15)
    except Exception:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def in_process_predict(ws: Path, project: Path, record: dict, n: int = 300) -> dict:
    code = f"""
import json, sys, time
sys.path.insert(0, {str(project)!r})
import mlflow.sklearn, pandas as pd
from threadpoolctl import threadpool_limits
threadpool_limits(1)
mlflow.set_tracking_uri("sqlite:///{ws}/mlflow/mlflow.db")
m = mlflow.sklearn.load_model("models:/flights@champion")
rec = json.loads({json.dumps(json.dumps(record))})
row = pd.DataFrame.from_records([rec])
row["time_hour"] = pd.to_datetime(row["time_hour"], utc=True).dt.tz_localize(None)
for _ in range(20): m.predict_proba(row)
t = time.perf_counter()
for _ in range({n}): m.predict_proba(row)
one = (time.perf_counter() - t) / {n} * 1000
print(json.dumps({{"predict_proba_one_row_ms": one}}))
"""
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    base = Path(os.environ.get("BENCH_WORKSPACE", ROOT / ".airloop" / "bench"))
    ws = base / "demo"
    project = ws / "flights"
    if not (ws / "mlflow" / "mlflow.db").exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "flights" / "demo.py"),
                "--quick",
                "--workspace",
                str(base),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    import pandas as pd

    frame = pd.read_parquet(project / "data" / "flights_2013_07.parquet").drop(columns=["late"])
    recs = json.loads(frame.head(100).to_json(orient="records", date_format="iso"))
    one = recs[0]
    bodies = {
        "airloop": {"single": json.dumps(one).encode(), "batch100": json.dumps({"records": recs}).encode()},
        "mlflow": {
            "single": json.dumps({"dataframe_records": [one]}).encode(),
            "batch100": json.dumps({"dataframe_records": recs}).encode(),
        },
        "bare_asgi": {"single": b"{}"},
    }
    mlflow_env = {"MLFLOW_TRACKING_URI": f"sqlite:///{ws}/mlflow/mlflow.db", "MLFLOW_DISABLE_TELEMETRY": "true"}
    servers = {
        "airloop": (
            lambda p: [str(BIN / "airloop"), "serve", str(project), "--workspace", str(ws), "--port", str(p)],
            {},
            "/ready",
            "/predict",
        ),
        "mlflow": (
            lambda p: [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                "models:/flights@champion",
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(p),
            ],
            # its launcher runs `uvicorn` by name: the venv's bin must be on PATH (a fresh shell has no venv active)
            {**mlflow_env, "PYTHONPATH": str(project), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
            "/ping",
            "/invocations",
        ),
        "bare_asgi": (
            lambda p: [
                sys.executable,
                "-m",
                "uvicorn",
                "bare_asgi:app",
                "--port",
                str(p),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            {"WORKSPACE": str(ws), "PROJECT": str(project), "RECORD": json.dumps(one)},
            None,
            "/",
        ),
    }
    results: dict = {
        "load_generator": f"wrk 4.1 ({DURATION}s per run, 1-2 threads)",
        "cpus": os.cpu_count(),
        "model": "flights champion (HistGradientBoosting pipeline with a pandas feature transform)",
        "in_process": in_process_predict(ws, project, one),
        "servers": {},
    }
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for name, (cmd, env, ready, path) in servers.items():
            port = free_port()
            proc = start(cmd(port), env, tmp / f"{name}.log", cwd=Path(__file__).parent)
            try:
                wait_ready(
                    f"http://127.0.0.1:{port}{ready or '/'}" if ready else f"http://127.0.0.1:{port}/", proc
                ) if ready else time.sleep(6)
                url = f"http://127.0.0.1:{port}{path}"
                out = {}
                for scenario, body in bodies[name].items():
                    wrk(url, body, 1, tmp)  # warm-up
                    for conns in (1, 16):
                        out[f"{scenario}_c{conns}"] = wrk(url, body, conns, tmp)
                        print(name, scenario, conns, out[f"{scenario}_c{conns}"], flush=True)
                results["servers"][name] = out
            finally:
                stop(proc)
                shutil.copy(tmp / f"{name}.log", OUT / f"serve-{name}.log") if OUT.exists() else None
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "serve.json").write_text(json.dumps(results, indent=2))
    (OUT / "serve.md").write_text(render(results))
    print(render(results))
    return 0


def render(r: dict) -> str:
    s = r["servers"]
    lines = [
        "# Serving benchmark",
        "",
        f"Load generator: {r['load_generator']}; {r['cpus']} CPUs shared by client and server. Model: {r['model']}.",
        "",
        f"In-process `predict_proba` on one pre-parsed row: {r['in_process']['predict_proba_one_row_ms']:.2f} ms.",
        "",
        "| scenario | server | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    for scenario in ("single_c1", "single_c16", "batch100_c1", "batch100_c16"):
        for name in ("airloop", "mlflow", "bare_asgi"):
            m = s.get(name, {}).get(scenario)
            if m:
                lines.append(
                    f"| {scenario} | {name} | {m['rps']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['non_2xx']} |"
                )
    lines += [
        "",
        "| scenario | airloop / mlflow throughput | airloop p99 <= mlflow p99 | airloop / bare floor |",
        "|---|---|---|---|",
    ]
    for scenario in ("single_c1", "single_c16", "batch100_c1", "batch100_c16"):
        a, m, b = (s.get(n, {}).get(scenario) for n in ("airloop", "mlflow", "bare_asgi"))
        if a and m:
            floor = f"{a['rps'] / b['rps']:.0%}" if b else "-"
            lines.append(f"| {scenario} | {a['rps'] / m['rps']:.1f}x | {a['p99_ms'] <= m['p99_ms']} | {floor} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
