"""Label files dropped in a labels folder: claimed, checked line by line, recorded, reported.

A file (CSV or JSON lines with request_id or entity_id, label, and optionally ts) is claimed by
renaming it into ``processing/`` under a name of its own: a rename is atomic, so of the server and
a monitor run that both look, one wins. It is parsed and checked there (``data.labelcheck``, the
checks of POST /labels), and its good labels are recorded in one transaction with a row naming the
claim and its counts, so a claim retried after a crash is never recorded twice. Then it moves to
``done/``, or to ``rejected/`` when not one of its lines was recorded. Refused lines, and lines
naming request ids never issued (counted, not stored), are listed with their line numbers and
reasons in ``rejected/<file>.rejects.jsonl``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airloop.data.labelcheck import ALLOWED, FIELDS, Refused, Rules, check

if TYPE_CHECKING:
    from airloop.data.predlog import PredictionLog

log = logging.getLogger("airloop.labels")

SUFFIXES = (".csv", ".jsonl")
# a claim this old belongs to a process that died while taking it: it is taken again (the claim's
# row in the log keeps its labels from being recorded twice)
STALE_SECONDS = 600.0
_SEP = "~"  # processing/<claim time ns>-<pid>~<name>


@dataclass
class Taken:
    """What one pass over a labels folder did: files taken, labels recorded, lines refused, lines
    naming request ids never issued."""

    files: int = 0
    recorded: int = 0
    refused: int = 0
    unknown: int = 0

    def add(self, other: Taken) -> None:
        self.files += other.files
        self.recorded += other.recorded
        self.refused += other.refused
        self.unknown += other.unknown


def ingest_label_files(log: PredictionLog, folder: Path, rules: Rules | None = None, taker: str = "") -> int:
    """Record the labels of the files dropped in ``folder``, checked as POST /labels checks them
    (``rules``: None checks their shape only); returns the labels recorded."""
    return take(log, folder, rules or Rules(), taker).recorded


def take(predlog: PredictionLog, folder: Path, rules: Rules, taker: str = "") -> Taken:
    """Take every label file in ``folder`` (and claims left behind by a process that died)."""
    taken = Taken()
    if not folder.exists():
        return taken
    processing = folder / "processing"
    mine = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix not in SUFFIXES or path.name.startswith((".", "_")):
            continue
        processing.mkdir(exist_ok=True)
        claim = processing / f"{time.time_ns()}-{os.getpid()}{_SEP}{path.name}"
        try:
            path.rename(claim)
        except FileNotFoundError:  # someone else claimed it
            continue
        mine.append(claim)
    if processing.exists():
        mine += [c for c in sorted(processing.iterdir()) if c not in mine and _stale(c)]
    for claim in mine:
        taken.add(_take_one(predlog, folder, claim, rules, taker))
    return taken


def _stale(claim: Path) -> bool:
    stamp = claim.name.partition(_SEP)[0].partition("-")[0]
    return stamp.isdigit() and time.time() - int(stamp) / 1e9 > STALE_SECONDS


def _take_one(predlog: PredictionLog, folder: Path, claim: Path, rules: Rules, taker: str) -> Taken:
    name = claim.name.partition(_SEP)[2] or claim.name
    try:
        good, bad = _judge(claim, rules)
    except FileNotFoundError:  # a stale claim another process finished meanwhile
        return Taken()
    try:
        recorded, unknown = predlog.record_labels(
            [lab for _, lab in good], source=f"file:{name}", file=(claim.name, name, len(bad), taker)
        )
    except sqlite3.IntegrityError:  # a stale claim recorded before its taker died: only the move is left
        _move(claim, folder / "done" / name)
        return Taken()
    except (sqlite3.Error, OSError):  # nothing recorded (a full disk): the file waits for the next pass
        if not (folder / name).exists():
            claim.rename(folder / name)
        raise
    missing = set(unknown)
    for number, lab in good:
        if lab["entity_id"] is None and lab["request_id"] in missing:
            problem = Refused("request_id", f"{lab['request_id']!r} was never issued: not stored")
            bad.append(_report(number, problem, lab))
    bad.sort(key=lambda b: b["line"])
    report = _write_report(folder / "rejected", name, bad) if bad else None
    target = _move(claim, (folder / "done" if recorded else folder / "rejected") / name)
    taken = Taken(1, recorded, len(bad) - (n_unknown := len(good) - recorded), n_unknown)
    _log(name, taken, report, target)
    return taken


def _judge(claim: Path, rules: Rules) -> tuple[list[tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
    """(line number, label ready to record) per good line; a report item per bad one."""
    good: list[tuple[int, dict[str, Any]]] = []
    bad: list[dict[str, Any]] = []
    try:
        lines = read_lines(claim)
    except FileNotFoundError:
        raise
    except Exception as exc:  # whatever the bytes are, the file must end somewhere with a reason
        return good, [_report(0, Refused("", f"could not be read: {type(exc).__name__}: {exc}"[:300]), None)]
    for number, raw, problem in lines:
        judged = check(raw, rules) if problem is None else problem
        if isinstance(judged, Refused):
            bad.append(_report(number, judged, raw))
        else:
            good.append((number, judged))
    if not lines:
        bad.append(_report(0, Refused("", "no labels in the file"), None))
    return good, bad


def _move(claim: Path, to: Path) -> Path:
    target = _free(to)
    target.parent.mkdir(exist_ok=True)
    try:
        claim.rename(target)
    except FileNotFoundError:  # another process finished a stale claim first
        pass
    return target


def read_lines(path: Path) -> list[tuple[int, Any, Refused | None]]:
    """(line number, the raw label, None) per label in the file, or (line, text, why it is unreadable)."""
    data = path.read_bytes()
    if path.suffix == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return [(0, None, Refused("", f"not UTF-8 text (byte {exc.start})"))]
        return _csv_lines(text)
    out: list[tuple[int, Any, Refused | None]] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line.decode("utf-8-sig")), None))
        except UnicodeDecodeError:
            out.append((number, line[:200].decode("utf-8", "replace"), Refused("", "not UTF-8 text")))
        except (ValueError, RecursionError) as exc:
            shown = line[:200].decode("utf-8", "replace")
            out.append((number, shown, Refused("", f"not JSON: {getattr(exc, 'msg', exc)}")))
    return out


def _csv_lines(text: str) -> list[tuple[int, Any, Refused | None]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    extra = [c for c in header if c not in FIELDS and c != "timestamp"]
    if extra:
        problem = f"column {extra[0]!r} is not a field of a label: a label has {ALLOWED}"
        return [(1, ",".join(header), Refused(extra[0], problem))]
    out: list[tuple[int, Any, Refused | None]] = []
    for row in reader:
        if None in row:
            out.append((reader.line_num, row, Refused("", f"more values than the {len(header)} columns")))
            continue
        # CSV has only text: "1" is the number 1, "yes" stays text, an empty cell is no value
        out.append((reader.line_num, {k: _scalar(v) for k, v in row.items() if v not in (None, "")}, None))
    return out


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _report(number: int, refused: Refused, raw: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"line": number, "field": refused.field, "problem": refused.problem}
    if raw is not None:
        item["input"] = raw if isinstance(raw, dict) else str(raw)[:200]
    return item


def _write_report(folder: Path, name: str, bad: list[dict[str, Any]]) -> Path:
    folder.mkdir(exist_ok=True)
    path = _free(folder / f"{name}.rejects.jsonl")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(json.dumps(b, default=str) + "\n" for b in bad))
    tmp.replace(path)
    return path


def _free(path: Path) -> Path:
    """``path``, or beside it a name no file has (a file of the same name was taken before)."""
    if not path.exists():
        return path
    stem, suffix = (
        (path.name[: -len(".rejects.jsonl")], ".rejects.jsonl")
        if path.name.endswith(".rejects.jsonl")
        else (path.stem, path.suffix)
    )
    n = 1
    while (candidate := path.with_name(f"{stem}.{n}{suffix}")).exists():
        n += 1
    return candidate


def _log(name: str, taken: Taken, report: Path | None, target: Path) -> None:
    counts = f"{taken.recorded} labels recorded, {taken.refused} lines refused, {taken.unknown} unknown request ids"
    if report is None:
        log.info("label file %s: %s", name, counts)
    elif taken.recorded:
        log.warning("label file %s: %s; lines and reasons in %s", name, counts, report)
    else:
        log.warning("label file %s: nothing recorded (%s); moved to %s, reasons in %s", name, counts, target, report)


def summary(predlog: Path) -> dict[str, Any]:
    """What ``airloop status`` says of the label files taken into a prediction log: counts over all
    files, and the last file taken."""
    if not predlog.exists():
        return {}
    con = sqlite3.connect(f"file:{predlog}?mode=ro", uri=True)
    try:
        files, recorded, refused, unknown = con.execute(
            "select count(*), sum(recorded), sum(refused), sum(unknown) from label_files"
        ).fetchone()
        last = con.execute("select name, ts, recorded, refused, unknown from label_files order by ts desc limit 1")
        newest = last.fetchone()
    except sqlite3.OperationalError:  # a log written before label files were counted
        return {}
    finally:
        con.close()
    if not files:
        return {}
    out: dict[str, Any] = {"files": files, "recorded": recorded, "refused": refused, "unknown": unknown}
    out["last"] = dict(zip(("name", "ts", "recorded", "refused", "unknown"), newest, strict=True))
    return out
