"""Kubernetes manifests for a packaged version, in the kustomize layout GitOps tools read
(``k8s/base/`` + ``kustomization.yaml``; an overlay sets the image registry, replicas, resources).

- Deployment: readiness on ``/ready`` (a model loaded and the prediction log writable), liveness on
  ``/health``, a startup probe that gives the model time to load, requests and limits, a non-root
  user, a read-only root filesystem with two writable mounts (the prediction log's volume and an
  in-memory ``/tmp``), the bearer token from a Secret the cluster holds (never written here).
- Service (ClusterIP), HorizontalPodAutoscaler (CPU), PodDisruptionBudget, and the
  PersistentVolumeClaim for the prediction log.

The prediction log is SQLite in WAL mode: several processes on one machine may write it, processes
on different machines may not (WAL needs shared memory, which a network file system lacks). So the
claim is ReadWriteOnce and the replicas are scheduled onto one node (pod affinity on the hostname):
they scale up within that node and are rescheduled together, with their log, when it goes.
"""

from __future__ import annotations

import re
from typing import Any

from airloop.packaging.dockerfile import LOG_DIR, PORT, UID

KUBERNETES_VERSION = "1.37.0"  # the schemas the manifests are validated against (kubernetes-validate)
FILES = {
    "deployment.yaml": "Deployment",
    "service.yaml": "Service",
    "hpa.yaml": "HorizontalPodAutoscaler",
    "pdb.yaml": "PodDisruptionBudget",
    "pvc.yaml": "PersistentVolumeClaim",
}


def k8s_name(name: str) -> str:
    """A project name as a DNS-1123 label (lower case, digits and '-', at most 63 characters)."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-")[:50] or "model"


# a Docker image reference without tag or digest: [host[:port]/]path, lower-case path components
IMAGE = re.compile(
    r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)


def valid_image(image: str) -> bool:
    """Whether ``image`` is a reference Docker accepts (before its tag), at most 255 characters."""
    return len(image) <= 255 and IMAGE.match(image) is not None


def render(name: str, version: str, image: str, tag: str, token_env: str) -> dict[str, Any]:
    """``{file name: manifest}`` for ``k8s/base/``, the kustomization included; ``image`` is a
    reference without its tag (``registry.example.com/team/model``)."""
    # long: one literal per Kubernetes object, side by side, so that the names and labels they share
    # read as one document (split per object when one grows options of its own)
    app = k8s_name(name)
    selector = {"app.kubernetes.io/name": app, "app.kubernetes.io/component": "server"}
    labels = {**selector, "app.kubernetes.io/part-of": "airloop", "app.kubernetes.io/version": f"v{version}"}
    log_claim, secret = f"{app}-prediction-log", f"{app}-serve-token"

    def meta(suffix: str = "") -> dict[str, Any]:
        return {"name": app + suffix, "labels": dict(labels)}

    probe = {"httpGet": {"path": "/health", "port": "http"}, "timeoutSeconds": 2}
    container = {
        "name": "server",
        "image": f"{image}:{tag}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": [
            {"name": token_env, "valueFrom": {"secretKeyRef": {"name": secret, "key": "token"}}},
            {"name": "AIRLOOP_LOG_DIR", "value": LOG_DIR},
        ],
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 60},
        "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": "http"},
            "timeoutSeconds": 2,
            "periodSeconds": 5,
            "failureThreshold": 2,
        },
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "prediction-log", "mountPath": LOG_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(),
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            # a new pod is ready before an old one stops: no request dropped by a rollout
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": UID,
                        "runAsGroup": UID,
                        "fsGroup": UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "terminationGracePeriodSeconds": 30,
                    "affinity": {
                        "podAffinity": {  # one node: the replicas share the ReadWriteOnce log (see above)
                            "requiredDuringSchedulingIgnoredDuringExecution": [
                                {"labelSelector": {"matchLabels": selector}, "topologyKey": "kubernetes.io/hostname"}
                            ]
                        }
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "prediction-log", "persistentVolumeClaim": {"claimName": log_claim}},
                        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
            "minReplicas": 2,
            "maxReplicas": 4,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}},
    }
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": log_claim, "labels": dict(labels)},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
    }
    manifests: dict[str, Any] = dict(zip(FILES, (deployment, service, hpa, pdb, pvc), strict=True))
    manifests["kustomization.yaml"] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(FILES),
        # an overlay retargets the image (its registry, a digest) without editing the base
        "images": [{"name": image, "newTag": tag}],
    }
    return manifests


def dump(manifest: dict[str, Any]) -> str:
    """YAML through ``yaml.safe_dump``; copied first so that shared dicts (the selector) are written
    out in full, not as YAML anchors some tools mishandle."""
    import json

    import yaml

    return yaml.safe_dump(json.loads(json.dumps(manifest)), sort_keys=False, default_flow_style=False)
