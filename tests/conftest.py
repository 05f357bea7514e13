"""Shared test settings: no example DAGs, no telemetry, quiet Airflow."""

import os

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


# The slowest files first: with two xdist workers (`--dist load`), a long test that starts last
# would leave one core idle at the end. Order within a file is kept.
SLOW_FIRST = (
    "tests/examples/test_live_demo.py",
    "tests/e2e/test_stack.py",
    "tests/examples/test_flights_demo.py",
    "tests/services/test_celery.py",
    "tests/integration/",
    "tests/services/",
    "tests/e2e/",
)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.nodeid.replace("\\", "/")
        return next((i for i, prefix in enumerate(SLOW_FIRST) if path.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)
