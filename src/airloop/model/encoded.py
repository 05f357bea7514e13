"""``EncodedLabels``: a classifier that only takes labels 0..K-1 (XGBoost), taught the user's labels.

``XGBClassifier.fit`` on ``["NO", "YES"]`` raises "Invalid classes inferred from unique values of
y. Expected: [0 1]". This fits the wrapped estimator on the labels' codes and answers with the
labels, as a scikit-learn classifier does (``classes_`` sorted as ``numpy.unique`` sorts them).
Its stored form is the wrapped estimator's own plus the labels (``model.store``).
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin, clone  # noqa: TID253 (model code only, never DAG parsing)


class EncodedLabels(ClassifierMixin, BaseEstimator):
    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EncodedLabels:
        import numpy as np

        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.estimator_ = clone(self.estimator).fit(X, codes, **fit_params)
        return self

    def predict_proba(self, X: Any) -> Any:
        return self.estimator_.predict_proba(X)

    def predict(self, X: Any) -> Any:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def needs_encoded_labels(estimator: Any) -> bool:
    """XGBoost's classifiers take only 0..K-1 (LightGBM's and scikit-learn's take any labels)."""
    from sklearn.base import is_classifier

    return type(estimator).__module__.split(".")[0] == "xgboost" and is_classifier(estimator)
