"""Compaction: committed predictions move from the SQLite front into Parquet segments, the
columnar store the monitor scans.

A segment holds a contiguous range of the log's row counter (``seq``) and is named by it
(``seg-<first>-<last>.parquet``); labels move the same way, by their ``id``, into
``lab-<first>-<last>.parquet``. A named serving replica (``data.replicas``) has a front of its
own, so its counters overlap the others': its segments carry its name
(``seg-<replica>-<first>-<last>.parquet``), and everything keyed by the counter (what a segment
already holds, what a reader skips) is per replica. A round writes the file under a temporary name, fsyncs it,
renames it into place, and only then deletes those rows from SQLite. Killed anywhere, a round
leaves either the rows in SQLite (no segment yet: the next round writes it again) or a complete
segment whose rows may still be in SQLite (the next round deletes them first; readers skip rows
a segment already holds). So no record is lost or counted twice. One round at a time across
processes: an exclusive ``flock`` on ``.compact.lock`` (a server and a monitor run may both try);
for a named replica, a lock file beside its front, so a shared segments folder needs no network lock.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airloop.data.predlog import BASE, CARRIED, FEATURE, carried_columns, connect, feature_columns, quote

# the replica's name may hold dashes: the two fixed-width counters at the end are what delimit it
NAME = re.compile(r"^(seg|lab)-(?:(.+)-)?(\d{16})-(\d{16})\.parquet$")
LABELS = ("id", "ts", "request_id", "entity_id", "label", "source")
SEGMENT_ROWS = 500_000  # at most this many rows in one segment: ~50-100 MB of memory per round
# rows deleted per transaction once their segment is in place: the server's commits wait behind
# each one (100,000 rows in one delete held the write lock for ~0.1 s: a 128 ms p99 at c=1)
DELETE_ROWS = 5_000


def segments_of(log: Path) -> Path:
    """The segments folder beside a prediction log."""
    return log.parent / f"{log.stem}-segments"


@dataclass(frozen=True)
class Segment:
    path: Path
    first: int
    last: int
    rows: int
    ts_min: float
    ts_max: float
    replica: str = ""  # "": the workspace's own log (unprefixed names, as before replicas)


def list_segments(folder: Path, prefix: str = "seg", replica: str | None = "") -> list[Segment]:
    """The complete segments of predictions ("seg") or labels ("lab") of one ``replica`` ("": the
    unprefixed ones; None: every replica's), in order (half-written ones have a temporary name)."""
    if not folder.exists():
        return []
    import pyarrow.parquet as pq

    out = []
    for path in folder.iterdir():
        m = NAME.match(path.name)
        if not m or m.group(1) != prefix or (replica is not None and (m.group(2) or "") != replica):
            continue
        meta = pq.read_metadata(path).metadata or {}
        ts = json.loads(meta.get(b"airloop.ts", b"[0, 0]"))
        rows = int(meta.get(b"airloop.rows", b"0"))
        first, last = int(m.group(3)), int(m.group(4))
        out.append(Segment(path, first, last, rows, float(ts[0]), float(ts[1]), m.group(2) or ""))
    return sorted(out, key=lambda s: (s.replica, s.first))


def segment_name(prefix: str, replica: str, first: int, last: int) -> str:
    named = f"{replica}-" if replica else ""
    return f"{prefix}-{named}{first:016d}-{last:016d}.parquet"


def lock_file(log: Path, folder: Path, replica: str) -> Path:
    """The compaction lock: the workspace's own log keeps its lock in its segments folder (as
    before); a named replica's is beside its front, which only that machine's processes reach."""
    return log.with_name(log.name + ".compact.lock") if replica else folder / ".compact.lock"


@contextmanager
def _exclusive(lock: Path) -> Iterator[bool]:
    import fcntl

    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def compact(
    log: Path,
    *,
    min_rows: int = 100_000,
    max_age: float = 3600.0,
    force: bool = False,
    folder: Path | None = None,
    replica: str = "",
) -> list[Segment]:
    """Move committed predictions (and labels) into segments when there are ``min_rows`` of them,
    or the oldest is ``max_age`` seconds old, or ``force``. Returns the segments written (none
    when another process is compacting). ``folder``/``replica``: a named replica's front and the
    shared folder its segments go to (default: the folder beside ``log``, unprefixed names)."""
    if not log.exists():
        return []
    folder = segments_of(log) if folder is None else folder
    written: list[Segment] = []
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(lock_file(log, folder, replica)) as mine:
        if not mine:
            return []
        con = connect(log)
        try:
            for table in (_PREDICTIONS, _LABELS):
                _finish(con, folder, table, replica)
                count, oldest, top = con.execute(
                    f"select count(*), min(ts), max({table.key}) from {table.name}"
                ).fetchone()
                if not count or not (force or count >= min_rows or time.time() - oldest >= max_age):
                    continue
                while (segment := _round(con, folder, table, top, replica)) is not None:
                    written.append(segment)
        finally:
            con.close()
    return written


@dataclass(frozen=True)
class _Table:
    name: str
    key: str  # the autoincrement counter that orders the rows and names the segments
    prefix: str


_PREDICTIONS = _Table("predictions", "seq", "seg")
_LABELS = _Table("labels", "id", "lab")


def _finish(con: sqlite3.Connection, folder: Path, table: _Table, replica: str) -> None:
    """Rows a complete segment holds but a killed round did not delete yet."""
    done = max((s.last for s in list_segments(folder, table.prefix, replica)), default=0)
    if done:
        _delete_through(con, table, done)


def _delete_through(con: sqlite3.Connection, table: _Table, last: int) -> None:
    """Delete the rows up to ``last`` (a segment in place holds them) in short transactions; a
    kill between them leaves rows that readers skip and the next round deletes."""
    first = con.execute(f"select min({table.key}) from {table.name}").fetchone()[0]
    if first is None:
        return
    for upto in range(int(first) + DELETE_ROWS - 1, last + DELETE_ROWS, DELETE_ROWS):
        con.execute(f"delete from {table.name} where {table.key} <= ?", (min(upto, last),))


def _round(con: sqlite3.Connection, folder: Path, table: _Table, top: int, replica: str) -> Segment | None:
    kinds: dict[str, str | None] = {}
    carried: list[str] = []
    if table is _PREDICTIONS:
        kinds, carried = feature_columns(con), carried_columns(con)
        cols = ", ".join([*BASE, *(quote(FEATURE + n) for n in kinds), *(quote(CARRIED + c) for c in carried)])
    else:
        cols = ", ".join(LABELS)
    rows = con.execute(
        f"select {cols} from {table.name} where {table.key} <= ? order by {table.key} limit ?", (top, SEGMENT_ROWS)
    ).fetchall()
    if not rows:
        return None
    arrow = to_table(rows, kinds, carried) if table is _PREDICTIONS else labels_table(rows)
    first, last = int(rows[0][0]), int(rows[-1][0])
    ts = [min(r[1 if table is _LABELS else 3] for r in rows), max(r[1 if table is _LABELS else 3] for r in rows)]
    path = folder / segment_name(table.prefix, replica, first, last)
    _write_atomically(arrow, path, {"airloop.ts": json.dumps(ts), "airloop.rows": str(len(rows))})
    _delete_through(con, table, last)
    return Segment(path, first, last, len(rows), ts[0], ts[1], replica)


def labels_table(rows: list[tuple[Any, ...]]) -> Any:
    """Label rows (LABELS columns) as Arrow; the label stays its JSON text (a few distinct values)."""
    import pyarrow as pa

    columns = list(zip(*rows, strict=True))
    return pa.table(
        {
            "id": pa.array(columns[0], pa.int64()),
            "ts": pa.array(columns[1], pa.float64()),
            "request_id": pa.array(columns[2], pa.string()),
            "entity_id": pa.array(columns[3], pa.string()),
            "label": pa.array(columns[4], pa.string()).dictionary_encode(),
            "source": pa.array(columns[5], pa.string()).dictionary_encode(),
        }
    )


def _write_atomically(table: Any, path: Path, meta: dict[str, str]) -> None:
    import pyarrow.parquet as pq

    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself is durable before the rows leave SQLite
    finally:
        os.close(fd)


def to_table(rows: list[tuple[Any, ...]], kinds: dict[str, str | None], carried: list[str] | None = None) -> Any:
    """SQLite rows (BASE columns, then one per feature, then one per passthrough column) as an
    Arrow table with typed columns: prediction as its value, probabilities as a list of floats,
    each feature by its kind, a passthrough column by its values."""
    import pyarrow as pa

    columns = list(zip(*rows, strict=True))
    arrays: dict[str, Any] = {
        "seq": pa.array(columns[0], pa.int64()),
        "request_id": pa.array(columns[1], pa.string()),
        "row": pa.array(columns[2], pa.int64()),
        "ts": pa.array(columns[3], pa.float64()),
        "model_version": pa.array(columns[4], pa.string()).dictionary_encode(),
        "entity_id": pa.array(columns[5], pa.string()),
        "prediction": _values([json.loads(v) for v in columns[6]]),
        "probabilities": pa.array([None if v is None else json.loads(v) for v in columns[7]], pa.list_(pa.float64())),
    }
    features = columns[len(BASE) : len(BASE) + len(kinds)]
    for (name, kind), values in zip(kinds.items(), features, strict=True):
        arrays[FEATURE + name] = feature_array(values, kind)
    for name, values in zip(carried or [], columns[len(BASE) + len(kinds) :], strict=True):
        arrays[CARRIED + name] = _values(list(values))
    return pa.table(arrays)


def feature_array(values: Any, kind: str | None) -> Any:
    import pyarrow as pa

    if kind == "boolean":  # SQLite keeps booleans as 0 and 1
        return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
    if kind == "text":
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    return _values(values)


def _values(values: list[Any]) -> Any:
    """Values of one type as that Arrow type; a mix that Arrow cannot type as their text."""
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else json.dumps(v) for v in values], pa.string())


def drop_older(log: Path | None, days: float, *, folder: Path | None = None, replica: str = "") -> int:
    """Retention: delete the segments whose newest prediction is older than ``days``, and the
    request ids they issued (when ``log``, their front, is here). Returns the number of segments
    deleted. A named replica's newest segment is kept: it tells a fresh front of that name where
    the counter stands (``continue_numbering``)."""
    cutoff = time.time() - days * 86400
    folder = folder if folder is not None or log is None else segments_of(log)
    segments = list_segments(folder, replica=replica) if folder is not None else []
    old = [s for s in (segments[:-1] if replica else segments) if s.ts_max < cutoff]  # labels are kept
    for segment in old:
        segment.path.unlink(missing_ok=True)
    if old and log is not None and log.exists():
        con = connect(log)
        try:
            con.execute("delete from issued where ts < ?", (cutoff,))
        finally:
            con.close()
    return len(old)


def continue_numbering(log: Path, folder: Path, replica: str) -> None:
    """A replica's front whose counters stand below its newest segments (a new volume, a front
    restored from an old copy) continues after them: otherwise its next rows would reuse numbers
    a segment holds, and the next round would delete them as already compacted."""
    con = connect(log)
    try:
        con.execute("begin immediate")
        for table in (_PREDICTIONS, _LABELS):
            done = max((s.last for s in list_segments(folder, table.prefix, replica)), default=0)
            row = con.execute("select seq from sqlite_sequence where name = ?", (table.name,)).fetchone()
            if row is None and done:
                con.execute("insert into sqlite_sequence (name, seq) values (?, ?)", (table.name, done))
            elif row is not None and row[0] < done:
                con.execute("update sqlite_sequence set seq = ? where name = ?", (done, table.name))
        con.execute("commit")
    finally:
        con.close()


def due(log: Path, min_rows: int = 100_000, max_age: float = 3600.0) -> bool:
    """Whether a compaction round would move rows (a cheap look at the SQLite front)."""
    if not log.exists():
        return False
    con = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    try:
        counts = [con.execute(f"select count(*), min(ts) from {t}").fetchone() for t in ("predictions", "labels")]
    finally:
        con.close()
    return any(n and (n >= min_rows or time.time() - oldest >= max_age) for n, oldest in counts)


class Background:
    """Compaction in a child process when it is due, one at a time: a server's poller calls
    ``tick``. A process of its own, so that building a segment never holds the server's GIL."""

    def __init__(
        self,
        log: Path,
        min_rows: int = 100_000,
        max_age: float = 3600.0,
        folder: Path | None = None,
        replica: str = "",
    ) -> None:
        self.log, self.min_rows, self.max_age = log, min_rows, max_age
        self.folder, self.replica = segments_of(log) if folder is None else folder, replica
        self._child: Any = None

    def tick(self) -> bool:
        import subprocess
        import sys

        if self._child is not None and self._child.poll() is None:
            return False
        if not due(self.log, self.min_rows, self.max_age):
            return False
        args = [str(self.log), str(self.min_rows), str(self.max_age), str(self.folder), self.replica]
        self._child = subprocess.Popen([sys.executable, "-m", "airloop.data.segments", *args])
        return True


if __name__ == "__main__":
    import sys

    folder, replica = (Path(sys.argv[4]), sys.argv[5]) if len(sys.argv) > 5 else (None, "")
    compact(Path(sys.argv[1]), min_rows=int(sys.argv[2]), max_age=float(sys.argv[3]), folder=folder, replica=replica)


def summary(log: Path | None, *, folder: Path | None = None, replica: str = "") -> dict[str, Any]:
    """What `airloop status` says of a prediction log: predictions in segments and still in SQLite,
    labels, bytes on disk, and the oldest and newest prediction (epoch seconds). ``folder`` and
    ``replica``: a named replica's segments; its front (``log``) may be on another machine."""
    folder = segments_of(log) if folder is None and log is not None else folder
    segs = list_segments(folder, replica=replica) if folder is not None else []
    labs = list_segments(folder, "lab", replica) if folder is not None else []
    here = log is not None and log.exists()
    if not here and not (replica and segs):
        return {}
    tail, oldest, newest, labels = 0, None, None, 0
    if here:
        con = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
        try:
            tail, oldest, newest = con.execute("select count(*), min(ts), max(ts) from predictions").fetchone()
            labels = con.execute("select count(*) from labels").fetchone()[0]
        finally:
            con.close()
    labels += sum(s.rows for s in labs)
    times = [t for t in (oldest, newest, *(s.ts_min for s in segs), *(s.ts_max for s in segs)) if t is not None]
    files = [*(s.path for s in segs), *(s.path for s in labs)]
    files += [log, log.with_name(log.name + "-wal")] if log is not None and here else []
    return {
        "predictions": tail + sum(s.rows for s in segs),
        "in_segments": sum(s.rows for s in segs),
        "segments": len(segs),
        "labels": labels,
        "bytes": sum(f.stat().st_size for f in files if f.exists()),
        "oldest": min(times) if times else None,
        "newest": max(times) if times else None,
        "front": here,
    }
