"""The estimator's ONNX form, made when a version is stored and kept only if it answers as the
estimator does: max difference of probabilities (or, for regression, of predictions relative to
their size) at most 1e-5 on the rows the stored model is checked on. Otherwise the version records
why not, is served by the Python estimator, and ``/model`` says so.

Only the estimator converts: the user's transform is arbitrary Python and the column preparation
is dict look-ups, both cheap. Converters: skl2onnx (scikit-learn), onnxmltools (XGBoost,
LightGBM), from the ``onnx`` extra, and ``mlp_graph`` for airloop's MLP families; without the extra
nothing is converted and the version says so.
Inputs are float32, which is what tree ensembles run in onnxruntime; a value sitting exactly on a
split threshold can fall the other way, which the check catches.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TOLERANCE = 1e-5
FILE = "estimator.onnx"


class NotConvertible(Exception):
    pass


def form(pipeline: Any, rows: Any, folder: Path, task: str) -> dict[str, Any]:
    """Write ``folder/estimator.onnx`` when the pipeline's estimator converts and answers ``rows``
    as it does; return the verdict stored in the model's JSON (``verified`` or ``refused``)."""
    missing = [m for m in ("onnxruntime", "onnx") if importlib.util.find_spec(m) is None]
    if missing:
        return {"refused": f"not converted: {', '.join(missing)} not installed (pip install 'airloop[onnx]')"}
    from airloop.model.encoded import EncodedLabels
    from airloop_runtime.onnx import estimator as onnx_estimator
    from airloop_runtime.pipeline import sha256

    estimator = pipeline.steps[-1][1]
    inner = estimator.estimator_ if isinstance(estimator, EncodedLabels) else estimator
    prepared = rows
    for _, step in pipeline.steps[:-1]:
        prepared = step.transform(prepared)
    classes = estimator.classes_.tolist() if task != "regression" and hasattr(estimator, "classes_") else None
    try:
        data = convert(inner, prepared.shape[1], classifier=classes is not None)
        answered = onnx_estimator(data, classes)
    except NotConvertible as exc:
        return {"refused": str(exc)}
    except Exception as exc:  # a converter or onnxruntime failing on this model: served in Python
        return {"refused": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
    gap, bad = compare(estimator, answered, prepared, classes is not None)
    if bad:
        return {"refused": f"answers differ by up to {gap:.2g} on {bad} of {len(prepared)} rows (float32 rounding?)"}
    path = folder / FILE
    path.write_bytes(data)
    return {
        "verified": True,
        "file": FILE,
        "sha256": sha256(path),
        "max_abs_diff": gap,
        "rows": len(prepared),
        "dtype": "float32",
        "classes": classes,
    }


def compare(python: Any, onnx: Any, X: Any, classifier: bool) -> tuple[float, int]:
    """(the largest difference, how many rows differ by more than the tolerance)."""
    import numpy as np

    if classifier:
        diff = np.abs(python.predict_proba(X) - onnx.predict_proba(X)).max(axis=1)
        allowed = TOLERANCE
    else:
        expected = np.asarray(python.predict(X), dtype="float64")
        diff = np.abs(expected - onnx.predict(X))
        allowed = TOLERANCE * np.maximum(1.0, np.abs(expected))  # relative: float32 holds ~7 digits
    return (float(diff.max()) if diff.size else 0.0), int((diff > allowed).sum())


def convert(estimator: Any, n_features: int, classifier: bool) -> bytes:
    from airloop.families.mlp import MLP

    top = type(estimator).__module__.split(".")[0]
    if isinstance(estimator, MLP):
        return mlp_graph(estimator, n_features)
    if top == "xgboost" and "c" in (estimator.get_booster().feature_types or []):
        # seen on the zoo (restaurants): a 250-category column kept the converter recursing for 35+ min
        raise NotConvertible(
            "not converted: onnxmltools expands XGBoost's categorical splits into node chains that grow "
            "with the categories; served by XGBoost"
        )
    if top == "xgboost":
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType

        model = onnxmltools.convert_xgboost(estimator, initial_types=[("X", FloatTensorType([None, n_features]))])
    elif top == "lightgbm":
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType

        model = onnxmltools.convert_lightgbm(
            estimator, initial_types=[("X", FloatTensorType([None, n_features]))], zipmap=False
        )
    elif top == "sklearn":
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        options = {id(estimator): {"zipmap": False}} if classifier else None
        with _bool_attributes_as_ints():
            model = convert_sklearn(
                estimator, initial_types=[("X", FloatTensorType([None, n_features]))], options=options
            )
    else:
        raise NotConvertible(f"no ONNX converter for `{type(estimator).__module__}.{type(estimator).__name__}`")
    return bytes(model.SerializeToString())


def mlp_graph(estimator: Any, n_features: int) -> bytes:
    """An MLP's layers as an ONNX graph of its own (Gemm, Relu, then Softmax or the target's scale):
    no converter library, so the PyTorch and Keras families convert alike."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    nodes, arrays, h = [], [], "X"
    last = len(estimator.coefs_) - 1
    for i, (W, b) in enumerate(zip(estimator.coefs_, estimator.intercepts_, strict=True)):
        arrays += [
            numpy_helper.from_array(W.astype(np.float32), f"W{i}"),
            numpy_helper.from_array(b.astype(np.float32), f"b{i}"),
        ]
        nodes.append(helper.make_node("Gemm", [h, f"W{i}", f"b{i}"], [f"z{i}"]))
        h = f"z{i}"
        if i < last:
            nodes.append(helper.make_node("Relu", [h], [f"h{i}"]))
            h = f"h{i}"
    if estimator.output_ == "softmax":
        nodes.append(helper.make_node("Softmax", [h], ["probabilities"], axis=1))
        out, width = "probabilities", len(estimator.classes_)
    else:
        scale = np.array([estimator.y_scale_], dtype=np.float32)
        mean = np.array([estimator.y_mean_], dtype=np.float32)
        arrays += [numpy_helper.from_array(scale, "y_scale"), numpy_helper.from_array(mean, "y_mean")]
        nodes += [
            helper.make_node("Mul", [h, "y_scale"], ["scaled"]),
            helper.make_node("Add", ["scaled", "y_mean"], ["variable"]),
        ]
        out, width = "variable", 1
    graph = helper.make_graph(
        nodes,
        "airloop_mlp",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [None, width])],
        arrays,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="airloop")
    model.ir_version = 8  # what onnxruntime releases of the last years all read
    return bytes(model.SerializeToString())


@contextlib.contextmanager
def _bool_attributes_as_ints() -> Iterator[None]:
    """skl2onnx 1.20 writes HistGradientBoosting's missing-value flags as Python booleans, which
    protobuf 7 refuses in an integer list ("Expected an int, got a boolean"): cast them, during
    the conversion only."""
    from skl2onnx.common import tree_ensemble

    original = tree_ensemble.add_node

    def add_node(*args: Any, **kwargs: Any) -> Any:
        if "nodes_missing_value_tracks_true" in kwargs:
            kwargs["nodes_missing_value_tracks_true"] = int(kwargs["nodes_missing_value_tracks_true"])
        return original(*args, **kwargs)

    tree_ensemble.add_node = add_node
    try:
        yield
    finally:
        tree_ensemble.add_node = original
