"""Shared test settings: no example DAGs, no telemetry, quiet Airflow."""

import os

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


# xdist workers with work stealing (`make test`): each worker starts on its share of the list (in
# order) and an idle one steals from the end of another's. The two tests that bring up a whole
# stack (airflow standalone + a server) and the demo runs are the long ones; run side by side they
# fight for the two cores, so the live demo has a lane of its own, the quick demo, the stack test
# and the Celery test run one after another in a second lane, and everything else is dealt by a
# rough cost (seconds, measured on 2 cores) to the least loaded lane. Order within a file is kept.
PINNED = (
    ("tests/examples/test_live_demo.py", 0, 250),
    ("tests/examples/test_flights_demo.py", 1, 120),
    ("tests/e2e/test_stack.py", 1, 80),
    ("tests/services/test_celery.py", 1, 60),
)
COST = (
    ("tests/integration/", 25),
    ("tests/services/", 20),
    ("tests/e2e/", 8),
    ("tests/unit/airflow/", 3),
)


def pytest_collection_modifyitems(config, items):
    def path(item) -> str:
        return item.nodeid.replace("\\", "/")

    def cost(item) -> float:
        return next((c for prefix, c in COST if path(item).startswith(prefix)), 0.1)

    # the workers collect (and so order) the tests; xdist tells them how many they are
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    lanes: list[list] = [[] for _ in range(workers)]
    load = [0.0] * workers
    rest = []
    for item in items:
        pin = next(((lane, c) for prefix, lane, c in PINNED if path(item).startswith(prefix)), None)
        if pin is None:
            rest.append(item)
        else:
            lane = min(pin[0], workers - 1)
            lanes[lane].append(item)
            load[lane] += pin[1]
    for item in sorted(rest, key=cost, reverse=True):  # stable: a file's tests stay in order
        lane = min(range(workers), key=lambda i: (load[i], len(lanes[i])))
        lanes[lane].append(item)
        load[lane] += cost(item)
    # worksteal hands worker i the items [i*n//N, (i+1)*n//N): give each lane exactly that many,
    # moving the cheapest tests of long lanes to short ones
    n = len(items)
    sizes = [(i + 1) * n // workers - i * n // workers for i in range(workers)]
    spare = [it for lane, size in zip(lanes, sizes, strict=True) for it in lane[size:]]
    for lane, size in zip(lanes, sizes, strict=True):
        del lane[size:]
        while len(lane) < size:
            lane.append(spare.pop())
    items[:] = [it for lane in lanes for it in lane]
