"""Serving over HTTP: the app factory and its routers, a model holder per alias, request schemas,
micro-batching into the prediction log, Prometheus metrics. Never imports Airflow."""
