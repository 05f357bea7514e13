"""Write a packaged model folder (read by ``airloop.serving.bundle``) from the registry.

The version is loaded from the registry as ``airloop promote`` loads it, written, then loaded back
from the folder the way ``airloop serve --model-dir`` loads it and smoke-tested on its input
example: a folder that would not serve is never packaged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airloop import __version__
from airloop.errors import RegistryError
from airloop.model.store import LoadOptions, data_folder
from airloop.serving.bundle import CONTRACT_FILE, FORMAT, FORMAT_VERSION, MODEL_DIR, SERVE_FILE, read
from airloop.workspace import Workspace

# serving settings a packaged folder does not carry: a secret, and what follows registry aliases
LEFT_OUT = {"token", "shadow", "shadow_share", "canary", "trust_pickle"}


def write(ws: Workspace, spec: Any, version: str, folder: Path) -> dict[str, Any]:
    """``spec.name`` v``version`` into ``folder`` (created); returns what ``airloop-serve.json`` holds.
    Which alias named the version is not in it (``context.json`` says): the same version packaged
    by number or by alias is the same folder, with the same image tag."""
    from airloop.scoring.smoke import load, smoke_test

    options = LoadOptions.of(spec)
    if options.pickle:  # the packaged server never unpickles: a legacy version is refused below
        options = LoadOptions(False, options.types, options.runtime)
    folder.mkdir(parents=True)
    model_dir = folder / MODEL_DIR
    loaded = load(ws, spec.name, version, spec.task, options, dst=str(model_dir))
    if data_folder(model_dir) is None:
        raise RegistryError(
            f"v{version} of `{spec.name}` is stored as a pickle (before airloop's safe format): it is not packaged",
            hint="retrain it (`airloop run PATH`) and package the new version",
        )
    (folder / CONTRACT_FILE).write_text(loaded.contract.to_json())
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": spec.name,
        "version": str(version),
        "task": spec.task,
        "packaged_by": f"airloop {__version__}",
        "serving": spec.serving.model_dump(mode="json", exclude=LEFT_OUT),
        "load": {"types": list(options.types), "runtime": options.runtime},
        "tags": loaded.tags,
        "example": loaded.example,
        "example_source": loaded.example_source,
    }
    (folder / SERVE_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True, default=str))
    packaged = read(folder).load()  # as `airloop serve --model-dir` will load it: code/ on the path
    smoke_test(packaged, packaged.example, packaged.example_source, spec.name, version)
    return meta
