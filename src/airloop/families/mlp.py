"""The tabular MLP both deep-learning families share: its searchable parameters (``layers``,
``width``, ``dropout``, ``learning_rate``, ``batch_size``, ``epochs``), early stopping on a seeded
validation part of the training rows, the device, and answers. A family only trains (``_train``:
torch or keras); the fitted model is its layers as numpy arrays, answered by
``airloop_runtime.mlp`` exactly as the stored version answers them.

Inputs are the prepared matrix (numbers scaled, categories one-hot by default): an MLP needs
``scale: true`` and ``impute: true`` (the defaults); missing values are refused at fit, naming them.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: TID253 (model code only, never DAG parsing)

from airloop_runtime import mlp

DEVICES = ("auto", "cpu", "cuda")


class MLP(BaseEstimator):  # type: ignore[misc]
    library = ""  # the module that trains it (torch, keras)
    airloop_requires: tuple[str, ...] = ()  # modules fitting imports: a missing one is a spec error naming `extra`
    extra = ""

    def __init__(
        self,
        layers: int = 2,
        width: int = 64,
        dropout: float = 0.1,
        learning_rate: float = 1e-3,
        batch_size: int = 64,
        epochs: int = 100,
        patience: int = 10,
        validation_fraction: float = 0.1,
        alpha: float = 0.0,
        device: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.layers = layers
        self.width = width
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.alpha = alpha
        self.device = device
        self.random_state = random_state

    # -- what a family implements
    def _cuda(self) -> bool:
        """Whether the library sees a GPU it can train on."""
        raise NotImplementedError

    def _train(self, data: Any, n_out: int, classify: bool, seed: int) -> tuple[list[Any], list[Any], int]:
        """(weights as (inputs, outputs) arrays, biases, epochs run) of the best validation epoch."""
        raise NotImplementedError

    # -- shared
    def check_device(self) -> str:
        """The device fitting uses: ``cuda`` where asked for (or ``auto``) and available, else ``cpu``.
        An unknown name, or ``cuda`` where the library sees no GPU, is a ValueError saying so."""
        if self.device not in DEVICES:
            raise ValueError(f"device {self.device!r} is not one of {', '.join(DEVICES)}")
        if self.device == "cpu":
            return "cpu"
        cuda = self._cuda()
        if self.device == "cuda" and not cuda:
            raise ValueError(f"device 'cuda' was asked for and {self.library} sees no GPU on this machine")
        return "cuda" if cuda else "cpu"

    def _check_params(self) -> None:
        whole = {"layers": (self.layers, 1), "width": (self.width, 1), "batch_size": (self.batch_size, 1),
                 "epochs": (self.epochs, 1), "patience": (self.patience, 1)}  # fmt: skip
        for name, (value, low) in whole.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be a whole number of at least {low}, not {value!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), not {self.validation_fraction!r}")
        if not self.learning_rate > 0 or self.alpha < 0:
            raise ValueError("learning_rate must be positive and alpha not negative")

    def fit(self, X: Any, y: Any) -> MLP:
        import numpy as np

        self._check_params()
        X = np.asarray(X, dtype=np.float32)
        if not np.isfinite(X).all():
            raise ValueError(
                "the MLP's inputs hold missing or infinite values: keep the candidate's `impute: true` "
                "(the default) so missing numbers are filled"
            )
        self.device_ = self.check_device()
        seed = 0 if self.random_state is None else int(self.random_state)
        classify = isinstance(self, ClassifierMixin)
        Y: Any
        if classify:
            self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
            Y, n_out = codes.astype(np.int64), len(self.classes_)
            self.y_mean_, self.y_scale_ = 0.0, 1.0
        else:
            target = np.asarray(y, dtype=np.float64)
            self.y_mean_ = float(target.mean())
            self.y_scale_ = float(target.std()) or 1.0
            Y, n_out = ((target - self.y_mean_) / self.y_scale_).astype(np.float32).reshape(-1, 1), 1
        order = np.random.default_rng(seed).permutation(len(X))
        n_val = int(round(len(X) * self.validation_fraction))
        if n_val < 1 or n_val >= len(X):
            raise ValueError(
                f"{len(X)} rows leave no validation part at validation_fraction {self.validation_fraction}"
            )
        val, train = order[:n_val], order[n_val:]
        data = (X[train], Y[train], X[val], Y[val])
        weights, biases, self.n_epochs_ = self._train(data, n_out, classify, seed)
        self.coefs_ = [np.asarray(w, dtype=np.float64) for w in weights]
        self.intercepts_ = [np.asarray(b, dtype=np.float64) for b in biases]
        self.n_features_in_ = X.shape[1]
        return self

    @property
    def output_(self) -> str:
        return "softmax" if isinstance(self, ClassifierMixin) else "identity"

    def _answer(self, X: Any) -> Any:
        return mlp.forward(X, self.coefs_, self.intercepts_, self.output_, self.y_mean_, self.y_scale_)

    def stored(self) -> dict[str, Any]:
        """What ``airloop_runtime.mlp`` needs beside the arrays, for the model's JSON."""
        return {
            "output": self.output_,
            "layers_stored": len(self.coefs_),
            "y_mean": self.y_mean_,
            "y_scale": self.y_scale_,
            "classes": self.classes_.tolist() if hasattr(self, "classes_") else None,
            "device": self.device_,
            "epochs_run": self.n_epochs_,
        }


class ClassifierAnswers:
    """A family's classifier: ``class TorchMLPClassifier(ClassifierMixin, ClassifierAnswers, TorchMLP)``."""

    classes_: Any
    _answer: Any

    def predict_proba(self, X: Any) -> Any:
        return self._answer(X)

    def predict(self, X: Any) -> Any:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class RegressorAnswers:
    _answer: Any

    def predict(self, X: Any) -> Any:
        return self._answer(X)
