"""GitOps delivery: commit a champion's Kubernetes manifests to a git repository a cluster syncs from.

The train DAG's ``deploy`` task (``airloop.steps.deploy``) and ``airloop rollback`` call this when
the spec has ``deploy:``. The manifests are those ``airloop package`` writes (``context.package``:
the same image tag, ``v<version>-<digest of the build context>``), validated there, then copied to
``<gitops_dir>/<path>/base/`` and committed with only that folder in the commit. What else the
repository holds (overlays beside ``base/``, other applications, files a person staged) is left alone.

Every commit carries trailers (``Airloop-Version: N`` ...), so that a rollback restores the exact
manifests a version was deployed with (the image already built for them) instead of rendering new
ones, whose digest would differ (the version's registry tags moved since) and name an image nobody built.
git runs as a subprocess with explicit arguments; nothing here pushes: the repository's own remote
and CI do that (or Argo CD / Flux read the local path).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from airloop.errors import EnvironmentProblem

# the folders of <gitops_dir>/<path>/ airloop writes; anything beside them (overlays/) is the team's
OWNED = ("base", "kserve")
TRAILER_VERSION = "Airloop-Version"


def repository_problem(path: Path) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) when ``path`` is not a folder inside a git work tree, else None."""
    init = f"create it with `git init {path}` (or clone the GitOps repository there), or fix deploy.gitops_dir"
    if not path.exists():
        return f"deploy.gitops_dir {path} does not exist", init
    if not path.is_dir():
        return f"deploy.gitops_dir {path} is a file, not a git repository", init
    if shutil.which("git") is None:
        return "git is not installed (deploy.gitops_dir needs it)", "install git, or remove `deploy:` from the spec"
    done = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True
    )
    if done.returncode != 0 or done.stdout.strip() != "true":
        return f"deploy.gitops_dir {path} is not a git repository", init
    return None


def check_repository(path: Path) -> None:
    problem = repository_problem(path)
    if problem:
        raise EnvironmentProblem(problem[0], hint=problem[1], retryable=False)


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise EnvironmentProblem(
            f"git {' '.join(args[:2])} failed in {repo}: {(done.stderr or done.stdout).strip()[-600:]}",
            hint="fix the GitOps repository (a rebase or merge in progress, a hook that refuses), then clear the task",
        )
    return done


def _identity(repo: Path) -> list[str]:
    """A committer for a repository (or machine) that names none: the commit must not fail over it."""
    if git(repo, "config", "user.email", check=False).stdout.strip():
        return []
    return ["-c", "user.name=airloop", "-c", "user.email=airloop@localhost"]


def app_folder(spec: Any) -> str:
    from airloop.packaging.manifests import k8s_name

    return (spec.deploy.path or k8s_name(spec.name)).strip("/")


def commit_message(headline: str, body: list[str], version: str, image: str, trailers: dict[str, str]) -> str:
    """A deploy commit's message: the headline, the evidence, then the trailers a rollback searches by."""
    footer = [f"{k}: {v}" for k, v in {TRAILER_VERSION: version, "Airloop-Image": image, **trailers}.items()]
    return "\n".join([headline, "", *body, "", *footer]) + "\n"


def commit_folder(repo: Path, paths: list[str], message: str) -> str | None:
    """Commit everything under ``paths`` (and only them); the new commit's id, or None when nothing
    changed. ``--ignore-unmatch``-like: a path that exists neither on disk nor in the index is skipped."""
    known = git(repo, "ls-files", "--", *paths).stdout.split()
    paths = [p for p in paths if (repo / p).exists() or any(k.startswith(p + "/") for k in known)]
    if not paths:
        return None
    git(repo, "add", "-A", "--", *paths)
    if git(repo, "diff", "--cached", "--quiet", "--", *paths, check=False).returncode == 0:
        return None
    # the repository's own hooks run: one that refuses fails the task with its output (a GitOps
    # repository's checks are the team's, not airloop's to skip)
    git(repo, *_identity(repo), "commit", "-q", "-m", message, "--", *paths)
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def deploy(
    ws: Any,
    loaded: Any,
    version: str,
    *,
    headline: str,
    evidence: list[str],
    trailers: dict[str, str],
    wheel_file: Path | None = None,
    echo: Any = print,
) -> dict[str, Any]:
    """Package ``version`` (``airloop package``'s context, kept in the workspace for the image build),
    put its ``k8s/`` folders into the GitOps repository and commit them. Returns what was done."""
    from airloop.packaging.context import package

    spec = loaded.spec
    repo = loaded.resolve(spec.deploy.gitops_dir)
    check_repository(repo)  # before the context is built: the cheap refusal first
    out = ws.package_dir(spec.name, version)
    info = package(
        str(loaded.path),
        ws,
        out,
        version=version,
        overwrite=True,
        image=spec.deploy.image,
        wheel_file=wheel_file,
        build=False,
        echo=echo,
        spec=spec,
    )
    rel = app_folder(spec)
    parts = sorted(p.name for p in (out / "k8s").iterdir() if p.is_dir() and p.name in OWNED)
    for part in OWNED:  # a folder this version does not have (no kserve/) goes
        shutil.rmtree(repo / rel / part, ignore_errors=True)
    for part in parts:
        shutil.copytree(out / "k8s" / part, repo / rel / part)
    body = [f"image: {info['image']} (build context: {out})", *evidence]
    body += [f"check: {line}" for line in info["checks"].values()]
    sha = commit_folder(
        repo, [f"{rel}/{p}" for p in OWNED], commit_message(headline, body, version, info["image"], trailers)
    )
    return {
        "repository": str(repo),
        "folder": rel,
        "image": info["image"],
        "context": str(out),
        "commit": sha,
        "committed": sha is not None,
    }


def deployed_by(repo: Path, rel: str, version: str) -> str | None:
    """The newest commit under ``rel`` whose ``Airloop-Version`` trailer names ``version``."""
    pattern = f"^{TRAILER_VERSION}: {version}$"
    found = git(repo, "log", "-n", "1", "--format=%H", f"--grep={pattern}", "--", rel, check=False).stdout.strip()
    return found or None


def by_hand(ws: Any, loaded: Any, before: str | None, version: str, how: str, *, echo: Any = print) -> dict[str, Any]:
    """After ``airloop rollback`` or ``airloop promote`` (``how``) moved ``champion`` from ``before``
    to ``version``: commit the manifests ``version`` was deployed with (its image, built then); when
    this repository never deployed it (``deploy:`` set later, a version promoted by hand the first
    time), package it anew as the deploy step does."""
    from airloop.tracking import Tracker
    from airloop.tracking.tags import REASON_SEP, Tag

    spec = loaded.spec
    repo = loaded.resolve(spec.deploy.gitops_dir)
    check_repository(repo)
    rel = app_folder(spec)
    was = f" (champion was v{before})" if before else ""
    if how == "rollback":
        headline = f"airloop: roll {spec.name} back to v{version}{was}"
        trailers = {"Airloop-Rollback-From": str(before or "-")}
    else:
        headline = f"airloop: promote {spec.name} v{version} by hand{was}"
        trailers = {"Airloop-Promoted-By": "hand"}
    tags = Tracker(ws).version(spec.name, version).tags or {}
    evidence = [f"why: `airloop {how}` (by hand); the champion alias moved to this version"]
    evidence.append(f"gate when v{version} was trained: {tags.get(Tag.GATE, 'unknown')}")
    evidence += [f"  - {r}" for r in str(tags.get(Tag.GATE_REASONS) or "").split(REASON_SEP) if r]
    found = deployed_by(repo, rel, version)
    if found is None:
        echo(f"  {repo} never deployed v{version}: packaging it anew (a new image tag to build)")
        return deploy(ws, loaded, version, headline=headline, evidence=evidence, trailers=trailers, echo=echo)
    image = git(repo, "show", "-s", "--format=%(trailers:key=Airloop-Image,valueonly)", found).stdout.strip()
    there = set(git(repo, "ls-tree", "--name-only", found, f"{rel}/").stdout.split())
    for part in OWNED:
        path = f"{rel}/{part}"
        if path in there:
            git(repo, "restore", f"--source={found}", "--staged", "--worktree", "--", path)
        elif (repo / path).exists():
            shutil.rmtree(repo / path)
    body = [f"image: {image} (the manifests of commit {found[:12]}, which deployed v{version})", *evidence]
    sha = commit_folder(repo, [f"{rel}/{p}" for p in OWNED], commit_message(headline, body, version, image, trailers))
    return {"repository": str(repo), "folder": rel, "image": image, "commit": sha, "committed": sha is not None}
