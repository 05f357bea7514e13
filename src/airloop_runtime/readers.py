"""One reader per stored estimator format, from a fixed table: the model's files name a format, never
code to run. Each reader loads data (skops with a trusted list, XGBoost's UBJSON, LightGBM's model
text) and returns an object with scikit-learn's ``predict`` (and ``predict_proba``, ``classes_``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from airloop_runtime.errors import NotLoadable

XGBOOST_CLASSES = ("XGBClassifier", "XGBRegressor")


def read_skops(path: Path, entry: dict[str, Any], trusted: Iterable[str]) -> Any:
    from airloop_runtime.trust import TRUSTED, check_bounds

    allowed = set(TRUSTED) | set(trusted)
    # skops looks names up in every imported module (at import, too); some modules warn on access
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import skops.io

        held = set(skops.io.get_untrusted_types(file=path))
        if held - allowed:
            raise NotLoadable(
                f"{path.name} holds types this runtime does not trust: {sorted(held - allowed)} (a reviewed "
                "type is accepted when the candidate lists it in trusted_types)"
            )
        estimator = skops.io.load(path, trusted=sorted(held))
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
    if name == "XGBRegressor":
        return BoosterRegressor(booster)
    return BoosterClassifier(booster, entry["classes"])


class BoosterRegressor:
    """An XGBoost booster answering like ``XGBRegressor`` (in-place prediction, as it predicts)."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def predict(self, X: Any) -> Any:
        return self.booster.inplace_predict(X)


class BoosterClassifier(BoosterRegressor):
    """An XGBoost booster answering like ``XGBClassifier``, with the user's labels."""

    def __init__(self, booster: Any, classes: list[Any]) -> None:
        import numpy as np

        super().__init__(booster)
        self.classes_ = np.asarray(classes)

    def predict_proba(self, X: Any) -> Any:
        import numpy as np

        raw = np.asarray(self.booster.inplace_predict(X))
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, X: Any) -> Any:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class LightGBMRegressor:
    """A LightGBM regression booster read from its model text, answering like its scikit-learn estimator."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def predict(self, X: Any) -> Any:
        return self.booster.predict(X)


class LightGBMClassifier(LightGBMRegressor):
    """A LightGBM classification booster; the labels come from the model's JSON (the text keeps none)."""

    def __init__(self, booster: Any, classes: list[Any]) -> None:
        import numpy as np

        super().__init__(booster)
        self.classes_ = np.asarray(classes)

    def predict_proba(self, X: Any) -> Any:
        import numpy as np

        raw = np.asarray(self.booster.predict(X))
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, X: Any) -> Any:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def read_lightgbm(path: Path, entry: dict[str, Any], trusted: Iterable[str]) -> Any:
    import lightgbm

    booster = lightgbm.Booster(model_file=str(path))
    classes = entry.get("classes")
    return LightGBMRegressor(booster) if classes is None else LightGBMClassifier(booster, classes)


READERS: dict[str, tuple[Callable[[Path, dict[str, Any], Iterable[str]], Any], str]] = {
    # format -> (reader, the module it needs)
    "skops": (read_skops, "skops"),
    "xgboost-ubj": (read_xgboost, "xgboost"),
    "lightgbm-text": (read_lightgbm, "lightgbm"),
}
