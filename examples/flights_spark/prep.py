"""The training table, prepared on Spark: each flight with its destination's position and altitude
(a join with the airports table) and its calendar (hour, weekday, month). Scoring runs the same
function on raw flights (scoring.prepare)."""

from __future__ import annotations

from pathlib import Path


def flights(events, spark):
    from pyspark.sql import functions as F

    airports = (
        spark.read.option("header", True)
        .option("inferSchema", True)
        .csv(str(Path(__file__).resolve().parent / "airports.csv"))
    )
    dest = airports.select(
        F.col("faa").alias("dest"),
        F.col("lat").alias("dest_lat"),
        F.col("lon").alias("dest_lon"),
        F.col("alt").cast("double").alias("dest_alt"),
    )
    return (
        events.join(dest, on="dest", how="left")
        .withColumn("dep_hour", (F.col("sched_dep_time") / 100).cast("int").cast("double"))
        .withColumn("day_of_week", F.date_format("time_hour", "EEE"))
        .withColumn("month", F.month("time_hour").cast("double"))
    )
