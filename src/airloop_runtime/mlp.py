"""A multilayer perceptron as numbers: weight matrices and biases in an ``.npz`` file (read with
``allow_pickle=False``, so nothing in it can run), answered by numpy. airloop's PyTorch and Keras
families train with their library and store this; serving needs neither library.

Layers: ``h = relu(h @ W + b)`` for each hidden layer, then ``z = h @ W + b``; a classifier answers
``softmax(z)`` (one column per class), a regressor ``z * y_scale + y_mean`` (the target was
standardised for training). Dropout only acts while training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

OUTPUTS = ("softmax", "identity")


def forward(
    X: Any, weights: list[Any], biases: list[Any], output: str, y_mean: float = 0.0, y_scale: float = 1.0
) -> Any:
    import numpy as np

    h = np.asarray(X, dtype=np.float64)
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        h = np.maximum(h @ W + b, 0.0)
    z = h @ weights[-1] + biases[-1]
    if output == "softmax":
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    return z[:, 0] * y_scale + y_mean


def save(path: Path, weights: list[Any], biases: list[Any]) -> None:
    import numpy as np

    arrays = {f"W{i}": w for i, w in enumerate(weights)} | {f"b{i}": b for i, b in enumerate(biases)}
    with path.open("wb") as f:
        np.savez(f, **arrays)


def read(path: Path, entry: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The layers of ``path``, checked to chain: each W is (inputs, outputs), each b (outputs,)."""
    import numpy as np

    from airloop_runtime.errors import NotLoadable

    layers = int(entry.get("layers_stored", 0))
    if entry.get("output") not in OUTPUTS or layers < 1:
        raise NotLoadable(f"{path.name}: an MLP needs an output in {OUTPUTS} and at least one layer")
    with np.load(path, allow_pickle=False) as held:
        try:
            weights = [held[f"W{i}"].astype(np.float64) for i in range(layers)]
            biases = [held[f"b{i}"].astype(np.float64) for i in range(layers)]
        except KeyError as exc:
            raise NotLoadable(f"{path.name} lacks layer {exc}") from None
    width = None
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        if W.ndim != 2 or b.shape != (W.shape[1],) or (width is not None and W.shape[0] != width):
            raise NotLoadable(f"{path.name}: layer {i} does not chain ({W.shape} with bias {b.shape})")
        width = W.shape[1]
    return weights, biases


class MLP:
    """A fitted MLP answering like a scikit-learn estimator (see ``airloop_runtime.answers``)."""

    def __init__(self, weights: list[Any], biases: list[Any], output: str, y_mean: float, y_scale: float) -> None:
        self.weights, self.biases, self.output = weights, biases, output
        self.y_mean, self.y_scale = y_mean, y_scale

    def __call__(self, X: Any) -> Any:
        return forward(X, self.weights, self.biases, self.output, self.y_mean, self.y_scale)
