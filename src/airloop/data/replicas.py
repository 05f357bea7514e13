"""Serving replicas that log into one window: each named replica writes a SQLite front of its own
and compacts it into ``seg-<replica>-...`` segments in one shared folder; the monitor reads every
front and segment it can see as one log (``data.scan``).

Why a front per replica: SQLite's locking is only safe on a local disk, so replicas on several
machines cannot share one front; each replica's front is a local file only it writes. The shared
folder receives whole files renamed into place, which any shared filesystem does without locks.

A name is claimed twice over, so that two replicas never write under one name (their counters
would collide in the shared folder, and one's compaction would delete the other's rows):
- an exclusive ``flock`` on a file beside the front, held while the server runs: a second server
  on the same front is refused, and a killed one's claim ends with its process;
- a claim file in the shared folder naming the host and the front: a replica of that name on
  another front (another machine, another workspace) is refused until the claim file is deleted.
The workspace's own log (``predictions.db``, unprefixed segments) is the unnamed source "".
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from airloop.errors import EnvironmentProblem, UsageError

if TYPE_CHECKING:
    from airloop.workspace import Workspace

ENV = "AIRLOOP_REPLICA"
# a file name on every filesystem, and no "/" or ".." to climb out of the fronts folder
VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
HOSTNAME = "hostname"  # serving.replica's value that names each replica by its machine


def check_name(name: str, where: str = "--replica") -> str:
    if not VALID.match(name) or ".." in name:
        raise UsageError(
            f"{where}: {name!r} cannot name a replica",
            hint="use letters, digits, '.', '_' and '-' (at most 63, starting with a letter or digit)",
        )
    return name


def resolve(flag: str | None, spec_value: str | None) -> str | None:
    """The replica's name: the command line (--replica, $AIRLOOP_REPLICA), else ``serving.replica``
    (``hostname``: this machine's name); None when neither names one, and the server writes the
    workspace's own log as before replicas."""
    if flag:
        return check_name(flag)
    if spec_value is None:
        return None
    if spec_value == HOSTNAME:
        host = re.sub(r"[^A-Za-z0-9_.-]+", "-", socket.gethostname()).strip("-.") or "host"
        return check_name(host[:63], "the hostname")
    return check_name(spec_value, "serving.replica")


@dataclass(frozen=True)
class Source:
    """One writer's part of the log: its front (None when it is not visible here: a replica on
    another machine, whose rows are read once compacted) and the folder of its segments."""

    replica: str
    front: Path | None
    folder: Path


def sources(ws: Workspace, name: str) -> list[Source]:
    """Every part of a project's log this machine can see: the workspace's own log, each named
    replica's front here, and each replica with segments in the shared folder."""
    from airloop.data.segments import NAME, segments_of

    own = ws.prediction_log(name)
    out = [Source("", own, segments_of(own))] if own.exists() or segments_of(own).exists() else []
    shared = ws.segments_dir(name)
    fronts = ws.fronts_dir(name)
    named: dict[str, Path | None] = {}
    if fronts.exists():
        named.update({p.stem: p for p in sorted(fronts.glob("*.db")) if VALID.match(p.stem)})
    if shared.exists():
        for path in shared.iterdir():
            m = NAME.match(path.name)
            if m and m.group(2):
                named.setdefault(m.group(2), None)
    out += [Source(r, named[r], shared) for r in sorted(named)]
    return out


class Claim:
    """This process's hold on a replica name; ``release`` (or the process's end) lets it go."""

    def __init__(self, replica: str, front: Path, folder: Path) -> None:
        self.replica, self.front, self.folder = replica, front, folder
        self._fh: IO[str] | None = None

    @property
    def lock(self) -> Path:
        return self.front.with_name(self.front.name + ".claim")

    @property
    def shared(self) -> Path:
        return self.folder / f".replica-{self.replica}.json"

    def take(self) -> Claim:
        import fcntl

        self.front.parent.mkdir(parents=True, exist_ok=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        fh = open(self.lock, "a+")  # noqa: SIM115 - held open for the server's life
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise EnvironmentProblem(
                f"replica name {self.replica!r} is taken: {holder} serves with its front {self.front}",
                hint="give this server another name with --replica NAME (or $AIRLOOP_REPLICA), or stop the other",
                retryable=False,
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        fh.flush()
        self._fh = fh
        try:
            self._claim_shared()
        except BaseException:
            self.release()
            raise
        return self

    def _claim_shared(self) -> None:
        mine = {"host": socket.gethostname(), "front": str(self.front.resolve())}
        try:
            fd = os.open(self.shared, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                theirs = json.loads(self.shared.read_text())
            except (OSError, ValueError):
                theirs = {}
            if {k: theirs.get(k) for k in mine} != mine:
                raise EnvironmentProblem(
                    f"replica name {self.replica!r} is claimed in {self.folder} by host "
                    f"{theirs.get('host', '?')} with the front {theirs.get('front', '?')}",
                    hint="give this server another name with --replica NAME (or $AIRLOOP_REPLICA); if that "
                    f"replica is gone for good and its front was compacted, delete {self.shared}",
                    retryable=False,
                ) from None
            return
        with os.fdopen(fd, "w") as fh:
            json.dump(mine, fh)

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the flock
            self._fh = None
