"""Services tests need PostgreSQL (and later Redis). On a laptop without them they skip; with
AIRLOOP_REQUIRE_SERVICES=1 (as .ci/run sets) a missing service fails the run instead."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from helpers.services import PG_HOST, PG_PORT, PG_USER, require


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    require(PG_HOST, PG_PORT, "PostgreSQL")
    import psycopg2

    name = f"airloop_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f"create database {name}")
    try:
        yield f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        cur = admin.cursor()
        cur.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (name,))
        cur.execute(f"drop database if exists {name}")
        admin.close()


pg_database_2 = pg_database
