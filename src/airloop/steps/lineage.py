"""Lineage: what a model version or run records about where it came from."""

from __future__ import annotations

import subprocess
from pathlib import Path

from airloop import __version__


def code_version(folder: Path) -> str:
    """airloop's version plus the git commit of the project's folder, when it is a git checkout."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"airloop-{__version__}" + (f"+git.{sha}" if sha else "")
