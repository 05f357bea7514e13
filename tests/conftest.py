"""Shared test settings: no example DAGs, no telemetry, quiet Airflow."""

import os

import pytest

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


# xdist workers with work stealing (`make test`): each worker starts on its share of the list (in
# order) and an idle one steals from the end of another's. So that no share holds all the long tests,
# files are ordered by a rough cost (seconds per test, measured on 2 cores), dealt whole into one lane
# per worker by load, and the lanes joined. Order within a file is kept.
COST = (  # halves of one full run's durations (2 cores, 3 workers, a busy machine: 29.5 min), rounded
    ("tests/examples/test_live_demo.py", 140),
    ("tests/examples/test_flights_demo.py", 115),
    ("tests/examples/test_zoo.py", 38),
    ("tests/reliability/test_run_dies_with_its_command.py", 40),
    ("tests/reliability/test_compaction_loses_nothing.py", 19),
    ("tests/reliability/test_ready_marker.py", 15),
    ("tests/reliability/", 5),
    ("tests/e2e/test_stack.py", 80),  # two scenarios on one stack (each alone paid its own start and stop)
    ("tests/e2e/test_canary.py", 25),
    ("tests/e2e/test_planted_payload.py", 25),
    ("tests/e2e/test_shadow.py", 17),
    ("tests/e2e/test_serve_http.py::test_two_replicas", 37),
    ("tests/e2e/test_swap_and_durability.py", 25),
    ("tests/services/test_celery.py", 55),
    ("tests/services/test_celery_hpo.py", 55),
    ("tests/services/test_postgres.py", 36),
    ("tests/services/test_score_sql.py", 10),
    ("tests/integration/test_train_dag.py", 36),
    ("tests/integration/test_fresh_venv_load.py", 29),
    ("tests/integration/test_families.py", 20),
    ("tests/integration/test_backtest_equals_monitor.py", 72),
    ("tests/integration/test_monitor_dag.py", 47),
    ("tests/integration/test_gitops_deploy.py", 35),
    ("tests/integration/test_live_promotion.py", 32),
    ("tests/integration/test_backtest.py", 25),
    ("tests/integration/test_cli_errors.py", 20),
    ("tests/integration/test_spark_engine.py", 25),  # a JVM per Spark session; the train DAG on Spark (143 s alone)
    ("tests/integration/test_spark_contract.py", 8),
    ("tests/integration/test_labels_first_contact.py", 12),
    ("tests/integration/test_staleness_at_training.py", 12),
    ("tests/integration/", 12),
    ("tests/services/", 14),
    ("tests/e2e/", 8),
    ("tests/unit/monitoring/test_report.py", 4),
    ("tests/unit/airflow/", 3),
)


# Tests that must not run beside each other, each group in a lane of its own, in turn: the two
# flights demos each train the whole example (side by side on two cores they slowed each other to
# 296 s and 255 s); the live stacks (airflow standalone, Celery workers) each start a scheduler,
# an API server and workers, and their timing suffered when two came up at once.
TOGETHER = (
    ("tests/examples/test_live_demo.py", "tests/examples/test_flights_demo.py"),
    ("tests/e2e/test_stack.py", "tests/services/test_celery.py"),
    ("tests/services/test_celery_hpo.py",),  # a scheduler and two workers, one killed on a heartbeat timeout
)


# The slow engines' lane: the flights demos, the zoo, the live stacks (airflow standalone, Celery
# workers) and real Spark. `make test` leaves them out (-m "not engines") so that it stays near ten
# minutes on two cores; `make test-engines` runs them, and CI (.ci/run) runs both.
ENGINES = (
    "tests/examples/",
    "tests/e2e/test_stack.py",
    "tests/services/test_celery.py",
    "tests/services/test_celery_hpo.py",
    "tests/integration/test_spark_engine.py",
    "tests/integration/test_spark_contract.py",
)


def pytest_itemcollected(item):
    if item.nodeid.replace("\\", "/").startswith(ENGINES):
        item.add_marker(pytest.mark.engines)


@pytest.hookimpl(trylast=True)  # after -m has deselected: the lanes are dealt from what runs
def pytest_collection_modifyitems(config, items):
    def cost(item) -> float:
        path = item.nodeid.replace("\\", "/")
        return next((c for prefix, c in COST if path.startswith(prefix)), 0.1)

    if "PYTEST_XDIST_WORKER_COUNT" not in os.environ:  # one process runs the files in their own order
        return
    # One lane per xdist worker (`make test` sets the count; every worker computes the same order).
    # worksteal starts worker i on lane i and lets an idle worker steal from the end of another's.
    # So that no lane holds all the long tests, files are dealt by a rough cost (seconds, above)
    # into the lane with the least load, after the groups that must run in turn.
    count = max(1, int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    lanes: list[list] = [[] for _ in range(count)]
    load = [0.0] * count
    grouped = set()
    for i, group in enumerate(TOGETHER):
        members = [it for it in items if it.nodeid.startswith(group)]
        lanes[i % count] += sorted(members, key=cost, reverse=True)
        load[i % count] += sum(cost(it) for it in members)
        grouped.update(id(it) for it in members)
    # a file is dealt whole, in its own order: its module-scoped fixtures (a trained project, a
    # running server) are then made once, not once per lane its tests landed in
    files: dict[str, list] = {}
    for item in items:
        if id(item) not in grouped:
            files.setdefault(item.nodeid.split("::")[0], []).append(item)
    for members in sorted(files.values(), key=lambda ms: sum(map(cost, ms)), reverse=True):  # stable
        lane = min(range(count), key=lambda i: (load[i], len(lanes[i])))
        lanes[lane] += members
        load[lane] += sum(map(cost, members))
    # worksteal hands worker i the items [i*n//N, (i+1)*n//N): give each lane exactly that many,
    # moving the cheapest tests of long lanes to short ones
    n = len(items)
    sizes = [(i + 1) * n // count - i * n // count for i in range(count)]
    spare = [it for lane, size in zip(lanes, sizes, strict=True) for it in lane[size:]]
    for lane, size in zip(lanes, sizes, strict=True):
        del lane[size:]
        while len(lane) < size:
            lane.append(spare.pop())
    items[:] = [it for lane in lanes for it in lane]
