"""A loaded model: the user's transform, the fitted column preparation, the estimator, in that order.

It answers like the scikit-learn pipeline it was fitted as (``predict``, ``predict_proba``,
``classes_``, ``steps``), so evaluation, serving and the backtest use either the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from airloop_runtime.errors import NotLoadable
from airloop_runtime.prepare import PreparedColumns
from airloop_runtime.readers import READERS
from airloop_runtime.transform import UserTransform

FORMAT = "airloop-model"
FORMAT_VERSION = 1
META = "airloop-model.json"


class Pipeline:
    def __init__(self, steps: list[tuple[str, Any]], meta: dict[str, Any]) -> None:
        self.steps = steps
        self.meta = meta
        self.runtime = "python"  # what runs the estimator: "python (<library>)" or "onnxruntime <version>"
        self.transform_changed = False  # the transform's source differs from the one it was trained with

    @property
    def estimator(self) -> Any:
        return self.steps[-1][1]

    @property
    def classes_(self) -> Any:
        return getattr(self.estimator, "classes_", None)

    def _prepared(self, X: Any) -> Any:
        data = X
        for _, step in self.steps[:-1]:
            data = step.transform(data)
        return data

    def predict(self, X: Any) -> Any:
        return self.estimator.predict(self._prepared(X))

    @property
    def predict_proba(self) -> Any:
        if not hasattr(self.estimator, "predict_proba"):
            raise AttributeError("this model's estimator has no predict_proba")
        return lambda X: self.estimator.predict_proba(self._prepared(X))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(
    folder: str | Path, *, trusted: Iterable[str] = (), transform_class: type = UserTransform, runtime: str = "auto"
) -> Pipeline:
    """The model stored in ``folder`` (its ``airloop-model.json`` and the estimator's file).

    ``trusted``: types beyond this runtime's own list that a skops file may hold (the caller's
    reviewed list, never the model's). ``runtime``: ``auto`` runs the estimator's verified ONNX
    form where onnxruntime is installed, ``onnx`` requires it, ``python`` never uses it. Raises
    NotLoadable saying why a folder is refused."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / META).read_text())
    except (OSError, ValueError) as exc:
        raise NotLoadable(f"{folder} holds no readable {META}: {exc}") from exc
    if meta.get("format") != FORMAT or not isinstance(meta.get("format_version"), int):
        raise NotLoadable(f"{META} is not an {FORMAT} description")
    if meta["format_version"] > FORMAT_VERSION:
        raise NotLoadable(
            f"the model is format {meta['format_version']}, newer than this runtime reads ({FORMAT_VERSION}): "
            "upgrade airloop"
        )
    entry = meta["estimator"]
    fmt = entry.get("format")
    if fmt not in READERS:
        raise NotLoadable(f"unknown estimator format {fmt!r} (known: {sorted(READERS)})")
    path = folder / Path(entry["file"]).name  # a bare file name: nothing outside the folder
    if not path.is_file():
        raise NotLoadable(f"the estimator's file {path.name} is missing")
    if sha256(path) != entry.get("sha256"):
        raise NotLoadable(f"{path.name} changed after the model was stored (its SHA-256 differs)")
    # the stored estimator is read (and so checked) whatever runs: a version holding an untrusted
    # file is refused even where its ONNX form would answer
    estimator, ran_by = _read(path, entry, trusted), f"python ({entry.get('library') or fmt})"
    fast = _onnx_form(folder, meta, runtime)
    if fast is not None:
        estimator, ran_by = fast, "onnxruntime"
    steps: list[tuple[str, Any]] = []
    if meta.get("transform"):
        steps.append(("transform", transform_class(meta["transform"]["path"])))
    steps.append(("prepare", PreparedColumns.from_state(meta["prepare"])))
    steps.append(("model", estimator))
    pipeline = Pipeline(steps, meta)
    if meta.get("transform"):
        trained = meta["transform"].get("sha256")
        # None where the model stored no hash (older versions) or the module is no file here
        now = steps[0][1].source_sha256() if trained else None
        pipeline.transform_changed = bool(trained and now and now != trained)
    pipeline.runtime = ran_by if ran_by != "onnxruntime" else f"onnxruntime {_ort_version()}"
    return pipeline


def _read(path: Path, entry: dict[str, Any], trusted: Iterable[str]) -> Any:
    fmt = entry["format"]
    reader, module = READERS[fmt]
    try:
        return reader(path, entry, trusted)
    except NotLoadable:
        raise
    except ImportError as exc:
        raise NotLoadable(f"reading a {fmt} estimator needs `{module}`, which is not installed ({exc})") from exc
    except Exception as exc:
        raise NotLoadable(f"{path.name} does not read as {fmt}: {type(exc).__name__}: {exc}") from exc


def _onnx_form(folder: Path, meta: dict[str, Any], runtime: str) -> Any:
    """The verified ONNX form as the estimator, when ``runtime`` allows it and it can run; else None."""
    from airloop_runtime import onnx

    if runtime not in ("auto", "onnx", "python"):
        raise NotLoadable(f"unknown runtime {runtime!r} (auto, onnx or python)")
    form = meta.get("onnx") or {}
    if runtime == "python":
        return None
    if not form.get("verified"):
        if runtime == "onnx":
            raise NotLoadable(f"the model has no verified ONNX form ({form.get('refused', 'none was stored')})")
        return None
    if not onnx.available():
        if runtime == "onnx":
            raise NotLoadable("runtime onnx needs onnxruntime, which is not installed (the onnx extra)")
        return None
    path = folder / Path(form["file"]).name
    if not path.is_file() or sha256(path) != form.get("sha256"):
        raise NotLoadable(f"{path.name} is missing or changed after the model was stored")
    try:
        return onnx.estimator(path.read_bytes(), form.get("classes"))
    except Exception as exc:
        raise NotLoadable(f"{path.name} does not load in onnxruntime: {type(exc).__name__}: {exc}") from exc


def _ort_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)
