"""``requirements.lock``: every distribution the container installs, each pinned to one version.

Three sources, merged into one flat list that installs with ``--no-deps`` (nothing resolved at
build time, so nothing drifts):
- the version's own requirements and the constraints it was registered with (its MLflow folder's
  ``requirements.txt`` and ``constraints.txt``): what the model was checked with, kept as is;
- what the packaged server imports (``SERVER``), with everything those depend on, pinned to the
  versions installed here (``model.requirements.constraints``): what airloop was tested with;
- onnxruntime when the version carries a verified ONNX form and the spec's runtime uses it, so that
  the container answers with the runtime ``airloop serve`` answers with here.
Where a server dependency is also the model's, the model's pin wins and the difference is reported.
"""

from __future__ import annotations

import json
from pathlib import Path

from airloop.model.requirements import constraints

# the distributions `airloop serve --model-dir` imports beyond the model's own (uvicorn runs on
# uvloop and httptools; pyarrow compacts the prediction log into Parquet segments)
SERVER = (
    "click",
    "fastapi",
    "uvicorn",
    "uvloop",
    "httptools",
    "pydantic",
    "PyYAML",
    "prometheus-client",
    "pyarrow",
)
ONNX = ("onnxruntime",)


def pins_of(requirements: Path) -> list[str]:
    """The ``name==version`` lines of a requirements file (options such as ``-c`` are skipped)."""
    if not requirements.is_file():
        return []
    lines = (line.split("#")[0].strip() for line in requirements.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def uses_onnx(model_dir: Path, runtime: str) -> bool:
    """Whether the server answers with the version's ONNX form: one was verified, the runtime allows it."""
    from airloop.model.store import data_folder
    from airloop_runtime import META

    data = data_folder(model_dir)
    if data is None or runtime == "python":
        return False
    return bool((json.loads((data / META).read_text()).get("onnx") or {}).get("verified"))


def lock(model_dir: Path, runtime: str) -> tuple[list[str], list[str]]:
    """(the lock's lines, notes on pins where here differs from the model's)."""
    from packaging.utils import canonicalize_name

    model = pins_of(model_dir / "requirements.txt") + pins_of(model_dir / "constraints.txt")
    wanted = {canonicalize_name(p.split("==")[0]): p for p in model}
    extra = SERVER + (ONNX if uses_onnx(model_dir, runtime) else ())
    server = constraints([f"{name}==" for name in extra])
    notes: list[str] = []
    for pin in server:
        key = canonicalize_name(pin.split("==")[0])
        if key not in wanted:
            wanted[key] = pin
        elif wanted[key].split("==")[1] != pin.split("==")[1]:
            notes.append(f"{wanted[key]} kept from the model (installed here: {pin})")
    return sorted(wanted.values(), key=str.lower), notes
