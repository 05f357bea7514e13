"""requirements.lock: the model's pins are kept as registered, the packaged server's imports join
with their closure as installed here, and every line is one pinned distribution."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from airloop.packaging.lock import SERVER, lock, uses_onnx


def test_the_model_pins_win_and_the_server_joins(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("mlflow-skinny==3.17.2\nnumpy==1.0.0\n-c constraints.txt\n")
    (tmp_path / "constraints.txt").write_text("click==0.0.1  # what the model was registered with\n")
    lines, notes = lock(tmp_path, "auto")
    names = {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1] for line in lines}
    assert names["numpy"] == "1.0.0"
    assert names["click"] == "0.0.1"
    assert notes == [f"click==0.0.1 kept from the model (installed here: click=={version('click')})"]
    for dist in SERVER:
        assert dist.lower() in names, dist
    assert names["starlette"] == version("starlette")  # fastapi's dependency, pinned as installed
    assert all(line.count("==") == 1 and not line.startswith("-") for line in lines)
    assert "airloop" not in names
    assert "onnxruntime" not in names  # no verified ONNX form in this folder


def test_onnxruntime_only_for_a_verified_form_the_runtime_uses(tmp_path: Path) -> None:
    assert not uses_onnx(tmp_path, "auto")  # no MLmodel: not a model folder airloop stored
