"""Shared test settings: no example DAGs, no telemetry, quiet Airflow."""

import os

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


# xdist workers with work stealing (`make test`): each worker starts on its share of the list (in
# order) and an idle one steals from the end of another's. So that no share holds all the long tests,
# tests are ordered by a rough cost (seconds, measured on 2 cores), dealt into one lane per worker by
# load, and the lanes joined. Order within a file is kept.
COST = (
    ("tests/examples/test_live_demo.py", 250),
    ("tests/examples/test_flights_demo.py", 120),
    ("tests/examples/test_zoo.py", 30),
    ("tests/reliability/test_run_dies_with_its_command.py", 60),
    ("tests/reliability/", 15),
    ("tests/e2e/test_stack.py", 80),
    ("tests/e2e/test_approval.py", 80),
    ("tests/e2e/test_canary.py", 25),
    ("tests/e2e/test_shadow.py", 20),
    ("tests/services/test_celery.py", 60),
    ("tests/integration/", 25),
    ("tests/services/", 20),
    ("tests/e2e/", 8),
    ("tests/unit/airflow/", 3),
)


TOGETHER = ("tests/examples/test_live_demo.py", "tests/examples/test_flights_demo.py")


def pytest_collection_modifyitems(config, items):
    def cost(item) -> float:
        path = item.nodeid.replace("\\", "/")
        return next((c for prefix, c in COST if path.startswith(prefix)), 0.1)

    # Two lanes, one per worker (`make test`). With three workers, worksteal's thirds give the
    # live demo a worker, the quick demo, stack and Celery tests a second one after a few unit tests,
    # and cheap tests to the third, which steals. Measured (fresh clone, 2 cores): pytest 8:18 this
    # way; 8:53 with two workers; 11:24 with three lanes (both stacks came up side by side).
    lanes: list[list] = [[], []]
    load = [0.0] * len(lanes)
    # The two flights demos each train the whole example: side by side on two cores they slowed
    # each other to 296 s and 255 s (one measured run). One lane runs them in turn.
    together = [it for it in items if it.nodeid.startswith(TOGETHER)]
    lanes[0] = sorted(together, key=cost, reverse=True)
    load[0] = sum(cost(it) for it in together)
    for item in sorted((it for it in items if it not in together), key=cost, reverse=True):  # stable
        lane = min(range(len(lanes)), key=lambda i: (load[i], len(lanes[i])))
        lanes[lane].append(item)
        load[lane] += cost(item)
    # worksteal hands worker i the items [i*n//N, (i+1)*n//N): give each lane exactly that many,
    # moving the cheapest tests of long lanes to short ones
    n = len(items)
    sizes = [(i + 1) * n // len(lanes) - i * n // len(lanes) for i in range(len(lanes))]
    spare = [it for lane, size in zip(lanes, sizes, strict=True) for it in lane[size:]]
    for lane, size in zip(lanes, sizes, strict=True):
        del lane[size:]
        while len(lane) < size:
            lane.append(spare.pop())
    items[:] = [it for lane in lanes for it in lane]
