"""Replay a project's history period by period and compare three retraining policies on it.

The data before ``start`` trains the first champion. Then, for each period: each policy's champion
predicts the period's rows and is scored on their labels; the labels arrive and the monitor judges
the loop's window (the same cursor, drift, performance and ``policy.decide`` code as the monitor DAG:
every prediction since the cursor, so a window left accumulating carries over to the next period,
as it does in production); the period's
data lands; and a policy that retrains gets the candidate trained on everything so far, which the
gate (``gate.decide``, as in the train DAG) judges against that policy's champion on the
candidate's holdout. Policies:

- ``static``: the first champion forever;
- ``scheduled``: a training (and the gate) after every period;
- ``loop``: a training where the spec's monitoring policy asks for one (and after every period when
  landed data trains by itself: ``data.incoming`` with ``monitoring.train_on_new_data: always``).

A cron ``schedule`` in the spec is not replayed: retraining on a clock is the ``scheduled`` column.

Trainings are shared (``Trainings``: one per cutoff), so the backtest costs one training per
period, whatever the number of policies. ``policies`` adds more monitoring policies beside these
three (``airloop.backtest.policies``: ``--policies``); they share the trainings too, and the
predictions and monitor windows of a champion they serve alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airloop.backtest.trainings import Candidate, Trainings
from airloop.errors import DataError
from airloop.monitoring.cursor import Cursor
from airloop.spec import LoadedSpec
from airloop.tracking.tags import Tag, labels_tags

POLICIES = ("static", "scheduled", "loop")
RESULT_FILE = "result.json"  # the last result, in the backtest's folder: `airloop report` shows it


@dataclass
class Champion:
    """A policy's serving model: which candidate, whether refit, the model and its tags."""

    key: str
    model: Any
    tags: dict[str, str]  # what the monitor reads from a registered version (reference, labels, metrics)
    judged: Any = None  # the fit its gate judged (before a refit), which later gates compare with
    judged_until: str | None = None  # the newest row that fit learned from (time splits)


@dataclass
class Track:
    """One policy's state through the replay."""

    name: str
    champion: Champion
    trainings: int = 1
    compute_seconds: float = 0.0
    cursor: Cursor = field(default_factory=Cursor)  # where the monitor's next window starts
    log: list[Any] = field(default_factory=list)  # the predicted periods not yet behind the cursor
    spec: Any = None  # the spec this track monitors with (None: the project's own)
    log_ids: tuple[tuple[int, str], ...] = ()  # (period, champion) of each part of ``log``: its identity


class Replay:
    def __init__(self, loaded: LoadedSpec, root: Path) -> None:
        self.loaded, self.spec = loaded, loaded.spec
        self.trainings = Trainings(loaded, root)
        self.models: dict[str, Any] = {}
        self.champion_scores: dict[tuple[str, str], dict[str, Any]] = {}
        # policies serving the same champion predict alike, and see the same window when their
        # logs and cursors agree: judged once (the thresholds apply after, in ``decide``)
        self.predictions: dict[tuple[str, int], tuple[Any, dict[str, Any]]] = {}
        self.windows: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    # --- the first champion and the candidates ------------------------------------------------------
    def first(self, key: str, labels: list[str]) -> Champion:
        from airloop.steps.gate import decide

        cand = self.trainings.at(key, labels)
        if not cand.ok:
            raise DataError(f"the first training (data before the start) failed: {cand.error}")
        verdict = decide(self.spec.promotion, self.spec.promotion_metric, cand.refs["metrics"], None)
        if not verdict["passed"]:
            raise DataError(
                "the first candidate does not pass the gate's thresholds: " + "; ".join(verdict["reasons"]),
                hint="start later (more data before --start) or relax promotion.thresholds",
            )
        return self.champion_of(cand)

    def champion_of(self, cand: Candidate) -> Champion:
        """The model a passed gate would register: the judged fit, or its refit on all rows."""
        refit = self.spec.promotion.refit == "all"
        refs = self.trainings.refit(cand) if refit else cand.refs
        until = cand.refs.get("holdout_until" if refit else "train_until")  # as register tags it
        tags = {
            Tag.REFERENCE_URI: f"runs:/{refs['mlflow_run_id']}/reference",
            **({Tag.TRAINED_UNTIL: str(until)} if until else {}),
            **{k: str(v) for k, v in (labels_tags(cand.refs["labels"]) if cand.refs.get("labels") else {}).items()},
            **{Tag.metric(k): str(v) for k, v in cand.refs["metrics"].items()},
        }
        judged = self.model(cand.refs["model_uri"])
        return Champion(cand.key + ("+refit" if refit else ""), self.model(refs["model_uri"]), tags, judged,
                        cand.refs.get("train_until"))  # fmt: skip

    def model(self, uri: str) -> Any:
        if uri not in self.models:
            from airloop.model import store

            self.models[uri] = store.load(uri, store.LoadOptions.of(self.spec))
        return self.models[uri]

    def gate(self, track: Track, cand: Candidate) -> tuple[bool, list[str]]:
        """The train DAG's gate: the candidate against this policy's champion on the candidate's holdout."""
        from airloop.steps import frames
        from airloop.steps.evaluate import compare, unseen_by
        from airloop.steps.gate import decide
        from airloop.steps.modeling import positive_of, xy

        spec, champ = self.spec, track.champion
        pair = (champ.key, cand.key)
        if pair not in self.champion_scores:  # what evaluate does in the train DAG
            X, y = xy(spec, frames.load(cand.refs["holdout_uri"]))
            fresh = unseen_by(spec, X, champ.judged_until)
            candidate = self.model(cand.refs["model_uri"])
            self.champion_scores[pair] = compare(
                spec, spec.metric_names, candidate, champ.judged, X, y, positive_of(cand.refs), fresh
            )
        champion = {"version": champ.key, **self.champion_scores[pair]}
        verdict = decide(spec.promotion, spec.promotion_metric, cand.refs["metrics"], champion)
        return bool(verdict["passed"]), list(verdict["reasons"])

    def retrain(self, track: Track, key: str, labels: list[str]) -> dict[str, Any]:
        """A policy's train run at this cutoff: the shared candidate, the gate, the alias move."""
        cand = self.trainings.at(key, labels)
        track.trainings += 1
        track.compute_seconds += cand.seconds
        if not cand.ok:
            return {"trained": True, "promoted": False, "why": f"run failed: {cand.error}", "rejected": cand.rejected}
        passed, reasons = self.gate(track, cand)
        if passed:
            track.champion = self.champion_of(cand)
            track.compute_seconds += cand.refit_seconds
        return {"trained": True, "promoted": passed, "why": "; ".join(reasons)}

    # --- one period ---------------------------------------------------------------------------------
    def predict(self, champion: Champion, rows: Any, times: Any) -> Any:
        """The period as the prediction log would hold it: features, prediction, probabilities,
        label, and the data time as ``logged_at``."""
        import pandas as pd

        from airloop.steps.modeling import predict_all, xy

        X, y = xy(self.spec, rows)
        pred, proba = predict_all(self.spec, champion.model, X)
        frame = X.reset_index(drop=True).copy()
        frame["prediction"] = list(pred.tolist())
        frame["probabilities"] = list(proba.tolist()) if proba is not None else [None] * len(frame)
        frame["label"] = pd.Series([None if pd.isna(v) else v for v in y.tolist()], dtype=object)
        frame["logged_at"] = times.reset_index(drop=True)
        return frame

    def performance(self, frame: Any, champion: Champion) -> dict[str, Any]:
        """The champion's metrics on the period's labeled rows (what the monitor measures)."""
        from airloop.steps.window import live_performance
        from airloop.tracking.tags import labels_of

        return live_performance(self.spec, frame, labels_of(champion.tags))

    def served(self, champion: Champion, i: int, rows: Any, times: Any) -> tuple[Any, dict[str, Any]]:
        """Period ``i`` predicted by ``champion`` and its performance there (once per champion)."""
        key = (champion.key, i)
        if key not in self.predictions:
            frame = self.predict(champion, rows, times)
            self.predictions[key] = (frame, self.performance(frame, champion))
        return self.predictions[key]

    def monitor(self, track: Track, frame: Any, i: int = 0) -> tuple[Any, Any]:
        """What the monitor DAG would decide now: ``frame`` (period ``i``'s predictions) joins the
        log, and the window is every logged prediction since the track's cursor."""
        import pandas as pd

        from airloop.monitoring.policy import Policy, decide
        from airloop.steps.window import history, judge, observe, of_frame, over, references
        from airloop.tracking.tags import labels_of

        spec = track.spec or self.spec
        log = pd.concat([*track.log, frame], ignore_index=True)
        ids = (*track.log_ids, (i, track.champion.key))
        rows = log[track.cursor.takes(epoch(log["logged_at"]))].reset_index(drop=True)
        view = _Version(track.champion.tags)
        saved = references(view)
        key = (track.champion.key, track.cursor.since, ids, judging(spec))
        if key not in self.windows:
            seen = over(spec, view, [of_frame(rows)], saved)
            drift, perf, guess = judge(spec, seen, saved, labels_of(view.tags))
            self.windows[key] = (float(seen.last_logged), observe(spec, seen, saved, drift, perf, guess))
        last_logged, window = self.windows[key]
        decision = decide(history(view, saved, track.cursor.last_request), window, Policy.of(spec))
        track.cursor = track.cursor.after(decision, last_logged, window.end)
        ahead = rows[track.cursor.takes(epoch(rows["logged_at"]))]
        track.log, track.log_ids = ([ahead], ids) if len(ahead) else ([], ())
        return decision, window

    def candidate_period(
        self, track: Track, i: int, served: tuple[Any, dict[str, Any]], scored: bool, labels: list[str], last: bool
    ) -> dict[str, Any]:
        """One more policy's period (``--policies``): its champion's score, its monitor's verdict, and
        the retrain it asks for, on the shared candidate of this cutoff."""
        spec = track.spec or self.spec
        frame, perf = served
        value = (perf.get("metrics") or {}).get(spec.promotion_metric) if scored else None
        judged, _ = self.monitor(track, frame, i)
        lands = bool(spec.data.incoming) and spec.monitoring.train_on_new_data == "always"
        run = self.retrain(track, f"p{i:03d}", labels) if not last and (judged.retrain or lands) else None
        return {
            "metric": value, "verdict": judged.verdict, "trained": run is not None,
            "promoted": bool(run and run["promoted"]), "champion": track.champion.key,
        }  # fmt: skip


# what only ``policy.decide`` reads: policies differing in these alone see the same window
DECIDE_ONLY = {
    "drift_importance", "drifted_features", "min_performance", "max_performance_drop", "max_relative_drop",
    "max_staleness_loss", "performance", "cooldown_hours", "retention_days", "train_on_new_data", "schedule",
}  # fmt: skip


def judging(spec: Any) -> str:
    """The monitoring settings that shape a window (sizes, statistics, confidence), as a key."""
    dumped = spec.monitoring.model_dump(mode="json")
    return json.dumps({k: v for k, v in sorted(dumped.items()) if k not in DECIDE_ONLY})


def epoch(times: Any) -> Any:
    """Data times (a datetime series) as epoch seconds, the log's clock."""
    import pandas as pd

    return (pd.to_datetime(times, utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


@dataclass
class _Version:
    """The part of an MLflow ModelVersion the monitor's functions read."""

    tags: dict[str, str]


def run_backtest(
    loaded: LoadedSpec,
    root: Path,
    start: str,
    end: str,
    every: str,
    on_period: Callable[[dict[str, Any]], None] | None = None,
    policies: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Replay [start, end) in periods of ``every``; returns the JSON record (see ``airloop.backtest``).
    ``policies`` ({name: a ``monitoring`` block}) run beside the three: ``period["policies"]``."""
    # long: one period's steps in production's order (predict, score, monitor, land, retrain); split
    # into helpers that order would no longer read top to bottom
    import time

    from airloop.backtest.periods import load_history, periods
    from airloop.monitoring.policy import fewest_labeled

    started = time.perf_counter()
    spec = loaded.spec
    frame, when = load_history(loaded)
    bounds = periods(start, end, every)
    replay = Replay(loaded, root)
    trainings = replay.trainings
    labels = [trainings.period_file("p000-before", frame[when < bounds[0][0]])]
    first = replay.first("p000", labels)
    # the period's data lands in data.incoming: with train_on_new_data "always", that alone trains
    trains_on_landing = bool(spec.data.incoming) and spec.monitoring.train_on_new_data == "always"
    cost = trainings.cache["p000"].seconds + trainings.cache["p000"].refit_seconds
    tracks = {p: Track(p, first, compute_seconds=cost) for p in POLICIES}
    others = {
        name: Track(name, first, compute_seconds=cost, spec=spec.model_copy(update={"monitoring": block}))
        for name, block in (policies or {}).items()
    }
    out: list[dict[str, Any]] = []
    for i, (lo, hi) in enumerate(bounds, 1):
        inside = (when >= lo) & (when < hi)
        rows, times = frame[inside.to_numpy()], when[inside]
        record: dict[str, Any] = {"start": lo.isoformat(), "end": hi.isoformat(), "rows": int(len(rows))}
        if len(rows) == 0:
            record.update({p: None for p in POLICIES}, loop_trained=False, note="no rows in this period")
            out.append(record)
            continue
        served = {p: replay.served(t.champion, i, rows, times) for p, t in (tracks | others).items()}  # (log, perf)
        record.update({p: (served[p][1].get("metrics") or {}).get(spec.promotion_metric) for p in POLICIES})
        record["labeled"] = int(served["loop"][1].get("labeled", 0))  # the same rows for every policy
        # scored as the monitor measures: from min_labeled labels, or down to FEWEST_ROWS with confidence
        fewest = fewest_labeled(spec.monitoring.min_labeled, spec.monitoring.confidence)
        scored = record["labeled"] >= fewest
        if not scored:
            note = f"too few labeled rows ({record['labeled']} < {fewest}): not scored"
            record.update({p: None for p in POLICIES}, note=note)
        decision, window = replay.monitor(tracks["loop"], served["loop"][0], i)
        record["loop_decision"] = {**decision.to_dict(), "rows": window.rows}
        # performance estimated from the scores alone (before labels), beside what the labels measured
        record["loop_estimated"] = window.estimated.get(spec.promotion_metric)
        labels.append(trainings.period_file(f"p{i:03d}-{lo:%Y%m%d}", rows))
        last = i == len(bounds)
        record["champions"] = {p: t.champion.key for p, t in tracks.items()}
        if not last:
            record["scheduled_run"] = replay.retrain(tracks["scheduled"], f"p{i:03d}", labels)
            if decision.retrain or trains_on_landing:
                record["loop_run"] = replay.retrain(tracks["loop"], f"p{i:03d}", labels)
        record["loop_trained"] = "loop_run" in record
        if others:
            record["policies"] = {
                name: replay.candidate_period(t, i, served[name], scored, labels, last) for name, t in others.items()
            }
        out.append(record)
        if on_period:
            on_period(record)
    result = summarise(spec.promotion_metric, out, tracks, time.perf_counter() - started, others)
    (root / RESULT_FILE).write_text(json.dumps(result, indent=2, default=str))
    return result


def fatigue(periods: list[dict[str, Any]]) -> dict[str, int]:
    """The loop's alarm fatigue (``monitoring.fatigue``): each request whose retrain changed nothing is
    marked in its period (``loop_decision.changed_nothing``); returns the counts."""
    from airloop.monitoring.fatigue import Judged, futile
    from airloop.monitoring.policy import ACCUMULATING, REQUESTED

    judged = [r for r in periods if r.get("loop_decision") and r["loop_decision"]["verdict"] != ACCUMULATING]
    runs = [
        Judged(r["champions"]["loop"], r["loop_decision"]["verdict"], tuple(r["loop_decision"]["alarms"]))
        for r in judged
    ]
    for i in futile(runs):
        judged[i]["loop_decision"]["changed_nothing"] = True
    return {"requests": sum(r.verdict == REQUESTED for r in runs), "fatigue": len(futile(runs))}


def summarise(
    metric: str, periods: list[dict[str, Any]], tracks: dict[str, Track], seconds: float, others: dict[str, Track]
) -> dict[str, Any]:
    def mean(p: str) -> float | None:
        values = [r[p] for r in periods if r.get(p) is not None]
        return sum(values) / len(values) if values else None

    summary: dict[str, Any] = {}
    for p, t in tracks.items():
        summary[p] = {"mean": mean(p), "trainings": t.trainings, "compute_seconds": round(t.compute_seconds, 1)}
    summary["loop"].update(fatigue(periods))
    out = {"metric": metric, "periods": periods, "summary": summary, "wall_seconds": round(seconds, 1)}
    if others:  # --policies: each one's trainings over the whole replay (the halves are in the choice)
        out["candidates"] = {n: {"trainings": t.trainings, "compute_seconds": round(t.compute_seconds, 1)}
                             for n, t in others.items()}  # fmt: skip
    return out
