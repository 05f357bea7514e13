"""plan -> Airflow 3 DAGs (airflow.sdk). The only package of airloop that imports Airflow."""
