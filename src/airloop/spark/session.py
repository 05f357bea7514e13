"""Which Spark a step talks to, and whether it answers before anything is read or written.

Under Airflow the provider's ``@task.pyspark`` opens the session from the connection
(``spark.conn_id``); `airloop score` and the in-process driver open one here, on
``$AIRLOOP_SPARK_MASTER`` (default ``local[*]``). A standalone master or a Spark Connect server
that does not answer is named in seconds: Spark itself retries its registration for a minute and
then leaves a stopped context behind.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from airloop.errors import EnvironmentProblem

LOCAL = "local[*]"
PORTS = {"spark": 7077, "sc": 15002}
# What every session is given (the spec's spark.config goes over it): UTC like the rest of airloop,
# Arrow between the JVM and Python, and no UI port taken on a shared machine.
DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


class SparkUnreachable(EnvironmentProblem):
    """The Spark master or Spark Connect server does not answer (retried: it may be restarting)."""

    title = "Spark is not reachable"


def master_of(conn_type: str, host: str | None, port: int | None) -> str:
    """The master URL an Airflow connection names, read as the provider's PySparkOperator reads it."""
    if conn_type == "spark_connect":
        return f"sc://{host}:{port or PORTS['sc']}"
    if not host:
        return LOCAL
    return f"{host}:{port}" if port else host


def addresses(master: str) -> list[tuple[str, int]]:
    """The (host, port) pairs a master URL points at (several for a standalone HA list); none for
    local, yarn or k8s, whose reachability is the cluster manager's to report."""
    parts = urlsplit(master)
    if parts.scheme not in PORTS:
        return []
    out = []
    for one in parts.netloc.split(","):
        host, _, port = one.rpartition(":") if ":" in one else (one, "", "")
        out.append((host or one, int(port) if port.isdigit() else PORTS[parts.scheme]))
    return out


KNOWN = ("local", "yarn", "spark://", "k8s://", "sc://")


def check_master(master: str, named_by: str, timeout: float = 10.0) -> None:
    """Raise SparkUnreachable when no address of ``master`` accepts a connection, EnvironmentProblem
    when it is no master URL Spark knows (an Airflow spark connection's host carries the scheme)."""
    if not master.startswith(KNOWN):
        raise EnvironmentProblem(
            f"{master!r} ({named_by}) is not a Spark master URL",
            hint="give the connection's host with its scheme (spark://HOST with port 7077, yarn, k8s://https://HOST, "
            "local[2]), or a spark_connect connection for sc://HOST:15002",
            retryable=False,
        )
    found = addresses(master)
    reasons = []
    for host, port in found:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except TimeoutError:
            reasons.append(f"{host}:{port}: no answer in {timeout:g} s")
        except OSError as exc:
            reasons.append(f"{host}:{port}: {exc.strerror or exc}")
    if found:
        raise SparkUnreachable(
            f"the Spark master {master} ({named_by}) does not answer: {'; '.join(reasons)}",
            hint="start it, or point the connection at one that runs; without the connection (and without "
            "$AIRLOOP_SPARK_MASTER) Spark runs in this process on local[*]",
        )


def settings(spec: Any) -> dict[str, str]:
    return {**DEFAULTS, **spec.spark.config}


def python_here(master: str, config: dict[str, str]) -> dict[str, str]:
    """On a local master, Spark's Python workers run this interpreter (with airloop and the model's
    libraries), not whatever ``python3`` is first on the PATH: PySpark reads $PYSPARK_PYTHON when
    the context starts (the ``spark.pyspark.python`` setting is spark-submit's). A cluster's workers
    are its own to set."""
    if master.startswith("local") and "spark.pyspark.python" not in config and not os.environ.get("PYSPARK_PYTHON"):
        import sys

        os.environ["PYSPARK_PYTHON"] = sys.executable
        return {**config, "spark.pyspark.python": sys.executable}
    return config


@contextmanager
def opened(spec: Any, app: str, master: str | None = None) -> Iterator[Any]:
    """A session outside Airflow (`airloop score`, the in-process driver), stopped on the way out."""
    from pyspark.sql import SparkSession

    master = master or os.environ.get("AIRLOOP_SPARK_MASTER") or LOCAL
    check_master(master, "$AIRLOOP_SPARK_MASTER" if os.environ.get("AIRLOOP_SPARK_MASTER") else "the default")
    running = SparkSession.getActiveSession()
    if running is not None:  # this process has one (a notebook's, a test's): used, and left running
        yield running
        return
    builder = SparkSession.builder.appName(app)
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    for key, value in python_here(master, settings(spec)).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    try:
        yield session
    finally:
        session.stop()


@contextmanager
def using(spec: Any, given: Any, app: str) -> Iterator[Any]:
    """The session Airflow's provider gave the task, or one opened here for the call (and stopped)."""
    if given is not None:
        yield given
        return
    with opened(spec, app) as session:
        yield session


def is_spark_error(exc: BaseException) -> bool:
    """An error Spark raised (its analysis, its executors, the JVM behind py4j), not airloop's own."""
    return type(exc).__module__.split(".")[0] in ("pyspark", "py4j")


def spark_message(exc: BaseException) -> str:
    """The first line of what Spark said: the JVM's own message for a py4j error (its Python text
    is only "An error occurred while calling o88.load")."""
    java = getattr(exc, "java_exception", None)
    text = str(java.getMessage() if java is not None else exc).strip().splitlines()
    return text[0][:400] if text else type(exc).__name__
