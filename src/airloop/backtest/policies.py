"""`airloop backtest --policies`: choose the monitoring policy on the project's own history.

Candidates are ``monitoring:`` blocks (from files, or a small built-in grid over the policy's
thresholds, the staleness bound and the cooldown), each laid over the spec's own block. The replay
runs them all beside ``static``, ``scheduled`` and the spec's own policy (``loop``) in one pass: a
candidate trained on the data up to a cutoff depends on that data, the spec and the code, never on
the policy that asked for it, so every policy that retrains at a cutoff shares its one training
(``Trainings.at`` caches it by cutoff), its refit, and the gate's scores of a champion against it;
what differs per policy is only which champion it serves and when it asks.

The choice is honest about time: the policy with the best mean metric on the FIRST half of the
periods is chosen (ties: fewer trainings in that half, then the order given, the spec's own first),
and every policy's metric and trainings are reported on the SECOND half only, which the choice
never saw. ``choose`` is a pure function of the per-period scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airloop.errors import SpecError, SpecProblem, UsageError

OWN = "loop"  # the spec's own monitoring policy, always a candidate
GRID = "grid"
HOURS = {"day": 24.0, "week": 168.0, "month": 730.5, "quarter": 2191.5, "year": 8766.0}
TIE = 1e-9  # relative: means this close are equal (the same decisions give the same models, exactly)


def grid(every: str) -> dict[str, dict[str, Any]]:
    """The built-in grid (36 policies): a relative drop of 5, 10 or 20%; drift by importance (50%) or
    no drift trigger; a staleness bound of 5%, 10% or none; no cooldown, or one of 1.5 periods (a
    request then silences the next period's)."""
    cool = round(1.5 * HOURS[every], 1)
    out: dict[str, dict[str, Any]] = {}
    for drop in (0.05, 0.1, 0.2):
        for drift in (0.5, None):
            for stale in (0.05, 0.1, None):
                for cooldown in (0.0, cool):
                    name = (
                        f"drop{drop:.0%}-drift{'off' if drift is None else f'{drift:.0%}'}"
                        f"-stale{'off' if stale is None else f'{stale:.0%}'}-cool{cooldown:g}h"
                    ).replace("%", "")
                    out[name] = {
                        "max_relative_drop": drop,
                        "drift_importance": drift,
                        # no importance-weighted drift and no feature count: drift never asks
                        **({"drifted_features": None} if drift is None else {}),
                        "max_staleness_loss": stale,
                        "cooldown_hours": cooldown,
                    }
    return out


def candidates(option: str, spec: Any, every: str) -> dict[str, Any]:
    """``--policies``: ``grid`` or comma-separated YAML files -> {name: Monitoring}, each laid over
    the spec's own ``monitoring:`` (a file names only what it changes). The spec's own comes first."""
    overrides: dict[str, tuple[dict[str, Any], Any]]
    if option.strip() == GRID:
        overrides = {name: (block, None) for name, block in grid(every).items()}
    else:
        files = [Path(p.strip()) for p in option.split(",") if p.strip()]
        if not files:
            raise UsageError("--policies names no file", hint="give a.yaml,b.yaml or `grid`")
        overrides = {}
        for f in files:
            name = f.stem if f.stem not in overrides and f.stem != OWN else str(f)
            overrides[name] = read_block(f)
    out = {OWN: spec.monitoring}
    for name, (block, where) in overrides.items():
        out[name] = laid_over(spec, block, where)
    return out


def read_block(path: Path) -> tuple[dict[str, Any], Any]:
    """The ``monitoring:`` block of a policy file (a block alone, or a spec fragment holding one), and
    a locator of its lines for the errors."""
    import yaml

    from airloop.spec.loader import _duplicate_keys, _Locator

    if not path.is_file():
        raise UsageError(f"policy file {path} not found", hint="give YAML files holding a `monitoring:` block")
    text = path.read_text()
    try:
        node, raw = yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = SpecProblem(str(path), mark.line + 1 if mark else None, "", "malformed YAML", "fix the YAML syntax")
        raise SpecError([problem]) from None
    duplicates = list(_duplicate_keys(node, str(path)))
    if duplicates:
        raise SpecError(duplicates)
    if not isinstance(raw, dict) or not isinstance(raw.get("monitoring"), dict):
        problem = SpecProblem(
            str(path), 1, "monitoring", "the file holds no `monitoring:` block", "start it with `monitoring:`"
        )
        raise SpecError([problem])
    return dict(raw["monitoring"]), _Locator(node, str(path))


def laid_over(spec: Any, block: dict[str, Any], where: Any = None) -> Any:
    """The spec's monitoring with ``block`` over it, checked as the spec loader checks a spec (the
    problems located by ``where``, a policy file's locator)."""
    from pydantic import ValidationError

    from airloop.spec.loader import _Locator
    from airloop.spec.models import Spec

    mine = spec.monitoring.model_dump(mode="json", exclude_unset=True)
    raw = {**spec.model_dump(mode="json", exclude_unset=True), "monitoring": {**mine, **block}}
    try:
        return Spec.model_validate(raw).monitoring
    except ValidationError as exc:
        locator = where or _Locator(None, "the built-in policy grid")
        raise SpecError([locator.problem_from_pydantic(e) for e in exc.errors()]) from None


@dataclass(frozen=True)
class Scores:
    """One policy over the replayed periods: its metric per period (None: not scored) and whether it
    trained after each."""

    metric: list[float | None]
    trained: list[bool]


def halves(n: int) -> int:
    """How many periods the choice sees (the first half; the second, reported, gets the odd one)."""
    if n < 2:
        raise UsageError(
            f"choosing a policy needs 2 periods or more (one to choose on, one to report on), got {n}",
            hint="widen --start/--end or use a shorter --every",
        )
    return n // 2


def summary(s: Scores, lo: int, hi: int) -> dict[str, Any]:
    values = [v for v in s.metric[lo:hi] if v is not None]
    return {"mean": sum(values) / len(values) if values else None, "trainings": sum(s.trained[lo:hi])}


def choose(scores: dict[str, Scores], candidates: list[str], maximize: bool) -> dict[str, Any]:
    """The candidate with the best mean on the first half of the periods (ties: fewer trainings there,
    then the order of ``candidates``), and every policy in ``scores`` on the second half alone.

    ``scores`` may hold more policies than ``candidates`` (static and scheduled, reported beside
    them, never chosen)."""
    n = len(next(iter(scores.values())).metric)
    cut = halves(n)
    first = {name: summary(scores[name], 0, cut) for name in candidates}
    judged = [name for name in candidates if first[name]["mean"] is not None]
    if not judged:
        raise UsageError(
            "no period of the first half was scored: there is nothing to choose a policy on",
            hint="start later (more labeled periods), or use longer periods (--every): a period is scored from "
            "monitoring.min_labeled labeled rows, or from 10 with monitoring.confidence set",
        )
    sign = 1.0 if maximize else -1.0

    def better(a: str, b: str) -> bool:
        ma, mb = sign * first[a]["mean"], sign * first[b]["mean"]
        if abs(ma - mb) > TIE * max(abs(ma), abs(mb), 1e-12):
            return ma > mb
        return bool(first[a]["trainings"] < first[b]["trainings"])

    best = judged[0]
    for name in judged[1:]:
        if better(name, best):
            best = name
    return {
        "chosen": best,
        "periods": n,
        "first_half": cut,
        "chosen_on": first,
        "report": {name: summary(s, cut, n) for name, s in scores.items()},
    }


def scores_of(periods: list[dict[str, Any]], names: list[str]) -> dict[str, Scores]:
    """Each policy's ``Scores`` from the replay's periods: static, scheduled, the spec's own (loop)
    and every candidate (``period["policies"][name]``)."""
    out = {
        "static": Scores([r.get("static") for r in periods], [False] * len(periods)),
        "scheduled": Scores([r.get("scheduled") for r in periods], ["scheduled_run" in r for r in periods]),
    }
    for name in names:
        if name == OWN:
            out[name] = Scores([r.get("loop") for r in periods], [bool(r.get("loop_trained")) for r in periods])
        else:
            seen = [(r.get("policies") or {}).get(name, {}) for r in periods]
            out[name] = Scores([s.get("metric") for s in seen], [bool(s.get("trained")) for s in seen])
    return out


def suggestion(chosen: Any, choice: dict[str, Any], metric: str, periods: list[dict[str, Any]]) -> str:
    """The chosen ``monitoring:`` block as YAML, headed by how it was chosen and what it did after."""
    import yaml

    cut, name = choice["first_half"], choice["chosen"]
    on, after = choice["chosen_on"][name], choice["report"][name]
    block = chosen.model_dump(mode="json", exclude_unset=True)

    def m(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    static, scheduled = choice["report"]["static"], choice["report"]["scheduled"]
    head = [
        f"# airloop backtest --policies: `{name}` chosen on the first {cut} periods "
        f"({periods[0]['start'][:10]} to {periods[cut]['start'][:10]}): mean {metric} {m(on['mean'])}, "
        f"{on['trainings']} trainings",
        f"# on the other {len(periods) - cut} periods (not used to choose): mean {metric} {m(after['mean'])}, "
        f"{after['trainings']} trainings; static {m(static['mean'])}, "
        f"scheduled {m(scheduled['mean'])} ({scheduled['trainings']} trainings)",
        "# paste it over the spec's `monitoring:` block to use it",
    ]
    return "\n".join(head) + "\n" + yaml.safe_dump({"monitoring": block}, sort_keys=False)


def report_table(choice: dict[str, Any], metric: str) -> str:
    """The second half, policy by policy (the chosen one marked), for the terminal."""

    def m(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    cut, n = choice["first_half"], choice["periods"]
    width = max(len(k) for k in choice["report"]) + 2
    lines = [
        f"policy chosen on periods 1-{cut} (mean {metric}, then fewer trainings), reported on periods "
        f"{cut + 1}-{n} only:",
        f"  {'policy':<{width}} {'chose on':>10} {'reported':>10} {'trainings':>9}",
    ]
    for name, after in choice["report"].items():
        on = choice["chosen_on"].get(name, {})
        mark = " <- chosen" if name == choice["chosen"] else ""
        lines.append(f"  {name:<{width}} {m(on.get('mean')):>10} {m(after['mean']):>10} {after['trainings']:>9}{mark}")
    return "\n".join(lines)
