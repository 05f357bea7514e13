"""airloop_runtime: load a model airloop registered, without airloop and without unpickling.

A registered version's ``data/`` folder holds ``airloop-model.json`` (what the pipeline is: the
user's transform by import path, the fitted column preparation as numbers, which file holds the
estimator in which format) and the estimator in its library's own format. Nothing in it is an
object graph to unpickle. This package is shipped inside every registered version (MLflow
``code_paths``), so ``mlflow.pyfunc.load_model`` loads a version anywhere its requirements are
installed; airloop itself imports the installed copy. It imports numpy, pandas and the estimator's
library, never ``airloop``.
"""

from __future__ import annotations

from airloop_runtime.errors import NotLoadable
from airloop_runtime.pipeline import FORMAT, FORMAT_VERSION, META, Pipeline, load

__all__ = ["FORMAT", "FORMAT_VERSION", "META", "NotLoadable", "Pipeline", "load"]
