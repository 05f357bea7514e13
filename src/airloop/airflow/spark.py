"""Spark tasks through Airflow's Spark provider: ``@task.pyspark`` opens the session from the
project's connection (``spark.conn_id``) and hands it to the step.

Two things are added to the provider's operator, both before the session opens: a connection that
is not defined runs Spark in the task's process on local[*] (the embedded default, as the provider
does without a connection), and a standalone master or Spark Connect server that does not answer
fails the step in seconds, naming it (Airflow then retries the task), where Spark took 108 s here to
fail with "Cannot call methods on a stopped SparkContext".
"""

from __future__ import annotations

from typing import Any

# the provider's own decorated operator (pinned provider version: pyproject's spark extra)
from airflow.providers.apache.spark.decorators.pyspark import _PySparkDecoratedOperator
from airflow.providers.common.compat.sdk import task_decorator_factory


class SparkStep(_PySparkDecoratedOperator):
    custom_operator_name = "@task.pyspark"

    def execute_callable(self) -> Any:
        from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook
        from airflow.providers.common.compat.standard.operators import PythonOperator

        from airloop.errors import EnvironmentProblem
        from airloop.spark.session import LOCAL, check_master, master_of, python_here

        master = LOCAL
        if self.conn_id:
            try:
                conn = BaseHook.get_connection(self.conn_id)
            except AirflowNotFoundException:
                self.log.info("no Airflow connection %r: Spark runs in this process on local[*]", self.conn_id)
                self.conn_id = None
            else:
                master = master_of(conn.conn_type or "spark", conn.host, conn.port)
                try:
                    check_master(master, f"Airflow connection {self.conn_id}")
                except EnvironmentProblem as exc:  # the step fails with it, without a session
                    self.op_kwargs = {**self.op_kwargs, "unreachable": exc}
                    return PythonOperator.execute_callable(self)
        self.config_kwargs = python_here(master, self.config_kwargs)
        return super().execute_callable()


def spark_task(**kwargs: Any) -> Any:
    return task_decorator_factory(decorated_operator_class=SparkStep, **kwargs)


def spark_settings(plan_spark: dict[str, Any]) -> dict[str, Any]:
    """The operator's arguments for a plan's Spark tasks: the connection and the session settings."""
    from airloop.spark.session import DEFAULTS

    return {"conn_id": plan_spark.get("conn_id"), "config_kwargs": {**DEFAULTS, **plan_spark.get("config", {})}}
