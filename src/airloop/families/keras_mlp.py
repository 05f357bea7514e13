"""The MLP trained with Keras 3 (the ``keras`` extra): ``keras.Sequential`` of Dense and Dropout,
Adam, ``EarlyStopping(restore_best_weights=True)`` on the validation part. Keras runs on the backend
``KERAS_BACKEND`` names; unset, TensorFlow where it is installed, else PyTorch (what the extra
installs, and what the tests here use)."""

from __future__ import annotations

from typing import Any

from sklearn.base import ClassifierMixin, RegressorMixin  # noqa: TID253 (model code only, never DAG parsing)

from airloop.families.mlp import MLP, ClassifierAnswers, RegressorAnswers


def keras_module() -> Any:
    import importlib.util
    import os
    import sys

    if "keras" not in sys.modules and "KERAS_BACKEND" not in os.environ:
        os.environ["KERAS_BACKEND"] = "tensorflow" if importlib.util.find_spec("tensorflow") else "torch"
    import keras

    return keras


class KerasMLP(MLP):
    library = "keras"
    airloop_requires = ("keras",)
    extra = "keras"

    def _cuda(self) -> bool:
        keras = keras_module()
        if keras.backend.backend() == "torch":
            import torch

            return bool(torch.cuda.is_available())
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
        return False

    def _train(self, data: Any, n_out: int, classify: bool, seed: int) -> tuple[list[Any], list[Any], int]:
        keras = keras_module()
        X, Y, Xv, Yv = data
        keras.utils.set_random_seed(seed)
        hidden: list[Any] = []
        for _ in range(self.layers):
            hidden += [keras.layers.Dense(self.width, activation="relu"), keras.layers.Dropout(self.dropout, seed=seed)]
        net = keras.Sequential([keras.Input((X.shape[1],)), *hidden, keras.layers.Dense(n_out)])
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True) if classify else "mse"
        optimizer = keras.optimizers.Adam(learning_rate=self.learning_rate, weight_decay=self.alpha or None)
        net.compile(optimizer=optimizer, loss=loss)
        stop = keras.callbacks.EarlyStopping(patience=self.patience, restore_best_weights=True)
        with keras.device(f"{self.device_}:0"):
            history = net.fit(X, Y, batch_size=self.batch_size, epochs=self.epochs, validation_data=(Xv, Yv),
                              callbacks=[stop], shuffle=True, verbose=0)  # fmt: skip
        dense = [layer for layer in net.layers if isinstance(layer, keras.layers.Dense)]
        weights = [layer.get_weights()[0].copy() for layer in dense]
        biases = [layer.get_weights()[1].copy() for layer in dense]
        keras.backend.clear_session()
        return weights, biases, len(history.history["loss"])


class KerasMLPClassifier(ClassifierMixin, ClassifierAnswers, KerasMLP):  # type: ignore[misc]
    """A Keras MLP classifier (softmax over the classes, cross-entropy)."""


class KerasMLPRegressor(RegressorMixin, RegressorAnswers, KerasMLP):  # type: ignore[misc]
    """A Keras MLP regressor (the target standardised for training, mean squared error)."""
