"""load_spec: a valid spec loads; every problem is reported at once with file, line and fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from airloop.errors import SpecError
from airloop.spec import LoadedSpec, load_spec

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_minimal_spec_loads_with_defaults(write_spec):
    path = write_spec()

    loaded = load_spec(path)

    assert isinstance(loaded, LoadedSpec)
    assert loaded.path == path.resolve()
    assert loaded.root == path.resolve().parent
    spec = loaded.spec
    assert (spec.name, spec.task, spec.data.target) == ("demo", "binary", "y")
    assert spec.candidates[0].estimator == "sklearn.linear_model.LogisticRegression"
    assert spec.retries == 1
    assert spec.split.method == "random"
    # derived views read the task's defaults
    assert spec.metric_names == ["roc_auc", "f1", "accuracy", "log_loss"]
    assert spec.promotion_metric == "roc_auc"
    assert spec.tuning_direction == "maximize"


def test_resolve_is_relative_to_the_spec_folder(load, tmp_path):
    loaded = load()

    assert loaded.resolve("data/a.csv") == tmp_path / "data" / "a.csv"
    assert loaded.resolve(str(tmp_path / "x.csv")) == tmp_path / "x.csv"


def test_the_flights_example_loads():
    loaded = load_spec(EXAMPLES / "flights")

    assert loaded.spec.name == "flights"
    assert [c.name for c in loaded.spec.candidates] == ["hgb", "logreg"]


def test_directory_path_resolves_to_airloop_yaml(write_spec, tmp_path):
    write_spec()

    loaded = load_spec(tmp_path)

    assert loaded.path == (tmp_path / "airloop.yaml").resolve()


def test_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "nope.yaml")

    (problem,) = info.value.problems
    assert problem.file.endswith("nope.yaml")
    assert problem.line is None
    assert "file not found" in problem.message
    assert "airloop.yaml" in problem.fix
    assert info.value.exit_code == 2


def test_directory_without_airloop_yaml_names_the_expected_file(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)

    assert info.value.problems[0].file == str(tmp_path / "airloop.yaml")


def test_malformed_yaml_reports_the_line(write_spec, spec_problems):
    path = write_spec(text="name: demo\ntask: binary\n  data: [oops\n")

    (problem,) = spec_problems(path)

    assert problem.line == 3
    assert problem.message.startswith("malformed YAML")
    assert "YAML syntax" in problem.fix
    assert f"{path}:3" in problem.format()


def test_a_file_that_is_not_a_mapping_is_refused(write_spec, spec_problems):
    path = write_spec(text="- name: demo\n- task: binary\n")

    (problem,) = spec_problems(path)

    assert problem.line == 1
    assert "mapping" in problem.message


def test_unknown_key_reports_file_line_key_and_did_you_mean(write_spec, spec_problems, line_of):
    path = write_spec(schedul="@daily")

    (problem,) = spec_problems(path)

    assert problem.file == str(path)
    assert problem.line == line_of(path, "schedul:")
    assert problem.where == "schedul"
    assert "unknown key `schedul`" in problem.message
    assert "did you mean `schedule`?" in problem.fix
    assert "retries" in problem.fix  # the allowed keys at that level
    assert f"{path}:{problem.line} [schedul]" in problem.format()


def test_unknown_nested_key_lists_the_keys_of_its_own_section(write_spec, spec_problems, line_of):
    path = write_spec(candidates=[{"name": "lr", "estimator": "sklearn.linear_model.LogisticRegression", "paramz": 3}])

    problem = spec_problems(path).at("candidates[0].paramz")

    assert problem.line == line_of(path, "paramz:")
    assert "did you mean `params`?" in problem.fix
    assert "encoding" in problem.fix
    assert "retries" not in problem.fix


def test_unknown_key_without_a_close_match_still_lists_allowed_keys(write_spec, spec_problems):
    path = write_spec(tuning={"zzz": 1})

    problem = spec_problems(path).at("tuning.zzz")

    assert "did you mean" not in problem.fix
    assert "allowed keys here: trials, batch_size" in problem.fix


def test_unknown_key_with_a_block_value_is_located_at_the_key(write_spec, spec_problems, line_of):
    path = write_spec(data={"featurs": {"numeric": ["a"]}})

    problem = spec_problems(path).at("data.featurs")

    assert problem.line == line_of(path, "featurs:")


def test_wrong_type_reports_line_and_fix(write_spec, spec_problems, line_of):
    path = write_spec(retries="lots")

    (problem,) = spec_problems(path)

    assert problem.where == "retries"
    assert problem.line == line_of(path, "retries: lots")
    assert "integer" in problem.message
    assert "'lots'" in problem.message
    assert "int" in problem.fix


def test_value_not_in_the_allowed_set_lists_the_choices(write_spec, spec_problems, line_of):
    path = write_spec(task="binarry")

    problem = spec_problems(path).at("task")

    assert problem.line == line_of(path, "task: binarry")
    assert "'binarry' is not allowed" in problem.message
    assert "'binary'" in problem.fix
    assert "'regression'" in problem.fix


def test_name_with_the_wrong_form_shows_the_pattern(write_spec, spec_problems):
    path = write_spec(name="My Project")

    problem = spec_problems(path).at("name")

    assert "wrong form" in problem.message
    assert "^[a-z]" in problem.fix


def test_missing_required_key(write_spec, spec_problems):
    path = write_spec(drop=("data.target",))

    problem = spec_problems(path).at("data.target")

    assert "required key `target` is missing" in problem.message
    assert "add `target:`" in problem.fix
    assert problem.line is not None


def test_missing_top_level_key(write_spec, spec_problems):
    path = write_spec(drop=("candidates",))

    problem = spec_problems(path).at("candidates")

    assert "`candidates` is missing" in problem.message


def test_multiple_problems_are_reported_in_one_error(write_spec, spec_problems):
    path = write_spec(
        text=textwrap.dedent(
            """\
            name: demo
            task: binary
            data:
              source: {path: data/*.csv}
              target: y
              transfrom: x:y
            candidates:
              - name: lr
                estimator: sklearn.linear_model.LogisticRegression
                scale: maybe
            retries: lots
            tuning:
              trails: 3
            """
        )
    )

    problems = spec_problems(path)

    assert len(problems) >= 3
    assert {p.where for p in problems} >= {"data.transfrom", "candidates[0].scale", "retries", "tuning.trails"}
    assert all(p.line for p in problems)
    lines = {p.where: p.line for p in problems}
    assert lines == {"data.transfrom": 6, "candidates[0].scale": 10, "retries": 11, "tuning.trails": 13}


def test_spec_error_message_lists_every_problem(write_spec):
    path = write_spec(retries="lots", schedul="@daily")

    with pytest.raises(SpecError) as info:
        load_spec(path)

    text = info.value.format()
    assert text.startswith("invalid spec: 2 problem(s)")
    assert "[retries]" in text
    assert "[schedul]" in text
    assert text.count("fix:") == 2


def test_rule_problems_are_reported_together(write_spec, spec_problems):
    path = write_spec(split={"method": "time"}, schedule="whenever", evaluation={"metrics": ["rmse"]})

    problems = spec_problems(path)

    assert {"split.method", "schedule", "evaluation.metrics[0]"} <= {p.where for p in problems}
    assert all(p.line for p in problems)


def test_spec_hash_is_stable_and_ignores_layout(write_spec, tmp_path):
    first = load_spec(write_spec()).spec_hash
    again = load_spec(write_spec()).spec_hash
    (tmp_path / "other").mkdir()
    reformatted = tmp_path / "other" / "airloop.yaml"
    reformatted.write_text(
        "# same spec, other layout\n"
        "candidates: [{estimator: sklearn.linear_model.LogisticRegression, name: lr}]\n"
        "data: {target: y, source: {path: data/*.csv}}\n"
        "task: binary\nname: demo\n"
    )

    assert first == again == load_spec(reformatted).spec_hash
    assert len(first) == 16
    assert int(first, 16) >= 0


def test_spec_hash_changes_with_the_spec(write_spec):
    before = load_spec(write_spec()).spec_hash
    after = load_spec(write_spec(retries=2)).spec_hash

    assert before != after


def test_duplicate_keys_are_refused_with_both_lines(tmp_path):
    path = tmp_path / "airloop.yaml"
    path.write_text(
        "name: demo\n"  # 1
        "task: binary\n"  # 2
        "data:\n"  # 3
        "  source: {path: data/*.csv}\n"  # 4
        "  target: y\n"  # 5
        "  target: z\n"  # 6
        "candidates:\n"  # 7
        "  - name: lr\n"  # 8
        "    estimator: sklearn.linear_model.LogisticRegression\n"  # 9
        "serving:\n"  # 10
        "  max_records: 10\n"  # 11
        "serving:\n"  # 12
        "  poll_seconds: 1\n"  # 13
    )
    with pytest.raises(SpecError) as err:
        load_spec(path)
    problems = {p.where: p for p in err.value.problems}
    assert set(problems) == {"data.target", "serving"}
    assert problems["data.target"].line == 6
    assert "also at line 5" in problems["data.target"].message
    assert problems["serving"].line == 12
    assert "lines 10 and 12" in problems["serving"].fix


def test_deployment_settings_that_cannot_work_are_named(write_spec):
    path = write_spec(serving={"canary": {"percent": 150}, "shadow": "champion", "shadow_share": 0})

    with pytest.raises(SpecError) as info:
        load_spec(path)

    where = {p.where for p in info.value.problems}
    assert where == {"serving.canary.percent", "serving.shadow", "serving.shadow_share"}
    good = load_spec(write_spec(serving={"canary": {"percent": 10}, "shadow": "challenger"})).spec.serving
    assert (good.canary.alias, good.canary.percent, good.shadow, good.batch_errors) == (
        "canary",
        10,
        "challenger",
        "partial",
    )
