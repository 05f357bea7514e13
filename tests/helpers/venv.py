"""Load a registered version where airloop is not installed: a fresh virtualenv made from the
version's own requirements alone (uv from its cache where it is installed, else pip), run in
isolated mode (`python -I`: no PYTHONPATH, no current folder, no user site)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LOAD = """
import json, sys
try:
    import airloop
except ModuleNotFoundError:
    pass
else:
    sys.exit("airloop is importable here: " + airloop.__file__)
assert not any("/src" in p and "airloop" in p for p in sys.path), sys.path
import mlflow.pyfunc, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
frame = pd.read_json(sys.argv[2], orient="records")
raw = model.get_raw_model()
print(json.dumps({
    "labels": model.predict(frame).tolist(),
    "proba": raw.predict_proba(frame).tolist(),
    "runtime": raw.__module__,
}))
"""


def answers_in_fresh_venv(local: Path, records: Path, tmp: Path) -> dict:
    """What the version downloaded at ``local`` answers for ``records`` (a JSON file of records),
    loaded through ``mlflow.pyfunc`` in a new virtualenv with its requirements alone."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    uv = Path(sys.executable).parent / "uv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    if uv.exists():
        installer = [str(uv), "pip", "install", "--python", str(python)]
    else:  # pip itself, bootstrapped into the venv
        subprocess.run([str(python), "-m", "ensurepip", "-q"], check=True, env=env)
        installer = [str(python), "-m", "pip", "install"]
    subprocess.run([*installer, "-q", "-r", str(local / "requirements.txt")], check=True, env=env, cwd=tmp)
    out = subprocess.run(
        [str(python), "-I", "-c", LOAD, str(local), str(records)], capture_output=True, text=True, env=env, cwd=tmp
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def venv_from_lock(venv: Path, lock: Path, wheel: Path) -> Path:
    """A new virtualenv holding exactly ``lock`` (``--no-deps``, then checked for consistency) and
    ``wheel`` (airloop, without its training-side dependencies), as the image's Dockerfile installs
    them; uv from this environment when it is there (it reuses its cache), else pip. Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    uv = Path(sys.executable).parent / "uv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    if uv.exists():
        install, check = [str(uv), "pip", "install", "--python", str(python)], [str(uv), "pip", "check"]
        check += ["--python", str(python)]
    else:
        subprocess.run([str(python), "-m", "ensurepip", "-q"], check=True, env=env)
        install, check = [str(python), "-m", "pip", "install"], [str(python), "-m", "pip", "check"]
    subprocess.run([*install, "-q", "--no-deps", "-r", str(lock)], check=True, env=env, cwd=venv.parent)
    done = subprocess.run(check, capture_output=True, text=True, env=env)
    assert done.returncode == 0, f"the lock is not consistent:\n{done.stdout}{done.stderr}"
    subprocess.run([*install, "-q", "--no-deps", str(wheel)], check=True, env=env, cwd=venv.parent)
    return python
