"""Workspace, embedded Airflow and stack profiles."""
