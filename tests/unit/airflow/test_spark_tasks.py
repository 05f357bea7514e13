"""engine: spark: the tasks that read data are the Spark provider's @task.pyspark (airloop's
SparkStep), given the project's connection and session settings; the others stay plain tasks."""

from __future__ import annotations

from helpers.extras import require

from airloop.plan import build_train_plan


def test_spark_tasks_are_the_providers_operator_with_the_connection(load) -> None:
    require("pyspark")
    from airloop.airflow.dags import build_dag
    from airloop.airflow.spark import SparkStep

    loaded = load(engine="spark", spark={"conn_id": "lake", "config": {"spark.executor.memory": "4g"}})
    dag = build_dag(build_train_plan(loaded, "/ws"))
    ingest, split = dag.get_task("ingest"), dag.get_task("split")
    assert isinstance(ingest, SparkStep)
    assert isinstance(dag.get_task("validate"), SparkStep)
    assert not isinstance(split, SparkStep)
    assert ingest.conn_id == "lake"
    assert ingest.config_kwargs["spark.executor.memory"] == "4g"
    assert ingest.config_kwargs["spark.sql.session.timeZone"] == "UTC"  # airloop's defaults under the spec's


def test_a_pandas_project_imports_neither_pyspark_nor_the_providers_operator(load) -> None:
    """Airflow's provider discovery reads every provider's info; the operator and PySpark stay unloaded."""
    import subprocess
    import sys

    path = load().path
    code = (
        "import sys; from airloop.airflow.dags import build_dag; from airloop.plan import build_train_plan; "
        f"from airloop.spec import load_spec; build_dag(build_train_plan(load_spec({str(path)!r}), '/ws')); "
        "print(any(m.startswith(('airflow.providers.apache.spark.operators', 'pyspark')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
