"""What the candidates train on when the table outgrows one machine: a sample of at most
``data.max_train_rows`` rows, stratified by the target for classification (every class keeps its
share, and a rare class at least MIN_PER_CLASS rows where it has them), brought to the driver as
pandas. Sampling is seeded, so a retried task trains on the same rows."""

from __future__ import annotations

from typing import Any

MIN_PER_CLASS = 50


def to_pandas(frame: Any) -> Any:
    """``toPandas`` with dates as timestamps (pandas then sees datetimes, as the contract does)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    cols = [
        F.col(f"`{f.name}`").cast("timestamp").alias(f.name)
        if isinstance(f.dataType, T.DateType)
        else F.col(f"`{f.name}`")
        for f in frame.schema.fields
    ]
    return frame.select(*cols).toPandas()


def sample(frame: Any, target: str, task: str, max_rows: int, seed: int) -> tuple[Any, int]:
    """(the sample as pandas, the rows it was drawn from). ``frame`` holds no row without a target."""
    from pyspark.sql import functions as F

    total = int(frame.count())
    if total <= max_rows:
        return to_pandas(frame), total
    share = max_rows / total
    if task == "regression":
        drawn = frame.sample(fraction=min(1.0, share * 1.02), seed=seed)
    else:
        counts = {r[0]: int(r[1]) for r in frame.groupBy(F.col(f"`{target}`")).count().collect()}
        fractions = {c: min(1.0, max(share, MIN_PER_CLASS / n)) for c, n in counts.items()}
        drawn = frame.sampleBy(F.col(f"`{target}`"), fractions=fractions, seed=seed)
    pdf = to_pandas(drawn)
    if len(pdf) > max_rows:  # Bernoulli draws overshoot a little: trim, seeded, keeping the order
        pdf = pdf.sample(n=max_rows, random_state=seed).sort_index().reset_index(drop=True)
    return pdf, total
