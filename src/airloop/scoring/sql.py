"""`airloop score --out postgresql://…/database/table`: the scored records into a SQL table.

Each chunk is one transaction: its scored rows into TABLE and its refused records into
TABLE_rejects, or nothing. Every row carries ``run_key``, a digest of the model version and of the
input files' contents (in order); TABLE is unique on (run_key, row_id) and rows go in with
``INSERT ... ON CONFLICT DO NOTHING``. A retried or rerun run therefore inserts only the rows not yet
committed, whatever chunk it died in and whatever ``--chunk-rows`` it uses. ON CONFLICT DO NOTHING
rather than delete-then-insert per chunk: the same key means the same version on the same bytes, so
a row already there is already right; nothing a reader has seen is deleted and written again, and
two runs of one key at once wait on each other's rows instead of deadlocking on each other's deletes.
A chunk travels by COPY into a temporary table, then INSERT ... SELECT (~5x an executemany here).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airloop.errors import DataError, EnvironmentProblem, UsageError

SCHEMES = ("postgresql", "postgresql+psycopg2")
CONNECT_TIMEOUT = 10  # seconds: a database that is down is an error, not a hang
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FORM = "postgresql://USER@HOST:5432/DATABASE/TABLE"


def is_sql(out: str) -> bool:
    return out.split("://", 1)[0] in SCHEMES and "://" in out


@dataclass(frozen=True)
class Target:
    url: Any  # sqlalchemy URL of the database
    table: str
    shown: str  # the URL as printed: no password

    @classmethod
    def parse(cls, out: str) -> Target:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(out)
        except ArgumentError as exc:
            raise UsageError(f"--out {out!r} is not a database URL: {exc}", hint=f"write it as {_FORM}") from None
        database, _, table = (url.database or "").partition("/")
        if not database or not _NAME.match(table):
            raise UsageError(
                f"--out {url.render_as_string(hide_password=True)} names no table",
                hint=f"write it as {_FORM} (a table name of letters, digits and _)",
            )
        url = url.set(drivername="postgresql+psycopg2", database=database)
        return cls(url, table, f"{url.render_as_string(hide_password=True)}/{table}")


def run_key(version: str, paths: list[Path]) -> str:
    """The model version and the input files' contents, in order: what decides every scored row."""
    digest = hashlib.sha256(f"airloop-score-1\0{version}\0".encode())
    for path in paths:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        digest.update(h.digest())
    return digest.hexdigest()[:32]


class SqlSink:
    """Chunks into TABLE and TABLE_rejects, one transaction each."""

    def __init__(self, target: Target, key: str) -> None:
        import sqlalchemy as sa

        self.target, self.key = target, key
        # keepalives: a server that vanishes mid-chunk is found out in about a minute, not never
        alive = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
        self.engine = sa.create_engine(target.url, connect_args={"connect_timeout": CONNECT_TIMEOUT, **alive})
        self._tables: dict[str, Any] = {}
        self.inserted = 0
        try:
            with self.engine.connect() as con:
                con.execute(sa.text("select 1"))
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            raise EnvironmentProblem(
                f"cannot reach the database of --out {target.shown}: {_first_line(exc)}",
                hint=f"start PostgreSQL or fix host, port, user and database in the URL (waited {CONNECT_TIMEOUT} s)",
            ) from None

    def write(self, table: Any, rejects: list[list[Any]], part: int = 0) -> None:
        """One chunk: its answers (an Arrow table, or None when every record was refused) and its
        rejects (row_id, file, file_row, field, problem; "" where none), committed together."""
        import psycopg2
        import sqlalchemy as sa
        from sqlalchemy.dialects.postgresql import insert

        results = self._results(table) if table is not None else None
        refused = self._rejects() if rejects else None
        try:
            with self.engine.begin() as con:
                if results is not None and _copyable(table):
                    self.inserted += self._copy(con, results, table)
                elif results is not None:
                    rows = [{"run_key": self.key, **row} for row in table.to_pylist()]
                    stmt = insert(results).on_conflict_do_nothing(index_elements=["run_key", "row_id"])
                    # only the rows inserted come back (rowcount is not kept across an executemany)
                    self.inserted += len(con.execute(stmt.returning(results.c.row_id), rows).all())
                if refused is not None:
                    stmt = insert(refused).on_conflict_do_nothing(index_elements=["run_key", "reject_key"])
                    con.execute(stmt, [self._reject(r) for r in rejects])
        except (sa.exc.OperationalError, psycopg2.OperationalError) as exc:  # the COPY's cursor raises psycopg2's own
            raise EnvironmentProblem(
                f"writing to {self.target.shown} failed: {_first_line(exc)}",
                hint="rerun the same command when the database is back: rows already committed are not written twice",
            ) from None
        except (sa.exc.DBAPIError, psycopg2.Error) as exc:
            raise DataError(
                f"cannot write to {self.target.shown}: {_first_line(exc)}",
                hint="score into a new table, or one an earlier `airloop score` of this model created",
            ) from None

    def close(self) -> None:
        self.engine.dispose()

    def _copy(self, con: Any, results: Any, table: Any) -> int:
        """The chunk through COPY into a temporary table dropped at commit, then INSERT ... SELECT
        ... ON CONFLICT DO NOTHING: the same rows as an executemany of inserts, several times
        faster. Returns the rows inserted."""
        import io

        import pyarrow as pa
        import pyarrow.csv as pcsv

        quote = self.engine.dialect.identifier_preparer.quote
        keyed = table.add_column(0, "run_key", pa.array([self.key] * table.num_rows, pa.string()))
        cols = ", ".join(quote(c) for c in keyed.column_names)
        buf = io.BytesIO()
        pcsv.write_csv(keyed, buf)  # a null unquoted and empty, an empty text quoted: as COPY reads them
        buf.seek(0)
        cur = con.connection.dbapi_connection.cursor()  # the transaction's own connection
        try:
            cur.execute(f"create temp table airloop_stage (like {quote(results.name)}) on commit drop")
            cur.copy_expert(f"copy airloop_stage ({cols}) from stdin with (format csv, header true)", buf)
            cur.execute(
                f"insert into {quote(results.name)} ({cols}) select {cols} from airloop_stage "
                "on conflict (run_key, row_id) do nothing"
            )
            return int(cur.rowcount)
        finally:
            cur.close()

    def _reject(self, r: list[Any]) -> dict[str, Any]:
        row_id, file, file_row, field, problem = (None if v == "" else v for v in r)
        key = hashlib.sha1("\0".join(str(v) for v in r).encode()).hexdigest()  # the reject itself
        return {
            "run_key": self.key,
            "reject_key": key,
            "row_id": row_id,
            "file": str(file),
            "file_row": file_row,
            "field": field,
            "problem": problem,
        }

    def _results(self, table: Any) -> Any:
        name = self.target.table
        if name not in self._tables:
            import sqlalchemy as sa

            columns = [sa.Column("run_key", sa.String(32), nullable=False)]
            columns += [sa.Column(f.name, _sql_type(f.type), nullable=f.name != "row_id") for f in table.schema]
            self._tables[name] = self._ensure(
                sa.Table(name, sa.MetaData(), *columns, sa.UniqueConstraint("run_key", "row_id"))
            )
        return self._tables[name]

    def _rejects(self) -> Any:
        name = f"{self.target.table}_rejects"
        if name not in self._tables:
            import sqlalchemy as sa

            self._tables[name] = self._ensure(
                sa.Table(
                    name,
                    sa.MetaData(),
                    sa.Column("run_key", sa.String(32), nullable=False),
                    sa.Column("reject_key", sa.String(40), nullable=False),
                    sa.Column("row_id", sa.BigInteger),
                    sa.Column("file", sa.Text, nullable=False),
                    sa.Column("file_row", sa.BigInteger),
                    sa.Column("field", sa.Text, nullable=False),
                    sa.Column("problem", sa.Text, nullable=False),
                    sa.UniqueConstraint("run_key", "reject_key"),
                )
            )
        return self._tables[name]

    def _ensure(self, table: Any) -> Any:
        """Create ``table`` if it is not there; if it is, it must have every column this run writes."""
        import sqlalchemy as sa

        with self.engine.begin() as con:
            table.metadata.create_all(con, checkfirst=True)
            have = {c["name"] for c in sa.inspect(con).get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in have]
        if missing:
            raise DataError(
                f"the table {table.name} in {self.target.shown} lacks the column(s) {', '.join(missing)}",
                hint="score into a new table (another model or spec wrote this one)",
            )
        return table


def _copyable(table: Any) -> bool:
    """Columns whose CSV text COPY reads back as the same values (times go through inserts)."""
    import pyarrow as pa

    t = pa.types
    return all(
        t.is_boolean(f.type) or t.is_integer(f.type) or t.is_floating(f.type) or t.is_string(f.type)
        for f in table.schema
    )


def _sql_type(arrow_type: Any) -> Any:
    import pyarrow as pa
    import sqlalchemy as sa

    if pa.types.is_boolean(arrow_type):
        return sa.Boolean()
    if pa.types.is_integer(arrow_type):
        return sa.BigInteger()
    if pa.types.is_floating(arrow_type):
        return sa.Double()
    if pa.types.is_timestamp(arrow_type):
        return sa.DateTime(timezone=arrow_type.tz is not None)
    if pa.types.is_date(arrow_type):
        return sa.Date()
    return sa.Text()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
