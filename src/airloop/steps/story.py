"""What a run did, told: a few lines per step for its Airflow task log, and the run's outcome in one
line (the DAG run's note, `airloop status`, the report).

Pure functions of the steps' outputs and the run's events (``events.jsonl`` in the run folder), so
every process tells the same story: the task that just ran, the CLI after `airloop run`, `status`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NOTE_LIMIT = 1000  # Airflow refuses longer DAG run notes


def _scored(sc: dict[str, Any]) -> str:
    if not sc["files"]:
        return "no landed file to score"
    return (
        f"scored {sc['scored']:,} records of {sc['files']} file(s) with v{sc.get('version', '-')}, "
        f"{sc['rejected_records']:,} refused by the contract -> {', '.join(sc['outputs']) or '-'}"
    )


def told(task: str, out: dict[str, Any]) -> list[str]:
    """What step ``task`` did, from its output (the runner's summary of it)."""
    lines: list[str] = []
    if "rows" in out and task == "ingest":
        batches = out.get("batches") or []
        refused = sum(1 for b in batches if b.get("problem"))
        lines.append(
            f"read {out['rows']:,} rows from {len(batches) - refused} file(s)"
            + (f" (data fingerprint {out['fingerprint']})" if out.get("fingerprint") else "")
        )
        lines += [f"landed file refused unread: {b['name']}: {b['problem'][1]}" for b in batches if b.get("problem")]
        lines += [f"landed copy of accepted data, set aside: {d['name']}" for d in out.get("duplicates") or []]
    for what, files in (out.get("landing") or {}).items():
        lines.append(f"landed files {what.replace('_', ' ')}: {', '.join(files)}")
    if "rows_dropped_missing_target" in out:
        lines.append(f"contract passed; {out['rows_dropped_missing_target']:,} rows without a target dropped")
    lines += [f"contract warning (trained on): {w}" for w in (out.get("contract_warnings") or [])[:20]]
    if out.get("same_inputs_as") and task == "ingest":
        lines.append(f"same inputs as v{out['same_inputs_as']}: this run will not train again")
    if out.get("skip_training"):
        lines.append(f"training skipped: {out['skip_training']}; the later tasks skip")
    lines += [_scored(out["scoring"])] if "scoring" in out else []
    if "train_rows" in out:
        lines.append(f"split: {out['train_rows']:,} rows to train on, {out['holdout_rows']:,} held out")
    if "tune_batches" in out:
        batches = out["tune_batches"]
        trials = sum(int(b.get("trials", 0)) for b in batches)
        names = sorted({str(b.get("candidate")) for b in batches})
        lines.append(f"planned {trials} trial(s) in {len(batches)} batch(es) for {', '.join(names)}")
    if "completed" in out:
        failed = f", {out['failed']} failed" if out.get("failed") else ""
        skipped = f" ({out['skipped']})" if out.get("skipped") else ""
        lines.append(f"{out['completed']} trial(s) completed{failed}{skipped}")
    if "fit_seconds" in out and "candidate" in out:
        on = f" on {out['device']}" if out.get("device") else ""
        lines.append(f"fitted {out['candidate']}{on} in {float(out['fit_seconds']):.2f} s; logged to MLflow")
    refit = out.get("refit")
    if isinstance(refit, dict):
        done = refit.get("done")
        lines.append(f"refit on all {refit['rows']:,} rows" if done else f"no refit: {refit.get('reason')}")
    if "best" in out:
        b = out["best"]
        lines.append(f"best candidate {b['candidate']}: validation {b['value']:.4f}")
    if "metrics" in out and task in ("evaluate", "train", "refit"):
        lines.append("candidate on the holdout: " + _metrics(out["metrics"]))
    champ = out.get("champion")
    if champ and champ.get("metrics") and task == "evaluate":
        lines.append(f"champion v{champ['version']} on the same holdout: " + _metrics(champ["metrics"]))
    if "gate" in out:
        gate = out["gate"]
        lines.append("gate " + ("PASSED" if gate["passed"] else "REFUSED"))
        lines += [f"  - {r}" for r in gate["reasons"]]
    if "version" in out and task == "register":
        lines.append(f"registered v{out['version']}")
    if "promoted" in out:
        lines.append(_moves(out))
    lines += _deployed(out.get("deployed"))
    if "retrain" in out:
        lines.append(("retrain requested: " if out["retrain"] else "no retrain: ") + str(out.get("reason") or ""))
    return lines


def _deployed(deployed: Any) -> list[str]:
    if not isinstance(deployed, dict):
        return []
    if deployed.get("committed"):
        return [f"committed {deployed['image']} to {deployed['repository']} ({deployed['commit'][:12]})"]
    return ["nothing committed: " + str(deployed.get("reason") or "the repository holds these manifests already")]


def outcome(events: list[dict[str, Any]], approval_waits: bool = False) -> str | None:
    """The run's outcome in one line, from its events; None while nothing has been decided yet.
    ``approval_waits``: the plan asks a person after register (the run then waits for them)."""
    out: dict[str, Any] = {}
    failed = None
    for e in events:
        if e.get("event") == "success":
            out.update(e.get("output") or {})
        elif e.get("event") == "failed" and e.get("final"):
            failed = e
    if failed is not None:
        first = str(failed.get("error", "")).splitlines()[0] if failed.get("error") else "failed"
        first = first.split(": ", 1)[1] if first.startswith(("data contract violated: ", "run failed: ")) else first
        if failed.get("exit_code") == 4:
            return _cut(f"batch rejected: {first}")
        return _cut(f"failed at {failed['task']}: {first}")
    if "retrain" in out:
        return _cut(("retrain requested: " if out["retrain"] else "monitored, no retrain: ") + str(out.get("reason")))
    if "promoted" in out:
        return _cut(_promotion(out))
    if out.get("skip_training"):
        return _cut(f"not trained: {_short_skip(str(out['skip_training']))}")
    if "version" in out and approval_waits and (out.get("gate") or {}).get("passed"):
        return f"v{out['version']} waiting for approval"
    if "gate" in out and "version" in out and not out["gate"]["passed"]:
        return _cut(f"v{out['version']} registered, gate refused: {'; '.join(out['gate']['reasons'])}")
    return None


def outcome_of(run_dir: Path, approval_waits: bool = False) -> str | None:
    """The outcome of the run whose folder this is (None: no events yet)."""
    import json

    path = run_dir / "events.jsonl"
    if not path.exists():
        return None
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return outcome(events, approval_waits)


def _promotion(out: dict[str, Any]) -> str:
    version = out.get("version")
    metric = (out.get("gate") or {}).get("metric")
    if out["promoted"]:
        before = out.get("champion_before")
        delta = _delta(out, metric)
        return f"v{version} promoted" + (f" ({delta})" if delta else "") + (f", was v{before}" if before else "")
    if out.get("approval") == "not asked":
        return f"v{version} waits as challenger: approval required, and no one is asked under `airloop run`"
    if out.get("approval") and out["approval"] != "approved":
        return f"v{version} not promoted: {out['approval']}"
    reasons = "; ".join((out.get("gate") or {}).get("reasons") or [])
    return f"v{version} not promoted: gate refused" + (f" ({reasons})" if reasons else "")


def _delta(out: dict[str, Any], metric: str | None) -> str:
    mine = (out.get("metrics") or {}).get(metric) if metric else None
    theirs = ((out.get("champion") or {}).get("metrics") or {}).get(metric) if metric else None
    if mine is None:
        return ""
    if theirs is None:
        return f"{metric} {mine:.4f}, first champion" if not out.get("champion_before") else f"{metric} {mine:.4f}"
    return f"{metric} {mine - theirs:+.4f} on the same holdout"


def _moves(out: dict[str, Any]) -> str:
    if out["promoted"]:
        return f"promoted: champion v{out.get('champion_before') or '-'} -> v{out.get('champion_after')}"
    why = f" ({out['approval']})" if out.get("approval") else ""
    return f"not promoted{why}: the candidate stays challenger; champion v{out.get('champion_after') or '-'}"


def _short_skip(text: str) -> str:
    if "retrain request" in text:
        return "data accepted; waits for a retrain request (monitoring.train_on_new_data)"
    return text


def _metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())


def _cut(text: str) -> str:
    return text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 1] + "…"
