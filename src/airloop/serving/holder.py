"""A served model per alias: load ``models:/<name>@<alias>`` and swap atomically when the alias moves.

The server holds the champion; a second holder (a shadow or canary alias) works the same way.
A ``Snapshot`` is immutable; requests take the current one when they arrive and finish on it,
so a swap (one reference assignment) never touches a request in flight.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, TypeAdapter

from airloop.data.contract import Contract
from airloop.errors import AirloopError, RegistryError
from airloop.model.store import LoadOptions
from airloop.scoring.frame import ContractColumns
from airloop.scoring.smoke import Loaded, load, smoke_test
from airloop.serving.schema import RecordShape, batch_model, record_model
from airloop.tracking.tags import CHAMPION, labels_of, metrics_of
from airloop.workspace import Workspace

log = logging.getLogger("airloop.serving")


@dataclass(frozen=True)
class Snapshot(ContractColumns):
    name: str
    version: str
    model: Any
    contract: Contract
    record: type[BaseModel]
    batch: type[BaseModel]
    record_check: TypeAdapter[Any]
    batch_check: TypeAdapter[Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    task: str
    shape: RecordShape = RecordShape()  # what a record may carry besides the features
    loaded_at: float = field(default_factory=time.time)

    @cached_property
    def known_fields(self) -> frozenset[str]:
        """The fields a record may carry that are not extra ones (features, ids, passthrough)."""
        return self.shape.known(self.feature_names)

    @cached_property  # read on every request: computed once per loaded version
    def classes(self) -> list[Any] | None:
        classes = getattr(self.model, "classes_", None)
        return None if classes is None else classes.tolist()

    @cached_property
    def positive(self) -> Any:
        """A binary model's positive class, as recorded at training (None otherwise)."""
        known = labels_of(self.tags)
        return known.get("positive") if known else None


def load_snapshot(
    ws: Workspace,
    name: str,
    version: str,
    task: str,
    unknown: str,
    max_records: int,
    smoke: bool = True,
    options: LoadOptions = LoadOptions(),
    shape: RecordShape = RecordShape(),
) -> Snapshot:
    """Load a version; with ``smoke``, it must first answer its own input example through the
    prediction path requests take (``scoring.smoke``), else it raises and is never served."""
    return snapshot_of(load(ws, name, str(version), task, options), unknown, max_records, smoke, shape)


def snapshot_of(
    loaded: Loaded, unknown: str, max_records: int, smoke: bool = True, shape: RecordShape = RecordShape()
) -> Snapshot:
    """A loaded version (from the registry, or from a packaged model folder: ``serving.bundle``) as
    the server holds it; with ``smoke``, after it answered its input example."""
    name, version, task = loaded.name, loaded.version, loaded.task
    record = record_model(loaded.contract, unknown, shape=shape)
    batch = batch_model(record, max_records)
    snap = Snapshot(
        name,
        str(version),
        loaded.model,
        loaded.contract,
        record,
        batch,
        TypeAdapter(record),
        TypeAdapter(batch),
        metrics_of(loaded.tags),
        loaded.tags,
        task,
        shape,
    )
    if smoke:
        smoke_test(snap, loaded.example, loaded.example_source, name, str(version))
    return snap


class ModelHolder:
    """Holds the current snapshot of one alias; ``refresh`` loads a new version off the request path."""

    def __init__(
        self,
        ws: Workspace | None,  # None: a packaged model folder, with no registry (``serving.bundle``)
        name: str,
        task: str,
        unknown: str,
        max_records: int,
        alias: str = CHAMPION,
        drop_when_unset: bool = False,
        smoke: bool = True,
        options: LoadOptions = LoadOptions(),
        shape: RecordShape = RecordShape(),
    ) -> None:
        self.options = options  # how this project loads versions (serving.trust_pickle, serving.runtime)
        self.shape = shape  # serving.passthrough, entity_id, extra_fields
        self.ws, self.name, self.task, self.unknown, self.max_records = ws, name, task, unknown, max_records
        self.alias = alias
        # a version answers its input example before it answers clients; a shadow answers none (its
        # failures are counted on /model: refusing it would hide what the shadow is there to show)
        self.smoke = smoke
        # the champion keeps serving if its alias vanishes; a shadow stops when its alias does
        self.drop_when_unset = drop_when_unset
        self.current: Snapshot | None = None
        self.last_error: dict[str, Any] | None = None
        self.swaps: list[dict[str, Any]] = []
        self._failed_version: str | None = None
        self._lock = threading.Lock()  # one load at a time

    def alias_version(self) -> str | None:
        from airloop.tracking import Tracker

        assert self.ws is not None
        return Tracker(self.ws).alias_version(self.name, self.alias)

    def load_initial(self, timeout: float = 120.0) -> Snapshot:
        version = self.alias_version()
        if version is None:
            raise RegistryError(
                f"model `{self.name}` has no {self.alias} in {self.ws.tracking_uri if self.ws else 'the model folder'}",
                hint="train one with `airloop run PATH`, or promote a version with `airloop promote PATH VERSION`",
            )
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["snap"] = self._load(version)
            except BaseException as exc:  # reported below, in the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise RegistryError(
                f"{self.alias} v{version} did not load within {timeout:.0f}s",
                hint="check the MLflow store and the model's size",
            )
        if "error" in box:
            exc = box["error"]
            if isinstance(exc, AirloopError):  # says what is wrong: refused by the smoke test, or no contract
                raise exc
            raise RegistryError(
                f"{self.alias} v{version} failed to load: {type(exc).__name__}: {exc}",
                hint="promote a version that loads, or roll back with `airloop rollback PATH`",
            )
        self.current = box["snap"]
        log.info("serving %s v%s (%s)", self.name, version, self.alias)
        return self.current

    def refresh(self, force: bool = False) -> dict[str, Any]:
        """Swap to the version the alias names now, if it moved. Blocking: call it off the event loop."""
        with self._lock:
            before = self.current.version if self.current else None
            try:
                version = self.alias_version()
            except Exception as exc:
                self.last_error = {"at": time.time(), "error": f"registry unreachable: {exc}"}
                log.error("cannot read the %s alias: %s", self.alias, exc)
                return {"status": "error", "version": before, "error": self.last_error["error"]}
            if version is None and self.drop_when_unset and before is not None:
                self.current = None
                log.info("%s alias of %s is unset: dropped v%s", self.alias, self.name, before)
                return {"status": "dropped", "version": None, "from": before}
            if version is None or version == before:
                return {"status": "unchanged", "version": before}
            if version == self._failed_version and not force:
                return {"status": "unchanged", "version": before, "error": (self.last_error or {}).get("error")}
            started = time.perf_counter()
            try:
                snap = self._load(version)
            except Exception as exc:
                self._failed_version = version
                self.last_error = {
                    "at": time.time(),
                    "version": version,
                    "error": f"{type(exc).__name__}: {str(exc)[:500]}",
                }
                if isinstance(exc, AirloopError) and exc.hint:
                    self.last_error["fix"] = exc.hint
                log.error("%s v%s failed to load; still serving v%s: %s", self.alias, version, before, exc)
                return {"status": "failed", "version": before, "error": self.last_error["error"]}
            self.current = snap  # the swap: requests that already hold the old snapshot finish on it
            self._failed_version = None
            self.last_error = None
            info = {"at": time.time(), "from": before, "to": version, "load_seconds": time.perf_counter() - started}
            self.swaps.append(info)
            log.info("swapped %s v%s -> v%s in %.2fs", self.name, before, version, info["load_seconds"])
            return {"status": "swapped", "version": version, "from": before}

    def _load(self, version: str) -> Snapshot:
        assert self.ws is not None
        return load_snapshot(
            self.ws, self.name, version, self.task, self.unknown, self.max_records, self.smoke, self.options, self.shape
        )
