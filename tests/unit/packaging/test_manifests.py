"""The manifests `airloop package` writes validate against the pinned Kubernetes schemas (strict:
an unknown field fails), and say what issue 22 asks of a Deployment; the Dockerfile passes hadolint
with no finding at any level. The negative cases show each checker really rejects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airloop.packaging import checks, dockerfile, manifests


def write_base(tmp_path: Path, name: str = "tiny", token_env: str = "AIRLOOP_SERVE_TOKEN") -> Path:
    base = tmp_path / "k8s" / "base"
    base.mkdir(parents=True)
    image = "registry.example.com:5000/team/tiny"
    for file, doc in manifests.render(name, "3", image, "v3-0123abcd", token_env).items():
        (base / file).write_text(manifests.dump(doc))
    return base


def test_every_manifest_validates_against_the_pinned_schemas(tmp_path: Path) -> None:
    report = checks.validate_manifests(write_base(tmp_path))
    assert report.ran, report.line()
    assert report.problems == []
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in (tmp_path / "k8s" / "base").glob("*.yaml")}
    assert kinds == {*manifests.FILES.values(), "Kustomization"}


def test_the_deployment_probes_limits_and_locks_down_the_pod(tmp_path: Path) -> None:
    base = write_base(tmp_path, token_env="MY_TOKEN")
    deploy = yaml.safe_load((base / "deployment.yaml").read_text())
    pod = deploy["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert set(c["resources"]) == {"requests", "limits"}
    assert pod["securityContext"]["runAsNonRoot"]
    assert c["securityContext"]["runAsNonRoot"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    # writable only where needed: the log's claim and an in-memory /tmp
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts == {dockerfile.LOG_DIR: "prediction-log", "/tmp": "tmp"}
    claim = yaml.safe_load((base / "pvc.yaml").read_text())["metadata"]["name"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["prediction-log"]["persistentVolumeClaim"]["claimName"] == claim
    token = next(e for e in c["env"] if e["name"] == "MY_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "tiny-serve-token", "key": "token"}
    assert c["image"] == "registry.example.com:5000/team/tiny:v3-0123abcd"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    assert kustomization["images"] == [{"name": "registry.example.com:5000/team/tiny", "newTag": "v3-0123abcd"}]
    assert "&id" not in (base / "deployment.yaml").read_text()  # no YAML anchors for the shared selector


def test_an_invalid_manifest_is_reported(tmp_path: Path) -> None:
    base = write_base(tmp_path)
    deploy = yaml.safe_load((base / "deployment.yaml").read_text())
    deploy["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = {"no": "port"}
    deploy["spec"]["replicaz"] = 2
    (base / "deployment.yaml").write_text(yaml.safe_dump(deploy))
    extra = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    (base / "extra.yaml").write_text(yaml.safe_dump(extra))
    report = checks.validate_manifests(base)
    assert not report.ok
    text = "\n".join(report.problems)
    assert "deployment.yaml" in text
    assert "extra.yaml is not listed in resources" in text


@pytest.mark.parametrize(
    ("name", "expected"), [("tiny", "tiny"), ("Flights_Delay", "flights-delay"), ("a..b__c", "a-b-c")]
)
def test_project_names_become_dns_labels(name: str, expected: str) -> None:
    assert manifests.k8s_name(name) == expected


@pytest.mark.parametrize(
    ("image", "valid"),
    [
        ("airloop/tiny", True),
        ("localhost:5000/team/tiny", True),
        ("ghcr.io/org/model_a", True),
        ("Tiny", False),
        ("airloop/tiny:v1", False),  # the tag is airloop's: version + digest
        ("a//b", False),
        ("a b", False),
    ],
)
def test_image_references(image: str, valid: bool) -> None:
    assert manifests.valid_image(image) is valid


def test_the_dockerfile_passes_hadolint_with_no_finding(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile.render("tiny", "3", "airloop-0.1.0-py3-none-any.whl"))
    report = checks.lint_dockerfile(path)
    assert report.ran, report.line()
    assert report.problems == []
    text = path.read_text()
    assert "HEALTHCHECK" in text
    assert "/health" in text
    assert f"USER {dockerfile.UID}:{dockerfile.UID}" in text
    assert "--no-deps -r /app/requirements.lock" in text
    assert "pip check" in text
    assert text.startswith("#")
    assert f"FROM {dockerfile.base_image()}" in text


def test_hadolint_reports_a_bad_dockerfile(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM python:latest\nRUN pip install fastapi\nCMD python -m http.server\n")
    report = checks.lint_dockerfile(path)
    codes = " ".join(report.problems)
    assert "DL3007" in codes  # latest
    assert "DL3013" in codes  # unpinned pip install
