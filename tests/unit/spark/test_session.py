"""Which Spark a step talks to, and a master that does not answer named in seconds (no JVM here)."""

from __future__ import annotations

import socket
import time

import pytest

from airloop.errors import EnvironmentProblem
from airloop.spark.session import SparkUnreachable, addresses, check_master, master_of


def test_a_connection_names_its_master_as_the_provider_reads_it():
    assert master_of("spark", "spark://10.0.0.5", 7077) == "spark://10.0.0.5:7077"
    assert master_of("spark", "yarn", None) == "yarn"
    assert master_of("spark", None, None) == "local[*]"
    assert master_of("spark_connect", "10.0.0.5", None) == "sc://10.0.0.5:15002"


def test_the_addresses_of_a_master():
    assert addresses("spark://a:7077,b:7078") == [("a", 7077), ("b", 7078)]
    assert addresses("spark://a") == [("a", 7077)]
    assert addresses("sc://c") == [("c", 15002)]
    assert addresses("local[2]") == addresses("yarn") == addresses("k8s://https://api:6443") == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_master_that_does_not_answer_is_named_at_once():
    master = f"spark://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(SparkUnreachable) as info:
        check_master(master, "Airflow connection spark_default")
    assert time.monotonic() - started < 5
    assert info.value.message.startswith(f"the Spark master {master} (Airflow connection spark_default) does not")
    assert info.value.exit_code == 8
    assert info.value.retryable  # it may be restarting: Airflow retries the task


def test_one_master_of_a_list_that_answers_is_enough():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        check_master(f"spark://127.0.0.1:{_closed_port()},127.0.0.1:{port}", "test")
    check_master("local[*]", "test")  # nothing to reach


def test_a_host_without_its_scheme_is_no_master_url():
    """Airflow's spark connection carries the scheme in its host: a bare host is a configuration error."""
    with pytest.raises(EnvironmentProblem, match="'10.0.0.5:7077' .* is not a Spark master URL") as info:
        check_master(master_of("spark", "10.0.0.5", 7077), "Airflow connection spark_default")
    assert not info.value.retryable
