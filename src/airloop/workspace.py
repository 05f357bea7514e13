"""The workspace: one folder holding AIRFLOW_HOME, the MLflow store, artifacts, logs and the loop's files.

Every path airloop writes is a method here, so a path has one spelling. Nothing airloop writes
goes outside the workspace (or the user's own paths). Light on purpose: the DAG file, the steps,
the server and the CLI all use it. The root is private (0700): see ``make_private``.

```
<root>/
  airflow/             AIRFLOW_HOME (airflow.db, dags/, config/airflow_local_settings.py, passwords.json)
  mlflow/              MLflow SQLite store + artifacts
  logs/                embedded runs and stack processes
  run/                 the local stack's state (pid files, stack.json): see airloop.local.state
  reports/<name>.html  `airloop report`
  cache/<tool>/        caches of libraries that insist on writing one
  projects/<name>/     contract.json, runs/<run id>/, monitoring/{history.parquet,state.json}
  serving/<name>/      predictions.db (the prediction log), labels/ (dropped label files; the folder
                       is $AIRLOOP_SERVING_DIR/<name> when set: the servers' volume, mounted),
                       predictions-segments/ (its Parquet segments; also the named replicas' unless
                       $AIRLOOP_SEGMENTS_DIR names a shared folder), fronts/<replica>.db (named replicas)
```
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "AIRLOOP_WORKSPACE"
MLFLOW_ENV = "AIRLOOP_MLFLOW_URI"
AIRFLOW_DB_ENV = "AIRLOOP_AIRFLOW_DB"
OPTUNA_DB_ENV = "AIRLOOP_OPTUNA_DB"
SEGMENTS_ENV = "AIRLOOP_SEGMENTS_DIR"
SERVING_ENV = "AIRLOOP_SERVING_DIR"
DEFAULT = ".airloop"
PRIVATE_DIR = 0o700


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def resolve(cls, path: str | Path | None = None) -> Workspace:
        chosen = path or os.environ.get(ENV_VAR) or DEFAULT
        return cls(Path(chosen).expanduser().resolve())

    def make_private(self, create: bool = True) -> None:
        """The root 0700: logged requests, the metadata DBs and the admin password are the user's
        alone. One mode on the root closes everything below it, whatever the files' own modes (an
        older workspace's 0644 databases included). Without ``create`` an absent root stays absent."""
        if not self.root.exists():
            if not create:
                return
            self.root.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        info = self.root.stat()
        if info.st_uid == os.getuid() and info.st_mode & 0o077:
            self.root.chmod(info.st_mode & 0o700)

    # Airflow
    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def dags_folder(self) -> Path:
        return self.airflow_home / "dags"

    @property
    def airflow_db(self) -> Path:
        return self.airflow_home / "airflow.db"

    @property
    def airflow_db_url(self) -> str:
        """Airflow's metadata DB: SQLite in the workspace unless $AIRLOOP_AIRFLOW_DB names another."""
        return os.environ.get(AIRFLOW_DB_ENV) or f"sqlite:///{self.airflow_db}"

    @property
    def optuna_db_url(self) -> str | None:
        """Where Optuna studies live when every worker must reach them: $AIRLOOP_OPTUNA_DB, else
        Airflow's metadata DB when it is a server database (Celery workers on other machines share
        it already). None: SQLite in each run's folder, which only one machine can share."""
        explicit = os.environ.get(OPTUNA_DB_ENV)
        if explicit:
            return explicit
        airflow = self.airflow_db_url
        return None if airflow.startswith("sqlite") else airflow

    @property
    def airflow_local_settings(self) -> Path:
        """Airflow imports this module in each of its processes (AIRFLOW_HOME/config is on its path)."""
        return self.airflow_home / "config" / "airflow_local_settings.py"

    @property
    def passwords_file(self) -> Path:
        """SimpleAuthManager's password file for the local stack's admin user."""
        return self.airflow_home / "passwords.json"

    # MLflow
    @property
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def tracking_uri(self) -> str:
        """The MLflow store: SQLite in the workspace unless $AIRLOOP_MLFLOW_URI names another
        (e.g. postgresql://host/db or a tracking server's http:// URL)."""
        return os.environ.get(MLFLOW_ENV) or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.mlflow_dir / "artifacts"

    def mlflow_env(self) -> dict[str, str]:
        return {"MLFLOW_TRACKING_URI": self.tracking_uri, "MLFLOW_REGISTRY_URI": self.tracking_uri}

    # processes and reports
    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def state_dir(self) -> Path:
        """The local stack's pid files and stack.json (owned by airloop.local.state)."""
        return self.root / "run"

    def cache_dir(self, tool: str) -> Path:
        """Caches tools insist on writing (matplotlib's font cache), kept in the workspace."""
        return self.root / "cache" / tool

    def report_file(self, name: str) -> Path:
        return self.root / "reports" / f"{name}.html"

    # one project
    def project(self, name: str) -> Path:
        return self.root / "projects" / name

    def contract_file(self, name: str) -> Path:
        return self.project(name) / "contract.json"

    def run_dir(self, name: str, run_id: str) -> Path:
        return self.project(name) / "runs" / safe_name(run_id)

    def runs_dir(self, name: str) -> Path:
        return self.project(name) / "runs"

    def monitoring_dir(self, name: str) -> Path:
        return self.project(name) / "monitoring"

    def monitoring_history(self, name: str) -> Path:
        """One row per monitored feature and metric per monitor run (Parquet)."""
        return self.monitoring_dir(name) / "history.parquet"

    def monitoring_state(self, name: str) -> Path:
        """The monitor's memory between runs: last run, last retrain request (JSON)."""
        return self.monitoring_dir(name) / "state.json"

    def backtest_dir(self, name: str) -> Path:
        """`airloop backtest`'s scratch (one workspace for its trainings) and its last result."""
        return self.root / "backtest" / name

    def retrain_requests(self, name: str) -> Path:
        """Retrain requests: how many the monitor made, how many a train run has acted on (JSON)."""
        return self.monitoring_dir(name) / "requests.json"

    def package_dir(self, name: str, version: str) -> Path:
        """The build context the deploy step packaged for ``version`` (the image to build for its manifests)."""
        return self.project(name) / "packages" / f"v{safe_name(str(version))}"

    # serving
    def serving_dir(self, name: str) -> Path:
        """The project's prediction log, its label drops and its replicas' fronts: the workspace's
        ``serving/<name>/``, or ``$AIRLOOP_SERVING_DIR/<name>`` where the servers' log is a volume
        mounted there (the monitor's pod on Kubernetes: ``k8s/monitor/pod-template.yaml``)."""
        return _named_in(SERVING_ENV, name) or self.root / "serving" / name

    def prediction_log(self, name: str) -> Path:
        """The prediction log (SQLite, WAL): written by the server, read by the monitor."""
        return self.serving_dir(name) / "predictions.db"

    def front(self, name: str, replica: str) -> Path:
        """A named serving replica's own SQLite front (``serving.replica``): a file no other replica
        writes, so it needs no network file locking (``data.replicas``)."""
        return self.serving_dir(name) / "fronts" / f"{replica}.db"

    def fronts_dir(self, name: str) -> Path:
        return self.serving_dir(name) / "fronts"

    def segments_dir(self, name: str) -> Path:
        """Where named replicas compact their fronts to (``seg-<replica>-...``): the folder every
        replica and the monitor share, $AIRLOOP_SEGMENTS_DIR/<name> when set, else the segments
        folder beside the workspace's own log (one machine: nothing to set)."""
        return _named_in(SEGMENTS_ENV, name) or self.serving_dir(name) / "predictions-segments"

    def labels_folder(self, name: str) -> Path:
        """Label files dropped here (then a _READY marker) reach the prediction log and start a monitor run."""
        return self.serving_dir(name) / "labels"


def _named_in(variable: str, name: str) -> Path | None:
    """``$variable/<name>`` when the variable names a folder (a shared or mounted one), else None."""
    folder = os.environ.get(variable)
    return Path(folder).expanduser().resolve() / name if folder else None


OUTCOME_FILE = "outcome.txt"  # in a run folder: the run's outcome in one line (steps.story)


def rejected_folder(landing: Path) -> Path:
    """Where landed files that fail the contract go, next to their report."""
    return landing / "rejected"


def safe_name(text: str) -> str:
    """A run id such as ``manual__2026-11-26T04:28:49+00:00`` as a portable folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "run"
