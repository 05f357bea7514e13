"""validate: check every batch against the data contract; a violation stops the run.

The reference contract is the one declared in the spec, else the one inferred from the first
accepted training data (kept in the workspace), else it is inferred now from this data.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from airloop.data import contract as dc
from airloop.errors import ContractViolation
from airloop.steps import frames
from airloop.steps.context import StepContext
from airloop.tracking.tags import Tag
from airloop.workspace import rejected_folder


def columns_to_judge(spec: Any, columns: list[str]) -> tuple[list[str], list[str]]:
    """(judged, not checked): only what the model can use is judged.

    Excluded columns never are, but for the split column: it is the contract's clock (trends,
    expected novelty replayed in time order), and `airloop init` excludes it from the features. With
    declared features and no transform, the model sees only those features (plus the target and the
    split column): every other column is not checked. Otherwise (inferred features, or a transform
    that may read any column) every other column is judged, and a new column is a change of the
    model's inputs.
    """
    d = spec.data
    skip = set(d.features.exclude) - {spec.split.column}
    if (d.features.numeric is not None or d.features.categorical is not None) and not d.transform:
        used = {*(d.features.numeric or []), *(d.features.categorical or []), d.target}
        if spec.split.column:
            used.add(spec.split.column)
        skip |= {c for c in columns if c not in used}
    judged = [c for c in columns if c not in skip]
    return judged, [c for c in columns if c in skip]


INFERRED_HERE = "inferred from this data (first accepted)"


def reference_contract_if_known(ctx: StepContext) -> tuple[dc.Contract, str] | None:
    """The declared contract, or the one inferred from earlier accepted data; None on first contact."""
    spec = ctx.loaded.spec
    if spec.contract.columns:
        return dc.from_spec(spec.contract, spec.data.target), "declared in the spec"
    stored = ctx.workspace.contract_file(spec.name)
    if stored.exists():
        return dc.Contract.from_json(stored.read_text()), f"inferred earlier ({stored})"
    return None


def _contract(ctx: StepContext, parts: list[Any], refs: dict[str, Any], judged: list[str]) -> tuple[Any, str]:
    """The contract to judge by, restricted to the judged columns; on first contact it is inferred
    from every file here, which become its reference."""
    import pandas as pd

    known = reference_contract_if_known(ctx)
    if known is not None:
        contract, origin = upgraded(ctx, known[0], known[1], parts, refs["batches"])
        return contract.only(judged), origin
    spec = ctx.loaded.spec
    first = dc.infer(
        pd.concat(parts, ignore_index=True),
        spec.data.target,
        source=refs["fingerprint"],
        time=spec.split.column,
        tol=spec.contract,
    )
    return _with_reference(first.only(judged), refs["batches"]), INFERRED_HERE


def upgraded(
    ctx: StepContext, contract: dc.Contract, origin: str, parts: list[Any], batches: list[dict[str, Any]]
) -> tuple[dc.Contract, str]:
    """A contract stored before it knew time (format 1) learns expected novelty and trends from the
    reference files it names, when this run read them all; its ranges and categories are kept (a
    silent widening from other data would be a change of contract). It is stored as upgraded when
    the batch is accepted."""
    import pandas as pd

    spec = ctx.loaded.spec
    if contract.declared or contract.format >= dc.FORMAT or not spec.contract.learn_time:
        return contract, origin
    found = [p for b, p in zip(batches, parts, strict=True) if contract.is_reference(b["name"], b["rows"])]
    if not found or len(found) != len(contract.reference_batches):
        gone = "its reference files are not all here, so it is judged as before (fixed ranges, no expected novelty)"
        return contract, f"{origin}; {gone}: delete the contract file to infer it again"
    reference = pd.concat(found, ignore_index=True)
    learned = dc.upgrade(contract, reference, spec.split.column, spec.contract)
    return learned, f"{origin}, upgraded (expected novelty and trends learned from its reference)"


def _with_reference(contract: dc.Contract, batches: list[dict[str, Any]]) -> dc.Contract:
    contract.reference_batches = [[b["name"], b["rows"]] for b in batches]
    return contract


FILE = "(file)"  # the column of a violation that concerns the whole file
FILE_RULES = ("unreadable", "wrong_format", "changed")  # a landed file refused for what it is, not its values


def settle_landed(
    ctx: StepContext,
    batches: list[dict[str, Any]],
    duplicates: list[dict[str, Any]] | None = None,
    ready_at: float | None = None,
) -> dict[str, Any]:
    """Every landed file ends in exactly one place: data/ when it passed, incoming/rejected/ with its
    own report when it did not (broke the contract, could not be read, is named so that
    data.source.path would never read it, or changed after it was judged), incoming/duplicates/ when
    it is a byte-identical copy of accepted data. One refused file never holds back the good ones
    beside it. A name that is taken gets a ``.landed-N`` suffix, so a file never replaces another.
    A file that changed since it was read (still being written after its ``_READY``) is refused and
    marked so in ``batches``. Each move is atomic; a failed move (a full disk) leaves the file in the
    landing folder and raises, and the markers stay, so the next run takes it again.
    Returns what was done, by file."""
    from airloop.data import landing
    from airloop.data.sources import accumulation_folder, incoming_folder

    landed = [b for b in batches if b.get("landed")]
    if not landed and not duplicates:
        _retire_markers(ctx, ready_at)
        return {}
    target = accumulation_folder(ctx.loaded)
    folder = incoming_folder(ctx.loaded) or target
    rejected = rejected_folder(folder)
    done: dict[str, Any] = {}
    for b in landed:
        src = Path(b["name"])
        if not src.exists():
            continue
        change = landing.changed_since(src, b["seen"]) if b.get("seen") else None
        if change and not _blocked(b):
            b["violations"].append(asdict(dc.Violation(FILE, "changed", f"{change} (written to after _READY?)")))
        if _blocked(b):
            dest = landing.free_name(rejected, src.name)
            report = rejected / f"{dest.name}.report.txt"
            rejected.mkdir(parents=True, exist_ok=True)
            landing.write_atomic(report, _file_report(b) + "\n")
            try:
                landing.move(src, dest)
            except Exception:
                report.unlink(missing_ok=True)
                raise
            done.setdefault("rejected", []).append(dest.name)
        else:
            dest = landing.move(src, landing.free_name(target, src.name))
            key = "accepted" if dest.name == src.name else "accepted_renamed"
            done.setdefault(key, []).append(dest.name if key == "accepted" else f"{src.name} -> {dest.name}")
    for d in duplicates or []:
        src = Path(d["name"])
        if not src.exists():
            continue
        if d.get("seen") and landing.changed_since(src, d["seen"]):
            continue  # no longer a copy of accepted data: the next run judges it as a landing
        # kept, never deleted: a copy of accepted data is set aside, not read twice
        dest = landing.move(src, landing.free_name(folder / "duplicates", src.name))
        done.setdefault("duplicates", []).append(f"{dest.name} (same bytes as {Path(d['duplicate_of']).name})")
    _retire_markers(ctx, ready_at)
    return done


def _file_report(batch: dict[str, Any]) -> str:
    return dc.render(batch["name"], batch["rows"], [dc.Violation(**v) for v in batch["violations"]])


def _retire_markers(ctx: StepContext, ready_at: float | None) -> None:
    from airloop.data.sources import incoming_folder, retire_markers

    folder = incoming_folder(ctx.loaded)
    if folder is not None:
        retire_markers(folder, ready_at)


def _changed(batch: dict[str, Any]) -> bool:
    return any(v["rule"] == "changed" for v in batch["violations"])


def _hint(ctx: StepContext, bad: list[dict[str, Any]], landing: dict[str, Any]) -> str:
    fix = "fix or remove the offending file(s)"
    if landing.get("rejected"):
        fix = "the refused landed file(s) are in incoming/rejected/ with a report each; land a fixed copy"
    if any(v["rule"] not in FILE_RULES for b in bad for v in b["violations"]):
        fix += (
            "; if the change is intended, declare the contract in the spec or delete "
            f"{ctx.workspace.contract_file(ctx.loaded.spec.name)} to infer it again"
        )
    return fix


def _accept(ctx: StepContext, frame: Any, contract: dc.Contract) -> tuple[Any, int]:
    """The accepted data without rows that have no target, and the contract it leaves behind."""
    spec = ctx.loaded.spec
    dropped = 0
    if spec.data.target in frame.columns:
        keep = frame[spec.data.target].notna()
        dropped = int((~keep).sum())
        frame = frame[keep]
    if not spec.contract.columns:
        # The first accepted data sets the contract; later accepted batches only teach it the rare
        # new categories they were allowed to bring (a new route), never wider ranges.
        learned = dc.learn_categories(contract, frame)
        ctx.workspace.contract_file(spec.name).parent.mkdir(parents=True, exist_ok=True)
        ctx.workspace.contract_file(spec.name).write_text(learned.to_json())
        (ctx.run_dir / "contract.json").write_text(learned.to_json())
    return frame, dropped


def _report_text(texts: list[str], n: int, origin: str, warnings: list[str] | None, unchecked: list[str]) -> str:
    text = "\n\n".join(texts) if texts else f"all {n} batch(es) satisfy the contract ({origin})"
    if texts and warnings is not None:
        text += f"\naccepted with {len(warnings)} warning(s) ({origin})"
    if unchecked:
        text += f"\nnot checked (the model does not use them): {', '.join(unchecked)}"
    return text


def _verdict(report: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The refused batches, and (when none is refused) the warnings to train with; both into the report."""
    bad = [b for b in report["batches"] if _blocked(b)]
    warnings = (
        []
        if bad
        else [f"{Path(b['name']).name}: {v['column']} {v['rule']}" for b in report["batches"] for v in b["violations"]]
    )
    report.update(accepted=not bad, warnings=warnings)
    return bad, warnings


def _blocked(batch: dict[str, Any]) -> bool:
    """A batch is refused for a violation of severity block; warnings are trained on and reported."""
    return any(v.get("severity", "block") == "block" for v in batch["violations"])


def judge_batches(
    spec: Any, parts: list[Any], batches: list[dict[str, Any]], contract: Any | None
) -> tuple[dict[str, Any], list[str]]:
    """Each batch, as its own file read it, against the contract: the report and its text parts.
    Nothing is concatenated first, so one file's odd column or dtype is never blamed on another."""
    report: dict[str, Any] = {"batches": []}
    texts = []
    target = spec.data.target
    for batch in batches:
        if batch.get("problem"):  # refused unread by ingest
            rule, message = batch["problem"]
            v = dc.Violation(FILE, rule, message)
            report["batches"].append({**batch, "violations": [asdict(v)]})
            texts.append(dc.render(batch["name"], 0, [v]))
    batches = [b for b in batches if not b.get("problem")]
    for batch, part in zip(batches, parts, strict=True):
        reference = contract is None or contract.is_reference(batch["name"], batch["rows"])
        violations = [] if contract is None or reference else dc.check(part, contract, spec.contract)
        if target in part.columns and spec.data.missing_target == "fail":
            missing = int(part[target].isna().sum())
            if missing:
                v = dc.Violation(target, "missing_target", f"{missing} rows have no target", count=missing)
                v.severity = dc.severity_of(v, spec.contract)
                violations.append(v)
        report["batches"].append(
            {**{k: v for k, v in batch.items() if k != "uri"}, "violations": [asdict(v) for v in violations]}
        )
        if violations:
            texts.append(dc.render(batch["name"], batch["rows"], violations))
    return report, texts


def judge(ctx: StepContext, refs: dict[str, Any]) -> tuple[list[Any], dc.Contract, str, dict[str, Any], list[str]]:
    """Every file of this run, each as read: (the readable frames whole, the contract, where it came
    from, the report, its text parts)."""
    spec = ctx.loaded.spec
    readable = [b for b in refs["batches"] if not b.get("problem")]
    whole = [frames.load(b["uri"]) for b in readable]  # each file read once, judged, then joined
    judged, unchecked = columns_to_judge(spec, list(dict.fromkeys(str(c) for p in whole for c in p.columns)))
    parts = [part[[c for c in part.columns if c in set(judged)]] for part in whole]
    if readable:
        contract, origin = _contract(ctx, parts, {**refs, "batches": readable}, judged)
    else:  # every file was refused unread (the first landing, unreadable): nothing to judge by
        contract, origin = dc.Contract({}, spec.data.target), "no readable data"
    # The data a contract is inferred from is its reference: judging its files against their own
    # pooled statistics would refuse healthy files for sampling noise (one file's 21.0% nulls
    # against a pooled 20.7% + tolerance). Missing targets are still counted.
    report, texts = judge_batches(spec, parts, refs["batches"], None if origin == INFERRED_HERE else contract)
    report.update(contract=origin, not_checked=unchecked)
    return whole, contract, origin, report, texts


def _record(
    ctx: StepContext, refs: dict[str, Any], contract: dc.Contract, origin: str, report: dict[str, Any], texts: list[str]
) -> list[str]:
    """The verdict written beside the run and into MLflow; a refused batch fails the run here.
    Returns the warnings to train with."""
    from airloop.tracking import Tracker

    unchecked = report["not_checked"]
    # landed files move before the verdict: one that changed since it was read is refused there
    landing = settle_landed(ctx, report["batches"], refs.get("duplicates"), refs.get("ready_at"))
    texts += [_file_report(b) for b in report["batches"] if _changed(b)]
    bad, warnings = _verdict(report)
    (ctx.run_dir / "contract_report.json").write_text(json.dumps(report, indent=2, default=str))
    text = _report_text(texts, len(refs["batches"]), origin, warnings if not bad else None, unchecked)
    (ctx.run_dir / "contract_report.txt").write_text(text + "\n")
    (ctx.run_dir / "contract.json").write_text(contract.to_json())
    tracker, run_id = Tracker(ctx.workspace), refs["mlflow_run_id"]
    for name in ("contract_report.json", "contract_report.txt", "contract.json"):
        tracker.log_artifact(run_id, str(ctx.run_dir / name), "contract")
    (ctx.run_dir / "landing.json").write_text(json.dumps(landing, indent=2))
    if bad:
        tracker.log(run_id, tags={Tag.VERDICT: "rejected: data contract violated"})
        tracker.finish(run_id, "FAILED")
        raise ContractViolation(
            f"{len(bad)} of {len(refs['batches'])} batch(es) refused: they break the data contract or cannot be "
            f"used ({origin}):\n{text}",
            report_path=str(ctx.run_dir / "contract_report.txt"),
            hint=_hint(ctx, bad, landing),
        )
    if landing:
        report["landing"] = landing
    return warnings


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    """The pandas engine's (engine: spark runs ``validate_spark``: ``runner.SPARK_STEPS``)."""
    import pandas as pd

    whole, contract, origin, report, texts = judge(ctx, refs)
    warnings = _record(ctx, refs, contract, origin, report, texts)
    # only now, every file accepted, do they become one frame (the unchecked columns come back too)
    frame = pd.concat(whole, ignore_index=True)
    frame, dropped = _accept(ctx, frame, contract)
    return accepted(ctx, refs, frame, dropped, warnings, report.get("landing"))


def accepted(
    ctx: StepContext,
    refs: dict[str, Any],
    frame: Any,
    dropped: int,
    warnings: list[str],
    landing: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The accepted frame saved for the split, its counts in MLflow, and whether the run trains."""
    from airloop.tracking import Tracker

    tracker, run_id = Tracker(ctx.workspace), refs["mlflow_run_id"]
    metrics: dict[str, float] = {
        "rows_dropped_missing_target": dropped,
        "rows_accepted": len(frame),
        "contract_warnings": len(warnings),
        **(extra or {}),
    }
    tags = {Tag.CONTRACT_WARNINGS: "; ".join(warnings)[:4000]} if warnings else {}
    skip = training_decision(ctx, refs)
    if skip:  # the rest of the run is skipped
        tags[Tag.VERDICT] = f"not trained: {skip}"
    tracker.log(run_id, metrics=metrics, tags=tags or None)
    if skip:
        tracker.finish(run_id, "FINISHED")
    return {
        **({"skip_training": skip} if skip else {}),
        "contract_warnings": warnings,
        "validated_uri": frames.save(frame, ctx.run_dir / "validated.parquet"),
        "contract_uri": (ctx.run_dir / "contract.json").as_uri(),
        "rows_dropped_missing_target": dropped,
        **({"landing": landing} if landing else {}),
    }


def training_decision(ctx: StepContext, refs: dict[str, Any]) -> str | None:
    """Why this run stops after validation, or None to train: its inputs were trained already, or
    (``monitoring.train_on_new_data: when_requested``) it was started by landed data while a
    champion serves and no retrain request waits. A run that trains answers every waiting request."""
    if refs.get("same_inputs_as"):
        return f"same inputs as v{refs['same_inputs_as']} (data fingerprint, spec hash, code version)"
    spec = ctx.loaded.spec
    if spec.monitoring.train_on_new_data == "always":
        return None
    from airloop.data.requests import RetrainRequests
    from airloop.tracking import Tracker
    from airloop.tracking.tags import CHAMPION

    requests = RetrainRequests(ctx.workspace.retrain_requests(spec.name))
    landed = any(b.get("landed") for b in refs.get("batches", []))
    if landed and requests.pending() == 0 and Tracker(ctx.workspace).alias(spec.name, CHAMPION) is not None:
        return "data accepted; training waits for the monitor's retrain request (monitoring.train_on_new_data)"
    requests.consume()
    return None
