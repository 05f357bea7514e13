"""Issue 24, findings 1-4: every landed file ends in exactly one place, and none blocks the project.

Before: a full data/ (another filesystem) kept a partial copy of the landed file there, which every
later run failed to read; an unreadable landed file (zero bytes, latin-1) failed ingest before it
could be rejected, so every later landing failed too; a file still being written after its
``_READY`` was half judged and then moved whole into data/; a Parquet file landed in a CSV project
was "accepted" into data/, where the source's glob never read it again."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.projects import make_frame, train_with_steps, write_landing_project

from airloop.errors import ContractViolation, DataError, EnvironmentProblem
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def _mount_small_disk(folder: Path, size: str) -> bool:
    """A tmpfs of ``size`` at ``folder`` where this process may mount one (root on Linux)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    folder.mkdir(parents=True, exist_ok=True)
    return (
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=False).returncode
        == 0
    )


@pytest.fixture
def small_data_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """data/ on a filesystem of its own that fills up: a real 256 KiB tmpfs where one can be mounted,
    else a cross-device move whose copy fails with ENOSPC half way. Yields (data folder, free_space)."""
    data = tmp_path / "p" / "data"
    mounted = _mount_small_disk(data, "256k")
    if mounted:
        state = {"filler": data / ".filler"}

        def free_space() -> None:
            state["filler"].unlink()

        yield data, mounted, free_space, state
        subprocess.run(["umount", "-l", str(data)], check=False)
        return
    import airloop.data.landing as landing

    full = {"on": True}
    real_rename, real_copy = os.rename, shutil.copyfileobj

    def rename(src, dst):  # the landing folder and data/ are on different filesystems
        if Path(dst).parent == data and not str(src).endswith(landing.PARTIAL):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(src, dst)

    def copy(fin, fout, length=0):
        if not full["on"]:
            return real_copy(fin, fout, length)
        fout.write(fin.read(4096))  # half a file reaches the disk, then it is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(landing.os, "rename", rename)
    monkeypatch.setattr(landing.shutil, "copyfileobj", copy)
    yield data, False, lambda: full.update(on=False), {}


def test_a_full_data_disk_leaves_no_partial_file_and_the_retry_lands_it(
    tmp_path: Path, small_data_disk, record_property
) -> None:
    data, mounted, free_space, state = small_data_disk
    spec, incoming = write_landing_project(tmp_path / "p")
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws, run_id="r1")
    before = sorted(p.name for p in data.iterdir())
    make_frame(2000, seed=5, start="2024-04-01").to_csv(incoming / "april.csv", index=False)  # ~140 KB
    if mounted:  # leave ~40 KB free on data/'s filesystem
        st = os.statvfs(data)
        state["filler"].write_bytes(b"\0" * max(0, st.f_bavail * st.f_frsize - 40_000))
    (incoming / "_READY").write_text("")

    for attempt in ("r2", "r3"):  # a retry on a full disk ends where the first try did
        with pytest.raises(EnvironmentProblem, match="disk is full") as failed:
            train_with_steps(spec, ws, run_id=attempt)
        assert sorted(p.name for p in data.iterdir() if p.name != ".filler") == before  # nothing partial
        assert (incoming / "april.csv").exists()
        assert (incoming / "_READY").exists()
        assert not (incoming / "rejected").exists()
    assert "april.csv stays in" in failed.value.message
    assert failed.value.exit_code == 8

    free_space()
    refs = train_with_steps(spec, ws, run_id="r4")
    assert refs["landing"] == {"accepted": ["april.csv"]}
    assert refs["rows"] == 1200 + 2000
    assert not (incoming / "_READY").exists()
    record_property(
        "observed",
        f"data/ full ({'a 256 KiB tmpfs' if mounted else 'injected ENOSPC'}): twice nothing partial in data/, "
        "april.csv kept in incoming/ with its marker, exit 8 'the disk is full'; space freed: landed whole",
    )


def test_unreadable_landed_files_are_rejected_alone_and_never_block_later_landings(
    tmp_path: Path, record_property
) -> None:
    spec, incoming = write_landing_project(tmp_path / "p")
    data = tmp_path / "p" / "data"
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws, run_id="r1")

    (incoming / "empty.csv").write_bytes(b"")
    latin = make_frame(50, seed=3, start="2024-03-15").to_csv(index=False).replace("red", "r\u00e9d")
    (incoming / "latin.csv").write_bytes(latin.encode("latin-1"))
    make_frame(200, seed=5, start="2024-04-01").to_csv(incoming / "april.csv", index=False)
    (incoming / "_READY").write_text("")
    with pytest.raises(ContractViolation, match="empty.csv"):
        train_with_steps(spec, ws, run_id="r2")
    rejected = incoming / "rejected"
    assert sorted(p.name for p in rejected.iterdir() if not p.name.endswith(".report.txt")) == [
        "empty.csv",
        "latin.csv",
    ]
    assert "empty (0 bytes)" in (rejected / "empty.csv.report.txt").read_text()
    assert "data.source.encoding" in (rejected / "latin.csv.report.txt").read_text()
    assert (data / "april.csv").exists()  # the good file beside them joined

    make_frame(200, seed=6, start="2024-05-01").to_csv(incoming / "may.csv", index=False)
    (incoming / "_READY").write_text("")
    refs = train_with_steps(spec, ws, run_id="r3")  # the next landing is not blocked
    assert refs["landing"] == {"accepted": ["may.csv"]}
    assert refs["rows"] == 1200 + 200 + 200
    assert sorted(p.name for p in incoming.iterdir()) == ["rejected"]  # each file in exactly one place
    record_property(
        "observed",
        "a 0-byte and a latin-1 CSV rejected alone with their reasons, the good file beside them joined, "
        "the next landing trained",
    )


def test_a_declared_encoding_reads_latin_1_csv(tmp_path: Path) -> None:
    spec, incoming = write_landing_project(tmp_path / "p")
    data = tmp_path / "p" / "data"
    for f in data.glob("*.csv"):
        f.write_bytes(f.read_text().replace("red", "r\u00e9d").encode("latin-1"))
    with pytest.raises(DataError, match="encoding"):
        train_with_steps(spec, Workspace(tmp_path / "ws0"), run_id="r0")
    spec.write_text(spec.read_text().replace("    path: data/*.csv\n", "    path: data/*.csv\n    encoding: latin-1\n"))
    refs = train_with_steps(spec, Workspace(tmp_path / "ws"), run_id="r1")
    assert refs["rows"] == 1200


def test_a_file_written_to_after_its_marker_is_refused_whole(tmp_path: Path, record_property) -> None:
    from airloop.plan import train_dag_id
    from airloop.spec import load_spec
    from airloop.steps.context import StepContext
    from airloop.steps.runner import execute

    spec, incoming = write_landing_project(tmp_path / "p")
    data = tmp_path / "p" / "data"
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws, run_id="r1")
    text = make_frame(400, seed=5, start="2024-04-01").to_csv(index=False)
    half = text[: len(text) // 2].rsplit("\n", 1)[0] + "\n"
    with open(incoming / "april.csv", "w") as producer:
        producer.write(half)
        producer.flush()
        (incoming / "_READY").write_text("")
        refs = train_with_steps(spec, ws, run_id="r2", until="ingest")  # the first half is judged
        producer.write(text[len(half) :])  # the rest arrives through the same open file
    loaded = load_spec(spec)
    ctx = StepContext(loaded.spec.name, str(spec), ws, dag_id=train_dag_id(loaded.spec.name), run_id="r2")
    with pytest.raises(ContractViolation, match="changed after it was judged"):
        execute("validate", ctx, refs, task_id="validate")
    assert (incoming / "rejected" / "april.csv").read_text() == text  # kept whole, with its reason
    assert "changed" in (incoming / "rejected" / "april.csv.report.txt").read_text()
    assert not (data / "april.csv").exists()
    record_property("observed", "half a CSV judged, the rest written after _READY: refused whole, not moved to data/")


def test_a_landed_file_the_source_would_never_read_is_rejected(tmp_path: Path, record_property) -> None:
    spec, incoming = write_landing_project(tmp_path / "p")  # data.source.path: data/*.csv
    data = tmp_path / "p" / "data"
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws, run_id="r1")
    make_frame(200, seed=5, start="2024-04-01").to_parquet(incoming / "april.parquet", index=False)
    (incoming / "_READY").write_text("")
    with pytest.raises(ContractViolation, match="does not match data.source.path"):
        train_with_steps(spec, ws, run_id="r2")
    assert (incoming / "rejected" / "april.parquet").exists()
    assert not (data / "april.parquet").exists()
    record_property("observed", "a Parquet file landed in a data/*.csv project: rejected, named why, not in data/")
