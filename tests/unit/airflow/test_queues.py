"""Queues named in the spec become the Airflow tasks' `queue` (what Celery workers listen on), pod
templates their `executor_config` (what the KubernetesExecutor starts them from)."""

from __future__ import annotations

from airloop.airflow.dags import build_dag
from airloop.plan import build_monitor_plan, build_train_plan


def test_each_task_goes_to_its_queue_and_the_rest_to_the_default(load) -> None:
    from airflow.configuration import conf

    default = conf.get("operators", "default_queue")
    loaded = load(queues={"tune_trials": "cpu", "train": "cpu", "request_retrain": "small"})

    train = build_dag(build_train_plan(loaded, "/ws"))
    monitor = build_dag(build_monitor_plan(loaded, "/ws", "/ws/labels"))

    queues = {t.task_id: t.queue for t in train.tasks}
    assert queues.pop("tune_trials") == "cpu"  # the mapped task: every instance on that queue
    assert queues.pop("train") == "cpu"
    assert set(queues.values()) == {default}
    assert {t.task_id: t.queue for t in monitor.tasks} == {"monitor": default, "request_retrain": "small"}


def test_a_pod_template_becomes_the_tasks_executor_config(load, tmp_path) -> None:
    template = tmp_path / "pod-template.yaml"
    template.write_text("apiVersion: v1\nkind: Pod\n")
    loaded = load(pod_templates={"monitor": str(template)})
    monitor = build_dag(build_monitor_plan(loaded, "/ws", "/ws/labels"))
    configs = {t.task_id: t.executor_config for t in monitor.tasks}
    assert configs == {"monitor": {"pod_template_file": str(template)}, "request_retrain": {}}
