"""The pod the monitor DAG's tasks run in on Kubernetes (``k8s/monitor/pod-template.yaml``): Airflow's
KubernetesExecutor starts each task from a pod template, and this one mounts the servers' prediction
log, so the monitor reads every prediction the pods logged and the label files dropped beside them.

- The claim is the Deployment's ``<app>-prediction-log``, mounted at
  ``/var/lib/airloop-serving/<project>``, and ``AIRLOOP_SERVING_DIR=/var/lib/airloop-serving``: the
  workspace's ``serving_dir(<project>)`` is then the volume (``predictions.db``, its segments,
  ``labels/``), the layout ``airloop serve --log-dir`` writes.
- The claim is ReadWriteOnce: the pod is scheduled onto the servers' node (the same pod affinity
  they share), where SQLite's WAL works across processes. It writes too (labels join the log, old
  rows are compacted), so it runs as the servers' user (10001; group 0, as Airflow's image expects
  of an arbitrary user).
- ``base`` is the container name the KubernetesExecutor fills in with the task's command; its image
  is Airflow's, with airloop installed (the worker image: ``AIRFLOW_IMAGE`` below is a placeholder).

Not committed to the GitOps repository (a bare Pod there would be created by Argo CD or Flux): name
the file under ``pod_templates: {monitor: ...}`` in the spec, and the task runs in it.
"""

from __future__ import annotations

import copy
from typing import Any

from airloop.packaging.dockerfile import UID

FILE = "pod-template.yaml"
MOUNT = "/var/lib/airloop-serving"  # AIRLOOP_SERVING_DIR: the project's log at MOUNT/<project>
AIRFLOW_IMAGE = "apache/airflow:3.3.2-python3.11"  # replace with the worker image that has airloop


def render(project: str, base: dict[str, Any]) -> dict[str, Any]:
    """``{file name: manifest}`` for ``k8s/monitor/`` from ``manifests.render``'s base."""
    deployment = base["deployment.yaml"]
    pod = deployment["spec"]["template"]["spec"]
    server_labels = deployment["spec"]["template"]["metadata"]["labels"]
    labels = {**server_labels, "app.kubernetes.io/component": "monitor"}
    claim = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)
    template = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{deployment['metadata']['name']}-monitor", "labels": labels},
        "spec": {
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": 0,
                "fsGroup": UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "affinity": copy.deepcopy(pod["affinity"]),  # the servers' node: the claim is ReadWriteOnce
            "containers": [
                {
                    "name": "base",
                    "image": AIRFLOW_IMAGE,
                    "env": [{"name": "AIRLOOP_SERVING_DIR", "value": MOUNT}],
                    "resources": {
                        "requests": {"cpu": "500m", "memory": "1Gi"},
                        "limits": {"cpu": "2", "memory": "4Gi"},
                    },
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": "prediction-log", "mountPath": f"{MOUNT}/{project}"}],
                }
            ],
            "volumes": [copy.deepcopy(claim)],
        },
    }
    return {FILE: template}
