"""Canary: a stable share of the traffic answered by the version the canary alias names.

A record goes to the canary when the hash of its ``entity_id`` falls in the share (the same
entity always meets the same model), or by chance when it has none. Each answer names the
version that produced it and is logged under it, so the monitor can judge the canary on its
own records. A canary that fails on a record costs the client nothing: the champion answers it,
and the failure is logged for the monitor's error rate.
"""

from __future__ import annotations

import random
import time
import zlib
from typing import Any

from airloop.serving.holder import ModelHolder


class Canary:
    def __init__(self, holder: ModelHolder, percent: float) -> None:
        self.holder, self.percent = holder, percent
        self.answered = self.failed = 0
        self.last_error: dict[str, Any] | None = None

    def choose(self, records: list[dict[str, Any]]) -> list[int]:
        """Indexes of the records the canary answers (none while no version holds the alias)."""
        if self.holder.current is None or self.percent <= 0:
            return []
        return [i for i, rec in enumerate(records) if self._in_share(rec.get("entity_id"))]

    def _in_share(self, entity: Any) -> bool:
        if entity is None:
            return random.random() * 100 < self.percent
        return zlib.crc32(str(entity).encode()) % 10_000 < self.percent * 100

    def failure(self, version: str, records: int, exc: BaseException) -> None:
        self.failed += records
        self.last_error = {"at": time.time(), "version": version, "error": f"{type(exc).__name__}: {exc}"[:500]}

    def status(self) -> dict[str, Any]:
        snap = self.holder.current
        return {
            "alias": self.holder.alias,
            "version": snap.version if snap else None,
            "note": None if snap else f"no `{self.holder.alias}` version: the champion answers everything",
            "percent": self.percent,
            "answered": self.answered,
            "failed": self.failed,
            "last_error": self.last_error,
        }
