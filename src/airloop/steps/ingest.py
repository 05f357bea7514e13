"""ingest: read the data source, fingerprint it, open the MLflow run for this DAG run."""

from __future__ import annotations

from typing import Any

from airloop.data.sources import fingerprint, read_batches
from airloop.steps import frames
from airloop.steps.context import StepContext
from airloop.steps.lineage import code_version
from airloop.tracking.tags import Tag


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    from airloop.tracking import Tracker

    ls = ctx.snapshot_spec()  # every later task of this run reads this snapshot
    every = read_batches(ls)
    batches = [b for b in every if not b.duplicate_of]
    duplicates = [{"name": b.name, "duplicate_of": b.duplicate_of} for b in every if b.duplicate_of]
    frame = pd.concat([b.frame for b in batches], ignore_index=True) if len(batches) > 1 else batches[0].frame
    fp = fingerprint(frame)
    tracker = Tracker(ctx.workspace)
    tags = {
        Tag.PROJECT: ls.spec.name,
        Tag.SPEC_HASH: ls.spec_hash,
        Tag.CODE_VERSION: code_version(ls.root),
        Tag.DATA_FINGERPRINT: fp,
    }
    mlflow_run = tracker.parent_run(ls.spec.name, ctx.dag_id, ctx.run_id, tags)
    tracker.log(mlflow_run, params={"rows": len(frame), "batches": len(batches)}, tags=tags)
    return {
        "mlflow_run_id": mlflow_run,
        "data_uri": frames.save(frame, ctx.run_dir / "ingested.parquet"),
        "fingerprint": fp,
        "rows": len(frame),
        # each file's own columns: validation judges a file by what it holds, not by the union
        "batches": [
            {"name": b.name, "rows": len(b.frame), "landed": b.landed, "columns": [str(c) for c in b.frame.columns]}
            for b in batches
        ],
        **({"duplicates": duplicates} if duplicates else {}),
    }
