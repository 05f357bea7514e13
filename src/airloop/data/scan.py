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
from airloop.data.segments import Segment, list_segments, segments_of, to_table

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

BATCH_ROWS = 131_072


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
    """The labels table as two sorted key arrays (entity ids, request ids) with the latest label's
    code for each, and the distinct labels decoded once."""

    def __init__(self, con: sqlite3.Connection, chunk: int = 200_000) -> None:
        import numpy as np

        ent_keys, ent_codes, req_keys, req_codes = [], [], [], []
        texts: dict[str, int] = {}
        cur = con.execute("select entity_id, request_id, label from labels order by id")
        while rows := cur.fetchmany(chunk):
            codes = np.array([texts.setdefault(r[2], len(texts)) for r in rows], dtype=np.int32)
            has_entity = np.array([r[0] is not None for r in rows])
            has_request = np.array([r[0] is None and r[1] is not None for r in rows])
            ent_keys.append(_bytes([r[0] for r, h in zip(rows, has_entity, strict=True) if h]))
            ent_codes.append(codes[has_entity])
            req_keys.append(_bytes([r[1] for r, h in zip(rows, has_request, strict=True) if h]))
            req_codes.append(codes[has_request])
        self.values: np.ndarray = np.array([None] * len(texts), dtype=object)
        for text, code in texts.items():
            self.values[code] = json.loads(text)
        self.entity = _latest(ent_keys, ent_codes)
        self.request = _latest(req_keys, req_codes)

    def __len__(self) -> int:
        return len(self.entity[0]) + len(self.request[0])

    def codes(self, entity_ids: Any, request_ids: Any) -> np.ndarray:
        """For each row the label's code, -1 where it has none."""
        import numpy as np

        out = _lookup(*self.request, _bytes(request_ids))
        ent = np.asarray(entity_ids, dtype=object)
        has = np.array([e is not None for e in ent], dtype=bool) if len(ent) else np.zeros(0, bool)
        if has.any():
            found = _lookup(*self.entity, _bytes(ent[has]))
            sub = out[has]
            sub[found >= 0] = found[found >= 0]
            out[has] = sub
        return out

    def of(self, codes: np.ndarray) -> np.ndarray:
        import numpy as np

        out = np.full(len(codes), None, dtype=object)
        known = codes >= 0
        out[known] = self.values[codes[known]]
        return out


def _bytes(values: Any) -> np.ndarray:
    import numpy as np

    encoded = [v.encode() if isinstance(v, str) else str(v).encode() for v in values]
    return np.array(encoded, dtype="S") if encoded else np.zeros(0, dtype="S1")


def _latest(keys: list[np.ndarray], codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Keys sorted, each once, with the code of its last occurrence."""
    import numpy as np

    k = np.concatenate(keys) if keys else np.zeros(0, dtype="S1")
    c = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32)
    if not len(k):
        return k, c
    order = np.argsort(k, kind="stable")
    k, c = k[order], c[order]
    last = np.append(k[1:] != k[:-1], True)  # stable: the last of equal keys is the latest label
    return k[last], c[last]


def _lookup(keys: np.ndarray, codes: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.full(len(wanted), -1, dtype=np.int64)
    if not len(keys) or not len(wanted):
        return out
    at = np.searchsorted(keys, wanted)
    at = np.minimum(at, len(keys) - 1)
    hit = keys[at] == wanted
    out[hit] = codes[at[hit]]
    return out


def scan(
    log: Path,
    start: float | None = None,
    end: float | None = None,
    *,
    features: list[str] | None = None,
    versions: set[str] | None = None,
    labels: bool = True,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[Batch]:
    """The predictions logged in [start, end) (epoch seconds), segments first, in log order.
    ``features``: only these (None: all); ``versions``: only these model versions."""
    con = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    try:
        con.execute("begin")
        kinds = feature_columns(con)  # the first read fixes the snapshot
        known = Labels(con) if labels else None
        segments = list_segments(segments_of(log))
        done = max((s.last for s in segments), default=0)
        wanted = list(kinds) if features is None else [f for f in features if f in kinds]
        for segment in segments:
            if (start is not None and segment.ts_max < start) or (end is not None and segment.ts_min >= end):
                continue
            for table in _segment_tables(segment, wanted, batch_rows):
                yield from _batch(table, wanted, start, end, versions, known)
        cols = ", ".join([*BASE, *(quote(FEATURE + n) for n in wanted)])
        where, args = ["seq > ?"], [float(done)]
        if start is not None:
            where.append("ts >= ?")
            args.append(start)
        if end is not None:
            where.append("ts < ?")
            args.append(end)
        cur = con.execute(f"select {cols} from predictions where {' and '.join(where)} order by seq", args)
        while rows := cur.fetchmany(batch_rows):
            yield from _batch(to_table(rows, {n: kinds[n] for n in wanted}), wanted, None, None, versions, known)
        con.execute("commit")
    finally:
        con.close()


def _segment_tables(segment: Segment, wanted: list[str], batch_rows: int) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(segment.path)
    have = set(pf.schema_arrow.names)
    cols = [c for c in (*BASE, *(FEATURE + n for n in wanted)) if c in have]
    for batch in pf.iter_batches(batch_size=batch_rows, columns=cols, use_threads=False):
        table = pa.Table.from_batches([batch])
        for name in wanted:  # a feature this segment predates
            if FEATURE + name not in have:
                table = table.append_column(FEATURE + name, pa.nulls(len(table)))
        yield table


def _batch(
    table: Any,
    wanted: list[str],
    start: float | None,
    end: float | None,
    versions: set[str] | None,
    known: Labels | None,
) -> Iterator[Batch]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = None
    if start is not None:
        mask = pc.greater_equal(table["ts"], start)
    if end is not None:
        m = pc.less(table["ts"], end)
        mask = m if mask is None else pc.and_(mask, m)
    if versions is not None:
        m = pc.is_in(table["model_version"].cast(pa.string()), pa.array(sorted(versions), pa.string()))
        mask = m if mask is None else pc.and_(mask, m)
    if mask is not None:
        table = table.filter(mask)
    if not len(table):
        return
    frame = pd.DataFrame(
        {
            "request_id": table["request_id"].to_numpy(zero_copy_only=False).astype(object),
            "row": table["row"].to_numpy(),
            "logged_at": pd.to_datetime(table["ts"].to_numpy(), unit="s", utc=True),
            "model_version": table["model_version"].cast(pa.string()).to_numpy(zero_copy_only=False).astype(object),
            "entity_id": table["entity_id"].to_numpy(zero_copy_only=False).astype(object),
            "prediction": table["prediction"].to_numpy(zero_copy_only=False).astype(object),
        }
    )
    if known is not None:
        frame["label"] = pd.Series(
            known.of(known.codes(frame["entity_id"].to_numpy(), frame["request_id"].to_numpy())), dtype=object
        )
    else:
        frame["label"] = pd.Series([None] * len(frame), dtype=object)
    for name in wanted:
        frame[name] = table[FEATURE + name].to_pandas()
    yield Batch(frame, _matrix(table["probabilities"]))


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


def read_predictions(path: Path, start: float | None = None, end: float | None = None) -> pd.DataFrame:
    """Predictions logged in [start, end) (epoch seconds) as a frame: one row per record with
    request_id, row, logged_at, model_version, entity_id, prediction, probabilities and label (the
    latest, joined by entity id, else by request id), and the features as columns."""
    import pandas as pd

    if not path.exists():
        return pd.DataFrame()
    frames = [batch.with_lists() for batch in scan(path, start, end)]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["logged_at", "row"], kind="stable", ignore_index=True)


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
            "select request_id, row, ts, prediction as shadow_prediction, probabilities as shadow_probabilities "
            "from shadow_predictions where model_version = ?",
            con,
            params=(str(version),),
        )
    finally:
        con.close()
    if shadow.empty:
        return shadow
    # the champion logged each record before the shadow answered it
    logged = pd.concat(
        [b.with_lists() for b in scan(path, end=float(shadow.pop("ts").max()) + 1e-6)] or [pd.DataFrame()],
        ignore_index=True,
    )
    shadow["shadow_prediction"] = [_json(v) for v in shadow["shadow_prediction"]]
    shadow["shadow_probabilities"] = [_json(v) for v in shadow["shadow_probabilities"]]
    if logged.empty:
        return logged
    both = logged.merge(shadow, on=["request_id", "row"], how="inner")
    return both.sort_values(["logged_at", "row"], kind="stable", ignore_index=True)


def read_canary(path: Path, canary: str, champion: str) -> tuple[pd.DataFrame, int]:
    """Since the canary's first answer: the records the canary and the champion answered (as
    ``read_predictions`` rows; ``model_version`` tells them apart), and how many records the
    canary failed on (the champion answered those)."""
    import pandas as pd

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute("select first_ts from versions where model_version = ?", (str(canary),)).fetchone()
        first = row[0] if row else None
        total, failed_since = con.execute(
            "select coalesce(sum(records), 0), min(ts) from failures where model_version = ?", (str(canary),)
        ).fetchone()
        failed = int(total)
        first = min((t for t in (first, failed_since) if t is not None), default=None)
    finally:
        con.close()
    if first is None:
        return pd.DataFrame(), failed
    frames = [b.with_lists() for b in scan(path, start=first, versions={str(canary), str(champion)})]
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
