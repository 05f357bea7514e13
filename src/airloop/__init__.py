"""airloop: closed-loop MLOps on Apache Airflow.

Kept import-light on purpose: the DAG file imports this package at parse time.
"""

__version__ = "0.1.0"
