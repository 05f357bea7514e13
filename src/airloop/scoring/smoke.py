"""The smoke test a model version passes before it may answer anyone: it loads, and it answers its
own input example the way the server would answer those records.

Every door to the champion goes through here: ``airloop promote``, the train DAG's ``promote``
step, and the server before it swaps to a new version (or starts on one). A version that fails
is refused with the reason and whatever was serving keeps serving.

Which records: the input example MLflow stores inside the model's own folder at training (the
first rows of the training frame, as the model was fitted on them: raw features, before the
feature transform). Those are the most robust choice: real values the model and its transform
have already handled, carried with the version itself (a copied or re-registered model keeps
them). The contract says only what each column may hold and the drift reference only how values
were spread, so records made from either could fail on a value no real input has. A version
registered without an example (by hand, through MLflow) gets one record made from its contract.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from airloop.data.contract import Contract
from airloop.errors import RegistryError, UserCodeError
from airloop.model.store import LoadOptions
from airloop.scoring.frame import ContractColumns, predict
from airloop.tracking.tags import Tag

HINT_LOAD = "register the version again (`airloop run`), or promote another one"
HINT_PREDICT = "fix the estimator or the feature transform and train again, or promote another version"


@dataclass
class Loaded(ContractColumns):
    """A version as the registry holds it: the model, its contract, its tags, records to try it on."""

    name: str
    version: str
    model: Any
    contract: Contract
    tags: dict[str, str]
    task: str
    example: list[dict[str, Any]] = field(default_factory=list)
    example_source: str = ""


def load(
    ws: Any, name: str, version: str, task: str, options: LoadOptions = LoadOptions(), dst: str | None = None
) -> Loaded:
    """Contract, model and input example of ``name`` v``version``. RegistryError when it does not load
    (or must not: see ``airloop.model.store``). ``dst``: the folder to download the model into (a
    temporary one by default; ``airloop package`` keeps it)."""
    import mlflow.artifacts

    from airloop.model import store
    from airloop.tracking import Tracker

    tags = dict(Tracker(ws).version(name, version).tags)
    uri = tags.get(Tag.CONTRACT_URI)
    if not uri:
        raise RegistryError(
            f"version {version} of `{name}` carries no data contract",
            hint="register models with `airloop run` so that the contract is stored",
        )
    try:
        contract = Contract.from_json(mlflow.artifacts.load_text(uri))
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=dst)
        model = store.load(local, options, what=f"v{version} of `{name}`", registered_sha256=tags.get(Tag.MODEL_SHA256))
    except Exception as exc:
        raise RegistryError(f"v{version} of `{name}` does not load: {_short(exc)}", hint=HINT_LOAD) from exc
    loaded = Loaded(name, str(version), model, contract, tags, task)
    loaded.example, loaded.example_source = example_records(local, loaded)
    return loaded


def example_records(local: str, loaded: Loaded) -> tuple[list[dict[str, Any]], str]:
    """The version's MLflow input example as request records, else one record from its contract."""
    try:
        from mlflow.models import Model

        frame: Any = Model.load(local).load_input_example(local)
    except Exception:  # an unreadable example is no reason to refuse a model: the contract's record
        frame = None
    names = loaded.feature_names
    if frame is not None and hasattr(frame, "to_json") and set(names) <= set(frame.columns):
        rows = json.loads(frame[list(names)].to_json(orient="records", date_format="iso"))
        return rows, f"its input example ({len(rows)} rows)"
    return [contract_record(loaded.contract)], "a record made from its data contract"


def contract_record(contract: Contract) -> dict[str, Any]:
    """One plausible record: the middle of each numeric range, the first known category."""
    record: dict[str, Any] = {}
    for name in contract.feature_columns():
        rule = contract.columns[name]
        if rule.kind == "numeric":
            low, high = rule.min, rule.max
            record[name] = (low + high) / 2 if low is not None and high is not None else (low or high or 0.0)
        elif rule.kind == "boolean":
            record[name] = False
        elif rule.kind == "datetime":
            record[name] = "2000-01-01T00:00:00"
        else:
            record[name] = rule.categories[0] if rule.categories else "unknown"
    return record


def smoke_test(target: Any, records: list[dict[str, Any]], source: str, name: str, version: str) -> None:
    """``target`` (a ``Loaded`` or the server's ``Snapshot``) answers ``records`` through the
    server's own prediction path, one finite answer per record; else UserCodeError saying why."""
    what = f"v{version} of `{name}` cannot answer {source}"
    try:
        preds, proba = predict(target, records)
    except Exception as exc:
        raise UserCodeError(f"{what}: {_short(exc)}", hint=HINT_PREDICT, retryable=False) from exc
    if len(preds) != len(records):
        raise UserCodeError(
            f"{what}: {len(preds)} answers for {len(records)} records", hint=HINT_PREDICT, retryable=False
        )
    numbers = [p for p in preds if isinstance(p, float)] + [x for row in proba or [] for x in row]
    if any(p is None for p in preds) or not all(math.isfinite(x) for x in numbers):
        raise UserCodeError(
            f"{what}: it answers null, NaN or infinity (first answers: {preds[:3]})",
            hint=HINT_PREDICT,
            retryable=False,
        )


def check_version(ws: Any, name: str, version: str, task: str, options: LoadOptions = LoadOptions()) -> dict[str, Any]:
    """Load ``name`` v``version`` and smoke-test it: what ``promote`` calls before the alias moves.
    Raises RegistryError (it does not load) or UserCodeError (it loads but cannot answer)."""
    loaded = load(ws, name, version, task, options)
    smoke_test(loaded, loaded.example, loaded.example_source, name, str(version))
    return {"version": str(version), "checked_on": loaded.example_source}


def _short(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, RegistryError | UserCodeError) else str(exc)
    return f"{type(exc).__name__}: {' '.join(text.split())[:300]}"
