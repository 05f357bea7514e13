"""A store that is down is named before a run starts: refused, silent, or not the server the URL says."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from airloop.errors import EnvironmentProblem
from airloop.local.reach import check_reachable, outside_stores


def _listener(answer: bytes | None) -> Iterator[int]:
    """A local port whose server reads the client's hello and answers ``answer`` (None: closes silently)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    conn.recv(64)
                except TimeoutError:
                    pass
                if answer:
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.fixture
def redis_like() -> Iterator[int]:
    yield from _listener(b"+PONG\r\n")


@pytest.fixture
def silent() -> Iterator[int]:
    yield from _listener(None)


@pytest.fixture
def http_like() -> Iterator[int]:
    yield from _listener(b"HTTP/1.1 400 Bad Request\r\n\r\n")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_embedded_default_has_nothing_to_reach() -> None:
    assert outside_stores({}) == []
    assert outside_stores({"AIRLOOP_AIRFLOW_DB": "sqlite:////tmp/a.db", "AIRLOOP_MLFLOW_URI": "file:///tmp/m"}) == []
    check_reachable({})


def test_the_broker_counts_only_with_celery() -> None:
    env = {
        "AIRFLOW__CELERY__BROKER_URL": "redis://127.0.0.1:1/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+postgresql://h/db",
    }
    assert outside_stores(env) == []
    stores = outside_stores({**env, "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"})
    assert [(s.what, s.address) for s in stores] == [
        ("the Celery broker", ("127.0.0.1", 1)),
        ("the Celery result backend", ("h", 5432)),
    ]


def test_a_refused_database_is_named_with_its_variable_and_no_password() -> None:
    port = _closed_port()
    url = f"postgresql+psycopg2://airflow:s3cret@127.0.0.1:{port}/airflow"
    with pytest.raises(EnvironmentProblem) as caught:
        check_reachable({"AIRLOOP_AIRFLOW_DB": url})
    message = str(caught.value)
    assert f"Airflow's metadata database at 127.0.0.1:{port}" in message
    assert "AIRLOOP_AIRFLOW_DB=postgresql+psycopg2://airflow:***@" in message
    assert "s3cret" not in message
    assert caught.value.exit_code == 8


def test_a_server_that_answers_passes(redis_like: int) -> None:
    check_reachable(
        {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_like}/0",
        }
    )


def test_a_port_that_accepts_but_never_answers_is_down(silent: int) -> None:
    env = {"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor", "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{silent}/0"}
    with pytest.raises(EnvironmentProblem, match="the Celery broker .*closed without an answer"):
        check_reachable(env, timeout=2)


def test_the_wrong_kind_of_server_is_down(http_like: int) -> None:
    env = {"AIRLOOP_OPTUNA_DB": f"postgresql://u@127.0.0.1:{http_like}/db"}
    with pytest.raises(EnvironmentProblem, match="Optuna.*not a postgresql server"):
        check_reachable(env)


def test_every_store_that_is_down_is_listed() -> None:
    a, b = _closed_port(), _closed_port()
    env = {"AIRLOOP_AIRFLOW_DB": f"postgresql://127.0.0.1:{a}/x", "AIRLOOP_MLFLOW_URI": f"http://127.0.0.1:{b}"}
    with pytest.raises(EnvironmentProblem) as caught:
        check_reachable(env)
    assert "Airflow's metadata database" in str(caught.value)
    assert "the MLflow tracking store" in str(caught.value)
