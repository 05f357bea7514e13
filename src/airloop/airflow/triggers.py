"""The landing folder's watcher: fire once per ``_READY`` marker, and keep the marker (renamed).

Airflow's DirectoryFileDeleteTrigger deletes the marker as it fires; then the run it starts cannot
tell the files the marker vouched for from a file still being written. This one renames it to
``_READY.taken-<ns>`` instead (the file's time kept), so ingest takes only files written before it
and removes it once they are settled.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from airflow.providers.standard.triggers.file import DirectoryFileDeleteTrigger
from airflow.triggers.base import TriggerEvent

from airloop.data.sources import TAKEN_PREFIX


class ReadyMarkerTrigger(DirectoryFileDeleteTrigger):
    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airloop.airflow.triggers.ReadyMarkerTrigger",
            {"directory": self.directory, "filename": self.filename, "poke_interval": self.poke_interval},
        )

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        async for snapshot in shared_stream:
            if self.filename not in snapshot["names"]:
                continue
            marker = anyio.Path(snapshot["directory"]) / self.filename
            taken = marker.with_name(f"{TAKEN_PREFIX}{time.time_ns()}")
            try:
                await marker.rename(taken)
            except FileNotFoundError:  # lost a race with a sibling, or a plain `airloop run` took it
                continue
            self.log.info("marker %s taken as %s", marker, taken.name)
            yield TriggerEvent({"filepath": str(taken)})
            return
