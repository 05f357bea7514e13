"""The training table on Spark: ``data.source.path`` as Spark reads it, through the user's
``data.spark_transform``, written as Parquet into the run's folder; its fingerprint is an
aggregate (the rows are never collected)."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airloop.errors import DataError, UserCodeError

TABLE = "table"  # the run folder's Parquet directory the later steps read
_HINT = "data.source.path names a Parquet directory or file, a CSV or Parquet glob, or any URL Spark reads"


def location(loaded: Any) -> str:
    """``data.source.path`` as Spark is given it: a URL as written, a path relative to the spec's folder."""
    path = str(loaded.spec.data.source.path)
    if len(urlsplit(path).scheme) > 1:  # s3a://, hdfs://, file:// (not C:)
        return path
    return str(loaded.resolve(path))


def _format(loaded: Any, where: str) -> str:
    fmt = loaded.spec.data.source.format
    if fmt != "auto":
        return str(fmt)
    lowered = where.lower().rstrip("/")
    if lowered.endswith((".csv", ".csv.gz", ".txt")):
        return "csv"
    folder = Path(where)
    if folder.is_dir() and not any(folder.rglob("*.parquet")) and any(folder.rglob("*.csv")):
        return "csv"
    return "parquet"


def read(spark: Any, loaded: Any) -> Any:
    """The source as a Spark DataFrame (CSV: a header row, types inferred)."""
    from airloop.spark.session import is_spark_error, spark_message

    where = location(loaded)
    fmt = _format(loaded, where)
    reader = spark.read
    if fmt == "csv":
        encoding = loaded.spec.data.source.encoding
        reader = reader.option("header", True).option("inferSchema", True).option("encoding", encoding)
    try:
        return reader.format(fmt).load(where)
    except Exception as exc:
        if not is_spark_error(exc):
            raise
        raise DataError(f"Spark cannot read {where} as {fmt}: {spark_message(exc)}", hint=_HINT) from None


def transformed(spark: Any, loaded: Any, frame: Any) -> Any:
    """The user's spark_transform applied (``fn(df)`` or ``fn(df, spark)``), else the frame as read."""
    path = loaded.spec.data.spark_transform
    if not path:
        return frame
    from airloop.model.userimport import import_object
    from airloop.spark.session import spark_message

    fn = import_object(path, what="spark transform", sep=":", search=[loaded.root])
    takes = len(inspect.signature(fn).parameters)
    try:
        out = fn(frame, spark) if takes >= 2 else fn(frame)
    except Exception as exc:
        raise UserCodeError(
            f"spark transform `{path}` raised {type(exc).__name__}: {spark_message(exc)}",
            hint="fix the function; it takes the source as a Spark DataFrame (and the session) and returns one",
        ) from None
    if not hasattr(out, "schema") or not hasattr(out, "write"):
        raise UserCodeError(
            f"spark transform `{path}` returned {type(out).__name__}, not a Spark DataFrame",
            hint="return the training table as a pyspark.sql.DataFrame",
        )
    return out


def write_table(frame: Any, dest: Path) -> None:
    """Write ``frame`` as Parquet beside ``dest`` and rename it into place: a killed or retried
    task leaves either no table or a whole one."""
    work = dest.parent / f".{dest.name}.writing"
    shutil.rmtree(work, ignore_errors=True)
    try:
        frame.write.mode("overwrite").parquet(work.as_uri())
    except Exception as exc:
        from airloop.spark.session import is_spark_error, spark_message

        shutil.rmtree(work, ignore_errors=True)
        if is_spark_error(exc):
            raise UserCodeError(
                f"Spark failed to prepare the training table: {spark_message(exc)}",
                hint="the source or the spark_transform: run the transform on the source in a pyspark shell",
            ) from None
        raise
    shutil.rmtree(dest, ignore_errors=True)
    work.rename(dest)


def fingerprint(frame: Any) -> str:
    """The content hash of a table, independent of row order and of how it is partitioned: its schema,
    its row count and the sum of its rows' 64-bit hashes, computed on Spark."""
    import hashlib

    from pyspark.sql import functions as F

    cols = [F.col(f"`{c}`") for c in frame.columns]
    row = frame.agg(F.count(F.lit(1)).alias("n"), F.sum(F.xxhash64(*cols).cast("decimal(38,0)")).alias("h")).first()
    text = f"{frame.schema.simpleString()}|{row['n']}|{row['h']}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
