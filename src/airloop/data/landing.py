"""Landed files: what a file was when it was judged, whether its name belongs to the data source,
and its one move out of the landing folder (to data/, rejected/ or duplicates/).

A move is atomic: within a filesystem a rename; across filesystems a copy to a hidden temporary
name in the destination, fsynced, then renamed, and only then the source removed. On any failure
the temporary is removed and the source stays where it was, so a retry starts from the state the
first try started from. (``shutil.move`` leaves a partial copy behind when the destination fills
up: a full data/ once left 270,336 of 314,588 bytes there, and every later run failed to read it.)
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import os
import shutil
from pathlib import Path
from typing import Any

from airloop.errors import EnvironmentProblem

PARTIAL = ".partial"  # a hidden name with a suffix no data source reads: never mistaken for data


def file_digest(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def identity(path: Path) -> dict[str, Any]:
    """What the file is as it is judged: its size, modification time and SHA-256."""
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file_digest(path)}


def changed_since(path: Path, seen: dict[str, Any]) -> str | None:
    """Why the file is no longer what was judged (written to after its ``_READY`` marker), or None."""
    try:
        now = identity(path)
    except FileNotFoundError:
        return "it disappeared after it was judged"
    if now["size"] != seen["size"]:
        return f"it changed after it was judged: {seen['size']:,} bytes then, {now['size']:,} now"
    if now["sha256"] != seen["sha256"]:
        return "it changed after it was judged: same size, other bytes"
    return None


def belongs_to_source(pattern: str, name: str) -> bool:
    """Would a file of this name, moved into the accumulation folder, be read by ``data.source.path``?
    (A Parquet file landed in a project that reads ``data/*.csv`` would sit in data/ unread.)"""
    parts = Path(pattern).parts
    magic = [i for i, part in enumerate(parts) if glob.has_magic(part)]
    between = parts[magic[0] : -1] if magic else ()
    if any(part != "**" for part in between):  # e.g. data/*/x.csv: files do not land in sub-folders
        return False
    return fnmatch.fnmatchcase(name, parts[-1]) if parts else False


def free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``stem.landed-N.suffix`` with the first free N: a move never overwrites."""
    target = folder / name
    n = 1
    while target.exists():
        path = Path(name)
        target = folder / f"{path.stem}.landed-{n}{path.suffix}"
        n += 1
    return target


def move(src: Path, dest: Path) -> Path:
    """Move ``src`` to ``dest`` (a free name) atomically; on failure nothing is left at ``dest`` and
    ``src`` is where it was. Raises EnvironmentProblem naming the cause (a full disk, say)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(src, dest)
        return dest
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise _failed(src, dest, exc) from None
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}{PARTIAL}")
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
            fout.flush()
            os.fsync(fout.fileno())
        shutil.copystat(src, tmp)
        os.rename(tmp, dest)
        _fsync_dir(dest.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _failed(src, dest, exc) from None
    src.unlink()
    return dest


def write_atomic(path: Path, text: str) -> None:
    """A small file (a rejection report) written aside and renamed: never half there."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}{PARTIAL}")
    try:
        tmp.write_text(text)
        os.rename(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _failed(None, path, exc) from None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _failed(src: Path | None, dest: Path, exc: OSError) -> EnvironmentProblem:
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    what = f"could not move {src.name} into {dest.parent}" if src else f"could not write {dest}"
    cause = "the disk is full" if full else f"{exc.strerror or exc}"
    kept = f"; {src.name} stays in {src.parent} and the next run takes it again" if src else ""
    return EnvironmentProblem(
        f"{what}: {cause}{kept}",
        hint=f"free space on the filesystem of {dest.parent}, then run again"
        if full
        else f"check that {dest.parent} is writable, then run again",
    )
