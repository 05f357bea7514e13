"""`airloop score` and the score DAG on Spark (engine: spark): the champion applied per partition
(``mapInArrow``), each record judged and answered by the same functions as the pandas engine
(``scoring.batch``: the server's judgement, its prediction path), so its answers are the same.

The rows never come to the driver: each partition's answers and refused records are written by
Spark into a hidden folder beside OUTPUT, which is renamed into place once complete (a failed or
killed run leaves no OUTPUT, as with pandas). Spark names its part files itself: a rerun writes the
same rows, in files of other names. Row ids are Spark's ``monotonically_increasing_id`` (unique and
increasing in input order, not consecutive across partitions). The prediction log and SQL tables
are written by the pandas engine only.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from airloop.errors import DataError, UsageError
from airloop.scoring import batch
from airloop.scoring.inputs import Chunk, InputFile, to_records

ROW, FILE, KIND, FIELD, PROBLEM = "__row_id", "__file", "_kind", "_field", "_problem"
PARTS = "parts"
_HINT = "give CSV files with a header row or Parquet files (a glob or a folder of them)"


def _read(session: Any, inputs: list[str], fmt: str, encoding: str) -> tuple[Any, str]:
    """The inputs as one frame (CSV as text, every column, as the pandas engine reads it)."""
    from airloop.spark.session import is_spark_error, spark_message

    first = inputs[0].lower()
    kind = (
        fmt
        if fmt != "auto"
        else ("parquet" if first.endswith((".parquet", ".pq")) or Path(inputs[0]).is_dir() else "csv")
    )
    reader = session.read
    if kind == "csv":
        reader = reader.option("header", True).option("inferSchema", False).option("encoding", encoding)
        reader = reader.option("mode", "PERMISSIVE")
    try:
        frame = reader.format(kind).load(inputs)
        frame.schema  # noqa: B018 (the schema is read now: a file that does not parse fails here)
    except Exception as exc:
        if not is_spark_error(exc):
            raise
        raise DataError(f"Spark cannot read {', '.join(inputs)} as {kind}: {spark_message(exc)}", hint=_HINT) from None
    return frame, kind


def score(
    loaded_spec: Any,
    ws: Any,
    inputs: list[str],
    out: Path | str | None = None,
    *,
    version: str | None = None,
    chunk_rows: int = 10_000,
    overwrite: bool = False,
    log: bool | None = None,
    on_chunk: Callable[[batch.Summary], None] | None = None,
    spark: Any = None,
) -> batch.Summary:
    """``scoring.batch.score`` on Spark: ``inputs`` (files, globs or folders Spark reads) into the
    folder ``out`` (default: ``scoring.output``)."""
    from airloop.spark.session import using

    spec = loaded_spec.spec
    folder = _folder(loaded_spec, out, overwrite, spec.scoring.log if log is None else log)
    import tempfile

    with (
        tempfile.TemporaryDirectory(prefix="airloop-score-") as tmp,
        using(spec, spark, f"{spec.name}-score") as session,
    ):
        model = _shipped_model(session, loaded_spec, ws, version, Path(tmp))
        frame, kind = _read(session, inputs, spec.data.source.format, spec.data.source.encoding)
        frame = _prepared(session, loaded_spec, frame, inputs)
        file = InputFile(Path(inputs[0]), kind, [c for c in frame.columns if c != FILE])
        plan = batch._Plan.make(model, spec, [file], chunk_rows)  # a missing feature column is refused here
        summary = batch.Summary(spec.name, model.version, str(folder), list(inputs), chunk_rows)
        summary.ignored_columns = sorted(file.ignored)
        with batch.published(folder, summary) as work:
            _write(session, frame, plan, file, loaded_spec, work, summary)
    if on_chunk is not None:
        on_chunk(summary)
    return summary


def _folder(loaded_spec: Any, out: Path | str | None, overwrite: bool, log: bool) -> Path:
    """The output folder; what the Spark engine does not write (the log, a SQL table) is refused."""
    from airloop.scoring.sql import is_sql

    if log:
        raise UsageError(
            "engine: spark does not write the prediction log",
            hint="leave out --log (and scoring.log), or score these records with engine: pandas",
        )
    dest = batch.destination(loaded_spec, out)
    if is_sql(str(dest)):
        raise UsageError(
            "engine: spark writes Parquet folders, not SQL tables",
            hint="give --out a folder (load it into the table with Spark's JDBC writer), or use engine: pandas",
        )
    folder = Path(dest).absolute()
    if folder.exists() and not overwrite:
        raise UsageError(f"{folder} already exists", hint="pass --overwrite to replace it, or choose another --out")
    return folder


MODEL_DIR = "airloop-model"


def _shipped_model(session: Any, loaded_spec: Any, ws: Any, version: str | None, tmp: Path) -> Any:
    """The version loaded here (to judge the files and shape the output), its folder handed to Spark
    (``addFile``): every executor loads the model from its own copy, as MLflow's ``spark_udf`` does."""
    from airloop.scoring.smoke import load
    from airloop.tracking import Tracker
    from airloop.tracking.tags import CHAMPION

    spec = loaded_spec.spec
    if version is None:
        version = Tracker(ws).alias_version(spec.name, CHAMPION)
    if version is None:
        return batch._load(loaded_spec, ws, None)  # names what is missing
    if str(loaded_spec.root) not in sys.path:
        sys.path.insert(0, str(loaded_spec.root))
    from airloop.model.store import LoadOptions

    folder = tmp / MODEL_DIR
    loaded = load(ws, spec.name, str(version), spec.task, LoadOptions.of(spec), dst=str(folder))
    session.sparkContext.addFile(str(folder), recursive=True)
    return loaded


def _worker_model(shipped: Any, spec: Any) -> Any:
    """The model on an executor: loaded from Spark's copy of the version's folder."""
    import dataclasses

    from pyspark import SparkFiles

    from airloop.model.store import LoadOptions, load
    from airloop.tracking.tags import Tag

    what = f"v{shipped.version} of `{shipped.name}`"
    model = load(
        SparkFiles.get(MODEL_DIR), LoadOptions.of(spec), what=what, registered_sha256=shipped.tags.get(Tag.MODEL_SHA256)
    )
    return dataclasses.replace(shipped, model=model)


def _prepared(session: Any, loaded_spec: Any, frame: Any, inputs: list[str]) -> Any:
    """The records with the file each came from (for the rejects), through the training table's
    preparation (``data.spark_transform``, unless ``scoring.prepare`` is false)."""
    from pyspark.sql import functions as F

    spec = loaded_spec.spec
    frame = frame.withColumn(FILE, F.col("_metadata.file_path"))  # a file source's own, before any join
    if spec.data.spark_transform and spec.scoring.prepare:
        from airloop.spark.source import transformed

        frame = transformed(session, loaded_spec, frame)
    if FILE not in frame.columns:  # the transform selected its own columns
        frame = frame.withColumn(FILE, F.lit(", ".join(inputs)))
    return frame


def _write(session: Any, frame: Any, plan: Any, file: InputFile, loaded_spec: Any, work: Path, s: Any) -> None:
    import dataclasses

    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_schema

    from airloop.spark.session import is_spark_error, spark_message

    wanted = [c for c in file.columns if c not in file.ignored]
    inputs = frame.select(*[F.col(f"`{c}`") for c in wanted], F.col(FILE))
    inputs = inputs.withColumn(ROW, F.monotonically_increasing_id())
    schema = _schema(plan, frame)
    shape = to_arrow_schema(schema)
    shipped = dataclasses.replace(plan.model, model=None)  # loaded again on each executor (_worker_model)
    payload = (shipped, loaded_spec.spec, file, plan.chunk_rows, str(loaded_spec.root), shape)
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(plan.chunk_rows))
    result = inputs.mapInArrow(lambda batches: _partition(payload, batches), schema)
    result = result.persist(StorageLevel.DISK_ONLY)
    try:
        out_cols = [f"`{c}`" for c in schema.names if c not in (KIND, FIELD, PROBLEM, FILE)]
        scored = result.where(F.col(KIND) == "scored").select(*out_cols)
        try:
            scored.write.option("compression", "zstd").parquet((work / PARTS).as_uri())
        except Exception as exc:
            if not is_spark_error(exc):
                raise
            raise DataError(f"Spark could not score {', '.join(s.files)}: {spark_message(exc)}", hint=_HINT) from None
        for part in sorted((work / PARTS).glob("part-*.parquet")):
            part.rename(work / part.name)
        shutil.rmtree(work / PARTS)
        s.scored = int(scored.count())
        _rejects(result, work, s)
    finally:
        result.unpersist()
    s.parts = len(list(work.glob("part-*.parquet")))
    s.ignored_fields = (s.scored + s.rejected) * len(file.ignored)


def _rejects(result: Any, work: Path, s: Any) -> None:
    """The refused records as ``_rejects.csv`` (the pandas engine's columns), ordered by row id,
    counted as they are written (records, and problems by field)."""
    import csv

    from pyspark.sql import functions as F

    rows = result.where(F.col(KIND) == "rejected").select("row_id", FILE, FIELD, PROBLEM).orderBy("row_id", FIELD)
    records = set()
    with open(work / batch.REJECTS, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(batch.REJECT_COLUMNS)
        for r in rows.toLocalIterator():
            where = r[FILE][len("file:") :] if (r[FILE] or "").startswith("file:") else r[FILE]
            writer.writerow([r["row_id"], where, "", r[FIELD], r[PROBLEM]])
            records.add(r["row_id"])
            s.rejected_by_field[r[FIELD]] = s.rejected_by_field.get(r[FIELD], 0) + 1
    s.rejected = len(records)


def _schema(plan: Any, frame: Any) -> Any:
    from pyspark.sql import types as T

    model = plan.model
    if model.task == "regression":
        prediction: Any = T.DoubleType()
    else:
        classes = list(model.model.classes_)
        kinds = {type(c).__name__ for c in classes}
        prediction = (
            T.BooleanType()
            if kinds <= {"bool", "bool_"}
            else T.LongType()
            if kinds <= {"int", "int64", "int32"}
            else T.StringType()
        )
    fields = [
        T.StructField("row_id", T.LongType()),
        T.StructField("model_version", T.StringType()),
        T.StructField("prediction", prediction),
    ]
    if model.task != "regression":
        fields += [T.StructField(f"proba_{c}", T.DoubleType()) for c in model.model.classes_.tolist()]
    fields += [frame.schema[c] for c in plan.carried]
    fields += [T.StructField(n, T.StringType()) for n in (KIND, FIELD, PROBLEM, FILE)]
    return T.StructType(fields)


_PLANS: dict[tuple[Any, ...], Any] = {}  # per Python worker: the plan built once from the shipped payload


def _partition(payload: tuple[Any, ...], batches: Iterator[Any]) -> Iterator[Any]:
    """One partition: each Arrow batch judged record by record and answered, as one chunk of the
    pandas engine; its answers and its refused records come out as rows of one schema."""
    import pyarrow as pa

    from airloop.scoring.screen import judged as judge

    shipped, spec, file, chunk_rows, root, shape = payload
    if root not in sys.path:  # the feature transform's module, if the model needs it
        sys.path.insert(0, root)
    key = (spec.name, shipped.version, chunk_rows)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = batch._Plan.make(_worker_model(shipped, spec), spec, [file], chunk_rows)
    for record_batch in batches:
        table = pa.Table.from_batches([record_batch])
        ids = table.column(ROW).to_pylist()
        where = table.column(FILE).to_pylist()
        data = table.drop_columns([ROW, FILE])
        records = to_records(data, plan.kinds)
        if not records:
            continue
        judged = judge(plan.check, plan.screen, data, records)
        keep = list(range(len(records))) if judged.positions is None else judged.positions
        parts = []
        if keep:
            chunk = Chunk(file, 0, data, records, [])
            scored = batch._answers(plan, chunk, keep, 0).table
            scored = scored.set_column(0, "row_id", pa.array([ids[i] for i in keep], pa.int64()))
            parts.append(scored.append_column(KIND, pa.array(["scored"] * len(keep))))
        if judged.refused:
            parts.append(
                pa.table(
                    {
                        "row_id": pa.array([ids[r["index"]] for r in judged.refused], pa.int64()),
                        KIND: ["rejected"] * len(judged.refused),
                        FIELD: [r["field"] for r in judged.refused],
                        PROBLEM: [r["problem"] for r in judged.refused],
                        FILE: [where[r["index"]] for r in judged.refused],
                    }
                )
            )
        yield from _conform(parts, shape).to_batches()


def _conform(parts: list[Any], shape: Any) -> Any:
    """The answers and the refused records as one table of the declared schema (absent columns null)."""
    import pyarrow as pa

    columns = []
    for f in shape:
        pieces = [
            p.column(f.name).cast(f.type) if f.name in p.column_names else pa.nulls(p.num_rows, f.type) for p in parts
        ]
        columns.append(pa.chunked_array([c for piece in pieces for c in getattr(piece, "chunks", [piece])], f.type))
    return pa.Table.from_arrays(columns, schema=shape)
