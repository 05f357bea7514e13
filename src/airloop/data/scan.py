"""Reading the prediction log: its Parquet segments and the SQLite rows not yet compacted, as one
log, in batches of bounded size, with the labels joined.

Consistency with a compaction running at the same time: the SQLite read transaction is opened
first (WAL gives it a snapshot), then the segments are listed, and only SQLite rows past the last
listed segment are read. A row deleted from SQLite before the snapshot is in a segment that was
renamed into place before that, so it is listed; a row deleted after it is still in the snapshot.

Labels: the latest label of an entity id wins, else the latest of the request id (a request's
label covers all its rows). They are joined by sorted byte keys and ``np.searchsorted``: no
sub-query per row, and no Python object per label kept.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airloop.data.predlog import BASE, FEATURE, feature_columns, quote
from airloop.data.replicas import Source
from airloop.data.segments import Segment, list_segments, segments_of, to_table

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

BATCH_ROWS = 131_072
# what the monitor reads of each row besides the features: no seq, row or model version (the seq
# only when a replica's cursor says which rows it passed: 8 bytes a row, 80 MB over 10M rows)
NEEDED = ("request_id", "ts", "entity_id", "prediction", "probabilities")


@dataclass
class Batch:
    """One batch of logged predictions: ``frame`` holds request_id, row, logged_at, model_version,
    entity_id, prediction, label and the features by name; ``proba`` the class probabilities as a
    (rows x classes) float matrix, NaN where a row has none (None when no row has any)."""

    frame: pd.DataFrame
    proba: np.ndarray | None

    def with_lists(self) -> pd.DataFrame:
        """The frame with a ``probabilities`` column of lists (None where absent), as read_predictions."""
        import numpy as np

        frame = self.frame.copy()
        if self.proba is None:
            frame.insert(6, "probabilities", [None] * len(frame))
        else:
            have = ~np.isnan(self.proba).all(axis=1)
            frame.insert(6, "probabilities", [p.tolist() if h else None for p, h in zip(self.proba, have, strict=True)])
        return frame


class Labels:
    """The labels (segments, then the SQLite rows after them) as two sorted key tables, entity ids
    and request ids, each key once with its latest label's code; the distinct labels decoded once.

    Keys are joined by a 64-bit hash of their bytes (FNV-1a, vectorised over the byte columns),
    then checked byte for byte, so a hash collision never joins a wrong label.

    ``sources``: (replica, its front's read transaction or None, its segments folder) each. Every
    replica's labels join every replica's predictions (a label may reach another replica than the
    one that answered); with several sources the latest label is the one with the latest ``ts``."""

    def __init__(self, sources: list[tuple[str, sqlite3.Connection | None, Path]], chunk: int = 200_000) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        from airloop.data.segments import labels_table

        cols = ["request_id", "entity_id", "label"] + (["ts"] if len(sources) > 1 else [])
        parts = []
        for replica, con, folder in sources:
            segments = list_segments(folder, "lab", replica)
            parts += [pq.read_table(s.path, columns=cols, use_threads=False) for s in segments]
            done = max((s.last for s in segments), default=0)
            if con is None:
                continue
            cur = con.execute(
                "select id, ts, request_id, entity_id, label, source from labels where id > ? order by id", (done,)
            )
            while rows := cur.fetchmany(chunk):
                parts.append(labels_table(rows).select(cols))
        if parts:
            if len(sources) > 1:  # one order for all replicas' labels: the time each was observed
                order = np.argsort(_joined(parts, "ts", pa.float64()).to_numpy(zero_copy_only=False), kind="stable")
                same = [pa.table({c: p[c].cast(pa.string()) for c in cols[:3]}) for p in parts]
                parts = [pa.concat_tables(same).take(pa.array(order))]
            texts: dict[str, int] = {}  # a label's JSON text -> its code, over all parts
            codes = np.concatenate([_codes(p["label"], texts) for p in parts])
            self.values: np.ndarray = np.array([json.loads(t) for t in texts] + [None], object)
            entity = _joined(parts, "entity_id")
            request = _joined(parts, "request_id")
            by_entity = entity.is_valid().to_numpy(zero_copy_only=False)
            by_request = ~by_entity & request.is_valid().to_numpy(zero_copy_only=False)
            self.entity = _Keys(entity.filter(pa.array(by_entity)), codes[by_entity])
            self.request = _Keys(request.filter(pa.array(by_request)), codes[by_request])
        else:
            self.values = np.array([None], object)
            self.entity = self.request = _Keys(pa.array([], pa.string()), np.zeros(0, np.int64))

    def codes(self, entity_ids: Any, request_ids: Any) -> np.ndarray:
        """For each row (Arrow string arrays) the label's code, -1 where it has none."""
        import numpy as np

        out = self.request.find(request_ids)
        if len(self.entity):
            found = self.entity.find(entity_ids)
            out = np.where(found >= 0, found, out)
        return out

    def of(self, codes: np.ndarray) -> np.ndarray:
        return self.values[codes]  # -1 is the trailing None


def _joined(parts: list[Any], name: str, kind: Any = None) -> Any:
    import pyarrow as pa

    kind = pa.string() if kind is None else kind
    chunks = [c for p in parts for c in p[name].cast(kind).chunks]
    return pa.chunked_array(chunks, kind).combine_chunks()


def _codes(column: Any, texts: dict[str, int]) -> np.ndarray:
    """A dictionary-encoded label column as codes into ``texts`` (extended with its new labels)."""
    import numpy as np
    import pyarrow as pa

    out = []
    for chunk in column.chunks:
        chunk = chunk if pa.types.is_dictionary(chunk.type) else chunk.dictionary_encode()
        mapping = np.array([texts.setdefault(t, len(texts)) for t in chunk.dictionary.to_pylist()], np.int64)
        out.append(mapping[chunk.indices.to_numpy(zero_copy_only=False).astype(np.int64)])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


class _Keys:
    """Distinct keys, each with the code of its last occurrence, found through a hash table of
    their 64-bit hashes (pandas' UInt64 index: one lookup per row, no sort)."""

    def __init__(self, keys: Any, codes: np.ndarray) -> None:
        import numpy as np
        import pandas as pd

        matrix, lengths = _byte_matrix(keys)
        raw, hashes = _bytes_view(matrix), _fnv(matrix, lengths)
        earlier = pd.Index(hashes).duplicated(keep="last")  # the last of equal keys is the latest label
        last = ~earlier
        self.keys, self.codes, self.index = raw[last], codes[last], pd.Index(hashes[last])
        # a key whose hash is kept for a later one must be that key (a label given again); else two
        # keys share a hash and join on bytes instead. A hash seen once cannot collide: not checked.
        self.collided = (
            bool(earlier.any()) and not (self.keys[self.index.get_indexer(hashes[earlier])] == raw[earlier]).all()
        )
        if self.collided:  # never seen in practice: sorted bytes and a binary search
            order = np.argsort(raw, kind="stable")
            raw, codes = raw[order], codes[order]
            keep = np.append(raw[1:] != raw[:-1], True)
            self.keys, self.codes = raw[keep], codes[keep]

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, wanted: Any) -> np.ndarray:
        import numpy as np

        n = len(wanted)
        out = np.full(n, -1, dtype=np.int64)
        if not len(self.keys) or not n:
            return out
        matrix, lengths = _byte_matrix(wanted)
        keys = _bytes_view(matrix)
        if self.collided:
            at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        else:
            at = self.index.get_indexer(_fnv(matrix, lengths))
        hit = (at >= 0) & _valid(wanted)
        hit[hit] = self.keys[at[hit]] == keys[hit]
        out[hit] = self.codes[at[hit]]
        return out


def _valid(values: Any) -> np.ndarray:
    return values.is_valid().to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def _byte_matrix(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """An Arrow string array as a (rows x longest) uint8 matrix, zero-padded, and each row's
    length; nulls are empty."""
    import numpy as np
    import pyarrow as pa

    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    arr = arr.cast(pa.string())
    n = len(arr)
    if n == 0:
        return np.zeros((0, 1), np.uint8), np.zeros(0, np.int32)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + n + 1]
    buffer = arr.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None and buffer.size else np.zeros(1, np.uint8)
    lengths = np.diff(offsets)
    width = max(int(lengths.max()), 1)
    if (lengths == width).all():  # uuid hex ids: the buffer is already the matrix
        return data[offsets[0] : offsets[0] + n * width].reshape(n, width), lengths
    idx = offsets[:-1, None] + np.arange(width)
    inside = np.arange(width) < lengths[:, None]
    return np.where(inside, data[np.minimum(idx, len(data) - 1)], 0).astype(np.uint8), lengths


def _bytes_view(matrix: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.ascontiguousarray(matrix).view(f"S{matrix.shape[1]}").ravel()


def _fnv(matrix: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's own bytes, eight at a time (FNV-1a's multiply on words, with a
    shift to mix): a word past the row's length is padding and left out, so the matrix's width
    does not change the hash."""
    import numpy as np

    n, width = matrix.shape
    words = -(-width // 8)
    if width % 8:
        matrix = np.concatenate([matrix, np.zeros((n, words * 8 - width), np.uint8)], axis=1)
    w = np.ascontiguousarray(matrix).view(np.uint64)  # (rows x words)
    used = -(-lengths.astype(np.int64) // 8)
    h = np.full(n, 14695981039346656037, dtype=np.uint64)
    prime, shift = np.uint64(1099511628211), np.uint64(29)
    for j in range(words):
        step = (h ^ w[:, j]) * prime
        step ^= step >> shift
        h = np.where(used > j, step, h) if j else step
    return h


def scan(
    log: Path | None,
    start: float | None = None,
    end: float | None = None,
    *,
    features: list[str] | None = None,
    versions: set[str] | None = None,
    labels: bool = True,
    ids: bool = True,
    batch_rows: int = BATCH_ROWS,
    sources: list[Source] | None = None,
    after: dict[str, int] | None = None,
    marks: dict[str, int] | None = None,
) -> Iterator[Batch]:
    """The predictions logged in [start, end) (epoch seconds), segments first, in log order.
    ``features``: only these (None: all); ``versions``: only these model versions; ``ids``: the
    frames carry request_id, entity_id and model_version (the monitor needs none of them) and
    ``prediction`` as Python values (else as an array of its Arrow type).

    ``sources``: the parts of the log to read as one (``data.replicas.sources``; default ``log``
    alone). ``after``: per replica, only rows past this counter (a replica it does not name: all
    its rows). ``marks`` is filled with each source's highest counter in the snapshot read: every
    row up to it was read (or left out by ``start``/``end``), every later one was not."""
    # long: one snapshot of every source, then their segments, then their fronts, in that order
    parts = [Source("", log, segments_of(log))] if sources is None and log is not None else list(sources or [])
    fronts: dict[str, sqlite3.Connection] = {}
    try:
        kinds: dict[str, str | None] = {}
        front_kinds: dict[str, dict[str, str | None]] = {}
        for part in parts:  # the first read in each front fixes its snapshot, before any listing
            if part.front is None or not part.front.exists():
                continue
            con = fronts[part.replica] = sqlite3.connect(f"file:{part.front}?mode=ro", uri=True)
            con.execute("begin")
            front_kinds[part.replica] = feature_columns(con)
            for name, kind in front_kinds[part.replica].items():
                kinds[name] = kind if kinds.get(name) is None else kinds[name]
        listed = {folder: list_segments(folder, replica=None) for folder in {p.folder for p in parts}}
        segments = {p.replica: [s for s in listed[p.folder] if s.replica == p.replica] for p in parts}
        for part in parts:
            if part.replica not in fronts and segments[part.replica]:  # a front this machine cannot see
                for name, kind in _segment_kinds(segments[part.replica][-1]).items():
                    kinds.setdefault(name, kind)
        done = {r: max((s.last for s in segs), default=0) for r, segs in segments.items()}
        top = {r: done[r] for r in done}
        for replica, held in fronts.items():
            top[replica] = max(top[replica], int(held.execute("select max(seq) from predictions").fetchone()[0] or 0))
        # a source whose counter stands below its mark was started again from nothing (a log deleted
        # with its segments): its rows are all new
        floor = {r: n if n <= top[r] else 0 for r, n in ((p.replica, (after or {}).get(p.replica, 0)) for p in parts)}
        if marks is not None:
            marks.update(top)
        wanted = list(kinds) if features is None else [f for f in features if f in kinds]
        shape = _Shape(wanted, versions, None, ids)
        base = BASE if ids or versions is not None else (("seq",) if any(floor.values()) else ()) + NEEDED
        # the monitor counts text values: as dictionary codes they decode and count several times faster
        texts = [] if ids else [n for n in wanted if kinds[n] == "text"]
        inside = [
            seg
            for part in parts
            for seg in segments[part.replica]
            if seg.last > floor[part.replica]
            and not ((start is not None and seg.ts_max < start) or (end is not None and seg.ts_min >= end))
        ]
        # a thread decodes Parquet (Arrow releases the GIL) from now on, while this one builds the
        # label tables and then joins labels and judges batches: the two cores work at once
        reader = _ReadAhead(
            item
            for seg in inside
            for table in _segment_tables(seg, base, wanted, batch_rows, texts)
            for item in shape.decode(table, start, end, floor[seg.replica])
        )
        try:
            if labels:
                shape.known = Labels([(p.replica, fronts.get(p.replica), p.folder) for p in parts])
            yield from (shape.join(item) for item in reader)
        finally:
            reader.close()
        for part in parts:
            if part.replica not in fronts:
                continue
            have = front_kinds[part.replica]
            cols = ", ".join([*BASE, *(quote(FEATURE + n) if n in have else "null" for n in wanted)])
            where, args = ["seq > ?"], [float(max(done[part.replica], floor[part.replica]))]
            if start is not None:
                where.append("ts >= ?")
                args.append(start)
            if end is not None:
                where.append("ts < ?")
                args.append(end)
            con = fronts[part.replica]
            cur = con.execute(f"select {cols} from predictions where {' and '.join(where)} order by seq", args)
            while rows := cur.fetchmany(batch_rows):
                yield from shape.batch(to_table(rows, {n: kinds[n] for n in wanted}), None, None)
            con.execute("commit")
    finally:
        for con in fronts.values():
            con.close()


def _segment_kinds(segment: Segment) -> dict[str, str | None]:
    """The features a segment holds and their kinds, from its schema alone (a replica whose front
    is on another machine: its newest segment has every feature its front had)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out: dict[str, str | None] = {}
    for field in pq.read_schema(segment.path):
        if not field.name.startswith(FEATURE):
            continue
        kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if pa.types.is_boolean(kind):
            out[field.name[len(FEATURE) :]] = "boolean"
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            out[field.name[len(FEATURE) :]] = "text"
        else:
            out[field.name[len(FEATURE) :]] = None if pa.types.is_null(kind) else "numeric"
    return out


def _segment_tables(
    segment: Segment, base: tuple[str, ...], wanted: list[str], batch_rows: int, texts: list[str]
) -> Iterator[Any]:
    """A segment's rows in tables of ``batch_rows``; the ``texts`` features as dictionary arrays
    (pandas categoricals)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(segment.path, read_dictionary=[FEATURE + n for n in texts])
    have = set(pf.schema_arrow.names)
    cols = [c for c in (*base, *(FEATURE + n for n in wanted)) if c in have]
    for batch in pf.iter_batches(batch_size=batch_rows, columns=cols, use_threads=False):
        table = pa.Table.from_batches([batch])
        for name in wanted:  # a feature this segment predates
            if FEATURE + name not in have:
                table = table.append_column(FEATURE + name, pa.nulls(len(table)))
        yield table


class _ReadAhead:
    """``items`` produced by a thread started at once, up to ``depth`` ahead of the consumer;
    ``close`` stops it (also when nothing was consumed)."""

    def __init__(self, items: Iterator[Any], depth: int = 2) -> None:
        import queue
        import threading

        self._done, self._stop = object(), threading.Event()
        self._ready: queue.Queue[Any] = queue.Queue(depth)
        self._items = items
        threading.Thread(target=self._produce, name="airloop-scan", daemon=True).start()

    def _produce(self) -> None:
        import queue

        try:
            for item in self._items:
                while not self._stop.is_set():
                    try:
                        self._ready.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer
            self._ready.put((self._done, exc))
            return
        self._ready.put((self._done, None))

    def __iter__(self) -> Iterator[Any]:
        while True:
            item, error = self._ready.get()
            if item is self._done:
                if error is not None:
                    raise error
                return
            yield item

    def close(self) -> None:
        self._stop.set()


@dataclass
class _Shape:
    """Arrow tables of the log -> ``Batch``es: rows filtered, labels joined, columns chosen."""

    wanted: list[str]
    versions: set[str] | None
    known: Labels | None
    ids: bool

    def batch(self, table: Any, start: float | None, end: float | None) -> Iterator[Batch]:
        for item in self.decode(table, start, end):
            yield self.join(item)

    def decode(self, table: Any, start: float | None, end: float | None, floor: int = 0) -> Iterator[tuple[Any, ...]]:
        """(frame without labels, probabilities, the rows' entity and request ids) per batch; only
        rows past the counter ``floor``."""
        import pandas as pd

        table = self._filter(table, start, end, floor)
        if not len(table):
            return
        frame = pd.DataFrame(
            {
                "request_id": _objects(table["request_id"]),
                "row": table["row"].to_numpy(),
                "logged_at": pd.to_datetime(table["ts"].to_numpy(), unit="s", utc=True),
                "model_version": _objects(table["model_version"]),
                "entity_id": _objects(table["entity_id"]),
            }
            if self.ids
            else {"logged_at": pd.to_datetime(table["ts"].to_numpy(), unit="s", utc=True)}
        )
        prediction = table["prediction"].to_numpy(zero_copy_only=False)
        frame["prediction"] = prediction.astype(object) if self.ids else prediction
        for name in self.wanted:
            frame[name] = table[FEATURE + name].to_pandas()
        yield frame, _matrix(table["probabilities"]), table["entity_id"], table["request_id"]

    def join(self, item: tuple[Any, ...]) -> Batch:
        """The decoded batch with its labels, after its prediction."""
        import numpy as np
        import pandas as pd

        frame, proba, entity, request = item
        if self.known is not None:
            label = pd.Series(self.known.of(self.known.codes(entity, request)), dtype=object)
        else:
            label = pd.Series(np.full(len(frame), None, dtype=object), dtype=object)
        frame.insert(frame.columns.get_loc("prediction") + 1, "label", label)
        return Batch(frame, proba)

    def _filter(self, table: Any, start: float | None, end: float | None, floor: int = 0) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        mask = pc.greater(table["seq"], floor) if floor else None
        if start is not None:
            m = pc.greater_equal(table["ts"], start)
            mask = m if mask is None else pc.and_(mask, m)
        if end is not None:
            m = pc.less(table["ts"], end)
            mask = m if mask is None else pc.and_(mask, m)
        if self.versions is not None:
            wanted = pa.array(sorted(self.versions), pa.string())
            m = pc.is_in(table["model_version"].cast(pa.string()), wanted)
            mask = m if mask is None else pc.and_(mask, m)
        return table if mask is None else table.filter(mask)


def _objects(column: Any) -> Any:
    import pyarrow as pa

    return column.cast(pa.string()).to_numpy(zero_copy_only=False).astype(object)


def _matrix(column: Any) -> np.ndarray | None:
    """A list<double> column as a (rows x classes) matrix; rows without probabilities are NaN."""
    import numpy as np
    import pyarrow.compute as pc

    column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    lengths = np.where(np.isnan(lengths.astype(float)), 0, lengths).astype(np.int64)
    width = int(lengths.max()) if len(lengths) else 0
    if width == 0:
        return None
    out = np.full((len(column), width), np.nan)
    values = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    full = lengths == width
    if full.all():
        return values.reshape(len(column), width)
    at = 0
    for i, n in enumerate(lengths):  # ragged: rows without probabilities among rows with them
        out[i, :n] = values[at : at + n]
        at += n
    return out


def read_predictions(path: str | Path, start: float | None = None, end: float | None = None) -> pd.DataFrame:
    """Predictions logged in [start, end) (epoch seconds) as a frame: one row per record with
    request_id, row, logged_at, model_version, entity_id, prediction, probabilities and label (the
    latest, joined by entity id, else by request id), and the features as columns. ``path`` is the
    log's ``predictions.db`` (a string or a Path)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        return pd.DataFrame()
    frames = [batch.with_lists() for batch in scan(path, start, end)]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["logged_at", "row"], kind="stable", ignore_index=True)


def _fronts(path: Path | None, sources: list[Source] | None) -> Iterator[sqlite3.Connection]:
    """A read-only connection to each front here (``path``, or each of ``sources`` that has one)."""
    fronts = [path] if sources is None else [p.front for p in sources if p.front is not None]
    for front in fronts:
        if front is None or not front.exists():
            continue
        con = sqlite3.connect(f"file:{front}?mode=ro", uri=True)
        try:
            yield con
        finally:
            con.close()


def read_shadow(path: Path | None, version: str, sources: list[Source] | None = None) -> pd.DataFrame:
    """The logged requests a shadow ``version`` also answered, as ``read_predictions`` rows plus
    ``shadow_prediction`` and ``shadow_probabilities``: the champion's and the shadow's answers
    to the same records, side by side (empty when it answered none). ``sources``: every replica's
    front here (a shadow's answers stay in the front of the replica that logged them)."""
    import pandas as pd

    found = [
        pd.read_sql_query(
            "select request_id, row, ts, prediction as shadow_prediction, probabilities as shadow_probabilities "
            "from shadow_predictions where model_version = ?",
            con,
            params=(str(version),),
        )
        for con in _fronts(path, sources)
        if con.execute("select 1 from sqlite_master where name = 'shadow_predictions'").fetchone()
    ]
    shadow = pd.concat(found, ignore_index=True) if found else pd.DataFrame()
    if shadow.empty:
        return shadow
    # the champion logged each record before the shadow answered it
    end = float(shadow.pop("ts").max()) + 1e-6
    logged = pd.concat(
        [b.with_lists() for b in scan(path, end=end, sources=sources)] or [pd.DataFrame()], ignore_index=True
    )
    shadow["shadow_prediction"] = [_json(v) for v in shadow["shadow_prediction"]]
    shadow["shadow_probabilities"] = [_json(v) for v in shadow["shadow_probabilities"]]
    if logged.empty:
        return logged
    both = logged.merge(shadow, on=["request_id", "row"], how="inner")
    return both.sort_values(["logged_at", "row"], kind="stable", ignore_index=True)


def read_canary(
    path: Path | None, canary: str, champion: str, sources: list[Source] | None = None
) -> tuple[pd.DataFrame, int]:
    """Since the canary's first answer: the records the canary and the champion answered (as
    ``read_predictions`` rows; ``model_version`` tells them apart), and how many records the
    canary failed on (the champion answered those). ``sources``: every replica's front here."""
    import pandas as pd

    firsts, failed = [], 0
    for con in _fronts(path, sources):
        row = con.execute("select first_ts from versions where model_version = ?", (str(canary),)).fetchone()
        total, failed_since = con.execute(
            "select coalesce(sum(records), 0), min(ts) from failures where model_version = ?", (str(canary),)
        ).fetchone()
        failed += int(total)
        firsts += [t for t in (row[0] if row else None, failed_since) if t is not None]
    first = min(firsts, default=None)
    if first is None:
        return pd.DataFrame(), failed
    wanted = {str(canary), str(champion)}
    frames = [b.with_lists() for b in scan(path, start=first, versions=wanted, sources=sources)]
    if not frames:
        return pd.DataFrame(), failed
    frame = pd.concat(frames, ignore_index=True).sort_values(["logged_at", "row"], kind="stable", ignore_index=True)
    return frame, failed


def _json(value: Any) -> Any:
    """A JSON text column back to values; pandas may hand back NULLs as NaN."""
    if isinstance(value, str):
        return json.loads(value)
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value
