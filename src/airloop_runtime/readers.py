"""One reader per stored estimator format, from a fixed table: the model's files name a format, never
code to run. Each reader loads data (skops with a trusted list, XGBoost's UBJSON, LightGBM's model
text, an MLP's weight arrays) and returns an object with scikit-learn's ``predict`` (and
``predict_proba``, ``classes_``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from airloop_runtime.answers import answering
from airloop_runtime.errors import NotLoadable

XGBOOST_CLASSES = ("XGBClassifier", "XGBRegressor")


def skops_io() -> Any:
    """``skops.io``, imported without importing torch. Its table of trusted types walks every
    scikit-learn package (``sklearn.utils.all_estimators``), and the walk imports scikit-learn's
    array-API shim for torch, which imports torch where it is installed: 1.4-2.5 s of every model
    load here, for a module that holds no estimator (the walk skips ``externals`` when it collects
    them, so the table is the same). The shim is hidden only during that import."""
    import sys

    shim = "sklearn.externals.array_api_compat.torch"
    hidden = "skops.io" not in sys.modules and shim not in sys.modules and "torch" not in sys.modules
    if hidden:
        sys.modules[shim] = None  # type: ignore[assignment]  # an import of it fails; the walk skips it
    try:
        # skops looks names up in every imported module (at import, too); some modules warn on access
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import skops.io
    finally:
        if hidden and shim in sys.modules and sys.modules[shim] is None:
            del sys.modules[shim]
    return skops.io


def read_skops(path: Path, entry: dict[str, Any], trusted: Iterable[str]) -> Any:
    from airloop_runtime.trust import TRUSTED, check_bounds

    allowed = set(TRUSTED) | set(trusted)
    sio = skops_io()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        held = set(sio.get_untrusted_types(file=path))
        if held - allowed:
            raise NotLoadable(
                f"{path.name} holds types this runtime does not trust: {sorted(held - allowed)} (a reviewed "
                "type is accepted when the candidate lists it in trusted_types)"
            )
        estimator = sio.load(path, trusted=sorted(held))
    check_bounds(estimator)
    return estimator


def read_xgboost(path: Path, entry: dict[str, Any], trusted: Iterable[str]) -> Any:
    """The booster alone (``xgboost.Booster``): its scikit-learn classes would need scikit-learn."""
    import xgboost

    name = entry.get("class", "")
    if name not in XGBOOST_CLASSES:
        raise NotLoadable(f"an XGBoost estimator must be one of {XGBOOST_CLASSES}, not {name!r}")
    booster = xgboost.Booster()
    booster.load_model(str(path))
    # in-place prediction, as XGBoost's scikit-learn classes predict
    return answering(booster.inplace_predict, None if name == "XGBRegressor" else entry["classes"])


def read_lightgbm(path: Path, entry: dict[str, Any], trusted: Iterable[str]) -> Any:
    """The booster from its model text; the labels come from the model's JSON (the text keeps none)."""
    import lightgbm

    booster = lightgbm.Booster(model_file=str(path))
    return answering(booster.predict, entry.get("classes"))


def read_mlp(path: Path, entry: dict[str, Any], trusted: Iterable[str]) -> Any:
    """An MLP's layers from numbers alone (``airloop_runtime.mlp``): no torch, no keras at load."""
    from airloop_runtime import mlp

    weights, biases = mlp.read(path, entry)
    output = entry["output"]
    net = mlp.MLP(weights, biases, output, float(entry.get("y_mean", 0.0)), float(entry.get("y_scale", 1.0)))
    return answering(net, entry.get("classes") if output == "softmax" else None)


READERS: dict[str, tuple[Callable[[Path, dict[str, Any], Iterable[str]], Any], str]] = {
    # format -> (reader, the module it needs)
    "skops": (read_skops, "skops"),
    "xgboost-ubj": (read_xgboost, "xgboost"),
    "lightgbm-text": (read_lightgbm, "lightgbm"),
    "mlp-npz": (read_mlp, "numpy"),
}
