"""One self-contained HTML page about a project: champions, live performance, drift, contract breaks.

Everything is inline (CSS, plots as base64 PNG) so the file can be mailed, attached to a ticket or
opened from an air-gapped host: no external URL, no JavaScript. Every text that comes from data,
tags or files is escaped. A missing piece (no versions, no monitor run, no rejected batch) is a
"nothing yet" note, never an error: the report is most often read when something is missing.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airloop.monitoring.page import Html, page
from airloop.monitoring.page import escape as _e
from airloop.monitoring.page import figure as _figure
from airloop.monitoring.page import img as _img
from airloop.monitoring.page import note as _note
from airloop.monitoring.page import table as _table
from airloop.monitoring.page import time_axis as _time_axis
from airloop.spec import load_spec
from airloop.tracking.tags import Tag
from airloop.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from airloop.spec.models import Spec

MAX_REJECTED = 5  # contract reports shown
MAX_RUNS = 50  # monitor runs listed in the verdict table
HISTORY_COLUMNS = ("at", "champion", "feature", "method", "statistic", "drifted", "rows", "verdict")


def write_report(spec_path: str | Path, ws: Workspace, out: Path | None = None) -> Path:
    """Write the report of the project at ``spec_path``; returns the HTML file written."""
    spec = load_spec(spec_path).spec
    name = spec.name
    if "matplotlib" not in sys.modules:  # its font cache, like everything airloop writes, stays in the workspace
        os.environ.setdefault("MPLCONFIGDIR", str(ws.cache_dir("matplotlib")))
    history, problem = _read_history(ws.monitoring_history(name))
    sections = [
        ("runs", "Recent runs", _runs_section(ws.runs_dir(name))),
        ("versions", "Champion history", _versions_section(spec, ws)),
        ("live", "Live performance", _live_section(spec, history, problem)),
        ("drift", "Drift per feature", _drift_section(spec, history, problem)),
        ("contract", "Data-contract violations and warnings", _contract_section(ws.runs_dir(name))),
        ("backtest", "Does retraining pay? The last backtest", _backtest_section(ws.backtest_dir(name))),
    ]
    target = Path(out) if out is not None else ws.report_file(name)
    if target.is_dir():
        target = target / f"{name}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(_page(name, ws, sections), encoding="utf-8")
    tmp.replace(target)  # a browser reloading the page never sees half a file
    return target


def _page(name: str, ws: Workspace, sections: list[tuple[str, str, str]]) -> str:
    meta = f"generated {_e(_when(datetime.now(UTC).timestamp()))} · workspace <code>{_e(ws.root)}</code>"
    return page(f"airloop report: {name}", Html(meta), sections)


# --- champion history ---------------------------------------------------------------------------
def _versions_section(spec: Spec, ws: Workspace) -> str:
    versions, aliases = _versions(spec.name, ws)
    if not versions:
        return _note(f"nothing yet: model `{spec.name}` has no registered version (train it with `airloop run`).")
    metric = spec.promotion_metric
    by_version: dict[str, list[str]] = {}
    for alias, v in aliases.items():
        by_version.setdefault(v, []).append(alias)
    rows = []
    for mv in reversed(versions):  # newest first, as `airloop status` lists them
        tags = mv["tags"]
        gate = tags.get(Tag.GATE, "")
        others = ", ".join(
            f"{k.removeprefix(Tag.METRIC_PREFIX)} {v}"
            for k, v in sorted(tags.items())
            if k.startswith(Tag.METRIC_PREFIX) and k != Tag.metric(metric)
        )
        fingerprint = tags.get(Tag.DATA_FINGERPRINT, "")
        rows.append(
            [
                Html(f"<b>v{_e(mv['version'])}</b>"),
                _when(mv["created"] / 1000) if mv["created"] else "-",
                Html("".join(f'<span class="badge {_e(a)}">{_e(a)}</span>' for a in by_version.get(mv["version"], []))),
                tags.get(Tag.CANDIDATE, "") or "-",
                Html(f'<span class="num">{_e(tags.get(Tag.metric(metric), "-"))}</span>'),
                others or "-",
                Html(f'<span class="{_e(gate)}">{_e(gate or "-")}</span>'),
                tags.get(Tag.GATE_REASONS, "") or "-",
                {"true": "yes", "false": "no"}.get(tags.get(Tag.PROMOTED, ""), "-"),
                promoted_by(tags),
                _deployment(tags),
                Html(f'<code title="{_e(fingerprint)}">{_e(fingerprint[:12] or "-")}</code>'),
                Html(f"{_e(tags.get(Tag.DAG_ID, '-'))}<br><code>{_e(tags.get(Tag.RUN_ID, '-'))}</code>"),
            ]
        )
    headers = ["version", "created (UTC)", "aliases", "candidate", metric, "other metrics", "gate", "reasons"]
    headers += ["promoted", "promoted by", "approval, canary, live", "data", "Airflow dag / run"]
    current = ", ".join(f"{a} v{v}" for a, v in aliases.items()) or "no aliases set"
    parts = [f"<p>{len(versions)} version(s) of <b>{_e(spec.name)}</b>; {_e(current)}.</p>", _table(headers, rows)]
    threshold = spec.promotion.thresholds.get(metric)
    parts.append(_metric_plot(versions, metric, aliases.get("champion"), threshold.min if threshold else None))
    return "".join(parts)


def promoted_by(tags: dict[str, str]) -> str:
    """Who made a promoted version champion: a person who approved it, the gate, or what the
    promotion tag names (hand, rollback, canary, live comparison). "-" for a version never promoted."""
    if tags.get(Tag.PROMOTED, "").lower() != "true":
        return "-"
    if tags.get(Tag.PROMOTED_BY):  # a later move by hand, a rollback, a canary or live traffic
        return tags[Tag.PROMOTED_BY]
    if tags.get(Tag.APPROVAL) == "approved":
        return f"approved by {tags.get(Tag.APPROVED_BY) or 'someone'}"
    return "gate"


def _deployment(tags: dict[str, str]) -> str:
    """What a person, a canary or the live comparison decided about this version, and why."""
    parts = []
    if tags.get(Tag.APPROVAL):
        by = f" by {tags[Tag.APPROVED_BY]}" if tags.get(Tag.APPROVED_BY) else ""
        why = f" ({tags[Tag.APPROVAL_COMMENT]})" if tags.get(Tag.APPROVAL_COMMENT) else ""
        parts.append(f"approval: {tags[Tag.APPROVAL]}{by}{why}")
    if tags.get(Tag.CANARY):
        parts.append(f"canary: {tags[Tag.CANARY]}: {tags.get(Tag.CANARY_REASON, '')}")
    if tags.get(Tag.LIVE_EVIDENCE):
        parts.append(f"live: {tags[Tag.LIVE_EVIDENCE]}")
    return "; ".join(parts) or "-"


def _versions(name: str, ws: Workspace) -> tuple[list[dict[str, Any]], dict[str, str]]:
    uri = ws.tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).exists():
        return [], {}  # no store yet: reading must not create one
    from airloop.tracking import Tracker

    tracker = Tracker(ws)
    numbers = tracker.version_numbers(name)
    versions = []
    for v in numbers:
        mv = tracker.version(name, v)
        versions.append(
            {"version": v, "created": mv.creation_timestamp, "tags": dict(mv.tags or {}), "run_id": mv.run_id}
        )
    return versions, (tracker.aliases(name) if numbers else {})


def _metric_plot(versions: list[dict[str, Any]], metric: str, champion: str | None, floor: float | None) -> str:
    """Each version's holdout score as its own point: every version was scored on its own run's holdout,
    so no line joins them; the comparison that counts, candidate against the champion
    of its day on the same holdout, is the gate's (its reasons are in the table)."""
    points: list[tuple[int, float, dict[str, str]]] = []
    for v in versions:
        value = _float(v["tags"].get(Tag.metric(metric)))
        if value is not None:
            points.append((int(v["version"]), value, v["tags"]))
    if not points:
        return _note(f"nothing to plot: no version carries a `{metric}` tag.")
    fig = _figure()
    ax = fig.add_subplot()
    for gate, color in (("passed", "#1b7f3b"), ("refused", "#b3261e")):
        mine = [p for p in points if p[2].get(Tag.GATE) == gate]
        if mine:
            ax.scatter([p[0] for p in mine], [p[1] for p in mine], color=color, label=f"gate {gate}", zorder=2)
    for number, value, _ in points:
        if champion is not None and str(number) == champion:
            ax.scatter(
                [number], [value], marker="*", s=320, color="#ffb300", edgecolor="black", label="champion", zorder=3
            )
    title = f"{metric} of each version on its own holdout"
    if floor is not None:
        values = [p[1] for p in points]
        pad = max(0.1 * (max(values) - min(values)), 0.05)
        if min(values) - pad <= floor <= max(values) + pad:
            ax.axhline(floor, color="#5b6673", linestyle="--", linewidth=1, label=f"minimum {floor:g}")
        else:  # a far-away floor would squash the differences between versions into one line
            title += f" (minimum {floor:g})"
    ax.set_xticks([p[0] for p in points], [f"v{p[0]}" for p in points])
    ax.set(xlabel="model version", ylabel=metric, title=title)
    ax.legend(loc="best", fontsize=8)
    caption = (
        f"<p class='meta'>Each version's {_e(metric)} was measured on the holdout of its own run, drawn from "
        "the data of that run: points of different versions are not comparable, so no line joins them. The gate "
        "compared each candidate with the champion of its day on the same holdout (see the reasons above).</p>"
    )
    return _img(fig, f"{metric} per model version") + caption


# --- monitoring history -------------------------------------------------------------------------
def _read_history(path: Path) -> tuple[pd.DataFrame | None, str | None]:
    if not path.exists():
        return None, None
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # a report of a half-broken workspace is still worth having
        return None, f"could not read {path}: {exc}"
    missing = sorted(set(HISTORY_COLUMNS) - set(frame.columns))
    if missing:
        return None, f"{path} lacks the column(s) {', '.join(missing)}: written by another airloop version?"
    frame = frame.sort_values("at", kind="stable")
    frame["when"] = pd.to_datetime(frame["at"], unit="s", utc=True).dt.tz_localize(None)
    return frame, None


def _live_section(spec: Spec, history: pd.DataFrame | None, problem: str | None) -> str:
    if history is None or history.empty:
        return _note(problem or "nothing yet: no monitor run has recorded results (`airloop monitor PATH`).")
    live = history[history["method"].isin(["metric", "estimate"])]
    parts = []
    if live.empty:
        parts.append(_note("nothing yet: no live metric, labels for the logged predictions have not arrived."))
    else:
        fig = _figure()
        ax = fig.add_subplot()
        for feature, part in live.groupby("feature", sort=True):
            style = "--" if str(feature).startswith("estimated_") else "-"  # estimated before labels
            (line,) = ax.plot(part["when"], part["statistic"], marker="o", linestyle=style, label=str(feature))
            floor = spec.monitoring.min_performance.get(str(feature).removeprefix("live_"))
            if floor is not None:
                ax.axhline(floor, color=line.get_color(), linestyle="--", linewidth=1, label=f"{feature} minimum")
        _time_axis(ax)
        ax.set(ylabel="live value", title="performance of the champion: measured on labels, estimated (dashed)")
        ax.legend(loc="best", fontsize=8)
        parts.append(_img(fig, "live metrics over time"))
    parts.append(_runs_table(history))
    return "".join(parts)


def _fatigue(history: pd.DataFrame) -> str:
    """The alarm fatigue sentence (``monitoring.fatigue``) over the recorded runs."""
    from airloop.monitoring.fatigue import Judged, summary

    if "alarms" not in history.columns:  # written before alarms were recorded
        return "alarm fatigue not recorded by this history's airloop"
    runs = [
        Judged(str(part["champion"].iloc[0]), str(part["verdict"].iloc[0]), _alarms(part["alarms"].iloc[0]))
        for _, part in history.groupby("at", sort=True)
    ]
    return summary(runs)


def _alarms(value: Any) -> tuple[str, ...]:
    return tuple(a for a in str(value or "").split(";") if a)


def _runs_table(history: pd.DataFrame) -> str:
    runs = []
    for at, part in history.groupby("at", sort=True):
        metric = part[part["method"] == "metric"]
        drift = part[~part["method"].isin(["metric", "estimate"])]
        live = ", ".join(f"{f} {s:.4f}" for f, s in zip(metric["feature"], metric["statistic"], strict=True))
        drifted = _drifted(drift)
        runs.append(
            [
                _when(float(at)),
                f"v{part['champion'].iloc[0]}",
                Html(f'<span class="num">{int((drift if len(drift) else part)["rows"].iloc[0])}</span>'),
                Html(f'<span class="num">{int(metric["rows"].iloc[0]) if len(metric) else "-"}</span>'),
                live or "-",
                Html(f'<span class="bad">{_e(", ".join(drifted))}</span>') if drifted else "none",
                _staleness(part),
                part["verdict"].iloc[0],
            ]
        )
    shown = runs[::-1][:MAX_RUNS]
    caption = f"<p>monitor runs, newest first ({len(shown)} of {len(runs)}); {_e(_fatigue(history))}:</p>"
    headers = ["at (UTC)", "champion", "rows", "labeled", "live metrics", "drifted", "staleness", "verdict"]
    return caption + _table(headers, shown)


def _drifted(drift: pd.DataFrame) -> list[str]:
    """The drifted features of one run, a persistent one (drifted at the last training too, not
    counted by the policy) marked so."""
    bad = drift[drift["drifted"].astype(bool)]
    persistent = bad["persistent"].fillna(False).astype(bool) if "persistent" in bad else [False] * len(bad)
    marked = [f"{f} (persistent)" if p else str(f) for f, p in zip(bad["feature"], persistent, strict=True)]
    return sorted(marked)


def _staleness(part: pd.DataFrame) -> str:
    """The champion's expected loss from the age of its data at this run (``monitoring.staleness``)."""
    if "staleness" not in part:
        return "-"
    value = part["staleness"].dropna()
    return f"{float(value.iloc[0]):.1%} expected" if len(value) else "-"


def _drift_section(spec: Spec, history: pd.DataFrame | None, problem: str | None) -> str:
    if history is None or history.empty:
        return _note(problem or "nothing yet: no monitor run has recorded drift.")
    from airloop.monitoring.drift import STATISTICS

    drift = history[history["method"].isin(list(STATISTICS))]
    if drift.empty:
        return _note("nothing yet: the monitor runs so far recorded no drift statistics.")
    methods = [m for m in STATISTICS if m in set(drift["method"])]
    fig = _figure(height=2.8 * len(methods))
    axes = fig.subplots(len(methods), 1, sharex=True, squeeze=False)[:, 0]
    # one panel per method: a PSI distance and a chi2/KS test statistic do not share a scale
    for ax, method in zip(axes, methods, strict=True):
        for feature, part in drift[drift["method"] == method].groupby("feature", sort=True):
            (line,) = ax.plot(part["when"], part["statistic"], marker="o", markersize=4, label=str(feature))
            bad = part[part["drifted"].astype(bool)]
            if len(bad):
                ax.scatter(bad["when"], bad["statistic"], marker="X", s=90, color=line.get_color(), edgecolor="black")
        if method == "psi":
            ax.axhline(spec.monitoring.psi_threshold, color="#b3261e", linestyle="--", linewidth=1, label="threshold")
        ax.set(ylabel=method, title=f"{method} per feature (X = drifted)")
        ax.legend(loc="upper left", fontsize=8, ncols=4)
    _time_axis(axes[-1])
    latest = drift[drift["at"] == drift["at"].max()].sort_values(["drifted", "feature"], ascending=[False, True])
    rows = [
        [
            r.feature,
            r.method,
            Html(f'<span class="num">{float(r.statistic):.4f}</span>'),
            Html('<span class="bad">yes</span>') if bool(r.drifted) else "no",
        ]
        for r in latest.itertuples()
    ]
    caption = (
        f"<p>latest run ({_e(_when(float(latest['at'].iloc[0])))}, champion v{_e(latest['champion'].iloc[0])}):</p>"
    )
    return (
        _img(fig, "drift statistic per feature over time")
        + caption
        + _table(["feature", "method", "statistic", "drifted"], rows)
    )


# --- recent runs ----------------------------------------------------------------------------------
def _runs_section(runs: Path, n: int = 20) -> str:
    """Each run's outcome in one line (the DAG run's note in Airflow), newest first."""
    from airloop.workspace import OUTCOME_FILE

    found = sorted(runs.glob(f"*/{OUTCOME_FILE}"), key=lambda p: p.stat().st_mtime, reverse=True)[:n]
    if not found:
        return _note("nothing yet: no run has told its outcome.")
    rows = [[_when(p.stat().st_mtime), p.parent.name, p.read_text().strip()] for p in found]
    return _table(["when", "run", "outcome"], rows)


# --- data contract --------------------------------------------------------------------------------
def _contract_section(runs: Path) -> str:
    found = sorted(runs.glob("*/contract_report.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not found:
        return _note("nothing yet: no batch has been checked against the data contract.")
    parts, rejected = [], 0
    latest = _load_json(found[0])
    verdict = "unreadable" if latest is None else "accepted" if latest.get("accepted") else "rejected"
    parts.append(f"<p>{len(found)} contract check(s); the latest ({_e(found[0].parent.name)}) was {verdict}.</p>")
    for path in found:
        report = _load_json(path)
        if report is None:
            parts.append(_note(f"could not read {path}"))
            continue
        if report.get("accepted", True) and not report.get("warnings"):
            continue
        rejected += 1
        if rejected > MAX_REJECTED:
            break
        parts.append(_rejected(path, report))
    if rejected == 0:
        parts.append(_note("nothing yet: no batch has broken the data contract."))
    return "".join(parts)


def _rejected(path: Path, report: dict[str, Any]) -> str:
    run, when = path.parent.name, _when(path.stat().st_mtime)
    verdict = "rejected" if not report.get("accepted", True) else "accepted with warnings"
    meta = f"{when}, {verdict}, contract {report.get('contract', '?')}"
    out = [f"<h3>run {_e(run)} <span class='meta'>({_e(meta)})</span></h3>"]
    for batch in report.get("batches", []):
        violations = batch.get("violations") or []
        head = f"<p>batch <b>{_e(batch.get('name', '?'))}</b>, {_e(batch.get('rows', '?'))} rows: "
        if not violations:
            out.append(head + "ok</p>")
            continue
        out.append(head + f'<span class="bad">{len(violations)} violation(s)</span></p>')
        rows = [
            [
                v.get("column", ""),
                v.get("rule", "") + ("" if v.get("severity", "block") == "block" else " (warn)"),
                v.get("message", ""),
                json.dumps(v.get("examples", []), default=str)[:300],
                Html(f'<span class="num">{_e(v.get("count", ""))}</span>'),
            ]
            for v in violations
        ]
        out.append(_table(["column", "rule", "message", "examples", "count"], rows))
    return "".join(out)


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- backtest -----------------------------------------------------------------------------------
def _backtest_section(folder: Path) -> str:
    from airloop.backtest.output import curves
    from airloop.backtest.replay import RESULT_FILE

    result = _load_json(folder / RESULT_FILE)
    if result is None:
        return _note("nothing yet: `airloop backtest PATH --start ... --end ...` compares the loop with a static model "
                     "and with retraining every period, and its result shows here.")  # fmt: skip
    return curves(result)


# --- small pieces ---------------------------------------------------------------------------------
def _when(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
