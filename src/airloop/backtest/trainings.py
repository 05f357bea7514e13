"""One training per input, shared by every policy of a backtest.

A candidate trained on the data up to a cutoff is the same whichever policy asks for it (same
data, spec and code: the seeded pipeline fits the same model), so each cutoff is trained once, in
one workspace, and each policy's gate judges it against its own champion. A training runs the
project's own train plan in this process (``airloop.local.inprocess``: ingest, validate, split,
tune, train, evaluate), on a copy of the project whose data folder holds one file per period up
to the cutoff, so the data contract judges each period's file alone, as it judges landed files.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airloop.errors import AirloopError
from airloop.spec import LoadedSpec, load_spec
from airloop.workspace import Workspace

PERIOD_FILES = "periods"


@dataclass
class Candidate:
    """The fit trained on the data before ``cutoff`` (its refs after evaluate), or why there is none."""

    key: str
    refs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    refit_refs: dict[str, Any] | None = None
    refit_seconds: float = 0.0
    rejected: list[str] = field(default_factory=list)  # period files the contract refused

    @property
    def ok(self) -> bool:
        return self.error is None


class Trainings:
    def __init__(self, loaded: LoadedSpec, root: Path) -> None:
        self.loaded, self.root = loaded, root
        self.ws = Workspace(root / "ws")
        self.cache: dict[str, Candidate] = {}
        self.refused: set[str] = set()  # period files a contract refused: they never join later data

    def period_file(self, label: str, frame: Any) -> str:
        """Write one period's rows once (``periods/<label>.parquet``); returns its label."""
        folder = self.root / PERIOD_FILES
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{label}.parquet"
        if not path.exists():
            frame.to_parquet(path, index=False)
        return label

    def at(self, key: str, labels: list[str]) -> Candidate:
        """The candidate trained on the period files ``labels`` (cached by ``key``, the cutoff)."""
        if key in self.cache:
            return self.cache[key]
        from airloop.local.inprocess import run_train

        use = [label for label in labels if label not in self.refused]
        project = self.project_copy(key, use)
        started = time.perf_counter()
        cand = Candidate(key)
        try:
            cand.refs = run_train(load_spec(project / "airloop.yaml"), self.ws, f"cut-{key}", until="evaluate")
        except AirloopError as exc:
            cand.error = exc.message
            cand.rejected = self.rejected_files(project, use)
            self.refused.update(cand.rejected)
        cand.seconds = time.perf_counter() - started
        self.cache[key] = cand
        return cand

    def refit(self, cand: Candidate) -> dict[str, Any]:
        """The candidate refit on training + holdout rows (``promotion.refit: all``), once, in an MLflow
        run of its own beside the judged fit (whose drift reference it must not overwrite)."""
        if cand.refit_refs is not None:
            return cand.refit_refs
        from airloop.steps.context import StepContext
        from airloop.steps.runner import execute
        from airloop.tracking import Tracker

        tracker = Tracker(self.ws)
        run = tracker.child_run(cand.refs["mlflow_run_id"], "refit on all data", {}, {})
        project = self.root / "cuts" / cand.key
        ctx = StepContext(self.loaded.spec.name, str(project / "airloop.yaml"), self.ws, run_id=f"cut-{cand.key}")
        refs = {**cand.refs, "mlflow_run_id": run, "gate": {"passed": True, "reasons": []}}
        started = time.perf_counter()
        out = execute("refit", ctx, refs)
        # judged on the holdout, they stay the judged fit's
        for name in ("importance.json", "calibration.json", "decay.json"):
            extra = ctx.run_dir / "reference" / name
            if extra.exists():
                tracker.log_artifact(run, str(extra), "reference")
        tracker.finish(run, "FINISHED")
        cand.refit_seconds = time.perf_counter() - started
        cand.refit_refs = out
        return out

    def project_copy(self, key: str, labels: list[str]) -> Path:
        """The project as it stood at the cutoff: its spec (data from ``data/``, no landing folder, no
        schedules), its Python files (a feature transform), and the period files so far."""
        import yaml

        src = self.loaded
        project = self.root / "cuts" / key
        if project.exists():
            shutil.rmtree(project)
        (project / "data").mkdir(parents=True)
        for py in src.root.glob("*.py"):
            shutil.copy2(py, project / py.name)
        for label in labels:
            shutil.copy2(self.root / PERIOD_FILES / f"{label}.parquet", project / "data" / f"{label}.parquet")
        raw = src.spec.model_dump(mode="json", exclude_unset=True)
        raw["data"] = {**raw["data"], "source": {"path": "data/*.parquet", "format": "parquet"}}
        raw["data"].pop("incoming", None)
        raw["schedule"] = None
        raw.setdefault("monitoring", {})["schedule"] = None
        (project / "airloop.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        return project

    def rejected_files(self, project: Path, labels: list[str]) -> list[str]:
        """The period files a failed run's contract report blames."""
        import json

        path = self.ws.run_dir(self.loaded.spec.name, f"cut-{project.name}") / "contract_report.json"
        if not path.exists():
            return []
        report = json.loads(path.read_text())
        bad = [Path(b["name"]).stem for b in report.get("batches", []) if b.get("violations")]
        return [label for label in labels if label in bad]
