"""The workspace: one folder holding AIRFLOW_HOME, the MLflow store, artifacts and logs.

Nothing airloop writes goes outside it (or the user's own paths). Light on purpose: the DAG file
and the steps both use it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "AIRLOOP_WORKSPACE"
MLFLOW_ENV = "AIRLOOP_MLFLOW_URI"
AIRFLOW_DB_ENV = "AIRLOOP_AIRFLOW_DB"
DEFAULT = ".airloop"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def resolve(cls, path: str | Path | None = None) -> Workspace:
        chosen = path or os.environ.get(ENV_VAR) or DEFAULT
        return cls(Path(chosen).expanduser().resolve())

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
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def tracking_uri(self) -> str:
        """The MLflow store: SQLite in the workspace unless $AIRLOOP_MLFLOW_URI names another
        (e.g. postgresql://host/db or a tracking server's http:// URL)."""
        return os.environ.get(MLFLOW_ENV) or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def airflow_db_url(self) -> str:
        """Airflow's metadata DB: SQLite in the workspace unless $AIRLOOP_AIRFLOW_DB names another."""
        return os.environ.get(AIRFLOW_DB_ENV) or f"sqlite:///{self.airflow_db}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.mlflow_dir / "artifacts"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def project(self, name: str) -> Path:
        return self.root / "projects" / name

    def labels_folder(self, name: str) -> Path:
        """Label files dropped here (then a _READY marker) reach the prediction log and start a monitor run."""
        return self.root / "serving" / name / "labels"

    def contract_file(self, name: str) -> Path:
        return self.project(name) / "contract.json"

    def run_dir(self, name: str, run_id: str) -> Path:
        return self.project(name) / "runs" / safe_name(run_id)

    def mlflow_env(self) -> dict[str, str]:
        return {"MLFLOW_TRACKING_URI": self.tracking_uri, "MLFLOW_REGISTRY_URI": self.tracking_uri}


def safe_name(text: str) -> str:
    """A run id such as ``manual__2026-11-26T04:28:49+00:00`` as a portable folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "run"
