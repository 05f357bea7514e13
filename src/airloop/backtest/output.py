"""What a backtest shows: a period line as it finishes, the table, and a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airloop.backtest.replay import POLICIES


def _m(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"


def period_line(r: dict[str, Any]) -> str:
    scores = "  ".join(f"{p} {_m(r.get(p))}" for p in POLICIES)
    decision = (r.get("loop_decision") or {}).get("verdict", "-")
    run = r.get("loop_run")
    after = f"; loop trained, {'promoted' if run['promoted'] else 'kept its champion'}" if run else ""
    note = f" ({r['note']})" if r.get("note") else ""
    return f"  {r['start'][:10]}  rows {r['rows']:>6}  {scores}  monitor: {decision}{after}{note}"


def outcome(run: dict[str, Any]) -> str:
    """What became of a retrain: promoted, refused by the gate, or a run that failed before the gate
    (the data contract refused the period's data: named as such, not as a gate's refusal)."""
    if run["promoted"]:
        return ", promoted"
    if run.get("rejected"):
        return ", data refused by the contract"
    if str(run.get("why", "")).startswith("run failed"):
        return ", run failed"
    return ", gate refused"


def table(result: dict[str, Any]) -> str:
    metric = result["metric"]
    head = f"  {'period':<10} {'rows':>7} {'labeled':>7} " + " ".join(f"{p:>9}" for p in POLICIES) + "  loop"
    lines = [f"{metric} of the model each policy served, period by period", head]
    for r in result["periods"]:
        decision = "trained" if r.get("loop_trained") else (r.get("loop_decision") or {}).get("verdict", "-")
        if r.get("loop_run"):
            decision += outcome(r["loop_run"])
        if (r.get("loop_decision") or {}).get("changed_nothing"):
            decision += " (changed nothing)"
        lines.append(
            f"  {r['start'][:10]:<10} {r['rows']:>7} {r.get('labeled', 0):>7} "
            + " ".join(f"{_m(r.get(p)):>9}" for p in POLICIES)
            + f"  {decision}"
        )
    s = result["summary"]
    lines.append(f"  {'mean':<10} {'':>7} {'':>7} " + " ".join(f"{_m(s[p]['mean']):>9}" for p in POLICIES))
    lines.append(f"  {'trainings':<10} {'':>7} {'':>7} " + " ".join(f"{s[p]['trainings']:>9}" for p in POLICIES))
    lines.append(
        f"  {'compute s':<10} {'':>7} {'':>7} " + " ".join(f"{s[p]['compute_seconds']:>9.0f}" for p in POLICIES)
    )
    if "requests" in s["loop"]:
        asked, futile = s["loop"]["requests"], s["loop"]["fatigue"]
        lines.append(f"  alarm fatigue: {futile} of the loop's {asked} retrain requests changed nothing")
    return "\n".join(lines)


def curves(result: dict[str, Any]) -> str:
    """The three policies' metric per period (the loop's trainings circled), and the table, as HTML."""
    import pandas as pd

    from airloop.monitoring.page import figure, img
    from airloop.monitoring.page import table as html_table

    periods = result["periods"]
    when = pd.to_datetime([r["start"] for r in periods])
    fig = figure(height=3.6)
    ax = fig.add_subplot()
    for p, style in zip(POLICIES, ("--", ":", "-"), strict=True):
        ax.plot(when, [r.get(p) for r in periods], style, marker="o", label=p)
    trained = [(w, r.get("loop")) for w, r in zip(when, periods, strict=True) if r.get("loop_trained")]
    if trained:
        ax.scatter([w for w, _ in trained], [v for _, v in trained], s=140, facecolors="none", edgecolors="black",
                   label="loop retrained after this period", zorder=3)  # fmt: skip
    ax.set(ylabel=result["metric"], title=f"{result['metric']} of the served model, per period")
    ax.legend(loc="best", fontsize=8)
    rows = [
        [
            r["start"][:10],
            r["rows"],
            r.get("labeled", 0),
            *[_m(r.get(p)) for p in POLICIES],
            (r.get("loop_decision") or {}).get("reason", r.get("note", "-")),
        ]
        for r in periods
    ]
    s = result["summary"]
    rows.append(["mean", "", "", *[_m(s[p]["mean"]) for p in POLICIES], ""])
    rows.append(["trainings", "", "", *[s[p]["trainings"] for p in POLICIES], ""])
    return img(fig, "metric per period for each policy") + html_table(
        ["period", "rows", "labeled", *POLICIES, "the loop's monitor decided"], rows
    )


def write_html(result: dict[str, Any], name: str, target: Path) -> Path:
    from airloop.monitoring.page import Html, page

    meta = Html(f"{len(result['periods'])} periods, metric {result['metric']}")
    text = page(f"airloop backtest: {name}", meta, [("curves", "Static, scheduled and the loop", curves(result))])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
