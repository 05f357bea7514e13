"""The prediction log: every answered prediction, durably, in SQLite (WAL) inside the workspace.

Why SQLite in WAL mode: one file, transactions, readers (monitoring) never block the writer, and
a committed transaction survives a kill -9 of the server (with ``synchronous=FULL`` also a power
loss). The server commits a batch's records before it answers, so an acknowledged prediction is
on disk. Parquet segments would need a write-ahead log of their own to give the same promise.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = """
create table if not exists predictions (
    request_id text not null,
    row integer not null,
    ts real not null,
    model_version text not null,
    entity_id text,
    features text not null,
    prediction text not null,
    probabilities text,
    primary key (request_id, row)
);
create index if not exists predictions_ts on predictions(ts);
create index if not exists predictions_entity on predictions(entity_id);
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
create table if not exists failures (
    ts real not null,
    model_version text not null,
    records integer not null,
    error text
);
create index if not exists predictions_version on predictions(model_version, ts);
"""


class PredictionLog:
    def __init__(self, path: Path, sync: str = "normal") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._con = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._con.execute("pragma journal_mode=wal")
        self._con.execute(f"pragma synchronous={'full' if sync == 'full' else 'normal'}")
        self._con.executescript(SCHEMA)
        self.written = 0
        self.last_commit_seconds = 0.0

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Commit rows (request_id, row, ts, version, entity_id, features, prediction, proba) at once."""
        started = time.perf_counter()
        self._commit("insert or replace into predictions values (?,?,?,?,?,?,?,?)", rows)
        self.written += len(rows)
        self.last_commit_seconds = time.perf_counter() - started

    def write_shadow(self, rows: list[tuple[Any, ...]]) -> None:
        """A shadow model's answers to logged requests: (request_id, row, ts, version, prediction, proba)."""
        self._commit("insert or replace into shadow_predictions values (?,?,?,?,?,?)", rows)

    def write_failure(self, version: str, records: int, error: str) -> None:
        """Records a model failed on (a canary; the champion answered them instead)."""
        self._commit("insert into failures values (?,?,?,?)", [(time.time(), str(version), records, error[:500])])

    def _commit(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._lock:
            self._con.execute("begin")
            try:
                self._con.executemany(sql, rows)
                self._con.execute("commit")
            except BaseException:
                self._con.execute("rollback")
                raise

    def add_labels(self, labels: list[dict[str, Any]], source: str = "api") -> int:
        return self.record_labels(labels, source)[0]

    def record_labels(self, labels: list[dict[str, Any]], source: str = "api") -> tuple[int, list[str]]:
        """Record labels; those naming a request id this log never issued are not stored but returned:
        (recorded, unknown request ids)."""
        now = time.time()
        with self._lock:
            asked = {lab["request_id"] for lab in labels if lab.get("request_id") and lab.get("entity_id") is None}
            known = {
                rid
                for rid in asked
                if self._con.execute("select 1 from predictions where request_id = ? limit 1", (rid,)).fetchone()
            }
            unknown = sorted(asked - known)
            rows = [
                (now, lab.get("request_id"), _str(lab.get("entity_id")), json.dumps(lab["label"]), source)
                for lab in labels
                if not (lab.get("request_id") in asked and lab.get("request_id") not in known)
            ]
            self._con.execute("begin")
            self._con.executemany(
                "insert into labels (ts, request_id, entity_id, label, source) values (?,?,?,?,?)", rows
            )
            self._con.execute("commit")
        return len(rows), unknown

    def count(self) -> int:
        with self._lock:
            return int(self._con.execute("select count(*) from predictions").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._con.close()


def _parse_scalar(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json(value: Any) -> Any:
    """A JSON text column back to values; pandas may hand back NULLs as NaN."""
    if isinstance(value, str):
        return json.loads(value)
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def ingest_label_files(log: PredictionLog, folder: Path) -> int:
    """Record labels from files dropped in ``folder`` (CSV or JSON lines with request_id or
    entity_id, and label). A file is claimed by renaming it into ``folder/done`` first, so the
    server and a monitor run that both look never record the same file twice."""
    if not folder.exists():
        return 0
    total = 0
    done = folder / "done"
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix not in (".csv", ".jsonl") or path.name.startswith((".", "_")):
            continue
        done.mkdir(exist_ok=True)
        claimed = done / path.name
        try:
            path.rename(claimed)
        except FileNotFoundError:  # someone else claimed it
            continue
        if claimed.suffix == ".csv":
            import csv

            with open(claimed, newline="") as fh:
                labels = [{k: (v or None) for k, v in row.items()} for row in csv.DictReader(fh)]
            for lab in labels:  # CSV has only text: "1" is the number 1, "yes" stays a string
                lab["label"] = _parse_scalar(lab.get("label"))
        else:
            labels = [json.loads(line) for line in claimed.read_text().splitlines() if line.strip()]
        labels = [lab for lab in labels if lab.get("label") is not None]
        total += log.add_labels(labels, source=f"file:{path.name}")
    return total


def read_predictions(path: Path, start: float | None = None, end: float | None = None) -> pd.DataFrame:
    """Predictions logged in [start, end) (epoch seconds) as a frame: one row per record with
    request_id, row, logged_at, model_version, entity_id, prediction, probabilities and label (the
    latest, joined by entity id, else by request id), and the features as columns."""
    where, args = [], []
    if start is not None:
        where.append("p.ts >= ?")
        args.append(start)
    if end is not None:
        where.append("p.ts < ?")
        args.append(end)
    return _read(path, where, args)


def _read(path: Path, where: list[str], args: list[Any]) -> pd.DataFrame:
    import pandas as pd

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sql = (
            "select p.request_id, p.row, p.ts, p.model_version, p.entity_id, p.features, p.prediction, "
            "p.probabilities, coalesce("
            # an entity's label names one row; a request's label covers all rows of that request
            " (select l.label from labels l where l.entity_id = p.entity_id and p.entity_id is not null"
            "  order by l.id desc limit 1),"
            " (select l.label from labels l where l.request_id = p.request_id order by l.id desc limit 1)) as label "
            "from predictions p" + (" where " + " and ".join(where) if where else "") + " order by p.ts, p.row"
        )
        raw = pd.read_sql_query(sql, con, params=args)
    finally:
        con.close()
    if raw.empty:
        return raw
    features = pd.DataFrame([json.loads(f) for f in raw.pop("features")])
    raw["prediction"] = [_json(v) for v in raw["prediction"]]
    raw["probabilities"] = [_json(v) for v in raw["probabilities"]]
    raw["label"] = pd.Series([_json(v) for v in raw["label"]], dtype=object)
    # "ts" is a common feature name: the log's own timestamp is "logged_at" in the frame
    raw["logged_at"] = pd.to_datetime(raw.pop("ts"), unit="s", utc=True)
    return pd.concat([raw.reset_index(drop=True), features], axis=1)


def read_shadow(path: Path, version: str) -> pd.DataFrame:
    """The logged requests a shadow ``version`` also answered, as ``read_predictions`` rows plus
    ``shadow_prediction`` and ``shadow_probabilities``: the champion's and the shadow's answers
    to the same records, side by side (empty when it answered none)."""
    import pandas as pd

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if not con.execute("select 1 from sqlite_master where name = 'shadow_predictions'").fetchone():
            return pd.DataFrame()
        shadow = pd.read_sql_query(
            "select request_id, row, prediction as shadow_prediction, probabilities as shadow_probabilities "
            "from shadow_predictions where model_version = ?",
            con,
            params=(str(version),),
        )
    finally:
        con.close()
    if shadow.empty:
        return shadow
    logged = _read(
        path,
        [
            "exists (select 1 from shadow_predictions s where s.request_id = p.request_id and s.row = p.row "
            "and s.model_version = ?)"
        ],
        [str(version)],
    )
    shadow["shadow_prediction"] = [_json(v) for v in shadow["shadow_prediction"]]
    shadow["shadow_probabilities"] = [_json(v) for v in shadow["shadow_probabilities"]]
    return logged.merge(shadow, on=["request_id", "row"], how="inner") if not logged.empty else logged


def read_canary(path: Path, canary: str, champion: str) -> tuple[pd.DataFrame, int]:
    """Since the canary's first answer: the records the canary and the champion answered (as
    ``read_predictions`` rows; ``model_version`` tells them apart), and how many records the
    canary failed on (the champion answered those)."""
    import pandas as pd

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        first = con.execute("select min(ts) from predictions where model_version = ?", (str(canary),)).fetchone()[0]
        has_failures = con.execute("select 1 from sqlite_master where name = 'failures'").fetchone()
        failed = 0
        if has_failures:
            sql = "select coalesce(sum(records), 0), min(ts) from failures where model_version = ?"
            total, failed_since = con.execute(sql, (str(canary),)).fetchone()
            failed = int(total)
            first = min((t for t in (first, failed_since) if t is not None), default=None)
    finally:
        con.close()
    if first is None:
        return pd.DataFrame(), failed
    frame = _read(path, ["p.ts >= ?", "p.model_version in (?, ?)"], [first, str(canary), str(champion)])
    return frame, failed
