"""``airloop package``: write a build context for one registered version.

```
<out>/
  Dockerfile  .dockerignore  entrypoint.sh  requirements.lock  context.json
  wheels/airloop-<version>-py3-none-any.whl
  model/               the packaged model folder (`airloop serve --model-dir`: serving.bundle)
  k8s/base/            deployment, service, hpa, pdb, pvc + kustomization.yaml
  k8s/kserve/          the same server as a KServe InferenceService (custom predictor) + its pvc
  k8s/monitor/         the monitor tasks' pod template (KubernetesExecutor) mounting the log's claim
```
The folder is written beside ``out`` and moved into place at the end: a failure leaves no half
context. ``--overwrite`` replaces only a folder this command wrote (it holds ``context.json``).
The image tag is the version plus the content digest of what goes into the image, so that the
same version packaged from the same airloop gets the same tag, and anything else another one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from airloop.errors import EnvironmentProblem, RegistryError, UsageError
from airloop.packaging import checks, dockerfile, lock, manifests, wheel
from airloop.workspace import Workspace

CONTEXT_FILE = "context.json"
LOCK_FILE = "requirements.lock"


def package(
    path: str,
    ws: Workspace,
    out: Path,
    *,
    version: str | None = None,
    alias: str | None = None,
    overwrite: bool = False,
    image: str | None = None,
    wheel_file: Path | None = None,
    build: bool = True,
    echo: Any = print,
    spec: Any = None,
) -> dict[str, Any]:
    """``spec``: the spec already loaded (a train run's snapshot: the deploy step), else read from ``path``."""
    # long: one atomic sequence (refuse early, write aside, check, rename into place) whose steps share
    # the staging folder and its cleanup on any failure
    from airloop.packaging import bundle
    from airloop.spec import load_spec

    spec = spec or load_spec(path).spec
    image = image or f"airloop/{manifests.k8s_name(spec.name)}"
    if not manifests.valid_image(image):
        raise UsageError(
            f"--image {image!r} is not an image reference",
            hint="give [registry[:port]/]path in lower case, without a tag (the tag is the version and a digest), "
            "e.g. registry.example.com/team/model",
        )
    out = out.resolve()
    _check_out(out, overwrite)  # before the registry is read: the cheap refusals first
    version, alias = resolve(ws, spec.name, version, alias)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        echo(f"packaging {spec.name} v{version}" + (f" ({alias})" if alias else ""))
        meta = bundle.write(ws, spec, version, staging / "model")
        echo("  model/: the version, its contract and serving settings (smoke-tested)")
        lines, notes = lock.lock(staging / "model" / "mlflow", meta["load"]["runtime"])
        (staging / LOCK_FILE).write_text(_lock_text(spec.name, version, lines, notes))
        echo(f"  {LOCK_FILE}: {len(lines)} pinned distributions" + "".join(f"\n    note: {n}" for n in notes))
        wheels = staging / "wheels"
        built = wheel.use(wheel_file, wheels) if wheel_file else wheel.build(wheels)
        echo(f"  wheels/{built.name}" + (" (given)" if wheel_file else " (built from this checkout)"))
        entry = staging / dockerfile.ENTRYPOINT
        entry.write_text(dockerfile.ENTRYPOINT_SH)
        entry.chmod(0o755)
        (staging / "Dockerfile").write_text(dockerfile.render(spec.name, version, built.name, LOCK_FILE))
        (staging / ".dockerignore").write_text(dockerfile.DOCKERIGNORE)
        tag = f"v{version}-{digest(staging)[:12]}"
        token_env = spec.serving.token_env
        reports = [*write_manifests(staging / "k8s", spec.name, version, image, tag, token_env)]
        reports.append(checks.lint_dockerfile(staging / "Dockerfile"))
        failed = [r for r in reports if r.ran and not r.ok]
        if failed:
            raise EnvironmentProblem(
                "the generated build context does not pass its checks: " + "; ".join(r.line() for r in failed),
                hint="this is a bug in airloop package: report it with the lines above",
            )
        info: dict[str, Any] = {
            "name": spec.name,
            "version": version,
            "alias": alias,
            "image": f"{image}:{tag}",
            "entrypoint": {
                "file": dockerfile.ENTRYPOINT,
                "env": {
                    "AIRLOOP_MODEL_DIR": dockerfile.MODEL_DIR,
                    "AIRLOOP_LOG_DIR": dockerfile.LOG_DIR,
                    "AIRLOOP_HOST": "0.0.0.0",
                    "AIRLOOP_PORT": str(dockerfile.PORT),
                },
                "token_env": token_env,
            },
            "model_dir": "model",
            "lock": LOCK_FILE,
            "wheel": f"wheels/{built.name}",
            "manifests": "k8s/base",
            "checks": {r.tool: r.line() for r in reports},
        }
        (staging / CONTEXT_FILE).write_text(json.dumps(info, indent=1))
        readable(staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for r in reports:
        echo(f"  check: {r.line()}")
    if spec.serving.token:
        echo(f"  note: serving.token is not packaged (a secret in an image): the server reads ${token_env}")
    echo(f"wrote {out} (image {info['image']})")
    info["built"] = docker_build(out, info["image"], echo) if build else False
    return info


def write_manifests(k8s: Path, name: str, version: str, image: str, tag: str, token_env: str) -> list[checks.Report]:
    """``k8s/base/`` (kustomize base), ``k8s/kserve/`` (the InferenceService) and ``k8s/monitor/``
    (the monitor tasks' pod template, with the log's claim), each validated."""
    from airloop.packaging import kserve, monitor_pod

    base = manifests.render(name, version, image, tag, token_env)
    folders = (("base", base), ("kserve", kserve.render(base)), ("monitor", monitor_pod.render(name, base)))
    for folder, docs in folders:
        (k8s / folder).mkdir(parents=True)
        for file, doc in docs.items():
            (k8s / folder / file).write_text(manifests.dump(doc))
    monitor = checks.validate_manifests(k8s / "monitor")
    monitor.tool = f"monitor pod template: {monitor.tool}"
    return [checks.validate_manifests(k8s / "base"), checks.validate_kserve(k8s / "kserve"), monitor]


def resolve(ws: Workspace, name: str, version: str | None, alias: str | None) -> tuple[str, str | None]:
    """(the version to package, the alias it was named by). RegistryError for what does not exist."""
    from airloop.tracking import Tracker
    from airloop.tracking.tags import CHAMPION

    if version is not None and alias is not None:
        raise UsageError(
            "give --version or --alias, not both", hint="--version N packages version N whatever its alias"
        )
    tracker = Tracker(ws)
    if version is not None:
        tracker.version(name, version)  # RegistryError naming the versions there are
        return str(version), None
    alias = alias or CHAMPION
    found = tracker.alias_version(name, alias)
    if found is None:
        raise RegistryError(
            f"model `{name}` has no {alias} in {ws.tracking_uri}",
            hint=f"package a version with --version N (registered: {tracker.version_numbers(name) or 'none'}), "
            "or train and promote one with `airloop run PATH`",
        )
    return found, alias


def _check_out(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"--out {out} is a file", hint="give a folder path for the build context")
    if not any(out.iterdir()):  # an empty folder is replaced at the end
        return
    if not overwrite:
        raise UsageError(f"--out {out} exists and is not empty", hint="choose another --out, or pass --overwrite")
    if not (out / CONTEXT_FILE).is_file():
        raise UsageError(
            f"--out {out} was not written by `airloop package` (no {CONTEXT_FILE}): --overwrite does not replace it",
            hint="choose another --out, or empty that folder yourself",
        )


def _lock_text(name: str, version: str, lines: list[str], notes: list[str]) -> str:
    head = [
        f"# {name} v{version}: every distribution the image installs, pinned (airloop package)",
        "# install exactly: pip install --no-deps -r requirements.lock && pip check",
        "# then airloop's wheel with --no-deps (its metadata names the training side, not needed to serve)",
        *(f"# note: {n}" for n in notes),
    ]
    return "\n".join(head + lines) + "\n"


def readable(context: Path) -> None:
    """Folders 0755, files 0644 (the entrypoint 0755): COPY keeps modes, and the image's non-root
    user must read what root copied in. airloop's umask (0077) would leave them 0600."""
    for p in [context, *context.rglob("*")]:
        p.chmod(0o755 if p.is_dir() or p.name == dockerfile.ENTRYPOINT else 0o644)


def digest(context: Path) -> str:
    """sha256 of what goes into the image: the model folder, the lock, the entrypoint, the
    Dockerfile, and airloop's wheel by its RECORD (file hashes: a rebuilt wheel of the same source
    differs only in timestamps)."""
    h = hashlib.sha256()
    files = sorted(p for p in context.rglob("*") if p.is_file() and "k8s" not in p.relative_to(context).parts)
    for p in files:
        rel = p.relative_to(context).as_posix()
        if rel == CONTEXT_FILE:
            continue
        h.update(rel.encode() + b"\0")
        if p.suffix == ".whl":
            with zipfile.ZipFile(p) as z:
                record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
                h.update(z.read(record))
        else:
            h.update(p.read_bytes())
    return h.hexdigest()


def docker_available() -> bool:
    """Whether a Docker daemon answers (`docker info`); a client alone is not enough."""
    binary = shutil.which("docker")
    if binary is None:
        return False
    try:
        return subprocess.run([binary, "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def docker_build(context: Path, image: str, echo: Any) -> bool:
    if not docker_available():
        echo(
            "no Docker daemon is reachable (`docker info` failed): the build context is written, no image built.\n"
            f"  where a daemon runs: docker build -t {image} {context}"
        )
        return False
    echo(f"docker build -t {image} {context}")
    done = subprocess.run(["docker", "build", "-t", image, str(context)])
    if done.returncode != 0:
        raise EnvironmentProblem(
            f"docker build failed (exit {done.returncode}; its output is above)",
            hint=f"the context in {context} is complete: fix the cause and run `docker build -t {image} {context}`",
        )
    return True
