"""Drive the live loop from a script, as a producer, a labeller and an operator would.

The generic pieces a demo, a smoke test or a replay needs: send records through the prediction
API, land a batch of data (files, then the ``_READY`` marker), deliver labels, and read back
what the loop decided. Nothing here knows a data set: examples compose these.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from airloop.data.sources import READY
from airloop.errors import EnvironmentProblem
from airloop.workspace import Workspace, rejected_folder


@dataclass
class Replay:
    sent: int = 0
    refused: int = 0  # records in requests the server refused (4xx): a real client sees these too


def replay(serve_url: str, records: list[dict[str, Any]], batch: int = 100, token: str | None = None) -> Replay:
    """POST ``records`` to ``/predict`` in batches, as a client would."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    out = Replay()
    with httpx.Client(base_url=serve_url, timeout=60, headers=headers) as http:
        for start in range(0, len(records), batch):
            chunk = records[start : start + batch]
            resp = http.post("/predict", json={"records": chunk})
            out.sent += len(chunk)
            if 400 <= resp.status_code < 500:
                out.refused += len(chunk)
            elif resp.is_success:  # a partial batch names its refused records
                out.refused += len({e["index"] for e in resp.json().get("errors") or []})
            else:
                raise EnvironmentProblem(f"/predict answered {resp.status_code}: {resp.text[:300]}")
    return out


def mark_ready(folder: Path) -> None:
    """The marker the triggerer watches: the files before it are complete."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / READY).write_text(str(time.time()))


def rejected_files(landing: Path) -> set[str]:
    folder = rejected_folder(landing)
    return {p.name for p in folder.iterdir() if not p.name.endswith(".report.txt")} if folder.exists() else set()


def deliver_labels(ws: Workspace, name: str, rows: Iterable[tuple[str, Any]], file_name: str) -> Path:
    """Write (entity_id, label) rows as a CSV into the project's labels folder, then ``_READY``."""
    folder = ws.labels_folder(name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write("entity_id,label\n")
        for entity, label in rows:
            fh.write(f"{entity},{label}\n")
    tmp.replace(path)
    mark_ready(folder)
    return path


def wait_until_served(serve_url: str, version: str, timeout: float = 30) -> bool:
    """Until the server answers with ``version`` (it polls the registry), or the timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if served_version(serve_url) == version:
            return True
        time.sleep(0.5)
    return False


def served_version(serve_url: str) -> str | None:
    return httpx.get(f"{serve_url}/model", timeout=30).json().get("version")


def last_monitoring(ws: Workspace, name: str) -> dict[str, Any]:
    """The last monitor run's verdict, drifted features (and which are persistent), the champion's
    expected loss from staleness, and live metrics (from the history file)."""
    import pandas as pd

    path = ws.monitoring_history(name)
    if not path.exists():
        return {}
    hist = pd.read_parquet(path)
    last = hist[hist["at"] == hist["at"].max()]
    out: dict[str, Any] = {"verdict": str(last["verdict"].iloc[0])}
    out["drifted"] = sorted(
        last[(last["drifted"]) & (~last["method"].isin(["metric", "estimate"]))]["feature"].tolist()
    )
    if "persistent" in last.columns:  # written since persistent drift and staleness are recorded
        out["persistent"] = sorted(last[last["persistent"].fillna(False).astype(bool)]["feature"].tolist())
        stale = last["staleness"].iloc[0]
        out["staleness"] = None if pd.isna(stale) else float(stale)
    metrics = last[last["method"] == "metric"]
    out["live"] = {
        str(f).removeprefix("live_"): round(float(v), 4)
        for f, v in zip(metrics["feature"], metrics["statistic"], strict=True)
    }
    state = ws.monitoring_state(name)
    out["state"] = json.loads(state.read_text()) if state.exists() else {}
    return out


def last_monitor_reason(tracker: Any, name: str) -> str:
    """Why the last monitor run decided what it did (the reason on its MLflow run)."""
    from airloop.tracking.tags import Tag

    runs = tracker.client.search_runs(
        [tracker.experiment_id(name)], f"tags.`{Tag.KIND}` = 'monitor'", max_results=1, order_by=["start_time DESC"]
    )
    return str(runs[0].data.tags.get(Tag.REASON, "")) if runs else ""


def train_action(
    tracker: Any,
    name: str,
    state: str,
    before: str | None,
    after: str | None,
    new_rejects: set[str],
    run_id: str | None = None,
) -> str:
    """One line on what a train run did to the champion, with the gate's reason."""
    from airloop.tracking.tags import REASON_SEP, Tag

    if state != "success":
        if new_rejects:
            return f"batch rejected by the data contract ({', '.join(sorted(new_rejects))}); champion unchanged"
        return f"train run {state}; champion unchanged"
    verdict = run_verdict(tracker, name, run_id) if run_id else ""
    if verdict.startswith("not trained"):  # e.g. landed data waiting for a retrain request
        return f"{verdict}; champion v{before}"
    newest = tracker.version_numbers(name)[-1]
    reasons = tracker.version(name, newest).tags.get(Tag.GATE_REASONS, "").split(REASON_SEP)
    why = next((r for r in reasons if "champion" in r), reasons[-1])
    return f"promoted v{after}: {why}" if after != before else f"kept v{before}: {why}"


def run_verdict(tracker: Any, name: str, dag_run_id: str) -> str:
    """The verdict tag on the MLflow run of one train DAG run ("" when none)."""
    from airloop.tracking.tags import Tag

    runs = tracker.client.search_runs(
        [tracker.experiment_id(name)], f"tags.`{Tag.RUN_ID}` = '{dag_run_id}'", max_results=1
    )
    return str(runs[0].data.tags.get(Tag.VERDICT, "")) if runs else ""
