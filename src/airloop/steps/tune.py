"""tune: Optuna studies, one per candidate, whose trials run in batches as mapped Airflow tasks.

``plan`` samples the tuning data and creates the studies; each ``run_batch`` (one mapped task)
runs a few trials against the shared study storage, so batches spread over whatever workers
exist and the sampler still sees every finished trial; ``select`` picks the best candidate.
Every trial is an MLflow child run of the DAG run's parent run. Where the studies live (the run
folder, or a database every worker shares) and how lost trials are closed: ``studies``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from airloop.errors import UserCodeError
from airloop.steps import frames
from airloop.steps.context import StepContext
from airloop.steps.studies import capped, fail_running, mark, owed, storage, study_name


def plan(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    import optuna

    from airloop.steps.split import split_frame

    spec = ctx.loaded.spec
    cfg = spec.tuning
    train = frames.load(refs["train_uri"])
    if cfg.sample_rows and len(train) > cfg.sample_rows:
        # keep time order for a time split: the validation part stays the latest rows
        train = train.sample(n=cfg.sample_rows, random_state=cfg.seed).sort_index()
    common: dict[str, Any] = {"tune_started": time.time()}
    if cfg.cv_folds >= 2 and len(train) <= cfg.cv_max_rows:
        # small data: one validation split of a few dozen rows picks by luck; k folds use every row
        common.update(tune_fit_uri=frames.save(train, ctx.run_dir / "tune_fit.parquet"), cv_folds=cfg.cv_folds)
    else:
        fit, val = split_frame(
            spec.model_copy(
                update={"split": spec.split.model_copy(update={"holdout_fraction": cfg.validation_fraction})}
            ),
            train,
        )
        common.update(
            tune_fit_uri=frames.save(fit, ctx.run_dir / "tune_fit.parquet"),
            tune_val_uri=frames.save(val, ctx.run_dir / "tune_val.parquet"),
        )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    batches = []
    for cand in spec.candidates:
        study = optuna.create_study(
            storage=storage(ctx),
            study_name=study_name(ctx, cand.name),
            direction="maximize" if spec.tuning_direction == "maximize" else "minimize",
            load_if_exists=True,
        )
        first = default_trial(cand)
        if first:  # tuning starts from the estimator's defaults, so it can only improve on them
            study.enqueue_trial(first, skip_if_exists=True)
        trials = trials_of(cfg, cand)
        n_batches = math.ceil(trials / cfg.batch_size)
        for i in range(n_batches):
            size = min(cfg.batch_size, trials - i * cfg.batch_size)
            batches.append({"candidate": cand.name, "index": i, "trials": size, **common})
    # Each batch is self-contained: the mapped task expands over this list as it is.
    return {"tune_batches": batches}


def trials_of(cfg: Any, cand: Any) -> int:
    return cfg.trials if cand.search else 1  # nothing to search: one trial scores the defaults


def default_trial(cand: Any) -> dict[str, Any]:
    """The estimator's own defaults (under the candidate's fixed params) for the searched
    parameters that lie inside the search space."""
    from airloop.model.userimport import import_object

    try:
        defaults = {**import_object(cand.estimator, what="estimator", sep=".")().get_params(), **cand.params}
    except Exception:  # an estimator that needs arguments: no default trial
        return {}
    out: dict[str, Any] = {}
    for name, p in cand.search.items():
        value = defaults.get(name)
        if p.type == "categorical":
            if p.choices and value in p.choices:
                out[name] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and p.low <= value <= p.high:
            on_grid = p.step is None or abs(((value - p.low) / p.step) - round((value - p.low) / p.step)) < 1e-9
            if on_grid and (p.type == "float" or float(value).is_integer()):
                out[name] = int(value) if p.type == "int" else float(value)
    return out


def suggest(trial: Any, search: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, p in search.items():
        if p.type == "int":
            params[name] = trial.suggest_int(name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
        elif p.type == "float":
            params[name] = trial.suggest_float(name, p.low, p.high, step=p.step, log=p.log)
        else:
            params[name] = trial.suggest_categorical(name, p.choices)
    return params


def run_batch(ctx: StepContext, refs: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    import optuna

    from airloop.steps.modeling import build_pipeline, positive_of, score, xy
    from airloop.tracking import Tracker

    spec = ctx.loaded.spec
    cand = next(c for c in spec.candidates if c.name == batch["candidate"])
    metric = spec.tuning_metric
    X_fit, y_fit = xy(spec, frames.load(batch["tune_fit_uri"]))
    folds = batch.get("cv_folds")
    X_val, y_val = xy(spec, frames.load(batch["tune_val_uri"])) if not folds else (None, None)
    build_pipeline(spec, cand, refs["features"], {})  # import errors surface before any trial
    tracker = Tracker(ctx.workspace)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=spec.tuning.seed + batch["index"] + 1000 * ctx.try_number)
    study = optuna.load_study(study_name=study_name(ctx, cand.name), storage=storage(ctx), sampler=sampler)
    n_trials = owed(study, batch)
    if n_trials == 0:
        return {**_id(batch), "completed": 0, "skipped": "an earlier try ran every trial of this batch"}

    mine: list[int] = []  # trials of this batch: other batches share the study and run meanwhile

    def objective(trial: optuna.Trial) -> float:
        mine.append(trial.number)
        mark(trial, batch["index"])
        params = suggest(trial, cand.search)
        started = time.perf_counter()
        if folds:
            value = cross_validate(spec, cand, refs, params, X_fit, y_fit, folds)
        else:
            model = build_pipeline(spec, cand, refs["features"], params)
            model.fit(X_fit, y_fit)
            value = score(spec, [metric], model, X_val, y_val, positive_of(refs))[metric]
        seconds = time.perf_counter() - started
        tracker.child_run(
            refs["mlflow_run_id"],
            f"{cand.name}-trial-{trial.number}",
            {"candidate": cand.name, **cand.params, **params},
            {f"val_{metric}": value, "fit_seconds": seconds},
        )
        return value

    timeout = None
    if spec.tuning.timeout_seconds:
        timeout = spec.tuning.timeout_seconds - (time.time() - batch["tune_started"])
        if timeout <= 0:
            return {**_id(batch), "completed": 0, "skipped": "tuning timeout reached"}
    started = time.perf_counter()
    from threadpoolctl import threadpool_limits

    # Parallelism comes from mapped batches on several workers; OpenMP threads inside each trial
    # would oversubscribe the cores (and spin) when batches run side by side.
    with threadpool_limits(limits=1):
        cap = [capped(trials_of(spec.tuning, cand))]
        study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=(ValueError,), callbacks=cap)
    return {**_id(batch), **_counted(study, set(mine), cand.name), "seconds": time.perf_counter() - started}


def _counted(study: Any, mine: set[int], candidate: str) -> dict[str, int]:
    """How the batch's own trials ended; all of them failing is the estimator's error, not bad luck."""
    import optuna

    ours = [t for t in study.get_trials(deepcopy=False) if t.number in mine]
    done = [t for t in ours if t.state == optuna.trial.TrialState.COMPLETE]
    failed = [t for t in ours if t.state == optuna.trial.TrialState.FAIL]
    if failed and not done:
        raise UserCodeError(
            f"all {len(failed)} trials of candidate `{candidate}` failed",
            hint="see the task log for the estimator's error; narrow the search space",
        )
    return {"completed": len(done), "failed": len(failed)}


def cross_validate(spec: Any, cand: Any, refs: dict[str, Any], params: dict[str, Any], X: Any, y: Any, k: int) -> float:
    """Mean validation score over k folds: stratified for classes, forward-chaining for a time split."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    from airloop.steps.modeling import build_pipeline, positive_of, score

    metric, seed = spec.tuning_metric, spec.tuning.seed
    smallest = int(y.value_counts().min()) if spec.task != "regression" else k
    if spec.split.method == "time":
        splitter: Any = TimeSeriesSplit(n_splits=k)
    elif spec.task != "regression" and smallest >= 2:
        splitter = StratifiedKFold(n_splits=min(k, smallest), shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=k, shuffle=True, random_state=seed)
    values = []
    for fit_idx, val_idx in splitter.split(X, y):
        model = build_pipeline(spec, cand, refs["features"], params)
        model.fit(X.iloc[fit_idx], y.iloc[fit_idx])
        try:
            values.append(score(spec, [metric], model, X.iloc[val_idx], y.iloc[val_idx], positive_of(refs))[metric])
        except ValueError:  # e.g. an early time fold holding one class: score the others
            continue
    if not values:
        raise ValueError(f"{metric} could not be computed on any of the {k} folds")
    return float(np.mean(values))


def _id(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: batch[k] for k in ("candidate", "index", "trials")}


def select(ctx: StepContext, refs: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    import optuna

    from airloop.tracking import Tracker

    spec = ctx.loaded.spec
    best: dict[str, Any] | None = None
    per_candidate = {}
    for cand in spec.candidates:
        study = optuna.load_study(study_name=study_name(ctx, cand.name), storage=storage(ctx))
        fail_running(study, cand.name)
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            continue
        trial = study.best_trial
        per_candidate[cand.name] = {"value": trial.value, "params": trial.params, "trials": len(complete)}
        better = best is None or (
            trial.value > best["value"] if spec.tuning_direction == "maximize" else trial.value < best["value"]
        )
        if better:
            best = {"candidate": cand.name, "value": trial.value, "params": trial.params}
    if best is None:
        raise UserCodeError("no tuning trial completed", hint="raise tuning.timeout_seconds or check the estimators")
    trials = sum(r.get("completed", 0) for r in results)
    seconds = sum(r.get("seconds", 0.0) for r in results)
    tracker = Tracker(ctx.workspace)
    tracker.log(
        refs["mlflow_run_id"],
        params={"best_candidate": best["candidate"], **{f"best.{k}": v for k, v in best["params"].items()}},
        metrics={f"tuning_best_val_{spec.tuning_metric}": best["value"], "tuning_trials": trials},
    )
    return {
        "best": best,
        "tuning": {"trials": trials, "trial_seconds": seconds, "per_candidate": per_candidate},
    }
