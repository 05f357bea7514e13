"""Alarm fatigue: retrain requests whose retrain changed nothing.

A request changed nothing when the next judged window still finds the same champion (the gate kept
it, or the run failed), or finds the new champion raising every alarm of the request again (a drift
the retrain could not remove). Staleness is not such an alarm: a retrain resets the age, and the
alarm that rings again a period later is the project's own clock, not a futile retrain. Read from
the monitor's history (``airloop report``) and from the backtest's periods alike; pure, in the
order the windows were judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from airloop.monitoring.policy import REQUESTED, SUPPRESSED

STALENESS = "staleness"  # ``Decision.alarms``' name for the staleness trigger


@dataclass(frozen=True)
class Judged:
    """One judged window: the champion it judged, the verdict and what fired (``Decision.alarms``)."""

    champion: str
    verdict: str
    alarms: tuple[str, ...] = ()


def futile(runs: list[Judged]) -> list[int]:
    """The indexes of the requests in ``runs`` that changed nothing (the last request, with no
    window judged after it, is not known yet and is not counted)."""
    out = []
    for i, (run, after) in enumerate(zip(runs, runs[1:], strict=False)):
        if run.verdict != REQUESTED:
            continue
        alarms = set(run.alarms) - {STALENESS}
        again = after.verdict in (REQUESTED, SUPPRESSED) and bool(alarms) and alarms <= set(after.alarms)
        if after.champion == run.champion or again:
            out.append(i)
    return out


def summary(runs: list[Judged]) -> str:
    """One sentence for a report: how many requests changed nothing."""
    asked = sum(r.verdict == REQUESTED for r in runs)
    if not asked:
        return "no retrain requests yet"
    return f"alarm fatigue: {len(futile(runs))} of {asked} retrain requests changed nothing"
