"""airloop's own wheel, built from this checkout (airloop is on no index).

The build runs on a copy of ``pyproject.toml``, ``README.md`` and ``src/`` in a temporary folder, so
that nothing (``build/``, ``*.egg-info``) is written into the checkout, with the setuptools already
installed (``--no-build-isolation``: no download). The container installs it with ``--no-deps``:
its dependencies (Airflow, MLflow, ...) are the training side's; the server's are in the lock.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from airloop.errors import EnvironmentProblem

HINT = "run `airloop package` from a source checkout of airloop (pip install -e .), or pass a built wheel with --wheel"


def checkout() -> Path:
    """The source checkout airloop is imported from (the folder holding pyproject.toml and src/)."""
    import airloop

    root = Path(airloop.__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "src" / "airloop_runtime").is_dir():
        raise EnvironmentProblem(f"airloop is imported from {Path(airloop.__file__).parent}, not a checkout", hint=HINT)
    return root


def build(dest: Path, source: Path | None = None) -> Path:
    """Build the wheel of ``source`` (default: this checkout) into ``dest``; returns its path."""
    root = source or checkout()
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    with tempfile.TemporaryDirectory(prefix="airloop-wheel-") as tmp:
        copy = Path(tmp) / "src-copy"
        copy.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (root / name).is_file():
                shutil.copy2(root / name, copy / name)
        shutil.copytree(root / "src", copy / "src", ignore=ignore)
        out = Path(tmp) / "wheel"
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), "."]
        done = subprocess.run(cmd, cwd=copy, capture_output=True, text=True)
        wheels = sorted(out.glob("airloop-*.whl")) if done.returncode == 0 else []
        if not wheels:
            raise EnvironmentProblem(
                f"building airloop's wheel failed: {(done.stderr or done.stdout).strip()[-800:]}",
                hint="check that pip and setuptools>=69 are installed in this environment, or pass --wheel",
            )
        target = dest / wheels[0].name
        shutil.copy2(wheels[0], target)
    return target


def use(wheel: Path, dest: Path) -> Path:
    """A wheel built elsewhere (--wheel), copied into the context."""
    if not wheel.is_file() or not wheel.name.startswith("airloop-") or wheel.suffix != ".whl":
        raise EnvironmentProblem(f"{wheel} is not an airloop wheel", hint="give the path of airloop-<version>-*.whl")
    dest.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(wheel, dest / wheel.name))
