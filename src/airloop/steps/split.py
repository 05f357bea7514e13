"""split: holdout by time (the latest rows) or at random with a seed; resolve the features."""

from __future__ import annotations

from typing import Any

from airloop.errors import DataError
from airloop.steps import frames
from airloop.steps.context import StepContext
from airloop.steps.modeling import apply_transform, resolve_features


def split_frame(spec: Any, frame: Any) -> tuple[Any, Any]:
    cfg = spec.split
    n_holdout = max(1, int(round(len(frame) * cfg.holdout_fraction)))
    if len(frame) - n_holdout < 2:
        raise DataError(f"only {len(frame)} rows: too few to split", hint="add data or lower split.holdout_fraction")
    if cfg.method == "time":
        if cfg.column not in frame.columns:
            raise DataError(
                f"split column `{cfg.column}` is not in the data",
                hint=f"choose one of: {', '.join(map(str, frame.columns))}",
            )
        from airloop.data.preflight import time_values

        # rows without a timestamp are not "the newest": they train, never judge
        when = time_values(frame[cfg.column], cfg.column).reset_index(drop=True)
        order = when.sort_values(kind="stable", na_position="first").index.to_numpy()
        ordered = frame.iloc[order]
        return ordered.iloc[:-n_holdout], ordered.iloc[-n_holdout:]
    shares = _stratified(frame, spec, n_holdout)
    if shares:
        import pandas as pd

        # stratified: every class keeps its share in the holdout (less variance in its metrics,
        # bench/results/split_stratified.md)
        groups = frame.groupby(spec.data.target, sort=True)
        holdout = pd.concat([groups.get_group(c).sample(n=k, random_state=cfg.seed) for c, k in shares.items() if k])
    else:
        holdout = frame.sample(n=n_holdout, random_state=cfg.seed)
    return frame.drop(index=holdout.index), holdout


def _stratified(frame: Any, spec: Any, n_holdout: int) -> dict[Any, int]:
    """Rows to hold out per class, n_holdout in all (largest remainders), each class keeping one
    row to train on; empty when the task has no classes or they cannot be kept."""
    target = spec.data.target
    if spec.task == "regression" or target not in frame.columns or frame[target].isna().any():
        return {}
    counts = frame[target].value_counts().sort_index()
    quota = counts * n_holdout / len(frame)
    take = {c: min(int(quota[c]), int(counts[c]) - 1) for c in counts.index}
    for c in sorted(counts.index, key=lambda c: quota[c] - int(quota[c]), reverse=True):
        if sum(take.values()) >= n_holdout:
            break
        if take[c] < counts[c] - 1:
            take[c] += 1
    return take if sum(take.values()) == n_holdout else {}


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    spec = ctx.loaded.spec
    frame = frames.load(refs["validated_uri"])
    if spec.data.target not in frame.columns:
        raise DataError(
            f"target `{spec.data.target}` is not in the data",
            hint=f"set data.target to one of: {', '.join(map(str, frame.columns))}",
        )
    from airloop.data.preflight import learnable

    labels = learnable(spec, frame)
    if spec.data.window_days and spec.split.column in frame.columns:
        import pandas as pd

        when = pd.to_datetime(frame[spec.split.column], utc=True, errors="coerce")
        frame = frame[when >= when.max() - pd.Timedelta(days=spec.data.window_days)]
    train, holdout = split_frame(spec, frame)
    features = resolve_features(spec, apply_transform(spec, train.head(1000)))
    if spec.task != "regression" and train[spec.data.target].nunique() < 2:
        raise DataError("the training data holds a single class", hint="check the target column and the data range")
    return {
        **time_extent(spec, train, holdout),
        "train_uri": frames.save(train, ctx.run_dir / "train.parquet"),
        "holdout_uri": frames.save(holdout, ctx.run_dir / "holdout.parquet"),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "features": features,
        **({"labels": labels.to_dict()} if labels else {}),
    }


def time_extent(spec: Any, train: Any, holdout: Any) -> dict[str, Any]:
    """The newest time the training split and the holdout reach (time splits): what a fit learned
    from, so a later gate can judge it on rows it never saw."""
    from airloop.data.preflight import time_values

    if spec.split.method != "time" or spec.split.column not in train.columns:
        return {}
    out = {}
    for key, part in (("train_until", train), ("holdout_until", holdout)):
        newest = time_values(part[spec.split.column], spec.split.column).max()
        out[key] = None if newest != newest else str(newest)
    return out
