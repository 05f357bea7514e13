"""spec -> plan: a neutral description of the DAGs (tasks, edges, schedule). No Airflow import."""

from airloop.plan.build import build_monitor_plan, build_train_plan
from airloop.plan.model import Plan, PlanTask

__all__ = ["Plan", "PlanTask", "build_monitor_plan", "build_train_plan"]
