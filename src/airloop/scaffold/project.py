"""Read the data `airloop init` was given, decide, and write the spec; report what was decided."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from airloop.errors import DataError
from airloop.scaffold.profile import InitError, Profile, plausible_targets, profile
from airloop.scaffold.render import render, spec_name

# names that say nothing of the project: it is named by the first folder up that does
GENERIC_STEMS = {"data", "datasets", "dataset", "raw", "input", "inputs", "train", "part-0", "part_0"}
PROFILE_ROWS = 200_000  # profiling a sample is enough to decide kinds and roles


@dataclass
class Written:
    path: Path
    profile: Profile
    text: str


def read_data(data: str) -> tuple[object, list[Path]]:
    import pandas as pd

    from airloop.data.sources import read_file

    files = sorted(Path(p) for p in glob.glob(data, recursive=True) if Path(p).is_file())
    if not files:
        raise DataError(f"no file matches `{data}`", hint="give a CSV or Parquet file, or a glob such as data/*.csv")
    frame = pd.concat([read_file(f) for f in files], ignore_index=True)
    if len(frame) > PROFILE_ROWS:
        frame = frame.sample(n=PROFILE_ROWS, random_state=0)
    return frame, files


def init_project(
    data: str,
    target: str | None,
    task: str | None = None,
    out: str | Path = ".",
    name: str | None = None,
    force: bool = False,
) -> Written:
    frame, files = read_data(data)
    if target is None:
        options = plausible_targets(frame)  # type: ignore[arg-type]
        listing = "\n".join(f"    {col}: {what}" for col, what in options) or "    (none found)"
        raise InitError(
            f"which column should the model predict? plausible targets in {data}:\n{listing}",
            hint=f"airloop init {data} --target COLUMN",
        )
    out_dir = Path(out).resolve()
    path = out_dir / "airloop.yaml"
    if path.exists() and not force:
        raise InitError(f"{path} already exists", hint="pass --force to overwrite it, or --out another folder")
    prof = profile(frame, target, task)  # type: ignore[arg-type]
    source = data if glob.has_magic(data) else str(files[0])
    text = render(prof, name or spec_name(project_stem(files)), relative_source(source, out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return Written(path, prof, text)


def project_stem(files: list[Path]) -> str:
    """A name for the project: the file's stem, else (several files, or a generic name such as
    train.csv) the first folder up that is not generic itself (flights/data/*.csv -> flights)."""
    stem = files[0].stem
    if len(files) == 1 and stem.lower() not in GENERIC_STEMS:
        return stem
    for folder in files[0].resolve().parents:
        if folder.name and folder.name.lower() not in GENERIC_STEMS:
            return folder.name
    return stem


def relative_source(source: str, out_dir: Path) -> str:
    """data.source.path relative to the spec's folder, so the project can move as a whole."""
    try:
        return Path(os.path.relpath(Path(source).absolute(), out_dir)).as_posix()
    except ValueError:  # another drive: no relative path exists
        return source


def decisions(w: Written) -> str:
    """What init decided and why, for the terminal."""
    p = w.profile
    lines = [f"wrote {w.path}", f"  task {p.task}: `{p.target.name}` {p.task_reason}"]
    if p.class_shares:
        shares = ", ".join(f"{k!r} {v:.1%}" for k, v in list(p.class_shares.items())[:6])
        lines.append(f"  classes: {shares}")
    lines.append(f"  features: {len(p.used('numeric'))} numeric, {len(p.used('categorical'))} categorical")
    for c in p.columns:
        if c.use in ("exclude", "time") or c.reason and c.use == "feature":
            lines.append(f"    {c.name}: {c.use} - {c.reason}")
    lines.append("  split: " + (f"time on `{p.time.name}`" if p.time else "random (no time column with 10+ dates)"))
    lines.append(f"next: airloop validate {w.path} && airloop run {w.path}")
    if p.time:
        lines.append(
            f"then, to choose the monitoring policy on your own history: airloop backtest {w.path} "
            "--start YYYY-MM-DD --end YYYY-MM-DD --every month --policies grid  (chosen on the first half "
            "of the periods, reported on the second, the `monitoring:` block written as a suggestion)"
        )
    else:
        lines.append(
            "then: `airloop backtest ... --policies grid` chooses the monitoring policy on your history once "
            "split.column names when each row happened"
        )
    return "\n".join(lines)
