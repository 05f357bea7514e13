"""k8s/kserve/: airloop's image as a KServe custom predictor, checked against the KServe v1beta1
schema written down in src/airloop/packaging/schemas/ (KServe's CRD cannot be downloaded here) and
its inlined PodSpec against the Kubernetes schemas."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airloop.packaging import checks, kserve, manifests
from airloop.packaging.context import write_manifests

pytest.importorskip("kubernetes_validate")


def write(tmp_path: Path) -> Path:
    write_manifests(tmp_path / "k8s", "demo", "3", "registry.example.com/team/demo", "v3-0123456789ab", "TOKEN")
    return tmp_path / "k8s" / "kserve"


def test_the_inference_service_validates_and_runs_the_same_server(tmp_path: Path) -> None:
    folder = write(tmp_path)
    report = checks.validate_kserve(folder)
    assert report.ok, report.line()
    isvc = yaml.safe_load((folder / kserve.FILE).read_text())
    (container,) = isvc["spec"]["predictor"]["containers"]
    deployment = yaml.safe_load((tmp_path / "k8s" / "base" / "deployment.yaml").read_text())
    (served,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"] == served["image"] == "registry.example.com/team/demo:v3-0123456789ab"
    for same in ("env", "resources", "securityContext", "volumeMounts"):
        assert container[same] == served[same], same
    assert sorted(p.name for p in folder.iterdir()) == ["inferenceservice.yaml", "kustomization.yaml", "pvc.yaml"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["spec"]["predictor"]["containers"][0].update(name="server"), "'kserve-container' was expected"),
        (lambda d: d["spec"]["predictor"].update(scaleMetric="gpu"), "'gpu' is not one of"),
        (lambda d: d["spec"]["predictor"].update(replicas=2), "spec/predictor"),  # a key no PodSpec has
        (lambda d: d["spec"]["predictor"]["containers"][0]["resources"].update(limit={}), "resources"),
        (lambda d: d["metadata"].update(name="Demo_1"), "metadata/name"),
        (lambda d: d.update(apiVersion="serving.kserve.io/v1alpha1"), "apiVersion"),
    ],
)
def test_a_broken_inference_service_is_reported(tmp_path: Path, change, expected: str) -> None:
    folder = write(tmp_path)
    doc = yaml.safe_load((folder / kserve.FILE).read_text())
    change(doc)
    (folder / kserve.FILE).write_text(manifests.dump(doc))
    report = checks.validate_kserve(folder)
    assert not report.ok
    assert expected in report.line(), report.line()
