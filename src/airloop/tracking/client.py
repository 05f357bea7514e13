"""MLflow, the way airloop uses it.

One experiment per project; one parent run per Airflow DAG run (found again by its tags, so a
cleared task reuses it); one child run per tuning trial; registered model name = project name;
aliases ``champion``, ``challenger`` and ``previous``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airloop.errors import RegistryError

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from airloop.workspace import Workspace

from airloop.tracking.tags import ALIASES, Tag


class Tracker:
    def __init__(self, workspace: Workspace) -> None:
        import os

        # no internet here, and nothing leaves the workspace: no telemetry, no progress bars
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        import mlflow
        from mlflow.tracking import MlflowClient

        workspace.mlflow_dir.mkdir(parents=True, exist_ok=True)
        self.workspace = workspace
        self.uri = workspace.tracking_uri
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    # --- experiments and runs -------------------------------------------------------------
    def experiment_id(self, project: str) -> str:
        exp = self.client.get_experiment_by_name(project)
        if exp is not None:
            return str(exp.experiment_id)
        location = (self.workspace.mlflow_artifacts / project).as_uri()
        try:
            return str(self.client.create_experiment(project, artifact_location=location))
        except Exception:  # another process created it first
            exp = self.client.get_experiment_by_name(project)
            if exp is None:
                raise
            return str(exp.experiment_id)

    def parent_run(self, project: str, dag_id: str, run_id: str, tags: dict[str, str]) -> str:
        """The MLflow run for this Airflow DAG run, created on first use."""
        exp = self.experiment_id(project)
        found = self.client.search_runs(
            [exp],
            filter_string=f"tags.`{Tag.DAG_ID}` = '{dag_id}' and tags.`{Tag.RUN_ID}` = '{_q(run_id)}'",
            max_results=1,
        )
        if found:
            return str(found[0].info.run_id)
        all_tags = {Tag.DAG_ID: dag_id, Tag.RUN_ID: run_id, **tags}
        run = self.client.create_run(exp, tags=all_tags, run_name=f"{dag_id} {run_id}")
        return str(run.info.run_id)

    def child_run(self, parent: str, name: str, params: dict[str, Any], metrics: dict[str, float]) -> str:
        from mlflow.entities import Metric, Param

        parent_run = self.client.get_run(parent)
        run = self.client.create_run(parent_run.info.experiment_id, tags={"mlflow.parentRunId": parent}, run_name=name)
        import time

        now = int(time.time() * 1000)
        self.client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
            params=[Param(k, _str(v)) for k, v in params.items()],
        )
        self.client.set_terminated(run.info.run_id, "FINISHED")
        return str(run.info.run_id)

    def log(
        self,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None:
        import time

        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        existing = self.client.get_run(run_id).data.params if params else {}
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in (metrics or {}).items()],
            # a param cannot change once logged (MLflow refuses); a rerun logs the same values
            params=[Param(k, _str(v)) for k, v in (params or {}).items() if k not in existing],
            tags=[RunTag(k, _str(v)) for k, v in (tags or {}).items()],
        )

    def log_artifact(self, run_id: str, path: str, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, path, artifact_path)

    def finish(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status)

    # --- registry --------------------------------------------------------------------------
    def ensure_model(self, name: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            try:
                self.client.create_registered_model(name, description=f"airloop project {name}")
            except MlflowException:
                pass  # created concurrently

    def log_model(
        self,
        run_id: str,
        folder: Path,
        *,
        signature: Any,
        input_example: Any,
        code_paths: list[str] | None = None,
    ) -> tuple[str, str]:
        """Log the model stored in ``folder`` (``airloop.model.store.save``) into an existing run as an
        MLflow pyfunc model that loads without airloop: the runtime that reads it travels with it as
        code, and its requirements are derived from what it holds. Returns (model_uri, model_id)."""
        import mlflow
        import mlflow.pyfunc
        from mlflow.models import Model

        import airloop_runtime
        from airloop.model.requirements import constraints, pinned
        from airloop.model.store import LOADER_MODULE

        runtime = folder.parent / "airloop_runtime"  # its source alone, shipped as the version's code
        shutil.copytree(Path(airloop_runtime.__file__).parent, runtime, ignore=shutil.ignore_patterns("__pycache__"))
        pins = pinned(folder, code_paths)
        pinned_closure = folder.parent / "constraints.txt"
        pinned_closure.write_text("\n".join(constraints(pins)) + "\n")
        # The LoggedModel takes the *active* experiment, not the run's: without this it lands in
        # experiment 0 under ./mlruns of the current directory.
        mlflow.set_experiment(experiment_id=self.client.get_run(run_id).info.experiment_id)
        info = Model.log(
            artifact_path=None,
            flavor=mlflow.pyfunc,
            name="model",
            run_id=run_id,
            loader_module=LOADER_MODULE,  # no python_model: nothing is pickled
            data_path=str(folder),
            code_paths=[str(runtime), *(code_paths or [])],
            signature=signature,
            input_example=input_example,
            # MLflow's own inference of the requirements runs the model in a subprocess (slow);
            # these are read off the stored model itself, their dependencies pinned as constraints
            pip_requirements=[*pins, f"-c {pinned_closure}"],
        )
        return str(info.model_uri), str(info.model_id)

    def register(self, name: str, model_uri: str, run_id: str, model_id: str | None, tags: dict[str, Any]) -> str:
        self.ensure_model(name)
        mv = self.client.create_model_version(
            name, model_uri, run_id=run_id, model_id=model_id, tags={k: _str(v) for k, v in tags.items()}
        )
        return str(mv.version)

    def set_version_tags(self, name: str, version: str, tags: dict[str, Any]) -> None:
        for k, v in tags.items():
            self.client.set_model_version_tag(name, version, k, _str(v))

    def alias(self, name: str, alias: str) -> ModelVersion | None:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(name, alias)
        except MlflowException:
            return None

    def alias_version(self, name: str, alias: str) -> str | None:
        mv = self.alias(name, alias)
        return str(mv.version) if mv else None

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.delete_registered_model_alias(name, alias)
        except MlflowException:
            pass

    def version(self, name: str, version: str) -> ModelVersion:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version(name, str(version))
        except MlflowException:
            raise RegistryError(
                f"model `{name}` has no version {version}",
                hint=f"list versions with `airloop status`; registered: {self.version_numbers(name) or 'none'}",
            ) from None

    def version_numbers(self, name: str) -> list[str]:
        try:
            found = self.client.search_model_versions(f"name = '{_q(name)}'")
        except Exception:
            return []
        return sorted((str(v.version) for v in found), key=int)

    def version_with_tags(self, name: str, tags: dict[str, str]) -> str | None:
        """The newest version carrying every one of ``tags`` (e.g. the same lineage), else None."""
        try:
            found = self.client.search_model_versions(f"name = '{_q(name)}'")
        except Exception:
            return None
        same = [v for v in found if all(v.tags.get(k) == str(val) for k, val in tags.items())]
        return str(max(int(v.version) for v in same)) if same else None

    def aliases(self, name: str) -> dict[str, str]:
        return {a: v for a in ALIASES if (v := self.alias_version(name, a))}


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _q(text: str) -> str:
    return text.replace("'", "\\'")
