"""Issue 24, finding 6: a full disk under the server. Before: every request was `500 prediction
failed: OperationalError` (the rollback's own error, "cannot rollback - no transaction is active",
hid "database or disk is full") and `/ready` said 200 the whole time. Now: 503 naming the full disk
with a Retry-After, `/ready` not-ready while writes fail, both back by themselves once space is
back; nothing is acknowledged that was not committed. The same for POST /labels."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from helpers.inapp import GOOD, client


class Disk:
    """A small file system the prediction log lives on: a real tmpfs where this process may mount
    one (root), else a folder whose writes are made to fail as a full disk fails them."""

    def __init__(self, path: Path) -> None:
        self.path, self.real, self.full = path, False, False

    def fill(self) -> None:
        self.full = True
        if self.real:
            with open(self.path / "filler", "wb") as fh, pytest.raises(OSError, match="No space left"):
                _write_until_full(fh)

    def free(self) -> None:
        self.full = False
        if self.real:
            (self.path / "filler").unlink()


def _write_until_full(fh: BinaryIO) -> None:
    while True:
        fh.write(b"\0" * 65536)
        fh.flush()


class FullConnection:
    """sqlite3.Connection as it behaves on a full disk: the write fails with SQLITE_FULL after
    SQLite rolled the transaction back itself (so a second rollback fails on its own)."""

    def __init__(self, con: sqlite3.Connection, disk: Disk) -> None:
        self.con, self.disk = con, disk

    def execute(self, sql: str, *args: object) -> object:
        if self.disk.full and sql.startswith(("insert", "alter")):
            if self.con.in_transaction:
                self.con.execute("rollback")
            raise sqlite3.OperationalError("database or disk is full")
        return self.con.execute(sql, *args)

    def executemany(self, sql: str, rows: object) -> object:
        return self.execute(sql) if self.disk.full else self.con.executemany(sql, rows)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.con, name)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    path = tmp_path / "disk"
    path.mkdir()
    found = Disk(path)
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True)
        found.real = mounted.returncode == 0
    try:
        yield found
    finally:
        if found.real and subprocess.run(["umount", str(path)]).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=True)  # detached now, gone once released


def test_a_full_disk_is_a_503_and_not_ready_until_space_is_back(tmp_path: Path, disk: Disk, record_property) -> None:
    with client(tmp_path, log=disk.path / "predictions.db") as http:
        service = http.app.state.service  # type: ignore[attr-defined]
        if not disk.real:
            service.predlog._con = FullConnection(service.predlog._con, disk)
        assert http.post("/predict", json=GOOD).status_code == 200
        written = service.predlog.written
        disk.fill()
        answers = [http.post("/predict", json={"records": [GOOD] * 3}) for _ in range(3)]
        statuses = {a.status_code for a in answers}
        record_property(
            "observed",
            f"{'tmpfs' if disk.real else 'injected'} disk full: predict {sorted(statuses)} "
            f"{answers[0].json()['error'][:80]!r}; /ready {http.get('/ready').status_code}",
        )
        assert statuses == {503}, answers[0].json()
        assert "disk holding the prediction log is full" in answers[0].json()["error"]
        assert answers[0].headers["retry-after"].isdigit()
        ready = http.get("/ready")
        assert ready.status_code == 503
        assert "full" in ready.json()["error"]
        assert ready.headers["retry-after"].isdigit()
        labels = http.post("/labels", json={"labels": [{"entity_id": "e1", "label": 1}]})
        assert labels.status_code == 503, labels.json()
        assert "full" in labels.json()["error"]
        assert service.predlog.written == written  # nothing acknowledged, nothing counted
        assert http.get("/model").json()["prediction_log"]["writable"] is False

        disk.free()  # no restart: /ready probes the log and finds it writable again
        service.log_health._last_probe = 0.0
        assert http.get("/ready").status_code == 200
        assert http.post("/predict", json=GOOD).status_code == 200
        assert http.post("/labels", json={"labels": [{"entity_id": "e1", "label": 1}]}).status_code == 200
        assert service.predlog.written == written + 1
    con = sqlite3.connect(disk.path / "predictions.db")
    try:
        assert con.execute("select count(*) from predictions").fetchone() == (2,)
    finally:
        con.close()
