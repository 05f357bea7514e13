"""score: the score DAG's task. Files landed in ``scoring.incoming`` and vouched for by a ``_READY``
marker are scored by the champion into ``scoring.output``, each file on its own (``scoring.batch``),
then moved out of the landing folder: to ``scored/`` when scored, to ``rejected/`` with a report
when the file itself cannot be scored.

Each file is scored alone so that one bad file never holds back the good ones beside it, as with
landed training data. A retry after a failure in the middle writes the same result: a folder output
is named by the file's name and content digest and replaced whole (``batch.score`` publishes it
atomically), a table output is keyed by the version and the content (a retried chunk adds no row).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airloop.errors import DataError
from airloop.steps.context import StepContext

SCORED = "scored"
REJECTED = "rejected"


def output_for(ctx: StepContext, path: Path) -> str:
    """Where one landed file's scores go: its own folder under a folder output, or the table."""
    from airloop.data.landing import file_digest
    from airloop.scoring.sql import is_sql

    output = ctx.loaded.spec.scoring.output
    assert output is not None  # a spec rule: scoring.incoming needs scoring.output
    if is_sql(output):
        return output
    return str(ctx.loaded.resolve(output) / f"{path.stem}-{file_digest(path)[:12]}")


def run(ctx: StepContext, refs: dict[str, Any], spark: Any = None) -> dict[str, Any]:
    from functools import partial

    from airloop.data import landing
    from airloop.data.sources import files_ready, markers_time, retire_markers
    from airloop.scoring.batch import score

    if ctx.loaded.spec.engine == "spark":  # the session the score DAG's task was given
        from airloop.spark.score import score as on_spark

        score = partial(on_spark, spark=spark)  # type: ignore[assignment]

    spec = ctx.loaded.spec
    assert spec.scoring.incoming is not None
    folder = ctx.loaded.resolve(spec.scoring.incoming)
    until = markers_time(folder)
    files = files_ready(folder, until)
    done: dict[str, Any] = {"files": len(files), "scored": 0, "rejected_records": 0, "outputs": [], "refused": []}
    for path in files:
        try:
            summary = score(ctx.loaded, ctx.workspace, [str(path)], output_for(ctx, path), overwrite=True)
        except DataError as exc:  # the file itself: lacks a feature column, does not parse
            dest = landing.free_name(folder / REJECTED, path.name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            landing.write_atomic(dest.with_name(dest.name + ".report.txt"), exc.format() + "\n")
            landing.move(path, dest)
            done["refused"].append(f"{path.name}: {exc.message}")
            continue
        landing.move(path, landing.free_name(folder / SCORED, path.name))
        done["version"] = summary.version
        done["scored"] += summary.scored
        done["rejected_records"] += summary.rejected
        done["outputs"].append(summary.output)
    retire_markers(folder, until)
    if done["refused"]:
        raise DataError(
            f"{len(done['refused'])} of {len(files)} landed file(s) could not be scored (moved to "
            f"{folder / REJECTED}, each with a .report.txt):\n  " + "\n  ".join(done["refused"]),
            hint=f"fix and land them again; the other {len(files) - len(done['refused'])} were scored",
        )
    return {"scoring": done}
