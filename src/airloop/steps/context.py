"""What a step knows about where it runs: the project, its spec, the workspace and the orchestrator's ids.

The spec a run uses is fixed at ingest: ``snapshot_spec`` writes the resolved spec and its hash
into the run folder, and every later task of that run reads the snapshot, so editing the YAML
during a run changes neither the run nor its lineage tags.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from airloop.spec import LoadedSpec, load_spec
from airloop.workspace import Workspace

SNAPSHOT = "spec.json"


@dataclass
class StepContext:
    project: str
    spec_path: str
    workspace: Workspace
    dag_id: str = "local"
    run_id: str = "local"
    try_number: int = 1
    events_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.project

    @cached_property
    def run_dir(self) -> Path:
        path = self.workspace.run_dir(self.project, self.run_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def snapshot_file(self) -> Path:
        return self.run_dir / SNAPSHOT

    def snapshot_spec(self) -> LoadedSpec:
        """Read the YAML now and fix it for this run (ingest calls this; a rerun of ingest refreshes it)."""
        loaded = load_spec(self.spec_path)
        record = {"path": str(loaded.path), "hash": loaded.spec_hash, "spec": loaded.spec.model_dump(mode="json")}
        tmp = self.snapshot_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        tmp.replace(self.snapshot_file)
        self.__dict__["loaded"] = _importable(loaded)
        return loaded

    @cached_property
    def loaded(self) -> LoadedSpec:
        """The run's snapshot when ingest wrote one; else the YAML as it is now (the monitor DAG)."""
        if self.snapshot_file.exists():
            from airloop.spec import Spec

            record = json.loads(self.snapshot_file.read_text())
            return _importable(LoadedSpec(Spec.model_validate(record["spec"]), Path(record["path"])))
        return _importable(load_spec(self.spec_path))

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


def _importable(loaded: LoadedSpec) -> LoadedSpec:
    """The project's own modules (a feature transform) import from the spec's folder."""
    import sys

    if str(loaded.root) not in sys.path:
        sys.path.insert(0, str(loaded.root))
    return loaded
