"""ingest: read the data source, fingerprint it, open the MLflow run for this DAG run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airloop.data.sources import fingerprint, read_batches
from airloop.steps import frames
from airloop.steps.context import StepContext
from airloop.steps.lineage import code_version
from airloop.tracking.tags import Tag

if TYPE_CHECKING:
    import pandas as pd


def data_fingerprint(parts: list[pd.DataFrame]) -> str:
    """The content hash of the data: one file's own fingerprint, or a hash of the files' (sorted: a
    landed file that later sits among the accepted ones, in another order, is the same data)."""
    import hashlib

    if len(parts) == 1:
        return fingerprint(parts[0])
    return hashlib.sha256(",".join(sorted(fingerprint(p) for p in parts)).encode()).hexdigest()[:16]


def _open_run(ctx: StepContext, ls: Any, fp: str, rows: int, batches: int) -> tuple[str, str | None]:
    """The MLflow run of this DAG run, and the version these inputs trained already (or None)."""
    from airloop.tracking import Tracker

    tracker = Tracker(ctx.workspace)
    tags = {
        Tag.PROJECT: ls.spec.name,
        Tag.SPEC_HASH: ls.spec_hash,
        Tag.CODE_VERSION: code_version(ls.root),
        Tag.DATA_FINGERPRINT: fp,
    }
    mlflow_run = tracker.parent_run(ls.spec.name, ctx.dag_id, ctx.run_id, tags)
    # one training per input: these data, this spec and this code trained a version already
    same = tracker.version_with_tags(ls.spec.name, {k: v for k, v in tags.items() if k != Tag.PROJECT})
    tracker.log(
        mlflow_run,
        params={"rows": rows, "batches": batches},
        tags={**tags, **({Tag.SAME_INPUTS_AS: same} if same else {})},
    )
    return mlflow_run, same


def run(ctx: StepContext, refs: dict[str, Any], spark: Any = None) -> dict[str, Any]:
    ls = ctx.snapshot_spec()  # every later task of this run reads this snapshot
    if ls.spec.engine == "spark":
        return _on_spark(ctx, ls, spark)
    from airloop.data.sources import ready_time

    ready_at = ready_time(ls)  # before reading: a marker written meanwhile vouches for the next run
    every = read_batches(ls, until=ready_at)
    batches = [b for b in every if not b.duplicate_of and not b.problem]
    duplicates = [{"name": b.name, "duplicate_of": b.duplicate_of, "seen": b.seen} for b in every if b.duplicate_of]
    # refused unread (cannot be read, or named so that data.source.path would never read it):
    # validation rejects each one alone, with its reason, and the rest of the data goes on
    refused = [{"name": b.name, "rows": 0, "landed": True, "problem": list(b.problem)} for b in every if b.problem]
    fp = data_fingerprint([b.frame for b in batches])
    rows = sum(len(b.frame) for b in batches)
    mlflow_run, same = _open_run(ctx, ls, fp, rows, len(batches))
    return {
        **({"same_inputs_as": same} if same else {}),
        "mlflow_run_id": mlflow_run,
        "fingerprint": fp,
        "rows": rows,
        # each file as it was read, on its own: validation judges a file by its own columns and
        # dtypes before anything is concatenated, so one odd file never changes how another looks
        "batches": [
            {
                "name": b.name,
                "rows": len(b.frame),
                "landed": b.landed,
                "uri": frames.save(b.frame, ctx.run_dir / "ingested" / f"{i:04d}.parquet"),
                # a landed file is judged as read here: its size and hash are checked again before it moves
                **({"seen": b.seen} if b.seen is not None else {}),
            }
            for i, b in enumerate(batches)
        ]
        + refused,
        **({"duplicates": duplicates} if duplicates else {}),
        **({"ready_at": ready_at} if ready_at is not None else {}),
    }


def _on_spark(ctx: StepContext, ls: Any, spark: Any) -> dict[str, Any]:
    """engine: spark: the source through the spark_transform, written as the run's Parquet table
    (one batch: validation judges it with aggregates), fingerprinted on Spark."""
    from airloop.spark import source
    from airloop.spark.session import using

    table = ctx.run_dir / source.TABLE
    with using(ls.spec, spark, f"{ctx.dag_id}-ingest") as session:
        prepared = source.transformed(session, ls, source.read(session, ls))
        _needs_columns(ls.spec, prepared.columns)
        source.write_table(prepared, table)
        written = session.read.parquet(table.as_uri())
        rows, fp = int(written.count()), source.fingerprint(written)
    mlflow_run, same = _open_run(ctx, ls, fp, rows, 1)
    return {
        "engine": "spark",  # the later steps that read the table read it on Spark (runner.SPARK_STEPS)
        **({"same_inputs_as": same} if same else {}),
        "mlflow_run_id": mlflow_run,
        "fingerprint": fp,
        "rows": rows,
        "batches": [{"name": source.location(ls), "rows": rows, "landed": False, "uri": table.as_uri()}],
    }


def _needs_columns(spec: Any, columns: list[str]) -> None:
    from airloop.errors import DataError

    wanted = [spec.data.target, *([spec.split.column] if spec.split.column else [])]
    missing = [c for c in wanted if c not in columns]
    if missing:
        after = " after the spark_transform" if spec.data.spark_transform else ""
        raise DataError(
            f"the training table{after} has no column {', '.join(f'`{c}`' for c in missing)}",
            hint="its columns: " + ", ".join(columns[:40]) + "; set data.target (and split.column) to one of them",
        )
