"""A KServe ``InferenceService`` for teams on KServe, written beside the base (``k8s/kserve/``).

airloop's image is the predictor's custom container (``kserve-container``, KServe's name for the
serving container), with the Deployment's probes, limits, security context, token Secret and
prediction-log claim: the same server, run by KServe's controller instead of a plain Deployment.
``RawDeployment`` mode: the log's claim is ReadWriteOnce on one node, which Knative's scale-to-zero
and revision pods would fight; the replicas stay within ``minReplicas``..``maxReplicas``.

kustomize's ``images:`` does not reach ``spec.predictor.containers`` (not a path it knows), so the
image here is written in full; ``kustomization.yaml`` lists the resources only.
"""

from __future__ import annotations

import copy
from typing import Any

FILE = "inferenceservice.yaml"
SCHEMA = "kserve-v1beta1-inferenceservice.json"


def render(base: dict[str, Any]) -> dict[str, Any]:
    """``{file name: manifest}`` for ``k8s/kserve/`` from ``manifests.render``'s base."""
    deployment = copy.deepcopy(base["deployment.yaml"])
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container["name"] = "kserve-container"
    # one port, no name: KServe routes to the predictor's single port
    container["ports"] = [{"containerPort": container["ports"][0]["containerPort"], "protocol": "TCP"}]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        container[probe]["httpGet"]["port"] = container["ports"][0]["containerPort"]
    meta = deployment["metadata"]
    service = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": meta["name"],
            "labels": meta["labels"],
            "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"},
        },
        "spec": {
            "predictor": {
                "minReplicas": base["hpa.yaml"]["spec"]["minReplicas"],
                "maxReplicas": base["hpa.yaml"]["spec"]["maxReplicas"],
                "scaleMetric": "cpu",
                "scaleTarget": 70,
                "labels": dict(meta["labels"]),  # on the pods: the one-node affinity selects them by these
                "automountServiceAccountToken": pod["automountServiceAccountToken"],
                "securityContext": pod["securityContext"],
                "terminationGracePeriodSeconds": pod["terminationGracePeriodSeconds"],
                "affinity": pod["affinity"],
                "containers": [container],
                "volumes": pod["volumes"],
            }
        },
    }
    files = {FILE: service, "pvc.yaml": copy.deepcopy(base["pvc.yaml"])}
    files["kustomization.yaml"] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(files),
    }
    return files
