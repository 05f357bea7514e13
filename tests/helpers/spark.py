"""One local Spark session per test process, shared by the Spark tests (a JVM takes seconds to
start): the session `airloop.spark.session.opened` makes, as `airloop score` does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers.extras import require_spark


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    require_spark()
    from types import SimpleNamespace

    from airloop.spark.session import opened

    spec = SimpleNamespace(spark=SimpleNamespace(config={"spark.sql.shuffle.partitions": "4"}))
    with opened(spec, "airloop-tests", master="local[2]") as session:
        yield session
