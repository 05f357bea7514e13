"""A stored model's raw predictions answering like a scikit-learn estimator: ``predict`` (and, for a
classifier, ``predict_proba`` and ``classes_`` with the user's labels). Boosters read from their own
format and ONNX sessions give raw numbers: a regressor's values, a binary classifier's probability
of its second class (one column), or one probability column per class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Regressor:
    def __init__(self, raw: Callable[[Any], Any]) -> None:
        self.raw = raw

    def predict(self, X: Any) -> Any:
        import numpy as np

        return np.asarray(self.raw(X)).ravel()


class Classifier:
    def __init__(self, raw: Callable[[Any], Any], classes: list[Any]) -> None:
        import numpy as np

        self.raw = raw
        self.classes_ = np.asarray(classes)

    def predict_proba(self, X: Any) -> Any:
        import numpy as np

        p = np.asarray(self.raw(X))
        return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p

    def predict(self, X: Any) -> Any:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def answering(raw: Callable[[Any], Any], classes: list[Any] | None) -> Regressor | Classifier:
    return Regressor(raw) if classes is None else Classifier(raw, classes)
