"""spec -> train plan: task order and wiring, JSON round trip, what clearing a task reruns."""

from __future__ import annotations

import json

import pytest

from airloop.plan import Plan, PlanTask, build_train_plan

ORDER = [
    "ingest",
    "validate",
    "split",
    "tune_plan",
    "tune_trials",
    "tune_select",
    "train",
    "evaluate",
    "gate",
    "refit",
    "register",
    "promote",
]


@pytest.fixture
def loaded(load):
    return load(
        schedule="@weekly",
        retries=3,
        retry_delay_seconds=5,
        candidates=[
            {"name": "lr", "estimator": "sklearn.linear_model.LogisticRegression"},
            {"name": "tree", "estimator": "sklearn.tree.DecisionTreeClassifier"},
        ],
    )


@pytest.fixture
def plan(loaded) -> Plan:
    return build_train_plan(loaded, "/tmp/ws")


def test_task_order_runs_ingest_to_promote(plan):
    assert [t.task_id for t in plan.tasks] == ORDER
    assert all(t.kind == t.task_id for t in plan.tasks)


def test_tasks_form_one_chain(plan):
    assert plan.task("ingest").upstream == ()
    for prev, task in zip(ORDER, ORDER[1:], strict=False):
        assert plan.task(task).upstream == (prev,), task
        assert plan.tasks_after(prev) == [task]
    assert plan.tasks_after("promote") == []


def test_tuning_is_mapped_and_collected(plan):
    trials, select = plan.task("tune_trials"), plan.task("tune_select")

    assert trials.mapped
    assert trials.refs_from == "split"
    assert select.collects == "tune_trials"
    assert select.refs_from == "split"
    assert not select.mapped
    assert [t.task_id for t in plan.tasks if t.mapped] == ["tune_trials"]


def test_plan_carries_the_spec_settings(plan, loaded):
    assert plan.dag_id == "demo__train"
    assert plan.project == "demo"
    assert plan.spec_path == str(loaded.path)
    assert plan.workspace == "/tmp/ws"
    assert (plan.schedule, plan.retries, plan.retry_delay_seconds) == ("@weekly", 3, 5)
    assert plan.tags == ("airloop", "demo", "train")
    assert "2 candidate(s)" in plan.description
    assert "10 trials each" in plan.description


def test_json_round_trip_is_equal(plan):
    text = plan.to_json()

    again = Plan.from_json(text)

    assert again == plan
    assert isinstance(again.tasks[0], PlanTask)
    assert isinstance(again.task("split").upstream, tuple)
    assert again.to_json() == text
    assert json.loads(text)["tasks"][4]["mapped"] is True


def test_downstream_of_train_is_train_to_promote(plan):
    assert plan.downstream("train") == ["train", "evaluate", "gate", "refit", "register", "promote"]


def test_downstream_of_split_includes_tuning(plan):
    assert plan.downstream("split") == ORDER[2:]
    assert plan.downstream("promote") == ["promote"]


def test_refit_on_all_data_adds_its_task_after_the_gate(load) -> None:
    plan = build_train_plan(load(), "/tmp/ws")  # the default: refit on all rows
    assert [t.task_id for t in plan.tasks][-4:] == ["gate", "refit", "register", "promote"]
    assert "refit" not in [t.task_id for t in build_train_plan(load(promotion={"refit": "holdout"}), "/tmp/ws").tasks]


def test_a_deploy_task_follows_promote_only_with_deploy(load, tmp_path):
    assert "deploy" not in [t.task_id for t in build_train_plan(load(), "/tmp/ws").tasks]
    plan = build_train_plan(load(deploy={"gitops_dir": str(tmp_path), "image": "registry.example.com/a/b"}), "/ws")
    assert [t.task_id for t in plan.tasks][-2:] == ["promote", "deploy"]
    assert plan.task("deploy").upstream == ("promote",)
    assert plan.tasks_after("promote") == ["deploy"]
    assert "GitOps" in plan.task("deploy").doc
    assert Plan.from_json(plan.to_json()) == plan


def test_a_score_dag_exists_only_with_a_scoring_landing_folder(load) -> None:
    from airloop.plan import build_score_plan, dag_ids

    assert build_score_plan(load(), "/ws") is None
    loaded = load(scoring={"incoming": "to-score", "output": "scores"})
    plan = build_score_plan(loaded, "/ws")
    assert plan is not None
    assert plan.dag_id == f"{loaded.spec.name}__score"
    assert [t.task_id for t in plan.tasks] == ["score"]
    assert plan.schedule is None
    assert plan.schedule_assets == (f"airloop://{loaded.spec.name}/to-score",)
    assert plan.watched_folders == ((plan.schedule_assets[0], str(loaded.resolve("to-score"))),)
    assert "_READY" in plan.task("score").doc
    assert Plan.from_json(plan.to_json()) == plan
    assert dag_ids("p") == ("p__train", "p__monitor")
    assert dag_ids("p", score=True) == ("p__train", "p__monitor", "p__score")
    queued = build_score_plan(load(scoring={"incoming": "in", "output": "out"}, queues={"score": "batch"}), "/ws")
    assert queued is not None
    assert queued.task("score").queue == "batch"


def test_queues_from_the_spec_reach_their_tasks_and_survive_json(load) -> None:
    from airloop.plan import build_monitor_plan

    loaded = load(queues={"tune_trials": "cpu", "monitor": "small"})
    plan = build_train_plan(loaded, "/ws")
    assert {t.task_id: t.queue for t in plan.tasks if t.queue} == {"tune_trials": "cpu"}
    assert Plan.from_json(plan.to_json()) == plan
    monitor = build_monitor_plan(loaded, "/ws", "/ws/labels")
    assert [(t.task_id, t.queue) for t in monitor.tasks] == [("monitor", "small"), ("request_retrain", None)]


def test_a_pod_template_reaches_its_task_as_an_absolute_path(load, tmp_path) -> None:
    from airloop.plan import build_monitor_plan

    (tmp_path / "pod.yaml").write_text("kind: Pod\n")
    loaded = load(pod_templates={"monitor": str(tmp_path / "pod.yaml")})
    monitor = build_monitor_plan(loaded, "/ws", "/ws/labels")
    assert [(t.task_id, t.pod_template) for t in monitor.tasks] == [
        ("monitor", str(tmp_path / "pod.yaml")),
        ("request_retrain", None),
    ]
    assert Plan.from_json(monitor.to_json()) == monitor


def test_engine_spark_marks_the_tasks_that_read_data_and_carries_the_connection(load) -> None:
    from airloop.plan import build_score_plan

    assert not any(t.spark for t in build_train_plan(load(), "/ws").tasks)
    loaded = load(engine="spark", spark={"conn_id": "lake", "config": {"spark.executor.memory": "4g"}})
    plan = build_train_plan(loaded, "/ws")
    assert [t.task_id for t in plan.tasks if t.spark] == ["ingest", "validate"]
    assert plan.spark == {"conn_id": "lake", "config": {"spark.executor.memory": "4g"}}
    assert Plan.from_json(plan.to_json()) == plan
    score = build_score_plan(load(engine="spark", scoring={"incoming": "in", "output": "out"}), "/ws")
    assert score is not None
    assert [t.task_id for t in score.tasks if t.spark] == ["score"]
