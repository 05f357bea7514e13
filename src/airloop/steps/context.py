"""What a step knows about where it runs: the spec, the workspace and the orchestrator's ids."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from airloop.runtime.workspace import Workspace
from airloop.spec import LoadedSpec, load_spec


@dataclass
class StepContext:
    spec_path: str
    workspace: Workspace
    dag_id: str = "local"
    run_id: str = "local"
    try_number: int = 1
    events_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def loaded(self) -> LoadedSpec:
        import sys

        loaded = load_spec(self.spec_path)
        # the project's own modules (a feature transform) import from the spec's folder
        if str(loaded.root) not in sys.path:
            sys.path.insert(0, str(loaded.root))
        return loaded

    @property
    def name(self) -> str:
        return self.loaded.spec.name

    @cached_property
    def run_dir(self) -> Path:
        path = self.workspace.run_dir(self.name, self.run_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def emit(self, event: dict[str, Any]) -> None:
        """Append a progress event (JSON line) for the CLI and for the run's own record."""
        event = {"ts": time.time(), "dag_id": self.dag_id, "run_id": self.run_id, **event}
        line = json.dumps(event, default=str) + "\n"
        targets = [self.run_dir / "events.jsonl"]
        if self.events_file:
            targets.append(Path(self.events_file))
        for target in targets:
            with open(target, "a") as fh:
                fh.write(line)
