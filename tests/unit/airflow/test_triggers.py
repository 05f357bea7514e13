"""The landing folder's watcher fires once per marker and keeps it, renamed, with its time."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from airloop.airflow.triggers import ReadyMarkerTrigger


def test_the_marker_is_renamed_not_deleted_and_keeps_its_time(tmp_path: Path) -> None:
    marker = tmp_path / "_READY"
    marker.write_text("")
    os.utime(marker, (1_000_000, 1_000_000))
    trigger = ReadyMarkerTrigger(directory=str(tmp_path), filename="_READY", poke_interval=0.01)

    async def first_event():
        async for event in trigger.run():
            return event

    event = asyncio.run(asyncio.wait_for(first_event(), 10))
    taken = Path(event.payload["filepath"])
    assert not marker.exists()
    assert taken.name.startswith("_READY.taken-")
    assert taken.stat().st_mtime == 1_000_000
    assert (
        ReadyMarkerTrigger(directory="d", filename="_READY").serialize()[0]
        == "airloop.airflow.triggers.ReadyMarkerTrigger"
    )
