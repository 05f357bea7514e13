"""A folder that is not a packaged model, or is missing a part, is refused by name with the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airloop.errors import RegistryError
from airloop.serving import bundle


def write(folder: Path, **meta: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    base = {"format": bundle.FORMAT, "format_version": bundle.FORMAT_VERSION, "name": "m", "version": "2"}
    (folder / bundle.SERVE_FILE).write_text(json.dumps({**base, "task": "binary", **meta}))
    return folder


def test_a_folder_without_the_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="not a packaged model folder") as caught:
        bundle.read(tmp_path)
    assert "airloop package" in (caught.value.hint or "")


def test_a_newer_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="this airloop reads airloop-serve 1"):
        bundle.read(write(tmp_path, format_version=99))


def test_a_missing_part_is_named(tmp_path: Path) -> None:
    folder = write(tmp_path / "model")
    (folder / bundle.CONTRACT_FILE).write_text("{}")
    with pytest.raises(RegistryError, match="has no mlflow/MLmodel"):
        bundle.read(folder)


def test_the_packaged_settings_come_back(tmp_path: Path) -> None:
    folder = write(tmp_path / "model", serving={"max_records": 7, "token_env": "T"}, load={"types": ["a.B"]})
    (folder / bundle.CONTRACT_FILE).write_text("{}")
    (folder / bundle.MODEL_DIR).mkdir()
    (folder / bundle.MODEL_DIR / "MLmodel").write_text("flavors: {}\n")
    got = bundle.read(folder)
    assert (got.name, got.version, got.task) == ("m", "2", "binary")
    assert got.serving.max_records == 7
    assert got.serving.token is None
    assert got.options.types == ("a.B",)
    assert got.options.pickle is False
