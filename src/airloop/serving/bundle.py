"""A packaged model folder: one registered version and everything the server reads beside it, so
that ``airloop serve --model-dir DIR`` starts with no registry and no workspace (a container).

What the registry path reads at start, and where the folder keeps it:
- the spec's ``serving`` section, ``name``, ``task`` and how versions load (trusted skops types,
  runtime): ``airloop-serve.json``;
- the version's tags (metrics, classes and positive class, lineage for ``/model``): the same file;
- the data contract requests are validated against (a run artifact in the registry): ``contract.json``;
- the input example the smoke test answers before the first request (MLflow's, read at packaging
  so that the server needs no MLflow): ``airloop-serve.json``;
- the MLflow model folder itself (``data/`` read by ``airloop_runtime``, ``code/`` with the
  user's transform, ``requirements.txt``): ``mlflow/``.

Not read by the server, so not packaged: the drift reference and the training data (the monitor's).
Left out on purpose: ``serving.token`` (a secret has no place in an image: the token comes from the
environment variable ``serving.token_env`` names, a Kubernetes Secret), ``serving.shadow`` and
``serving.canary`` (they follow registry aliases; a packaged folder holds one version).
``airloop package`` writes the folder (``airloop.packaging``); this module only reads it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airloop.errors import RegistryError
from airloop.model.store import LoadOptions
from airloop.serving.holder import ModelHolder, Snapshot, snapshot_of
from airloop.serving.schema import RecordShape
from airloop.tracking.tags import Tag

SERVE_FILE = "airloop-serve.json"
CONTRACT_FILE = "contract.json"
MODEL_DIR = "mlflow"
FORMAT = "airloop-serve"
FORMAT_VERSION = 1
HINT = "write the folder again with `airloop package PATH --out DIR` (its model/ folder is what --model-dir takes)"


@dataclass(frozen=True)
class Bundle:
    folder: Path
    name: str
    version: str
    task: str
    serving: Any  # airloop.spec.models.Serving
    options: LoadOptions
    tags: dict[str, str]
    example: list[dict[str, Any]]
    example_source: str

    @property
    def model_dir(self) -> Path:
        return self.folder / MODEL_DIR

    def load(self) -> Any:
        """The version as ``scoring.smoke.Loaded``: model, contract, tags and the records to smoke-test."""
        from airloop.data.contract import Contract
        from airloop.model import store
        from airloop.scoring.smoke import Loaded

        code = self.model_dir / "code"  # the user's transform, shipped with the model
        if code.is_dir() and str(code) not in sys.path:
            sys.path.append(str(code))  # appended: the installed airloop_runtime wins over code/'s copy
        try:
            contract = Contract.from_json((self.folder / CONTRACT_FILE).read_text())
            model = store.load(
                str(self.model_dir),
                self.options,
                what=f"v{self.version} of `{self.name}`",
                # the registry's hash travels in the folder: files rewritten after packaging are refused too
                registered_sha256=self.tags.get(Tag.MODEL_SHA256),
            )
        except RegistryError:
            raise
        except Exception as exc:
            raise RegistryError(
                f"the model folder {self.folder} does not load: {type(exc).__name__}: {exc}", hint=HINT
            ) from exc
        return Loaded(self.name, self.version, model, contract, self.tags, self.task, self.example, self.example_source)


def read(folder: Path) -> Bundle:
    """The packaged model folder at ``folder``; RegistryError naming what is missing."""
    from airloop.spec.models import Serving

    meta_file = folder / SERVE_FILE
    if not meta_file.is_file():
        raise RegistryError(f"{folder} is not a packaged model folder: it has no {SERVE_FILE}", hint=HINT)
    try:
        meta = json.loads(meta_file.read_text())
    except ValueError as exc:
        raise RegistryError(f"{meta_file} is not JSON: {exc}", hint=HINT) from None
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise RegistryError(
            f"{meta_file} is format {meta.get('format')} {meta.get('format_version')}, "
            f"this airloop reads {FORMAT} {FORMAT_VERSION}",
            hint=HINT,
        )
    for needed in (folder / CONTRACT_FILE, folder / MODEL_DIR / "MLmodel"):
        if not needed.is_file():
            raise RegistryError(f"the model folder {folder} has no {needed.relative_to(folder)}", hint=HINT)
    load = meta.get("load", {})
    return Bundle(
        folder,
        str(meta["name"]),
        str(meta["version"]),
        str(meta["task"]),
        Serving.model_validate(meta.get("serving", {})),
        LoadOptions(False, tuple(load.get("types", ())), str(load.get("runtime", "auto"))),
        {str(k): str(v) for k, v in meta.get("tags", {}).items()},
        list(meta.get("example", [])),
        str(meta.get("example_source", "")),
    )


class PackagedHolder(ModelHolder):
    """The champion of a packaged folder: its one version, loaded (and smoke-tested) once. The
    poller's ``refresh`` finds it unchanged every time: a new version is a new image."""

    def __init__(self, bundle: Bundle) -> None:
        cfg = bundle.serving
        unknown, most = cfg.unknown_categories, cfg.max_records
        shape = RecordShape.of(cfg)  # serving.passthrough, entity_id, extra_fields
        super().__init__(None, bundle.name, bundle.task, unknown, most, options=bundle.options, shape=shape)
        self.bundle = bundle

    def alias_version(self) -> str | None:
        return self.bundle.version

    def _load(self, version: str) -> Snapshot:
        return snapshot_of(self.bundle.load(), self.unknown, self.max_records, self.smoke, self.shape)
