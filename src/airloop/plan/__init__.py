"""spec -> plan: a neutral description of the DAGs (tasks, edges, schedule, assets). No Airflow import."""

from airloop.plan.build import build_monitor_plan, build_score_plan, build_train_plan
from airloop.plan.model import APPROVAL, RUN_ON_SAME_INPUTS, Plan, PlanTask
from airloop.plan.names import dag_id, dag_ids, monitor_dag_id, score_dag_id, train_dag_id

__all__ = [
    "APPROVAL",
    "RUN_ON_SAME_INPUTS",
    "Plan",
    "PlanTask",
    "build_monitor_plan",
    "build_score_plan",
    "build_train_plan",
    "dag_id",
    "dag_ids",
    "monitor_dag_id",
    "score_dag_id",
    "train_dag_id",
]
