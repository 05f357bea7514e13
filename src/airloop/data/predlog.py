"""The prediction log's durable front: every answered prediction, committed to SQLite (WAL) before
the server answers.

Why SQLite in WAL mode: one file, transactions, readers (monitoring) never block the writer, a
committed transaction survives a kill -9 of the server (with ``synchronous=FULL`` also a power
loss), and several server processes on one machine can write the same file (SQLite serialises
their transactions). Each feature is a column of its own, added the first time a feature is seen,
so a write is one insert per record with no JSON to build for the features and only the row
counter as an index. Committed rows are moved to Parquet segments by ``data.segments.compact``;
``data.scan`` reads both as one log.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

# A feature column's name in SQLite and in the segments: the prefix keeps feature names such as
# "ts" or "prediction" apart from the log's own columns.
FEATURE = "x:"
# a passthrough column's (serving.passthrough: ids, keys the client sent beside the features): kept
# for the client's own joins, never read as a feature by the monitor
CARRIED = "p:"
FLAT_FEATURES = 7  # in a flat row (``PredictionLog.write_flat``), where the features begin

SCHEMA = """
create table if not exists predictions (
    seq integer primary key autoincrement,
    request_id text not null,
    row integer not null,
    ts real not null,
    model_version text not null,
    entity_id text,
    prediction text not null,
    probabilities text
);
create table if not exists columns (name text primary key, kind text);
create table if not exists issued (request_id text primary key, ts real not null);
create table if not exists versions (model_version text primary key, first_ts real not null);
create table if not exists labels (
    id integer primary key autoincrement,
    ts real not null,
    request_id text,
    entity_id text,
    label text not null,
    source text
);
create index if not exists labels_request on labels(request_id);
create index if not exists labels_entity on labels(entity_id);
create table if not exists shadow_predictions (
    request_id text not null,
    row integer not null,
    ts real not null,
    model_version text not null,
    prediction text not null,
    probabilities text,
    primary key (request_id, row, model_version)
);
create index if not exists shadow_version on shadow_predictions(model_version, ts);
create table if not exists probe (id integer primary key, ts real not null);
create table if not exists failures (
    ts real not null,
    model_version text not null,
    records integer not null,
    error text
);
create table if not exists label_files (
    claim text primary key,
    name text not null,
    ts real not null,
    recorded integer not null,
    refused integer not null,
    unknown integer not null,
    taker text
);
"""

BASE = ("seq", "request_id", "row", "ts", "model_version", "entity_id", "prediction", "probabilities")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def kind_of(value: Any) -> str | None:
    """What a feature value says of its column: boolean, numeric or text (None says nothing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "numeric"
    return "text"


def connect(path: Path, timeout: float = 30) -> sqlite3.Connection:
    con = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=timeout)
    con.execute("pragma journal_mode=wal")
    return con


def carried_columns(con: sqlite3.Connection) -> list[str]:
    """The passthrough columns, in the order they were added."""
    cols = [r[1] for r in con.execute("pragma table_info(predictions)")]
    return [c[len(CARRIED) :] for c in cols if c.startswith(CARRIED)]


def feature_columns(con: sqlite3.Connection) -> dict[str, str | None]:
    """Feature name -> kind, in the order the columns were added."""
    cols = [r[1] for r in con.execute("pragma table_info(predictions)")]
    kinds = dict(con.execute("select name, kind from columns").fetchall())
    return {c[len(FEATURE) :]: kinds.get(c[len(FEATURE) :]) for c in cols if c.startswith(FEATURE)}


class PredictionLog:
    def __init__(self, path: Path, sync: str = "normal", others: bool = False) -> None:
        """``others``: other replicas issue request ids too (a named replica's front), so a label
        naming one this front never issued is stored, for the monitor to join across replicas."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.others = others
        self._lock = threading.Lock()
        self._con = connect(path)
        self._con.execute(f"pragma synchronous={'full' if sync == 'full' else 'normal'}")
        with self._lock:
            self._con.execute("begin immediate")
            try:
                _migrate_v1(self._con)
                _create(self._con)
                self._con.execute("commit")
            except BaseException:
                self._con.execute("rollback")
                raise
        self._known: dict[str, str | None] = feature_columns(self._con)
        self._carried: set[str] = set(carried_columns(self._con))
        self._inserts: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
        self._versions: set[str] = set()
        self.written = 0
        self.last_commit_seconds = 0.0

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Commit rows (request_id, row, ts, version, entity_id, features, prediction, probabilities)
        at once. ``features`` is a dict (or its JSON text); prediction and probabilities are JSON text."""
        feats = [r[5] if isinstance(r[5], dict) else json.loads(r[5]) for r in rows]
        names = tuple(dict.fromkeys(k for f in feats for k in f))
        values = [
            (r[0], r[1], r[2], str(r[3]), r[4], r[6], r[7], *(_scalar(f.get(n)) for n in names))
            for r, f in zip(rows, feats, strict=True)
        ]
        self.write_flat(names, values)

    def write_flat(
        self, names: tuple[str, ...], values: list[tuple[Any, ...]], carried: tuple[str, ...] = (), once: bool = False
    ) -> bool:
        """Commit rows already flat, the server's way: (request_id, row, ts, version as text,
        entity_id, prediction, probabilities, then one value per feature in ``names``, then one per
        passthrough column in ``carried``), each value something SQLite stores as it is (None, text,
        a number). No dict or JSON per record. ``once``: write nothing (and return False) if one of
        these request ids was issued before, checked in the write's own transaction: a batch run
        retried with the same request ids logs each record once."""
        started = time.perf_counter()
        requests = {(v[0], v[2]) for v in values}
        versions = {(v[3], v[2]) for v in values if v[3] not in self._versions}
        with self._lock:
            self._begin("begin immediate")
            try:
                if once and any(
                    self._con.execute("select 1 from issued where request_id = ?", (rid,)).fetchone()
                    for rid in {r for r, _ in requests}
                ):
                    self._con.execute("rollback")
                    return False
                self._columns(names, values)
                if carried:
                    self._carried_columns(carried)
                self._con.executemany(self._insert(names, carried), values)
                self._con.executemany("insert or ignore into issued values (?, ?)", requests)
                if versions:
                    self._con.executemany("insert or ignore into versions values (?, ?)", versions)
                self._con.execute("commit")
            except BaseException:
                self._rollback()
                self._known = {}  # a rolled-back `alter table` added no column: look again next time
                self._carried = set()
                raise
            self._versions.update(v for v, _ in versions)
        self.written += len(values)
        self.last_commit_seconds = time.perf_counter() - started
        return True

    def _columns(self, names: tuple[str, ...], values: list[tuple[Any, ...]]) -> None:
        """Inside the write transaction: add the features no column holds yet (another process may
        have added them since this one looked), and name the kind of columns that had none."""
        if not all(n in self._known for n in names):
            self._known = feature_columns(self._con)
        for j, name in enumerate(names, start=FLAT_FEATURES):
            if name in self._known and self._known[name] is not None:
                continue
            kind = next((k for v in values if (k := kind_of(v[j])) is not None), None)
            if name not in self._known:
                self._con.execute(f"alter table predictions add column {quote(FEATURE + name)}")
            if kind is not None or name not in self._known:
                self._con.execute("insert or replace into columns values (?, ?)", (name, kind))
            self._known[name] = kind

    def _carried_columns(self, carried: tuple[str, ...]) -> None:
        """Inside the write transaction: add the passthrough columns no column holds yet."""
        if all(c in self._carried for c in carried):
            return
        self._carried = set(carried_columns(self._con))
        for name in carried:
            if name not in self._carried:
                self._con.execute(f"alter table predictions add column {quote(CARRIED + name)}")
                self._carried.add(name)

    def _insert(self, names: tuple[str, ...], carried: tuple[str, ...] = ()) -> str:
        sql = self._inserts.get((names, carried))
        if sql is None:
            cols = ", ".join([*BASE[1:], *(quote(FEATURE + n) for n in names), *(quote(CARRIED + c) for c in carried)])
            width = len(BASE) - 1 + len(names) + len(carried)
            sql = f"insert into predictions ({cols}) values ({', '.join('?' * width)})"
            self._inserts[(names, carried)] = sql
        return sql

    def write_shadow(self, rows: list[tuple[Any, ...]]) -> None:
        """A shadow model's answers to logged requests: (request_id, row, ts, version, prediction, proba)."""
        self._commit("insert or replace into shadow_predictions values (?,?,?,?,?,?)", rows)

    def write_failure(self, version: str, records: int, error: str) -> None:
        """Records a model failed on (a canary; the champion answered them instead)."""
        self._commit("insert into failures values (?,?,?,?)", [(time.time(), str(version), records, error[:500])])

    def probe(self) -> None:
        """One small commit, raising what a real write would (the server asks while writes fail)."""
        self._commit("insert or replace into probe values (1, ?)", [(time.time(),)])

    def _commit(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._lock:
            self._begin("begin")
            try:
                self._con.executemany(sql, rows)
                self._con.execute("commit")
            except BaseException:
                self._rollback()
                raise

    def _begin(self, statement: str) -> None:
        # a transaction still open here was left by a write that failed without rolling back (every
        # write holds the lock): end it, or every later write fails on "within a transaction"
        if self._con.in_transaction:
            self._rollback()
        self._con.execute(statement)

    def _rollback(self) -> None:
        """Roll back if a transaction is still open. On a full disk SQLite has already rolled it
        back: a second rollback would raise "no transaction is active" and hide the real error."""
        if not self._con.in_transaction:
            return
        try:
            self._con.execute("rollback")
        except sqlite3.Error:  # the caller raises the error that caused the rollback
            pass

    def add_labels(self, labels: list[dict[str, Any]], source: str = "api") -> int:
        return self.record_labels(labels, source)[0]

    def record_labels(
        self, labels: list[dict[str, Any]], source: str = "api", file: tuple[str, str, int, str] | None = None
    ) -> tuple[int, list[str]]:
        """Record labels; those naming a request id this log never issued are not stored but returned:
        (recorded, unknown request ids). A label's ``ts`` (when the outcome was observed, epoch
        seconds) is kept; without one, the time it is recorded. ``file``: (claim, name, refused,
        taker) of a label file, recorded with its counts in the same transaction; a claim already
        recorded raises ``sqlite3.IntegrityError`` and records nothing."""
        now = time.time()
        with self._lock:
            asked = {lab["request_id"] for lab in labels if lab.get("request_id") and lab.get("entity_id") is None}
            known = (
                asked
                if self.others
                else {
                    rid
                    for rid in asked
                    if self._con.execute("select 1 from issued where request_id = ?", (rid,)).fetchone()
                }
            )
            unknown = sorted(asked - known)
            rows = [
                (
                    now if lab.get("ts") is None else lab["ts"],
                    lab.get("request_id"),
                    _str(lab.get("entity_id")),
                    json.dumps(lab["label"]),
                    source,
                )
                for lab in labels
                if not (lab.get("request_id") in asked and lab.get("request_id") not in known)
            ]
            self._begin("begin")
            try:
                if file is not None:
                    claim, name, refused, taker = file
                    unknown_lines = len(labels) - len(rows)
                    self._con.execute(
                        "insert into label_files values (?,?,?,?,?,?,?)",
                        (claim, name, now, len(rows), refused, unknown_lines, taker),
                    )
                self._con.executemany(
                    "insert into labels (ts, request_id, entity_id, label, source) values (?,?,?,?,?)", rows
                )
                self._con.execute("commit")
            except BaseException:
                self._rollback()
                raise
        return len(rows), unknown

    def count(self) -> int:
        """Predictions logged: the rows still here and those compacted into segments."""
        from airloop.data.segments import list_segments, segments_of

        with self._lock:
            here = int(self._con.execute("select count(*) from predictions").fetchone()[0])
        return here + sum(s.rows for s in list_segments(segments_of(self.path)))

    def close(self) -> None:
        with self._lock:
            self._con.close()


def _scalar(value: Any) -> Any:
    """What SQLite stores as it is; anything else (a list, a dict) as its JSON text."""
    if value is None or isinstance(value, str | int | float):
        return value
    return json.dumps(value, default=str)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _create(con: sqlite3.Connection) -> None:
    # statement by statement: executescript would commit the caller's transaction first
    for statement in SCHEMA.split(";"):
        if statement.strip():
            con.execute(statement)


def _migrate_v1(con: sqlite3.Connection) -> None:
    """A log written before features had columns of their own (features as JSON text, keyed by
    request and row) is moved into the current tables once, in the caller's transaction."""
    cols = [r[1] for r in con.execute("pragma table_info(predictions)")]
    if not cols or "seq" in cols:
        return
    con.execute("alter table predictions rename to predictions_v1")
    for index in ("predictions_ts", "predictions_entity", "predictions_version"):
        con.execute(f"drop index if exists {index}")
    _create(con)
    old = con.execute(
        "select request_id, row, ts, model_version, entity_id, features, prediction, probabilities "
        "from predictions_v1 order by ts, row"
    ).fetchall()
    known: dict[str, str | None] = {}
    for rid, row, ts, version, entity, features, prediction, proba in old:
        feats = json.loads(features)
        for name, value in feats.items():
            if name not in known:
                con.execute(f"alter table predictions add column {quote(FEATURE + name)}")
                known[name] = kind_of(value)
            elif known[name] is None:
                known[name] = kind_of(value)
        names = list(feats)
        sql = f"insert into predictions ({', '.join([*BASE[1:], *(quote(FEATURE + n) for n in names)])}) values "
        con.execute(
            sql + f"({', '.join('?' * (len(BASE) - 1 + len(names)))})",
            (rid, row, ts, version, entity, prediction, proba, *(_scalar(feats[n]) for n in names)),
        )
        con.execute("insert or ignore into issued values (?, ?)", (rid, ts))
        con.execute("insert or ignore into versions values (?, ?)", (version, ts))
    con.executemany("insert or replace into columns values (?, ?)", list(known.items()))
    con.execute("drop table predictions_v1")
