"""validate, engine: spark: the run's training table judged against the contract with Spark
aggregates (the rows stay on Spark), then the sample the candidates train on.

The same verdict, report, MLflow record and contract file as the pandas engine (``validate``): the
table is one batch; its contract is inferred on first contact from aggregates over every row
(kinds, null rates, ranges, categories) and from the sample (what a healthy newer batch brings).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from airloop.data import contract as dc
from airloop.steps.context import StepContext
from airloop.steps.validate import (
    INFERRED_HERE,
    _accept,
    _record,
    _with_reference,
    accepted,
    columns_to_judge,
    reference_contract_if_known,
)


def run(ctx: StepContext, refs: dict[str, Any], spark: Any = None) -> dict[str, Any]:
    from airloop.spark import contract as sc
    from airloop.spark.sample import sample
    from airloop.spark.session import using

    spec = ctx.loaded.spec
    (batch,) = refs["batches"]
    with using(spec, spark, f"{ctx.dag_id}-validate") as session:
        table = session.read.parquet(batch["uri"])
        judged, unchecked = columns_to_judge(spec, list(table.columns))
        labeled = table.where(~sc.missing(table, spec.data.target))
        known = reference_contract_if_known(ctx)
        violations: list[dc.Violation] = []
        if known is None:
            rows, total = sample(labeled, spec.data.target, spec.task, spec.data.max_train_rows, spec.split.seed)
            kept = [c for c in judged if c in rows.columns]
            inferred = sc.infer(
                table.select(*kept), rows[kept], spec.data.target, refs["fingerprint"], spec.split.column, spec.contract
            )
            contract, origin = _with_reference(inferred, refs["batches"]), INFERRED_HERE
        else:
            contract, origin = known[0].only(judged), known[1]
            if not contract.is_reference(batch["name"], batch["rows"]):
                _, violations = sc.check(table.select(*judged), contract, spec.contract)
            rows = None
        missing = batch["rows"] - int(labeled.count())
        if missing and spec.data.missing_target == "fail":
            v = dc.Violation(spec.data.target, "missing_target", f"{missing} rows have no target", count=missing)
            v.severity = dc.severity_of(v, spec.contract)
            violations.append(v)
        judged_batch = {k: v for k, v in batch.items() if k != "uri"}
        report = {
            "batches": [{**judged_batch, "violations": [asdict(v) for v in violations]}],
            "contract": origin,
            "not_checked": unchecked,
        }
        texts = [dc.render(batch["name"], batch["rows"], violations)] if violations else []
        warnings = _record(ctx, refs, contract, origin, report, texts)
        if rows is None:  # judged against a known contract: only now, accepted, is the sample drawn
            rows, total = sample(labeled, spec.data.target, spec.task, spec.data.max_train_rows, spec.split.seed)
    frame, _ = _accept(ctx, rows, contract)
    used = {"rows_accepted": total, "rows_sampled": len(frame)}
    out = accepted(ctx, refs, frame, missing, warnings, None, extra=used)
    return {**out, "sampled": {"rows": len(frame), "of": total}}
