"""The monitor tasks' pod template (issue 22): it validates, and it mounts the servers' own log claim
where the monitor reads the project's serving folder, on the servers' node."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airloop.packaging import checks, monitor_pod
from airloop.packaging.context import write_manifests

pytest.importorskip("kubernetes_validate")


def test_the_monitor_pod_mounts_the_servers_log_where_the_workspace_reads_it(tmp_path: Path) -> None:
    reports = write_manifests(tmp_path / "k8s", "demo", "3", "registry.example.com/team/demo", "v3-0123456789ab", "T")
    assert all(r.ok for r in reports), [r.line() for r in reports]
    assert "monitor pod template" in reports[-1].tool
    folder = tmp_path / "k8s" / "monitor"
    assert sorted(p.name for p in folder.iterdir()) == [monitor_pod.FILE]
    pod = yaml.safe_load((folder / monitor_pod.FILE).read_text())
    deployment = yaml.safe_load((tmp_path / "k8s" / "base" / "deployment.yaml").read_text())
    served = deployment["spec"]["template"]["spec"]
    (base,) = pod["spec"]["containers"]
    assert base["name"] == "base"  # the container the KubernetesExecutor runs the task in
    assert {"name": "AIRLOOP_SERVING_DIR", "value": monitor_pod.MOUNT} in base["env"]
    (mount,) = base["volumeMounts"]
    assert mount["mountPath"] == f"{monitor_pod.MOUNT}/demo"  # the workspace's serving_dir("demo")
    (volume,) = pod["spec"]["volumes"]
    assert volume["name"] == mount["name"]
    assert volume["persistentVolumeClaim"] in [v.get("persistentVolumeClaim") for v in served["volumes"]]
    assert pod["spec"]["affinity"] == served["affinity"]  # ReadWriteOnce: the servers' node
    assert pod["spec"]["securityContext"]["runAsUser"] == served["securityContext"]["runAsUser"]


def test_a_broken_pod_template_is_reported(tmp_path: Path) -> None:
    write_manifests(tmp_path / "k8s", "demo", "3", "registry.example.com/team/demo", "v3-0123456789ab", "T")
    path = tmp_path / "k8s" / "monitor" / monitor_pod.FILE
    pod = yaml.safe_load(path.read_text())
    pod["spec"]["containers"][0]["volumeMount"] = []  # a misspelt key
    path.write_text(yaml.safe_dump(pod))
    report = checks.validate_manifests(path.parent)
    assert not report.ok
    assert "volumeMount" in report.line()
