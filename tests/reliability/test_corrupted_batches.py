"""A corrupted batch of each kind is refused, every time, and the champion does not move."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.projects import make_frame, train_with_steps, write_landing_project

from airloop.errors import ContractViolation
from airloop.tracking import Tracker
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def _corrupt(kind: str, seed: int):
    frame = make_frame(300, seed=seed, start="2024-04-01")
    if kind == "missing column":
        return frame.drop(columns=["x"]), "missing_column"
    if kind == "dtype change":
        return frame.assign(size=frame["size"].map(lambda v: f"{v:.1f} cm")), "dtype"
    if kind == "unit change":
        return frame.assign(x=frame["x"] * 1000), "range"
    if kind == "null flood":
        return frame.assign(size=None), "null_rate"
    return frame.assign(color="magenta"), "unseen_category"  # category flood


KINDS = ("missing column", "dtype change", "unit change", "null flood", "category flood")


def test_every_kind_of_corruption_is_refused_and_the_champion_stays(tmp_path: Path, record_property) -> None:
    spec, incoming = write_landing_project(tmp_path / "p")
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws, run_id="r0")
    tracker = Tracker(ws)
    before = (tracker.aliases("tiny"), tracker.version_numbers("tiny"))
    for i, kind in enumerate(KINDS):
        frame, rule = _corrupt(kind, seed=20 + i)
        name = f"batch_{i}.csv"
        frame.to_csv(incoming / name, index=False)
        (incoming / "_READY").write_text("")
        with pytest.raises(ContractViolation) as err:
            train_with_steps(spec, ws, run_id=f"bad{i}")
        assert rule in err.value.message, (kind, err.value.message)
        assert (incoming / "rejected" / name).exists(), kind
        assert (tracker.aliases("tiny"), tracker.version_numbers("tiny")) == before, kind
    assert not list((tmp_path / "p" / "data").glob("batch_*"))  # none joined the training data
    record_property("observed", f"{len(KINDS)} of {len(KINDS)} kinds refused; aliases and versions unchanged")
