"""Tests of the model-library extras (xgboost, lightgbm): skipped where the extra is not installed,
a failure where it must be (`.ci/run` sets AIRLOOP_REQUIRE_EXTRAS=1: `make test` installs them)."""

from __future__ import annotations

import importlib.util
import os

import pytest


def require(module: str) -> None:
    if importlib.util.find_spec(module) is not None:
        return
    extra = {"onnxruntime": "onnx", "pyspark": "spark"}.get(module, module)
    message = f"{module} is not installed (pip install -e '.[{extra}]')"
    if os.environ.get("AIRLOOP_REQUIRE_EXTRAS") == "1":
        pytest.fail(message + "; AIRLOOP_REQUIRE_EXTRAS=1 makes this a failure")
    pytest.skip(message)


def require_spark() -> None:
    """PySpark (the spark extra) and a Java runtime for it."""
    import shutil

    require("pyspark")
    if shutil.which("java") is None:
        message = "no java on the PATH (PySpark needs Java 17 or 21)"
        if os.environ.get("AIRLOOP_REQUIRE_EXTRAS") == "1":
            pytest.fail(message + "; AIRLOOP_REQUIRE_EXTRAS=1 makes this a failure")
        pytest.skip(message)
