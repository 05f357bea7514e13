"""Serving benchmark: airloop serve vs `mlflow models serve` vs BentoML vs a bare ASGI floor, same model.

airloop serves the estimator's verified ONNX form (serving.runtime: auto, the onnx extra installed);
``airloop_python`` is the same server with serving.runtime: python. The bare floor, BentoML and the
in-process figure run the scikit-learn estimator (airloop.model.store.load, runtime python).

Model: the flights champion made by `examples/flights/demo.py --quick`. Load generator: wrk (C, epoll), each run
10 s, on this machine (2 cores shared by client and server). Scenarios: one record at
concurrency 1 and 16, and 100-record batches at concurrency 1 and 16. Results go to
bench/results/serve.{json,md}.

Also in the same run:
- ``airloop_baseline``: airloop's server at BENCH_BASELINE_REV (unset by default: servers from before
  the safe model format cannot load the versions trained now), from `git archive`, on a copy of the
  MLflow store.
- ``bentoml``: BentoML 1.4 with adaptive batching, one worker, no prediction log, in its own venv
  (BENTOML_PYTHON, or one made at .airloop/bench/bentoml-venv with the pins that install here,
  ../shared/STACK-NOTES.md). BENCH_BENTOML=0 leaves it out.
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
BASELINE_REV = os.environ.get("BENCH_BASELINE_REV", "")
# BentoML 1.4.40 beside the project's pins: pip otherwise backtracks OpenTelemetry into a grpcio source build
BENTO_PINS = [
    "bentoml==1.4.40",
    *(f"opentelemetry-{p}==1.45.1" for p in ("api", "sdk", "proto")),
    *(
        f"opentelemetry-{p}==0.66b1"
        for p in (
            "semantic-conventions",
            "instrumentation",
            "instrumentation-asgi",
            "instrumentation-aiohttp-client",
            "util-http",
        )
    ),
]
BENTO_FROM_PROJECT = ("scikit-learn", "pandas", "numpy", "scipy", "pyarrow", "cloudpickle", "mlflow-skinny")
BENTO_FROM_PROJECT += ("SQLAlchemy", "alembic", "threadpoolctl", "joblib", "skops", "PyYAML")


def pinned(names: tuple[str, ...]) -> list[str]:
    """The project's own pins (constraints.txt) of these packages."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.lower()] = f"{name}=={version.strip()}"
    return [pins[n.lower()] for n in names if n.lower() in pins]


def bentoml_python() -> Path | None:
    """A Python with BentoML, made once; None when it cannot be had (the run says so)."""
    if os.environ.get("BENCH_BENTOML") == "0":
        return None
    if os.environ.get("BENTOML_PYTHON"):
        return Path(os.environ["BENTOML_PYTHON"])
    venv = ROOT / ".airloop" / "bench" / "bentoml-venv"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pins = BENTO_PINS + pinned(BENTO_FROM_PROJECT)
        res = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
            capture_output=True,
            text=True,
        )
        if res.returncode:
            print("BentoML venv failed to install; left out:", res.stderr[-1500:], flush=True)
            return None
        (venv / ".installed").touch()
    return python


def baseline_source(tmp: Path) -> Path | None:
    """airloop's src at BASELINE_REV, or None when git cannot give it."""
    if not BASELINE_REV:
        return None
    out = tmp / "baseline"
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE_REV, "src"], capture_output=True)
    if archive.returncode:
        return None
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out / "src"


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
    refused = int(non2xx.group(1)) if non2xx else 0
    return {
        "rps": rps * (total - refused) / total if total else 0.0,  # answered requests only: a 503 is not served
        "rps_all": rps,
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


def c1_alternating(servers: dict, bodies: dict, tmp: Path, rounds: int = 5) -> dict:
    """airloop and the bare floor both up, single record at c=1 in turn, ``rounds`` times: the
    machine's drift over a run (two shared cores) hits both alike. The ratio is the median's."""
    procs, urls = {}, {}
    try:
        for name in ("airloop", "bare_asgi"):
            cmd, env, ready, path = servers[name]
            port = free_port()
            procs[name] = start(cmd(port), env, tmp / f"{name}-alt.log", cwd=Path(__file__).parent)
            wait_ready(f"http://127.0.0.1:{port}{ready}", procs[name])
            urls[name] = f"http://127.0.0.1:{port}{path}"
            wrk(urls[name], bodies[name]["single"], 1, tmp)  # warm-up
        runs: dict[str, list[float]] = {"airloop": [], "bare_asgi": []}
        for _ in range(rounds):
            for name in runs:
                runs[name].append(wrk(urls[name], bodies[name]["single"], 1, tmp)["rps"])
    finally:
        for proc in procs.values():
            stop(proc)
    ratios = sorted(a / b for a, b in zip(runs["airloop"], runs["bare_asgi"], strict=True))
    return {"rps": runs, "ratios": ratios, "median_ratio": ratios[len(ratios) // 2]}


def airloop_serving(spec: Path, ws: Path) -> tuple:
    """`airloop serve SPEC` on a port: (command for a port, environment, ready path, predict path)."""
    return (
        lambda p: [str(BIN / "airloop"), "serve", str(spec), "--workspace", str(ws), "--port", str(p)],
        {},
        "/ready",
        "/predict",
    )


def shadow_spec(project: Path, ws: Path) -> None:
    """The project's spec with serving.shadow: challenger, and a challenger to shadow (the newest
    version that is not the champion)."""
    import yaml

    from airloop.tracking import Tracker
    from airloop.workspace import Workspace

    spec = yaml.safe_load((project / "airloop.yaml").read_text())
    (project / "airloop-python.yaml").write_text(
        yaml.safe_dump({**spec, "serving": {**spec.get("serving", {}), "runtime": "python"}}, sort_keys=False)
    )
    spec["serving"] = {**spec.get("serving", {}), "shadow": "challenger"}
    (project / "airloop-shadow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    tracker = Tracker(Workspace(ws))
    champion = tracker.alias_version("flights", "champion")
    others = [v.version for v in tracker.client.search_model_versions("name = 'flights'") if v.version != champion]
    tracker.set_alias("flights", "challenger", str(max(others, key=int)))


def in_process_predict(ws: Path, project: Path, record: dict, n: int = 300) -> dict:
    code = f"""
import json, sys, time
sys.path.insert(0, {str(project)!r})
import mlflow, pandas as pd
from airloop.model import store
from threadpoolctl import threadpool_limits
threadpool_limits(1)
mlflow.set_tracking_uri("sqlite:///{ws}/mlflow/mlflow.db")
m = store.load("models:/flights@champion", store.LoadOptions(runtime="python"))
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
        "airloop_shadow": {"single": json.dumps(one).encode()},
        "airloop_python": {"single": json.dumps(one).encode(), "batch100": json.dumps({"records": recs}).encode()},
        "mlflow": {
            "single": json.dumps({"dataframe_records": [one]}).encode(),
            "batch100": json.dumps({"dataframe_records": recs}).encode(),
        },
        "bare_asgi": {"single": b"{}"},
    }
    mlflow_env = {"MLFLOW_TRACKING_URI": f"sqlite:///{ws}/mlflow/mlflow.db", "MLFLOW_DISABLE_TELEMETRY": "true"}
    scratch = Path(tempfile.mkdtemp(prefix="airloop-serve-bench-"))
    old_src = baseline_source(scratch)
    old_ws = scratch / "ws"  # the same registry (artifact paths are absolute), a log of its own
    (old_ws / "mlflow").mkdir(parents=True)
    shutil.copy2(ws / "mlflow" / "mlflow.db", old_ws / "mlflow" / "mlflow.db")
    bento = bentoml_python()
    bodies["airloop_baseline"] = bodies["airloop"]
    bodies["bentoml"] = {"single": json.dumps({"records": [one]}).encode(), "batch100": bodies["airloop"]["batch100"]}
    servers = {
        "airloop": airloop_serving(project, ws),
        # the same server, the scikit-learn estimator answering (serving.runtime: python)
        "airloop_python": airloop_serving(project / "airloop-python.yaml", ws),
        # the same server with a shadow: @challenger (the previous champion) answers a copy of every request
        "airloop_shadow": airloop_serving(project / "airloop-shadow.yaml", ws),
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
        "airloop_baseline": (
            lambda p: (
                [sys.executable, "-m", "airloop.cli", "serve", str(project), "--workspace", str(old_ws)]
                + ["--port", str(p)]
            ),
            {"PYTHONPATH": str(old_src)},
            "/ready",
            "/predict",
        ),
        "bentoml": (
            lambda p: (
                [str(Path(str(bento)).parent / "bentoml"), "serve", "bentoml_service:Flights", "--port", str(p)]
                + ["--host", "127.0.0.1"]
            ),
            {
                **mlflow_env,
                "MODEL_URI": "models:/flights@champion",
                "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT / "src"), str(project)]),
                "BENTOML_HOME": str(scratch / "bentoml"),
                "OMP_NUM_THREADS": "1",
                "BENTOML_DO_NOT_TRACK": "True",
            },
            "/readyz",
            "/predict",
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
            "/",  # it answers any request: a GET says it is up
            "/",
        ),
    }
    shadow_spec(project, ws)
    results: dict = {
        "load_generator": f"wrk 4.1 ({DURATION}s per run, 1-2 threads)",
        "cpus": os.cpu_count(),
        "model": "flights champion (HistGradientBoosting pipeline with a pandas feature transform)",
        "in_process": in_process_predict(ws, project, one),
        "servers": {},
    }
    if old_src is None:
        print(f"baseline {BASELINE_REV or '(unset)'} not available; left out", flush=True)
        del servers["airloop_baseline"]
    if bento is None:
        del servers["bentoml"]
    results["baseline_rev"] = BASELINE_REV if old_src else None
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
                if name == "airloop":  # what answers: the ONNX form or the Python estimator
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/model", timeout=10) as r:
                        results["airloop_runtime"] = json.loads(r.read())["stored"]["runtime"]
                if name == "airloop_shadow":  # what the shadow got through while the champion was loaded
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/model", timeout=10) as r:
                        out["shadow_status"] = json.loads(r.read())["shadow"]
                results["servers"][name] = out
            finally:
                stop(proc)
                shutil.copy(tmp / f"{name}.log", OUT / f"serve-{name}.log") if OUT.exists() else None
        results["c1_alternating"] = c1_alternating(servers, bodies, tmp)
    s = results["servers"]
    results["c1_floor_ratio"] = results["c1_alternating"]["median_ratio"]
    results["shadow_p99_ratio_c16"] = s["airloop_shadow"]["single_c16"]["p99_ms"] / s["airloop"]["single_c16"]["p99_ms"]
    for other, key in (("airloop_baseline", "vs_baseline"), ("bentoml", "vs_bentoml"), ("airloop_python", "vs_python")):
        if other in s:
            results[key] = {sc: s["airloop"][sc]["rps"] / s[other][sc]["rps"] for sc in s[other] if sc in s["airloop"]}
    shutil.rmtree(scratch, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "serve.json").write_text(json.dumps(results, indent=2))
    (OUT / "serve.md").write_text(render(results))
    print(render(results))
    return 0


def single_vs_floor(servers: dict) -> str:
    a, b = (servers.get(n, {}).get("single_c1") for n in ("airloop", "bare_asgi"))
    return f"{a['rps'] / b['rps']:.2f}x" if a and b else "-"


def shadow_counts(servers: dict) -> str:
    status = servers.get("airloop_shadow", {}).get("shadow_status") or {}
    return ", ".join(f"{k} {status.get(k)}" for k in ("answered", "failed", "dropped"))


SCENARIOS = ("single_c1", "single_c16", "batch100_c1", "batch100_c16")


def ratio(r: dict, key: str, scenario: str) -> str:
    value = r.get(key, {}).get(scenario)
    return "-" if value is None else f"{value:.2f}x"


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
        for name in (
            "airloop",
            "airloop_python",
            "airloop_baseline",
            "bentoml",
            "airloop_shadow",
            "mlflow",
            "bare_asgi",
        ):
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
    lines += [
        "",
        f"Single record at c=1, airloop / bare ASGI floor: **{r['c1_floor_ratio']:.0%}** (`c1_floor_ratio`: "
        f"the median of {len(r['c1_alternating']['ratios'])} runs taken in turn with both servers up, "
        f"ratios {', '.join(f'{x:.0%}' for x in r['c1_alternating']['ratios'])}).",
        f"Shadow after its runs: {shadow_counts(s)}.",
        "",
        f"airloop (runtime: {r.get('airloop_runtime', '?')}) / the same server with the scikit-learn estimator "
        "(`airloop_python`, serving.runtime: python) / BentoML (adaptive batching, no log, the scikit-learn "
        "estimator), same run, req/s ratio: "
        + "; ".join(f"{sc} {ratio(r, 'vs_python', sc)} / {ratio(r, 'vs_bentoml', sc)}" for sc in SCENARIOS)
        + ".",
        f"Single record at c=1, airloop / the scikit-learn bare floor (`bare_asgi`): **{single_vs_floor(s)}**.",
        f"Shadow on (a second model answers a copy of every request off the request path), champion p99 at c=16: "
        f"**{r['shadow_p99_ratio_c16']:.2f}x** of shadow off (`shadow_p99_ratio_c16`).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
