"""MLflow's ``loader_module`` entry: ``mlflow.pyfunc.load_model`` calls ``_load_pyfunc(data_path)``.

Outside airloop, whoever loads a version through MLflow imports this package from the version's
own ``code/`` folder: that path trusts the artifact store (it runs the shipped code by design).
The skops types it accepts beyond this runtime's list are the ones the model was stored with.
"""

from __future__ import annotations

from typing import Any

from airloop_runtime.pipeline import META, Pipeline, load


class PyfuncModel:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return self.pipeline.predict(model_input)

    def get_raw_model(self) -> Pipeline:
        """The pipeline itself (``predict_proba``, ``classes_``): MLflow's ``PyFuncModel.get_raw_model()``."""
        return self.pipeline


def _load_pyfunc(data_path: str) -> PyfuncModel:
    import json
    from pathlib import Path

    meta = json.loads((Path(data_path) / META).read_text())
    return PyfuncModel(load(data_path, trusted=meta.get("estimator", {}).get("trusted_types", [])))
