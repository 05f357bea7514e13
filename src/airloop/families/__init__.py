"""Model families beyond scikit-learn that airloop trains itself: a tabular MLP in PyTorch and in
Keras 3, each with scikit-learn's estimator API so the tuner, the gate, the monitor, serving and the
backtest see a fitted pipeline like any other. Spec: ``estimator: airloop.families.TorchMLPClassifier``.

XGBoost and LightGBM need no adapter: their scikit-learn classes are candidates as they are.
Importing this package imports neither torch nor keras; fitting does, and a missing library is a
spec error naming its extra (``MLP.airloop_requires``).
"""

from __future__ import annotations

from airloop.families.keras_mlp import KerasMLPClassifier, KerasMLPRegressor
from airloop.families.torch_mlp import TorchMLPClassifier, TorchMLPRegressor

__all__ = ["KerasMLPClassifier", "KerasMLPRegressor", "TorchMLPClassifier", "TorchMLPRegressor"]
