"""Shared test settings: no example DAGs, no telemetry, quiet Airflow."""

import os

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


# Two xdist workers with work stealing (`make test`): each worker starts on half of the list and an
# idle one steals from the end of the other's. So that neither half holds all the long tests, tests
# are ordered by a rough cost (seconds, measured on 2 cores), dealt alternately into two halves, and
# the halves joined. Order within a file is kept.
COST = (
    ("tests/examples/test_live_demo.py", 250),
    ("tests/examples/test_flights_demo.py", 120),
    ("tests/e2e/test_stack.py", 80),
    ("tests/services/test_celery.py", 60),
    ("tests/integration/", 25),
    ("tests/services/", 20),
    ("tests/e2e/", 8),
    ("tests/unit/airflow/", 3),
)


def pytest_collection_modifyitems(config, items):
    def cost(item) -> float:
        path = item.nodeid.replace("\\", "/")
        return next((c for prefix, c in COST if path.startswith(prefix)), 0.1)

    ranked = sorted(items, key=cost, reverse=True)  # stable: a file's tests stay in order
    halves: tuple[list, list] = ([], [])
    load = [0.0, 0.0]
    for item in ranked:
        side = 0 if (load[0], len(halves[0])) <= (load[1], len(halves[1])) else 1
        halves[side].append(item)
        load[side] += cost(item)
    # worksteal splits by count: pad the shorter half with the cheapest tests of the longer one
    while len(halves[0]) - len(halves[1]) > 1:
        halves[1].append(halves[0].pop())
    while len(halves[1]) - len(halves[0]) > 1:
        halves[0].append(halves[1].pop())
    items[:] = halves[0] + halves[1]
