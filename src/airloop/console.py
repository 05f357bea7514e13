"""Terminal output: run progress and summaries, the registry table, alias moves, the stack's state.

Only formatting lives here; the CLI decides what to show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from airloop.tracking.tags import ALIASES, Tag

if TYPE_CHECKING:
    from airloop.local.embedded import RunOutcome


def progress_printer(verbose: bool = False) -> Any:
    def show(e: dict[str, Any]) -> None:
        label = e.get("label", e["task"])
        if e["event"] == "success":
            click.echo(f"  {click.style('ok', fg='green')}   {label:<26} {e['seconds']:7.2f}s  {_detail(e)}")
        elif e["event"] == "failed":
            what = "FAIL" if e.get("final") else "retry"
            first = e["error"].splitlines()[0]
            click.echo(
                f"  {click.style(what, fg='red' if e.get('final') else 'yellow')} "
                f"{label:<26} {e['seconds']:7.2f}s  try {e['try']}: {first}"
            )
            if verbose and e.get("traceback"):
                click.echo(e["traceback"])

    return show


def _detail(e: dict[str, Any]) -> str:
    out = e.get("output") or {}
    if "rows" in out:
        return f"{out['rows']:,} rows"
    if "rows_dropped_missing_target" in out:
        warned = len(out.get("contract_warnings") or [])
        sampled = out.get("sampled")
        return (
            f"{out['rows_dropped_missing_target']:,} rows without target dropped"
            + (f"; contract: {warned} warning(s)" if warned else "")
            + (f"; training on {sampled['rows']:,} of {sampled['of']:,} rows" if sampled else "")
        )
    if "train_rows" in out:
        return f"train {out['train_rows']:,} / holdout {out['holdout_rows']:,}"
    if "completed" in out:
        return f"{out['completed']} trials"
    if "best" in out:
        b = out["best"]
        return f"best {b['candidate']} (validation {b['value']:.4f}) of {out['tuning']['trials']} trials"
    if "gate" in out:
        return "passed" if out["gate"]["passed"] else "refused"
    if "promoted" in out:
        return f"champion {v(out.get('champion_before'))} -> {v(out.get('champion_after'))}"
    if "version" in out:
        return f"registered v{out['version']}"
    if "metrics" in out:
        return ", ".join(f"{k} {v:.4f}" for k, v in out["metrics"].items())
    return ""


def v(version: str | None, none: str = "none") -> str:
    """A registry version as people read it: v3, or ``none``."""
    return f"v{version}" if version else none


def timing(outcome: RunOutcome) -> dict[str, float]:
    steps = outcome.step_seconds()
    total = sum(steps.values())
    return {"wall": outcome.wall_seconds, "steps": total, "overhead": outcome.wall_seconds - total}


def summary(outcome: RunOutcome, path: str = "PATH") -> str:
    """What a run did, for the terminal; ``path``: the spec, as the commands it suggests name it."""
    out = outcome.outputs()
    t = timing(outcome)
    lines = [f"run {outcome.run_id}: {outcome.state}"]
    labels = out.get("labels")
    if labels and labels.get("positive") is not None:
        lines.append(f"  positive class {labels['positive']!r} of {labels['classes']}: {labels['reason']}")
    if "metrics" in out:
        lines.append("  candidate (holdout): " + ", ".join(f"{k} {v:.4f}" for k, v in out["metrics"].items()))
    champ = out.get("champion")
    if champ and champ.get("metrics"):
        lines.append(
            f"  champion v{champ['version']} (same holdout): "
            + ", ".join(f"{k} {v:.4f}" for k, v in champ["metrics"].items())
        )
    for what, files in (out.get("landing") or {}).items():
        lines.append(f"  landed files {what.replace('_', ' ')}: {', '.join(files)}")
    if out.get("sampled") and out["sampled"]["rows"] < out["sampled"]["of"]:
        s = out["sampled"]
        lines.append(
            f"  trained on a sample: {s['rows']:,} of {s['of']:,} rows (data.max_train_rows); validated on every row"
        )
    if out.get("contract_warnings"):
        lines.append("  data contract warnings (trained on; see the run's contract_report.txt):")
        lines += [f"    - {w}" for w in out["contract_warnings"][:10]]
    if out.get("skip_training") and "gate" not in out:
        lines.append(f"  not trained: {out['skip_training']}")
    if "gate" in out:
        verdict = "PASSED" if out["gate"]["passed"] else "REFUSED"
        lines.append(f"  gate: {verdict}")
        lines += [f"    - {r}" for r in out["gate"]["reasons"]]
    if "promoted" in out:
        lines.append("  " + _registered(out, path))
    if t["overhead"] >= 0:
        lines.append(f"  time: wall {t['wall']:.1f}s = steps {t['steps']:.1f}s + Airflow overhead {t['overhead']:.1f}s")
    else:  # steps ran side by side (workers, mapped tasks): their sum is more than the wall
        lines.append(f"  time: wall {t['wall']:.1f}s; steps {t['steps']:.1f}s in all, side by side on the workers")
    return "\n".join(lines)


def _registered(out: dict[str, Any], path: str) -> str:
    """The promote step's answer: where the new version stands and, when it waits, how to move it."""
    version, before, after = out.get("version"), v(out.get("champion_before")), v(out.get("champion_after"))
    approval = out.get("approval")
    if out["promoted"]:
        how = "approved and promoted" if approval == "approved" else "promoted"
        return f"registered v{version}: {how} to champion (was {before})"
    stays = f"champion stays {after}"
    if approval == "not asked":
        return (
            f"registered v{version}: waiting as `challenger` for approval (promotion.approval: required); {stays}. "
            f"Approve it with `airloop promote {path} {version}` (no one can approve a run of `airloop run`; "
            "under `airloop up` a run waits for `airloop approve`)"
        )
    if approval in ("rejected", "timed out"):
        return f"registered v{version}: {approval} at approval, kept as `challenger`; {stays}"
    return f"registered v{version}: gate refused, kept as `challenger`; {stays}"


def versions_table(name: str, metric: str, tracker: Any, root: Any) -> str:
    """Every registered version, newest first, with its aliases, metric and gate verdict."""
    from airloop.tracking import aliases

    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.snapshot(tracker, name).items():
        if version:
            by_version.setdefault(version, []).append(alias)
    rows = [f"model {name} (workspace {root})", f"  {'version':<8} {'aliases':<20} {metric:<10} {'gate':<8} reasons"]
    numbers = tracker.version_numbers(name)
    if not numbers:
        rows.append("  no versions yet: run `airloop run PATH`")
    for n in reversed(numbers):
        tags = tracker.version(name, n).tags
        rows.append(
            f"  {v(n):<8} {','.join(by_version.get(n, [])) or '-':<20} {tags.get(Tag.metric(metric), '-'):<10} "
            f"{tags.get(Tag.GATE, '-'):<8} {tags.get(Tag.GATE_REASONS, '')}"
        )
    return "\n".join(rows)


def alias_moves(name: str, before: dict[str, str | None], after: dict[str, str | None]) -> str:
    lines = [f"model {name}:"]
    for alias in ALIASES:
        mark = "" if before[alias] == after[alias] else "  (changed)"
        lines.append(f"  {alias:<10} {v(before[alias], '-')} -> {v(after[alias], '-')}{mark}")
    return "\n".join(lines)


def stopped(report: dict[str, Any]) -> str:
    if not report:
        return "nothing was running"
    lines = []
    for name, info in report.items():
        note = " (had to be killed)" if info["killed"] else ""
        left = f"; LEFT BEHIND: {info['left']}" if info["left"] else ""
        lines.append(f"stopped {name} in {info['seconds']}s{note}{left}")
        if info.get("lingered"):  # still there after the first signal: what got a SIGTERM of its own
            lines.append(f"  after SIGINT, still running: {'; '.join(info['lingered'][:6])}")
    return "\n".join(lines)
