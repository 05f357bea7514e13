"""The files ``airloop score`` reads, in chunks of records shaped as the server receives them.

A CSV is read as text, every column: a value that is not what its feature holds (``abc`` where a
number belongs) is then refused record by record with its field named, the way the server refuses
it in JSON, instead of failing the whole file in the CSV parser. A line with the wrong number of
fields cannot be a record at all: it is refused by line number. Parquet keeps its own types.
Only the columns a record may carry are read; the others are named and counted.
"""

from __future__ import annotations

import glob
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airloop.errors import DataError

CSV_BLOCK_BYTES = 1 << 22
TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


@dataclass
class InputFile:
    path: Path
    kind: str  # csv or parquet
    columns: list[str]  # the header
    ignored: list[str] = field(default_factory=list)  # columns no record may carry: never read


@dataclass
class Chunk:
    """Up to ``chunk_rows`` records of one file: the rows as Arrow (``table``, for the passthrough
    columns' own types) and as the server's records; ``first`` is the file row of the first one;
    ``broken`` the file's lines met since the last chunk that are no record at all (line, problem)."""

    file: InputFile
    first: int
    table: Any
    records: list[dict[str, Any]]
    broken: list[tuple[int | None, str]]


def find_files(inputs: list[str]) -> list[Path]:
    """Files named or matched by ``inputs`` (paths or globs), each once, sorted within each input."""
    found: list[Path] = []
    for pattern in inputs:
        matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not matches:
            raise DataError(
                f"no file matches `{pattern}`",
                hint="give CSV or Parquet files, or a quoted glob such as 'data/*.csv' (relative to this folder)",
            )
        found.extend(m for m in matches if m not in found)
    return found


def open_inputs(paths: list[Path], fmt: str, encoding: str) -> list[InputFile]:
    from airloop.data.sources import header

    files = []
    for path in paths:
        kind = fmt if fmt != "auto" else ("parquet" if path.suffix in (".parquet", ".pq") else "csv")
        try:
            columns = header(path, kind, encoding)
        except Exception as exc:
            raise DataError(f"cannot read {path} as {kind}: {_why(exc)}", hint=_HINT) from None
        files.append(InputFile(path, kind, columns))
    return files


def chunks(
    file: InputFile, wanted: list[str], kinds: dict[str, str], chunk_rows: int, encoding: str
) -> Iterator[Chunk]:
    """The records of ``file`` (columns ``wanted``; features typed by ``kinds``) in chunks."""
    broken: list[tuple[int | None, str]] = []
    tables = _csv(file, wanted, encoding, broken) if file.kind == "csv" else _parquet(file, wanted, chunk_rows)
    first = 0
    try:
        for table in _rechunk(tables, chunk_rows):
            yield Chunk(file, first, table, to_records(table, kinds), list(broken))
            broken.clear()
            first += table.num_rows
    except DataError:
        raise
    except Exception as exc:  # the parser's, mid-file: the file, not airloop
        raise DataError(f"cannot read {file.path} as {file.kind}: {_why(exc)}", hint=_HINT) from None
    if broken:  # lines after the last record
        import pyarrow as pa

        yield Chunk(file, first, pa.table({c: pa.array([], pa.string()) for c in wanted}), [], list(broken))


def _csv(file: InputFile, wanted: list[str], encoding: str, broken: list[tuple[int | None, str]]) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    def skip(row: Any) -> str:
        broken.append((row.number, f"expected {row.expected_columns} fields, got {row.actual_columns}"))
        return "skip"

    reader = pcsv.open_csv(
        file.path,
        read_options=pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding=encoding, use_threads=False),
        parse_options=pcsv.ParseOptions(invalid_row_handler=skip),
        # text, every column: the record judges each value (empty, NA and null are missing, as pandas reads them)
        convert_options=pcsv.ConvertOptions(
            column_types={c: pa.string() for c in file.columns}, include_columns=wanted, strings_can_be_null=True
        ),
    )
    for batch in reader:
        yield pa.Table.from_batches([batch])


def _parquet(file: InputFile, wanted: list[str], chunk_rows: int) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(file.path).iter_batches(batch_size=chunk_rows, columns=wanted, use_threads=False):
        yield pa.Table.from_batches([batch])


def _rechunk(tables: Iterator[Any], rows: int) -> Iterator[Any]:
    """Tables of exactly ``rows`` rows (the last may be shorter): chunks do not depend on how the
    reader cut the file, so a rerun writes the same parts."""
    import pyarrow as pa

    held: list[Any] = []
    size = 0
    for table in tables:
        held.append(table)
        size += table.num_rows
        while size >= rows:
            whole = pa.concat_tables(held)
            yield whole.slice(0, rows)
            rest = whole.slice(rows)
            held, size = [rest], rest.num_rows
    if size:
        yield pa.concat_tables(held)


def to_records(table: Any, kinds: dict[str, str]) -> list[dict[str, Any]]:
    """Rows as the server's records: numbers as numbers, text that is not one left as text for the
    record to refuse; NaN in a numeric column is missing (as pandas reads it)."""
    names = list(table.column_names)
    columns = [_values(table.column(n), kinds.get(n)) for n in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _values(column: Any, kind: str | None) -> list[Any]:
    import pyarrow as pa

    values = column.to_pylist()
    text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    if kind == "numeric":
        return [_number(v) if text else (None if isinstance(v, float) and math.isnan(v) else v) for v in values]
    if kind == "boolean" and text:
        return [_flag(v) for v in values]
    return values


def _number(text: str | None) -> Any:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text  # refused by the record: "wrong type"
    return None if math.isnan(value) else value


def _flag(text: str | None) -> Any:
    if text is None:
        return None
    low = text.strip().lower()
    return True if low in TRUE else False if low in FALSE else text


_HINT = "fix or replace the file (CSV with a header row, or Parquet); its encoding is data.source.encoding"


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
