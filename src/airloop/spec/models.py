"""The airloop.yaml schema: frozen pydantic models that refuse unknown keys.

Cross-field checks that need a location and a fix live in ``rules.py``; this module only says
what shape each section has and what the defaults are.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Task = Literal["binary", "multiclass", "regression"]
Kind = Literal["numeric", "categorical", "boolean", "datetime"]
Rule = Literal["missing_column", "extra_column", "dtype", "null_rate", "range", "unseen_category", "missing_target"]
Severity = Literal["block", "warn"]
QueueName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:@-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RDataset(_Model):
    package: str = Field(description="R package name, e.g. datasets")
    item: str = Field(description="data set inside the package, e.g. iris")


class Source(_Model):
    path: str | None = Field(None, description="file path or glob, relative to the spec's folder")
    format: Literal["auto", "csv", "parquet"] = "auto"
    encoding: str = Field("utf-8", description="a CSV file's text encoding (Python's name: utf-8, latin-1, cp1252)")
    rdatasets: RDataset | None = None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(
                f"unknown encoding {value!r}: use a Python codec name such as utf-8, latin-1, cp1252"
            ) from None
        return value


class Features(_Model):
    numeric: list[str] | None = None
    categorical: list[str] | None = None
    exclude: list[str] = Field(default_factory=list)


class Data(_Model):
    source: Source
    target: str
    features: Features = Features()
    transform: str | None = Field(None, description="module:function taking and returning a frame")
    positive_class: str | int | bool | None = Field(
        None,
        description="a binary task's positive class, as the target holds it; inferred when absent "
        "(true/1/yes/y/positive, else the minority class)",
    )
    missing_target: Literal["drop", "fail"] = "drop"
    incoming: str | None = Field(
        None, description="landing folder: files dropped here, then a _READY marker, start a train run"
    )
    window_days: float | None = Field(None, gt=0, description="train on the last N days only (by split.column)")
    spark_transform: str | None = Field(
        None,
        description="engine: spark: module:function taking the source as a Spark DataFrame (and the session) "
        "and returning the training table (joins, aggregations); it runs on Spark, the table is written as Parquet",
    )
    max_train_rows: int = Field(
        1_000_000,
        ge=100,
        description="engine: spark: the candidates train on a sample of at most this many rows of the training "
        "table (stratified by the target for classification); validation and scoring see every row",
    )


class ColumnContract(_Model):
    kind: Kind
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None


class Contract(_Model):
    columns: dict[str, ColumnContract] | None = Field(
        None, description="declared contract; inferred from the first accepted data when absent"
    )
    range_tolerance: float = Field(0.1, ge=0, description="share of the reference range allowed beyond it")
    null_rate_tolerance: float = Field(0.05, ge=0, le=1)
    out_of_range_tolerance: float = Field(0.0, ge=0, le=1, description="share of rows allowed outside the range")
    unseen_category_tolerance: float = Field(0.0, ge=0, le=1, description="share of rows allowed with new categories")
    example_values: int = Field(5, ge=1, le=50)
    confidence: float = Field(
        0.999,
        gt=0.5,
        lt=1,
        description="a batch's null rate or unseen-category share breaks its bound only when it is above it "
        "at this confidence (a Wilson bound on the batch's rows): sampling noise in a small batch is not a break",
    )
    severity: dict[Rule, Severity] = Field(
        default_factory=dict,
        description="block (refuse the batch) or warn (train on it, report it) per rule; defaults: null_rate "
        "warns unless the rise is over null_rate_block_margin, every other rule blocks",
    )
    column_severity: dict[str, dict[Rule, Severity]] = Field(
        default_factory=dict, description="severity per column and rule, over `severity`"
    )
    null_rate_block_margin: float = Field(
        0.25, ge=0, le=1, description="a null rate this far above its bound blocks even where null_rate warns"
    )
    learn_time: bool = Field(
        True,
        description="an inferred contract learns from its reference, replayed in time order by split.column, how "
        "many new categories and out-of-range values a healthy batch brings and which numeric columns trend; "
        "false judges fixed ranges and the tolerances alone, as before",
    )


class Split(_Model):
    method: Literal["time", "random"] = "random"
    column: str | None = None
    holdout_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 0


class SearchParam(_Model):
    type: Literal["int", "float", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None


class Candidate(_Model):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    estimator: str = Field(description="import path, e.g. sklearn.linear_model.LogisticRegression")
    params: dict[str, Any] = Field(default_factory=dict)
    search: dict[str, SearchParam] = Field(default_factory=dict)
    encoding: Literal["onehot", "ordinal", "native"] = Field(
        "onehot",
        description="categories as one-hot columns, ordinal codes, or codes the estimator splits on as "
        "categories (native: XGBoost, LightGBM, HistGradientBoosting)",
    )
    impute: bool = Field(
        True, description="fill missing numbers with the median; false leaves NaN for estimators that handle it"
    )
    max_categories: int | None = Field(
        None,
        ge=2,
        description="codes per categorical column, rare values sharing one (default: 32 one-hot, 1000 ordinal)",
    )
    scale: bool = True
    trusted_types: list[str] = Field(
        default_factory=list,
        description="types outside scikit-learn's own that this estimator stores (e.g. "
        "sklearn.neighbors._kd_tree.KDTree), reviewed and accepted in its registered form",
    )


class Tuning(_Model):
    trials: int = Field(10, ge=1, le=1000, description="Optuna trials per candidate")
    batch_size: int = Field(4, ge=1, description="trials per mapped Airflow task")
    metric: str | None = None
    direction: Literal["maximize", "minimize"] | None = None
    timeout_seconds: float | None = Field(None, gt=0)
    sample_rows: int | None = Field(50_000, ge=100)
    validation_fraction: float = Field(0.25, gt=0, lt=1)
    cv_folds: int = Field(
        5,
        ge=0,
        le=20,
        description="cross-validate each trial with k folds when the tuning data is small (0: never)",
    )
    cv_max_rows: int = Field(
        5000, ge=0, description="cross-validate when the tuning data has at most this many rows; above, one split"
    )
    seed: int = 0


class Evaluation(_Model):
    metrics: list[str] | None = None


class Threshold(_Model):
    min: float | None = None
    max: float | None = None


class LivePromotion(_Model):
    """How the monitor judges a shadow challenger against the champion on the same live requests."""

    min_labeled: int = Field(500, ge=20, description="labeled rows both models answered before judging")
    min_improvement: float = Field(0.0, ge=0, description="in the promotion metric's units")
    test: Literal["bootstrap", "none"] = Field(
        "bootstrap",
        description="bootstrap: the lower end of the difference's confidence interval must clear "
        "min_improvement; none: the observed difference must",
    )
    confidence: float = Field(0.95, gt=0.5, lt=1)
    action: Literal["report", "promote"] = Field(
        "report", description="a challenger that wins: say so in the monitor's verdict (report), or make it champion"
    )


class CanaryPromotion(_Model):
    """How the monitor judges a canary (serving.canary) against the champion on live traffic."""

    min_labeled: int = Field(500, ge=20, description="labeled canary answers before it can be promoted")
    max_drop: float = Field(
        0.02, ge=0, description="roll back when the canary's live metric is worse than the champion's by more"
    )
    max_error_rate: float = Field(
        0.01, ge=0, le=1, description="roll back when the canary fails on a larger share of its records"
    )
    min_requests: int = Field(20, ge=1, description="records the canary saw before its error rate counts")


class Promotion(_Model):
    metric: str | None = None
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    min_improvement: float = Field(0.0, ge=0, description="delta the challenger must beat the champion by")
    refit: Literal["holdout", "all"] = Field(
        "all",
        description="after a passed gate, register the same pipeline refit on training + holdout rows (all: "
        "the holdout is the newest data under a time split; bench/results/backtest.md) or the judged fit (holdout)",
    )
    approval: Literal["none", "required"] = Field(
        "none",
        description="required: a person approves (Airflow UI or `airloop approve`) between the gate and promote; "
        "a run under `airloop run` cannot be approved and keeps its candidate as challenger",
    )
    approval_timeout_hours: float = Field(24.0, gt=0, description="no decision by then: rejected")
    live: LivePromotion = Field(default_factory=LivePromotion, description="judging a shadow challenger live")
    canary: CanaryPromotion = Field(default_factory=CanaryPromotion, description="judging a canary live")


class Canary(_Model):
    alias: str = Field("canary", pattern=r"^[a-z][a-z0-9_-]*$", description="registry alias naming the canary")
    percent: float = Field(ge=0, le=100, description="share of traffic (by entity_id) the canary answers")


class Serving(_Model):
    unknown_categories: Literal["reject", "accept"] = Field(
        "reject", description="a category never seen in training: refuse the request, or pass it on as unknown"
    )
    max_records: int = Field(1000, ge=1, le=100_000, description="records per request")
    passthrough: list[str] = Field(
        default_factory=list,
        description="columns a record may carry that the model does not use (ids, keys): returned untouched "
        "with each answer (and each row of `airloop score`) and kept in the prediction log",
    )
    entity_id: str | None = Field(
        None,
        description="the column that holds a record's entity id (for labels joined later, the canary's share); "
        "default: the `entity_id` field",
    )
    extra_fields: Literal["ignore", "reject"] = Field(
        "ignore",
        description="a field that is neither a feature nor named above: ignore it and count it (on /metrics and "
        "in the scoring summary), or refuse the record (reject)",
    )
    batch_errors: Literal["partial", "reject"] = Field(
        "partial",
        description="a batch with some invalid records: predict the valid ones and name the others by index "
        "in the same answer (partial), or refuse the whole batch (reject)",
    )
    max_body_bytes: int = Field(2_000_000, ge=1024, description="request body size limit")
    poll_seconds: float = Field(10.0, gt=0, description="how often to look for a new champion")
    token_env: str = Field("AIRLOOP_SERVE_TOKEN", description="environment variable holding the bearer token")
    token: str | None = Field(None, description="bearer token in the spec (prefer token_env)")
    log_sync: Literal["normal", "full"] = Field(
        "normal", description="prediction log durability: normal survives a crash, full also a power loss"
    )
    shadow: Literal["challenger"] | None = Field(
        None,
        description="also run this alias on a copy of the requests, off the request path; its predictions are "
        "logged for the monitor to compare with the champion's (promotion.live)",
    )
    shadow_share: float = Field(1.0, gt=0, le=1, description="share of requests the shadow model sees")
    canary: Canary | None = Field(
        None,
        description="answer a stable share of traffic with the version the canary alias names "
        "(`airloop canary PATH VERSION`); the monitor rolls it back or promotes it (promotion.canary)",
    )
    runtime: Literal["auto", "onnx", "python"] = Field(
        "auto",
        description="what runs the estimator: its ONNX form where one was verified at training and onnxruntime "
        "is installed (auto), always (onnx: a version without one is refused), or never (python)",
    )
    replica: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$",
        description="this server's replica name: its own SQLite front (serving/<name>/fronts/<replica>.db) and "
        "seg-<replica>-... segments in the folder $AIRLOOP_SEGMENTS_DIR names (shared by every replica and the "
        "monitor); `hostname` names each by its machine. --replica or $AIRLOOP_REPLICA override it. Unset: the "
        "workspace's own log, as on one machine",
    )
    trust_pickle: bool = Field(
        False,
        description="also load versions registered before airloop's safe model format (cloudpickles: "
        "loading one runs code stored in the artifact); only for a registry whose every writer you trust",
    )


class Monitoring(_Model):
    schedule: str | None = Field("@daily", description="when the monitor DAG runs (it also runs on new labels)")
    min_rows: int = Field(
        100,
        ge=1,
        description="a window of this many predictions is judged on its point estimates; a smaller one (from 10) "
        "is judged with `confidence` and either decides or accumulates (with confidence: null, it waits)",
    )
    confidence: float | None = Field(
        0.9,
        gt=0.5,
        lt=1,
        description="how sure a window under min_rows must be to decide: each live metric's bootstrap interval "
        "and each PSI at the window's own size; else the window accumulates until the next run (null: it waits)",
    )
    numeric_method: str = Field("psi", description="drift statistic for numeric features (psi, ks)")
    categorical_method: str = Field("psi", description="drift statistic for categorical features (psi, chi2)")
    psi_threshold: float = Field(0.2, gt=0)
    p_threshold: float = Field(0.01, gt=0, lt=1)
    drift_importance: float | None = Field(
        0.5,
        gt=0,
        le=1,
        description="retrain when drifted features carry this share of the champion's importance (None: off)",
    )
    drifted_features: int | None = Field(
        2, ge=1, description="for a champion without recorded importance: retrain when this many features drift"
    )
    min_performance: dict[str, float] = Field(default_factory=dict, description="live metric floors")
    max_performance_drop: float | None = Field(
        None, ge=0, description="retrain when the promotion metric falls this far (in its units) below the holdout"
    )
    max_relative_drop: float | None = Field(
        0.1,
        ge=0,
        description="retrain when the promotion metric is this share worse than the holdout (0.1: 10%); "
        "unlike an absolute drop it means the same for AUC and for an error in dollars",
    )
    max_staleness_loss: float | None = Field(
        0.1,
        gt=0,
        description="retrain when the champion is expected this share worse from the age of its data alone: "
        "the decay per day its holdout showed at training (time splits), times the days since its newest "
        "training row (None: off)",
    )
    min_labeled: int = Field(50, ge=1, description="labeled predictions needed before performance is judged")
    performance: Literal["measured", "estimated", "auto"] = Field(
        "measured",
        description="what the performance checks use: labeled predictions, an estimate from the scores "
        "before labels arrive, or auto (measured when min_labeled labels are in, else estimated)",
    )
    cooldown_hours: float = Field(
        24.0, ge=0, description="no second retrain request within this much data time of the last one"
    )
    retention_days: float | None = Field(
        90.0,
        gt=0,
        description="logged predictions older than this many days are deleted (their Parquet segments); None keeps all",
    )
    train_on_new_data: Literal["always", "when_requested"] = Field(
        "always",
        description="always: each landing in data.incoming trains; when_requested: a landing is validated and "
        "joins the data at once, and training waits for the monitor's retrain request",
    )

    @field_validator("numeric_method", "categorical_method")
    @classmethod
    def _registered(cls, value: str, info: ValidationInfo) -> str:
        from airloop.monitoring.drift import methods_for

        kind = (info.field_name or "").removesuffix("_method")
        allowed = methods_for(kind)
        if value not in allowed:
            raise ValueError(f"{value!r} is not a drift statistic for {kind} features; use one of {', '.join(allowed)}")
        return value


class Scoring(_Model):
    output: str | None = Field(
        None,
        description="where `airloop score` writes when --out is not given: a folder of Parquet parts (relative "
        "to this file) or a table, postgresql://USER@HOST:5432/DATABASE/TABLE (no password here: libpq reads "
        "PGPASSWORD or ~/.pgpass)",
    )
    log: bool = Field(False, description="also write the scored records to the prediction log (as `--log`)")
    prepare: bool = Field(
        True,
        description="engine: spark: records to score go through data.spark_transform first, as the training "
        "table did (raw events in, the model's features out); false: they carry the table's columns already",
    )
    incoming: str | None = Field(
        None,
        description="landing folder (relative to this file): CSV/Parquet files dropped here, then a _READY "
        "marker, start a run of the <name>__score DAG, which scores them with the champion into scoring.output",
    )


class Deploy(_Model):
    """GitOps delivery: after a promotion the train DAG's `deploy` task commits the champion's
    Kubernetes manifests (kustomize base) into a git repository Argo CD or Flux syncs from."""

    gitops_dir: str = Field(description="a git work tree (relative to the spec's folder or absolute)")
    image: str = Field(description="image reference without tag, e.g. registry.example.com/team/model")
    path: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$",
        description="folder inside gitops_dir for this model's manifests, relative (default: the project name)",
    )

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str | None) -> str | None:
        if value is not None and any(part in {".", ".."} for part in value.split("/")):
            raise ValueError(f"{value!r} must stay inside gitops_dir: give a path without '.' or '..' parts")
        return value


class Spark(_Model):
    """Where `engine: spark` runs: an Airflow connection (Airflow's Spark provider reads it), so the
    same spec runs on local[*] here and on a cluster there."""

    conn_id: str = Field(
        "spark_default",
        description="Airflow connection of type spark (host spark://HOST:7077, yarn, k8s://..., local[2]) or "
        "spark_connect (sc://HOST:15002); when it is not defined, Spark runs in this process on local[*]",
    )
    config: dict[str, str] = Field(
        default_factory=dict, description="Spark settings for every session, e.g. {spark.executor.memory: 4g}"
    )


class Spec(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")
    task: Task
    data: Data
    engine: Literal["pandas", "spark"] = Field(
        "pandas",
        description="who reads, prepares, validates and scores the data: pandas in one process, or Apache Spark "
        "(pip install 'airloop[spark]') for data that outgrows one machine; the candidates train on what fits",
    )
    spark: Spark = Spark()
    contract: Contract = Contract()
    split: Split = Split()
    candidates: list[Candidate] = Field(min_length=1)
    tuning: Tuning = Tuning()
    evaluation: Evaluation = Evaluation()
    promotion: Promotion = Promotion()
    retries: int = Field(1, ge=0, le=10)
    retry_delay_seconds: float = Field(10, ge=0)
    schedule: str | None = Field(None, description="cron expression or preset such as @daily")
    queues: dict[str, QueueName] = Field(
        default_factory=dict,
        description="Celery queue per task id of the train or monitor DAG, e.g. {tune_trials: cpu}: its tasks "
        "run only on workers started with `airflow celery worker -q cpu`; tasks not named go to Airflow's "
        "default queue",
    )
    pod_templates: dict[str, str] = Field(
        default_factory=dict,
        # left out of the spec's hash while empty: a spec without it hashes as before it existed
        exclude_if=lambda v: not v,
        description="Kubernetes pod template file per task id (Airflow's KubernetesExecutor runs the task in "
        "it), relative to this file, e.g. {monitor: k8s/monitor/pod-template.yaml} from `airloop package`: the "
        "monitor then reads the servers' prediction log from their volume",
    )
    serving: Serving = Serving()
    monitoring: Monitoring = Monitoring()
    scoring: Scoring = Scoring()
    deploy: Deploy | None = Field(None, description="commit the champion's manifests to a GitOps repository")

    # Derived views, so that every consumer reads the defaults the same way.
    @property
    def metric_names(self) -> list[str]:
        from airloop.metrics import DEFAULT_METRICS

        return list(self.evaluation.metrics or DEFAULT_METRICS[self.task])

    @property
    def tuning_metric(self) -> str:
        return self.tuning.metric or self.metric_names[0]

    @property
    def tuning_direction(self) -> str:
        from airloop.metrics import METRICS

        return self.tuning.direction or METRICS[self.tuning_metric].direction

    @property
    def promotion_metric(self) -> str:
        return self.promotion.metric or self.tuning_metric
