"""The SQL sink's URL and a database that is down: clear errors, no hang."""

from __future__ import annotations

import time

import pytest

from airloop.errors import EnvironmentProblem, UsageError
from airloop.scoring.sql import SqlSink, Target, is_sql


def test_a_table_url_names_database_and_table() -> None:
    assert is_sql("postgresql://u@h:5432/db/t")
    assert is_sql("postgresql+psycopg2://u@h/db/t")
    assert not is_sql("scored/july")
    assert not is_sql("postgresql_out")
    target = Target.parse("postgresql://u:secret@h:5432/db/scored")
    assert (target.url.database, target.table) == ("db", "scored")
    assert "secret" not in target.shown
    assert target.shown.endswith("/db/scored")
    for bad in ("postgresql://u@h/db", "postgresql://u@h/db/no-dash", "postgresql://u@h/db/a/b"):
        with pytest.raises(UsageError, match="names no table"):
            Target.parse(bad)


def test_a_database_that_is_down_is_an_environment_problem_naming_it() -> None:
    started = time.monotonic()
    with pytest.raises(EnvironmentProblem, match=r"cannot reach the database of --out postgresql.*127\.0\.0\.1:1/db/t"):
        SqlSink(Target.parse("postgresql://root@127.0.0.1:1/db/t"), "k")
    assert time.monotonic() - started < 15
