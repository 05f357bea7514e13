"""`airloop score`: files of records scored by a registered version, chunk by chunk, into Parquet.

Each record is judged by the server's own judgement (``serving.schema.judge`` on the model built
from the version's contract and the spec's ``serving`` rules) and answered by its own prediction
path (``scoring.frame``): a file scores as the same records sent to ``POST /predict`` would. A
refused record goes to ``_rejects.csv`` (row id, file, row, field, problem): nothing is dropped
unsaid. Memory holds one chunk. Everything is written into a hidden folder beside OUTPUT that is
renamed into place once complete: a failed or killed run leaves no OUTPUT (its leftover folder is
removed by the next run), and a run over the same input writes the same bytes.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from airloop.errors import DataError, RegistryError, UsageError
from airloop.scoring.inputs import Chunk, InputFile, chunks, find_files, open_inputs

REJECTS = "_rejects.csv"
SUMMARY = "_summary.json"  # names starting with _ are not data to Arrow, Spark or pandas readers of OUTPUT
OUTPUT_COLUMNS = ("row_id", "model_version", "prediction")  # then proba_<class>, then the carried columns


@dataclass
class Summary:
    name: str
    version: str
    output: str
    files: list[str]
    chunk_rows: int
    scored: int = 0
    rejected: int = 0  # records refused by the contract, and CSV lines that are no record
    parts: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    ignored_fields: int = 0  # values of those columns (rows x columns): read by nobody, counted
    rejected_by_field: dict[str, int] = field(default_factory=dict)
    run_key: str = ""  # SQL output and the log: the version and the inputs' contents, digested
    inserted: int = 0  # SQL output: rows this run added (a rerun adds none)
    log: bool = False  # --log or scoring.log
    logged: int = 0  # --log: records this run wrote to the prediction log (a rerun writes none)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score(
    loaded_spec: Any,
    ws: Any,
    inputs: list[str],
    out: Path | str | None = None,
    *,
    version: str | None = None,
    chunk_rows: int = 50_000,
    overwrite: bool = False,
    log: bool | None = None,
    on_chunk: Callable[[Summary], None] | None = None,
) -> Summary:
    """Score ``inputs`` (files or globs) with ``version`` (default: the champion) into ``out``: a
    folder, or a ``postgresql://…/database/table`` URL (default: ``scoring.output``). ``log``: also
    into the prediction log (default: ``scoring.log``)."""
    from airloop.scoring.sql import Target, is_sql

    spec = loaded_spec.spec
    log = spec.scoring.log if log is None else log
    out = destination(loaded_spec, out)
    target = Target.parse(str(out)) if is_sql(str(out)) else None
    folder = None if target is not None else Path(out).absolute()
    if folder is not None and folder.exists() and not overwrite:
        raise UsageError(f"{folder} already exists", hint="pass --overwrite to replace it, or choose another --out")
    files = open_inputs(find_files(inputs), spec.data.source.format, spec.data.source.encoding)
    model = _load(loaded_spec, ws, version)
    plan = _Plan.make(model, spec, files, chunk_rows)
    shown = target.shown if target is not None else str(folder)
    summary = Summary(spec.name, model.version, shown, [str(f.path) for f in files], chunk_rows)
    summary.ignored_columns = sorted({c for f in files for c in f.ignored})
    if target is not None or log:
        from airloop.scoring.sql import run_key

        summary.run_key = run_key(model.version, [f.path for f in files])
    summary.log = log
    if log:
        plan.log = _Log.open(ws.prediction_log(spec.name), spec.serving.log_sync, summary.run_key)
    try:
        if target is not None:
            _to_sql(plan, files, target, summary, on_chunk)
        else:
            assert folder is not None
            _to_folder(plan, files, folder, summary, on_chunk)
    finally:
        if plan.log is not None:
            plan.log.close()
    return summary


def destination(loaded_spec: Any, out: Path | str | None) -> Path | str:
    """Where scores go: ``out`` as given, else ``scoring.output`` (a table URL, or a folder relative to the spec)."""
    from airloop.scoring.sql import is_sql

    spec = loaded_spec.spec
    if out is not None:
        return out
    if spec.scoring.output is None:
        raise UsageError(
            "where to write? no --out, and the spec has no scoring.output",
            hint="pass --out FOLDER or --out postgresql://USER@HOST:5432/DATABASE/TABLE, or set scoring.output",
        )
    return spec.scoring.output if is_sql(spec.scoring.output) else loaded_spec.resolve(spec.scoring.output)


REJECT_COLUMNS = ("row_id", "file", "file_row", "field", "problem")


@contextmanager
def published(out: Path, summary: Summary) -> Iterator[Path]:
    """The hidden work folder beside ``out``, claimed by this run; once the block is done the
    summary is written into it and it is renamed into place. A failure removes it: OUTPUT is whole
    or absent. Both engines (this one, ``airloop.spark.score``) write through it."""
    work = out.parent / f".{out.name}.scoring"
    lock = _claim(work, out)
    try:
        yield work
        _durable(work / SUMMARY, (json.dumps(summary.as_dict(), indent=1, sort_keys=True) + "\n").encode())
        _publish(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        os.close(lock)


def _to_folder(plan: _Plan, files: list[InputFile], out: Path, summary: Summary, on_chunk: Any) -> None:
    with published(out, summary) as work, open(work / REJECTS, "w", newline="") as fh:
        sink = _FolderSink(work, csv.writer(fh))
        sink.rejects.writerow(REJECT_COLUMNS)
        _run(plan, files, sink, summary, on_chunk)
        fh.flush()
        os.fsync(fh.fileno())


def _to_sql(plan: _Plan, files: list[InputFile], target: Any, summary: Summary, on_chunk: Any) -> None:
    from airloop.scoring.sql import SqlSink

    sink = SqlSink(target, summary.run_key)
    try:
        _run(plan, files, sink, summary, on_chunk)
    finally:
        summary.inserted = sink.inserted
        sink.close()


@dataclass
class _FolderSink:
    """Parquet parts and the rejects file in the work folder."""

    work: Path
    rejects: Any  # a csv writer

    def write(self, table: Any, rejects: list[list[Any]], part: int) -> None:
        self.rejects.writerows(rejects)
        if table is not None:
            write_part(table, self.work / f"part-{part:05d}.parquet")


@dataclass
class _Log:
    """Scored records into the prediction log, the server's way (``serving.batcher``): one request
    id per chunk, ``score-<run key>-<its first row id>``, written only if never issued, so a rerun with
    the same --chunk-rows logs nothing twice. The row is the record's row id across the inputs."""

    predlog: Any
    key: str

    @classmethod
    def open(cls, path: Path, sync: str, key: str) -> _Log:
        from airloop.data.predlog import PredictionLog

        return cls(PredictionLog(path, sync=sync), key)

    def write(self, plan: _Plan, scored: _Scored) -> int:
        import time

        from airloop.data.predlog import _scalar
        from airloop.serving.schema import ENTITY

        preds, proba = scored.answers
        records, ids = scored.records, scored.table.column("row_id").to_pylist()
        first_id = ids[0]
        names = tuple(plan.model.feature_names)
        carried = tuple(plan.shape.passthrough)
        rid, now, version = f"score-{self.key[:16]}-{first_id}", time.time(), str(plan.model.version)
        rows = []
        for i, rec in enumerate(records):
            entity = rec.get(plan.shape.entity)
            entity = rec.get(ENTITY) if entity is None else entity
            p = None if proba is None else json.dumps([float(x) for x in proba[i]])
            rows.append(
                (
                    rid,
                    int(ids[i]),
                    now,
                    version,
                    None if entity is None else str(entity),
                    json.dumps(_native(preds[i])),
                    p,
                    *(_scalar(rec.get(n)) for n in names),
                    *(_scalar(rec.get(c)) for c in carried),
                )
            )
        return len(rows) if self.predlog.write_flat(names, rows, carried, once=True) else 0

    def close(self) -> None:
        self.predlog.close()


def _native(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _claim(work: Path, out: Path) -> int:
    """The work folder, empty and locked by this run (the lock is the folder's own: it goes with the
    process, kill -9 included). What a killed run left there is cleared; a live run's is not."""
    import fcntl

    work.mkdir(parents=True, exist_ok=True)
    fd = os.open(work, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UsageError(
            f"another `airloop score` is writing {out} now", hint="wait for it to finish, or choose another --out"
        ) from None
    for child in work.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    return fd


def _durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _load(loaded_spec: Any, ws: Any, version: str | None) -> Any:
    from airloop.model.store import LoadOptions
    from airloop.scoring.smoke import load
    from airloop.tracking import Tracker
    from airloop.tracking.tags import CHAMPION

    spec = loaded_spec.spec
    if version is None:
        version = Tracker(ws).alias_version(spec.name, CHAMPION)
        if version is None:
            raise RegistryError(
                f"model `{spec.name}` has no champion in {ws.tracking_uri}",
                hint="train one with `airloop run PATH`, or name a version with --version",
            )
    if str(loaded_spec.root) not in sys.path:  # the feature transform's module, if the model needs it
        sys.path.insert(0, str(loaded_spec.root))
    return load(ws, spec.name, str(version), spec.task, LoadOptions.of(spec))


@dataclass
class _Plan:
    model: Any  # a ``scoring.smoke.Loaded``: model, contract, feature names
    check: Any  # the server's batch validator, sized for one chunk
    screen: Any  # ``scoring.screen.Screen``: the rows that need no record-by-record judgement
    shape: Any  # serving.passthrough / entity_id / extra_fields
    kinds: dict[str, str]
    carried: list[str]  # passthrough (and entity) columns present in the files, copied to the output
    chunk_rows: int
    encoding: str
    log: _Log | None = None

    @classmethod
    def make(cls, model: Any, spec: Any, files: list[InputFile], chunk_rows: int) -> _Plan:
        from pydantic import TypeAdapter

        from airloop.scoring.screen import Screen
        from airloop.serving.schema import ENTITY, RecordShape, batch_model, record_model

        shape = RecordShape.of(spec.serving)
        record = record_model(model.contract, spec.serving.unknown_categories, shape=shape)
        check = TypeAdapter(batch_model(record, chunk_rows))
        features = list(model.feature_names)
        known = shape.known(features)
        for f in files:
            missing = [c for c in features if c not in f.columns]
            if missing:
                raise DataError(
                    f"{f.path} lacks the feature column(s) {', '.join(missing)} that v{model.version} needs",
                    hint="score files that carry every feature the model was trained on (its contract: GET /model)",
                )
            f.ignored = [c for c in f.columns if c not in known]
            if f.ignored and shape.extra == "reject":
                raise DataError(
                    f"{f.path} carries column(s) the model does not use: {', '.join(f.ignored)}",
                    hint="drop them, name them in serving.passthrough, or set serving.extra_fields: ignore",
                )
        carried = [c for c in dict.fromkeys((*shape.passthrough, shape.entity, ENTITY)) if c not in features]
        carried = [c for c in carried if any(c in f.columns for f in files)]
        taken = [c for c in carried if c in OUTPUT_COLUMNS or c.startswith("proba_")]
        if taken:
            raise DataError(
                f"the column(s) {', '.join(taken)} would be carried into the output, which has its own of that name",
                hint="rename them in the files, or leave them out of serving.passthrough",
            )
        kinds = {c: model.contract.columns[c].kind for c in features}
        screen = Screen.of(model.contract, spec.serving.unknown_categories, shape)
        return cls(model, check, screen, shape, kinds, carried, chunk_rows, spec.data.source.encoding)


def _run(plan: _Plan, files: list[InputFile], sink: Any, summary: Summary, on_chunk: Any) -> None:
    """Chunk by chunk: each chunk's answers and rejects go to ``sink`` together (for a SQL sink,
    one transaction), then to the prediction log when asked."""
    row_id = 0
    for f in files:
        wanted = [c for c in f.columns if c not in f.ignored]
        for chunk in chunks(f, wanted, plan.kinds, plan.chunk_rows, plan.encoding):
            summary.ignored_fields += chunk.table.num_rows * len(f.ignored)
            rejects = _broken(chunk, summary)
            scored = None
            if chunk.records:
                scored = _score_chunk(plan, chunk, row_id, rejects, summary)
                row_id += len(chunk.records)
            if scored is not None or rejects:
                sink.write(None if scored is None else scored.table, rejects, summary.parts)
            if scored is not None:
                summary.parts += 1
                summary.scored += scored.table.num_rows
                if plan.log is not None:
                    summary.logged += plan.log.write(plan, scored)
            if on_chunk is not None:
                on_chunk(summary)


def _broken(chunk: Chunk, summary: Summary) -> list[list[Any]]:
    rejects: list[list[Any]] = []
    for line, problem in chunk.broken:
        where = f"line {line}: " if line is not None else ""
        rejects.append(["", chunk.file.path, "", "record", where + problem])
        summary.rejected += 1
        summary.rejected_by_field["record"] = summary.rejected_by_field.get("record", 0) + 1
    return rejects


@dataclass
class _Scored:
    table: Any  # the output rows (Arrow)
    records: list[dict[str, Any]]  # the records answered, as judged
    answers: tuple[Any, Any]  # predictions, probabilities (or None)


def _score_chunk(
    plan: _Plan, chunk: Chunk, first_id: int, rejects: list[list[Any]], summary: Summary
) -> _Scored | None:
    """The chunk's answers (None if every record was refused); its refused records are added to
    ``rejects``."""
    from airloop.scoring.screen import judged as judge

    judged = judge(plan.check, plan.screen, chunk.table, chunk.records)
    keep = list(range(len(chunk.records))) if judged.positions is None else judged.positions
    for r in judged.refused:
        i = r["index"]
        rejects.append([first_id + i, chunk.file.path, chunk.first + i, r["field"], r["problem"]])
        summary.rejected_by_field[r["field"]] = summary.rejected_by_field.get(r["field"], 0) + 1
    summary.rejected += len(chunk.records) - len(keep)
    if not keep:
        return None
    return _answers(plan, chunk, keep, first_id)


def _answers(plan: _Plan, chunk: Chunk, keep: list[int], first_id: int) -> Any:
    """The output rows: row_id, model_version, prediction, one probability column per class, then
    the carried columns with their own types."""
    import numpy as np
    import pyarrow as pa

    from airloop.scoring.frame import answers

    kept = [chunk.records[i] for i in keep]
    preds, proba = answers(plan.model, kept)
    idx = np.asarray(keep, dtype="int64")
    cols: dict[str, Any] = {
        "row_id": pa.array(idx + first_id),
        "model_version": pa.array([plan.model.version] * len(keep), pa.string()),
        "prediction": pa.array(np.asarray(preds).tolist()),
    }
    if proba is not None:
        for j, cls in enumerate(plan.model.model.classes_.tolist()):
            cols[f"proba_{cls}"] = pa.array(np.asarray(proba[:, j], dtype="float64"))
    for name in plan.carried:
        if name in chunk.table.column_names:
            cols[name] = chunk.table.column(name).take(pa.array(idx))
    return _Scored(pa.table(cols), kept, (preds, proba))


def write_part(table: Any, path: Path) -> None:
    """One chunk's answers, on disk before the folder is renamed into place (fsync: a power loss
    after the rename finds whole files)."""
    import pyarrow.parquet as pq

    with open(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
        fh.flush()
        os.fsync(fh.fileno())


def _publish(work: Path, out: Path) -> None:
    """Rename the finished folder into place; an OUTPUT being replaced (--overwrite) is moved aside
    first and deleted after, so OUTPUT is always either the old result or the new one."""
    old = out.parent / f".{out.name}.replaced"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    work.rename(out)
    fd = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    shutil.rmtree(old, ignore_errors=True)
