"""Promise: compaction never loses or doubles a record. Two writer processes (as two server
workers) log batches and note each batch once its commit returned (what the server acknowledges);
a third process compacts in a loop. All three are killed with kill -9 at random points, round
after round; then every acknowledged record is in the log exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from airloop.data.replicas import Source
from airloop.data.scan import read_predictions, scan
from airloop.data.segments import compact, list_segments, segments_of

WRITER = textwrap.dedent(
    """
    import json, os, sys, time, uuid
    from pathlib import Path
    from airloop.data.predlog import PredictionLog
    log = PredictionLog(Path(sys.argv[1]))
    acks = os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    while True:
        rid = uuid.uuid4().hex
        log.write([(rid, r, time.time(), "1", None, {"x": r * 0.5, "c": "a"}, "1", "[0.3, 0.7]") for r in range(20)])
        os.write(acks, (rid + "\\n").encode())  # acknowledged: committed before this line
        time.sleep(0.002)
    """
)
COMPACTOR = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import airloop.data.segments as seg
    seg.SEGMENT_ROWS = 150  # many small rounds: more places to be killed in
    folder, replica = (Path(sys.argv[2]), sys.argv[3]) if len(sys.argv) > 3 else (None, "")
    while True:
        seg.compact(Path(sys.argv[1]), force=True, folder=folder, replica=replica)
    """
)


def start(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE)


def test_kill_9_of_writers_and_compactor_loses_and_doubles_nothing(tmp_path: Path, record_property) -> None:
    log, acks = tmp_path / "p.db", tmp_path / "acks.txt"
    rng = random.Random(12)
    from airloop.data.predlog import PredictionLog

    PredictionLog(log).close()  # the schema exists before the racers start
    rounds = 8
    for _ in range(rounds):
        procs = [start(WRITER, str(log), str(acks)), start(WRITER, str(log), str(acks)), start(COMPACTOR, str(log))]
        time.sleep(rng.uniform(1.0, 2.0))  # the imports take ~0.5 s: then a random point in the work
        for p in rng.sample(procs, len(procs)):
            os.kill(p.pid, signal.SIGKILL)
            time.sleep(rng.uniform(0, 0.05))
        for p in procs:
            p.wait(10)
            assert p.returncode == -signal.SIGKILL, p.stderr.read().decode()[-2000:] if p.stderr else ""
    compact(log, force=True)
    acked = [line for line in acks.read_text().splitlines() if len(line) == 32]
    frame = read_predictions(log)
    counts = frame.groupby("request_id").size()
    missing = set(acked) - set(counts.index)
    assert not missing, f"{len(missing)} acknowledged requests lost"
    assert (counts == 20).all(), counts[counts != 20].head()  # every record of a request, once
    assert not frame.duplicated(["request_id", "row"]).any()
    segments = list_segments(segments_of(log))
    assert len(segments) >= 3  # compaction really ran between the kills, not only at the end
    record_property("observed", f"{rounds} rounds, {len(acked)} acknowledged requests, {len(segments)} segments")


def test_kill_9_of_two_replicas_writing_and_compacting_into_one_folder_loses_and_doubles_nothing(
    tmp_path: Path, record_property
) -> None:
    """The same with two replicas: each its own front, writer and compactor, one shared segments
    folder where their counters overlap. Killed at random, round after round; then every
    acknowledged record of both is read once, as the monitor reads them."""
    import pandas as pd

    from airloop.data.predlog import PredictionLog

    shared, acks, rng = tmp_path / "shared", tmp_path / "acks.txt", random.Random(23)
    fronts = {name: tmp_path / f"{name}.db" for name in ("a", "b-1")}
    for front in fronts.values():
        PredictionLog(front).close()
    rounds = 4
    for _ in range(rounds):
        procs = [start(WRITER, str(f), str(acks)) for f in fronts.values()]
        procs += [start(COMPACTOR, str(f), str(shared), name) for name, f in fronts.items()]
        time.sleep(rng.uniform(1.0, 2.0))
        for p in rng.sample(procs, len(procs)):
            os.kill(p.pid, signal.SIGKILL)
            time.sleep(rng.uniform(0, 0.05))
        for p in procs:
            p.wait(10)
            assert p.returncode == -signal.SIGKILL, p.stderr.read().decode()[-2000:] if p.stderr else ""
    compact(fronts["a"], force=True, folder=shared, replica="a")  # b-1 keeps rows in its front
    acked = [line for line in acks.read_text().splitlines() if len(line) == 32]
    parts = [Source(name, front, shared) for name, front in fronts.items()]
    frame = pd.concat([batch.frame for batch in scan(None, sources=parts)], ignore_index=True)
    counts = frame.groupby("request_id").size()
    missing = set(acked) - set(counts.index)
    assert not missing, f"{len(missing)} acknowledged requests lost"
    assert (counts == 20).all(), counts[counts != 20].head()
    assert not frame.duplicated(["request_id", "row"]).any()
    segments = list_segments(shared, replica=None)
    assert {s.replica for s in segments} == {"a", "b-1"}
    assert min(s.first for s in segments if s.replica == "b-1") == 1  # the counters overlap
    record_property("observed", f"{rounds} rounds, {len(acked)} acknowledged requests, {len(segments)} segments")
