"""`airloop package` refuses bad input before touching the registry or writing anything: an --out
it did not write, an image reference Docker would refuse. Each is an airloop error with a fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from airloop.cli import main
from airloop.errors import UsageError
from airloop.packaging.context import package
from airloop.workspace import Workspace

SPEC = {
    "name": "demo",
    "task": "binary",
    "data": {"source": {"path": "data/*.csv"}, "target": "y"},
    "candidates": [{"name": "lr", "estimator": "sklearn.linear_model.LogisticRegression"}],
}


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "project" / "airloop.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(SPEC))
    return path


def test_an_out_folder_that_exists_needs_overwrite(tmp_path: Path, spec: Path) -> None:
    out = tmp_path / "ctx"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="exists and is not empty") as caught:
        package(str(spec), Workspace(tmp_path / "ws"), out)
    assert "--overwrite" in (caught.value.hint or "")
    assert (out / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "ws").exists()  # refused before the registry was opened


def test_overwrite_replaces_only_a_context_airloop_wrote(tmp_path: Path, spec: Path) -> None:
    out = tmp_path / "ctx"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not written by `airloop package`") as caught:
        package(str(spec), Workspace(tmp_path / "ws"), out, overwrite=True)
    assert caught.value.hint
    assert (out / "keep.txt").exists()


def test_an_image_that_is_no_reference_is_refused(tmp_path: Path, spec: Path) -> None:
    with pytest.raises(UsageError, match="not an image reference") as caught:
        package(str(spec), Workspace(tmp_path / "ws"), tmp_path / "ctx", image="Registry/Model:latest")
    assert "without a tag" in (caught.value.hint or "")
    assert not (tmp_path / "ctx").exists()


def test_the_cli_prints_the_error_and_its_fix_with_its_exit_code(tmp_path: Path, spec: Path) -> None:
    out = tmp_path / "ctx"
    out.mkdir()
    (out / "x").write_text("")
    res = CliRunner().invoke(main, ["package", str(spec), "--out", str(out), "--workspace", str(tmp_path / "ws")])
    assert res.exit_code == UsageError.exit_code
    assert "exists and is not empty" in res.output
    assert "fix:" in res.output
    assert "Traceback" not in res.output


def test_serve_needs_a_spec_or_a_model_dir(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["serve"])
    assert res.exit_code == UsageError.exit_code
    assert "--model-dir" in res.output
    res = CliRunner().invoke(main, ["serve", "--model-dir", str(tmp_path), "--port", "0"])
    assert res.exit_code == 6  # RegistryError: not a packaged folder
    assert "no airloop-serve.json" in res.output
    assert "airloop package" in res.output
