"""How a fitted pipeline is stored in the registry and loaded back: data files, never a pickle.

``save`` writes the folder ``airloop_runtime`` reads (``airloop-model.json`` + the estimator in its
library's own format), then loads it back with the runtime and checks that it answers exactly as
the fitted pipeline does: a version that would serve other answers is never registered. ``load`` is
the one loader every reader of the registry uses (evaluation, promotion's smoke test, the server,
the backtest). Versions registered before this format are cloudpickles: they load only where the
project says ``serving.trust_pickle: true``, since unpickling runs whatever code the file carries.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from airloop.errors import RegistryError, UserCodeError
from airloop.model import onnx
from airloop_runtime import FORMAT, FORMAT_VERSION, META, NotLoadable
from airloop_runtime import load as runtime_load
from airloop_runtime.pipeline import sha256
from airloop_runtime.readers import XGBOOST_CLASSES, skops_io
from airloop_runtime.trust import TRUSTED

log = logging.getLogger("airloop.model")

LOADER_MODULE = "airloop_runtime.pyfunc"
# a stored model answers within this of the fitted one (native formats reproduce it exactly)
TOLERANCE = 1e-9
HINT_LEGACY = (
    "retrain it (`airloop run`), or set `serving.trust_pickle: true` in the spec if you trust every "
    "writer of this registry"
)


@dataclass(frozen=True)
class LoadOptions:
    """What a loader may accept beyond the safe formats: the project's decision, never the model's."""

    pickle: bool = False  # versions registered as cloudpickles (before the safe format)
    types: tuple[str, ...] = ()  # skops types the spec's candidates list as reviewed
    runtime: str = "auto"  # the estimator's verified ONNX form where onnxruntime runs (or onnx / python)

    @classmethod
    def of(cls, spec: Any) -> LoadOptions:
        types = sorted({t for c in spec.candidates for t in c.trusted_types})
        return cls(bool(spec.serving.trust_pickle), tuple(types), spec.serving.runtime)


def save(pipeline: Any, folder: Path, rows: Any, task: str, trusted: tuple[str, ...] = ()) -> dict[str, Any]:
    """Write ``pipeline`` (a fitted airloop pipeline) into ``folder`` and check the stored form
    answers ``rows`` as the pipeline does. Returns the model's description (its JSON)."""
    folder.mkdir(parents=True, exist_ok=True)
    steps = dict(pipeline.steps)
    estimator = steps["model"]
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "task": task,
        "transform": _transform(steps["transform"]) if "transform" in steps else None,
        "prepare": steps["prepare"].prepared().state(),
        "estimator": _save_estimator(estimator, folder, trusted),
    }
    (folder / META).write_text(json.dumps(meta, indent=1, default=_plain))
    _verify(pipeline, folder, rows, task, trusted)
    meta["onnx"] = onnx.form(pipeline, rows, folder, task)  # checked against the estimator, or why not
    (folder / META).write_text(json.dumps(meta, indent=1, default=_plain))
    return meta


def _transform(transform: Any) -> dict[str, Any]:
    """The transform by import path, and its module's source hash (checked at load)."""
    digest = transform.source_sha256()
    return {"path": transform.path, **({"sha256": digest} if digest else {})}


def _save_estimator(estimator: Any, folder: Path, trusted: tuple[str, ...]) -> dict[str, Any]:
    from airloop.model.encoded import EncodedLabels

    entry: dict[str, Any] = {}
    if isinstance(estimator, EncodedLabels):  # fitted on label codes: the labels are stored beside it
        entry["classes"] = estimator.classes_.tolist()
        estimator = estimator.estimator_
    kind = type(estimator)
    top = kind.__module__.split(".")[0]
    entry.update({"class": kind.__name__, "module": kind.__module__})
    from airloop.families.mlp import MLP

    if isinstance(estimator, MLP):  # its layers as arrays: serving needs neither torch nor keras
        from airloop_runtime import mlp

        path = folder / "estimator.npz"
        mlp.save(path, estimator.coefs_, estimator.intercepts_)
        entry.update(
            format="mlp-npz", library=f"{estimator.library} {_version(estimator.library)}", **estimator.stored()
        )
    elif top == "xgboost":
        if kind.__name__ not in XGBOOST_CLASSES:
            raise UserCodeError(
                f"XGBoost estimator `{kind.__name__}` has no safe stored form here",
                hint=f"use one of {', '.join('xgboost.' + c for c in XGBOOST_CLASSES)}",
            )
        path = folder / "estimator.ubj"
        estimator.save_model(str(path))
        entry.update(format="xgboost-ubj", library=f"xgboost {_version('xgboost')}")
        if "classes" not in entry and hasattr(estimator, "classes_"):
            entry["classes"] = estimator.classes_.tolist()
    elif top == "lightgbm":
        path = folder / "estimator.txt"
        estimator.booster_.save_model(str(path))
        classes = getattr(estimator, "classes_", None)
        entry.update(
            format="lightgbm-text",
            library=f"lightgbm {_version('lightgbm')}",
            classes=None if classes is None else classes.tolist(),
        )
    else:
        path = folder / "estimator.skops"
        sio = skops_io()
        # skops looks names up in every imported module; Airflow's lazy modules warn
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sio.dump(estimator, path)
            held = set(sio.get_untrusted_types(file=path)) - set(TRUSTED)
        refused = sorted(held - set(trusted))
        if refused:
            path.unlink()
            raise UserCodeError(
                f"estimator `{kind.__module__}.{kind.__name__}` stores types the safe format does not trust: {refused}",
                hint="after reviewing them, list them under the candidate's `trusted_types`, or choose another "
                "estimator",
            )
        entry.update(format="skops", library=f"scikit-learn {_version('sklearn')}", trusted_types=sorted(held))
    entry.update(file=path.name, sha256=sha256(path))
    return entry


def _verify(pipeline: Any, folder: Path, rows: Any, task: str, trusted: tuple[str, ...]) -> None:
    import numpy as np

    from airloop.model.transform import FeatureTransform

    stored = runtime_load(folder, trusted=trusted, transform_class=FeatureTransform, runtime="python")
    if task != "regression" and hasattr(pipeline, "predict_proba"):
        fitted, answered = pipeline.predict_proba(rows), stored.predict_proba(rows)
    else:
        fitted, answered = pipeline.predict(rows), stored.predict(rows)
    fitted, answered = np.asarray(fitted, dtype="float64"), np.asarray(answered, dtype="float64")
    gap = float(np.max(np.abs(fitted - answered))) if fitted.size else 0.0
    if fitted.shape != answered.shape or not gap <= TOLERANCE:
        raise UserCodeError(
            f"the stored model answers differently from the fitted one (max difference {gap:.3g} on {len(rows)} rows)",
            hint="report this with the estimator's name: its stored form does not reproduce it",
        )


def load(
    uri: str, options: LoadOptions = LoadOptions(), what: str | None = None, registered_sha256: str | None = None
) -> Any:
    """The model at ``uri`` (``models:/...``, ``runs:/...`` or a local folder), loaded without
    unpickling (or, for a version registered before the safe format, only under ``options.pickle``).
    ``registered_sha256``: the registry's ``airloop.model_sha256`` for this version, checked against
    its ``airloop-model.json`` (the artifact store and the registry are separate places to tamper with)."""
    what = what or uri
    if Path(uri).is_dir():  # a packaged model folder loads without importing MLflow at all
        local = Path(uri)
    else:
        import mlflow.artifacts

        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    data = data_folder(local)
    if data is not None:
        from airloop.model.transform import FeatureTransform

        if registered_sha256 and sha256(data / META) != registered_sha256:
            raise RegistryError(
                f"{what} is refused: its files changed after it was registered ({META}'s SHA-256 differs from "
                "the registry's airloop.model_sha256)",
                hint="register it again (`airloop run`), and check who can write to the artifact store",
            )
        try:
            model = runtime_load(data, trusted=options.types, transform_class=FeatureTransform, runtime=options.runtime)
        except NotLoadable as exc:
            raise RegistryError(f"{what} is refused: {exc}", hint="register it again (`airloop run`)") from exc
        if model.transform_changed:  # served, but not with the code it was trained and judged with
            log.warning(
                "%s: transform `%s` changed since the model was trained; it answers with today's code "
                "(retrain with `airloop run` so the model learns from it)",
                what,
                model.meta["transform"]["path"],
            )
        return model
    if not options.pickle:
        raise RegistryError(
            f"{what} is a pickle registered before airloop's safe model format; loading it would run code "
            "stored in the artifact",
            hint=HINT_LEGACY,
        )
    import mlflow.sklearn

    log.warning("%s is loaded by unpickling (serving.trust_pickle: true)", what)
    return mlflow.sklearn.load_model(str(local))


def describe(model: Any) -> dict[str, Any]:
    """How a loaded model was stored, for ``/model``: the safe format and its estimator file, or a
    pickle loaded under ``serving.trust_pickle``."""
    meta = getattr(model, "meta", None)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return {"format": "cloudpickle", "loaded_because": "serving.trust_pickle: true", "runtime": "python"}
    entry = meta["estimator"]
    form = meta.get("onnx") or {"refused": "stored before ONNX forms were made"}
    return {
        "format": f"{FORMAT} {meta['format_version']}",
        "estimator": f"{entry.get('module', '')}.{entry.get('class', '')}".strip("."),
        "stored_as": entry["format"],
        "library": entry.get("library"),
        **({"trained_on": entry["device"]} if entry.get("device") else {}),
        "runtime": getattr(model, "runtime", "python"),  # what answers: python (<library>) or onnxruntime
        **(
            {"transform": {"path": meta["transform"]["path"], "changed_since_training": model.transform_changed}}
            if meta.get("transform")
            else {}
        ),
        "onnx": {"verified": True, "max_abs_diff": form.get("max_abs_diff")} if form.get("verified") else form,
    }


def data_folder(local: Path) -> Path | None:
    """The model's ``airloop-model.json`` folder, or None for a version stored any other way."""
    import yaml

    try:
        flavors = yaml.safe_load((local / "MLmodel").read_text()).get("flavors", {})
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    conf = flavors.get("python_function") or {}
    if conf.get("loader_module") != LOADER_MODULE or not conf.get("data"):
        return None
    folder = local / conf["data"]
    return folder if (folder / META).is_file() else None


def _version(module: str) -> str:
    """The installed version of a library by its module (the xgboost module comes from xgboost-cpu here)."""
    return str(getattr(sys.modules.get(module), "__version__", "") or version(module))


def _plain(value: Any) -> Any:
    """numpy scalars and arrays in a model's JSON (labels, prepared state) as plain values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")
