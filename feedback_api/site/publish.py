"""Publishing with mike: deploy versions to a local branch, export that branch to a directory.

mike commits each build under `/<version>/` on a publishing branch, keeps `versions.json`
at its root and writes the root redirect to the default version. This module drives it
(as a subprocess, the way CI would) and never pushes unless asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

# A release tag: v1, 1.2, v0.3.1 ... (the leading "v" is dropped for the version name).
RELEASE_TAG = re.compile(r"^v?(\d+(?:\.\d+){0,2})$")
# What a build reads; a change to any of them means the version must be rebuilt.
BUILD_INPUTS = ("docs", "mkdocs.yml", "overrides", "feedback_api/site")


class PublishError(RuntimeError):
    """Publishing cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Release:
    version: str
    ref: str  # a git ref, or "" for the working tree


def project_version(root: Path) -> str:
    with open(root / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]["version"]


def git(repo: Path, *args: str, env: dict | None = None, **kw) -> str:
    result = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise PublishError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def git_env(repo: Path) -> dict[str, str]:
    """The environment for mike: our tools on PATH, and a git identity if none is set.

    mike commits to the publishing branch; on a fresh machine git has no user.name, and
    the commit would fail. A local identity is enough: `make serve` never pushes.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("NO_MKDOCS_2_WARNING", "1")
    for key, setting, fallback in (
        ("NAME", "user.name", "Tideway Docs publisher"),
        ("EMAIL", "user.email", "publisher@tideway.invalid"),
    ):
        configured = subprocess.run(
            ["git", "config", setting], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
        if not configured:
            env.setdefault(f"GIT_AUTHOR_{key}", fallback)
            env.setdefault(f"GIT_COMMITTER_{key}", fallback)
    return env


def release_tags(repo: Path) -> list[Release]:
    """The repository's release tags, oldest version first."""
    out = git(repo, "tag", "--list")
    releases = []
    for tag in out.splitlines():
        match = RELEASE_TAG.match(tag.strip())
        if match:
            releases.append(Release(match.group(1), f"refs/tags/{tag.strip()}"))
    return sorted(releases, key=lambda r: tuple(int(p) for p in r.version.split(".")))


def inputs_hash(tree: Path) -> str:
    """A content hash over everything a build reads, to skip unchanged versions."""
    digest = hashlib.sha256()
    for name in BUILD_INPUTS:
        base = tree / name
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in paths:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(tree)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def published_versions(repo: Path, branch: str) -> list[dict]:
    try:
        raw = git(repo, "show", f"{branch}:versions.json")
    except PublishError:
        return []
    return json.loads(raw)


def mike(repo: Path, cwd: Path, *args: str) -> None:
    # mike has no __main__; its console script sits beside our interpreter.
    cmd = [str(Path(sys.executable).parent / "mike"), *args]
    result = subprocess.run(cmd, cwd=cwd, env=git_env(repo), capture_output=True, text=True)
    if result.returncode != 0:
        raise PublishError(
            f"mike {' '.join(args)} failed:\n{result.stderr.strip() or result.stdout.strip()}"
        )


def deploy(
    repo: Path,
    version: str,
    *,
    branch: str,
    tree: Path | None = None,
    aliases: tuple[str, ...] = (),
    title: str | None = None,
    push: bool = False,
    force: bool = False,
) -> bool:
    """Build `tree` (default: the repository's working tree) as `version` on `branch`.

    Returns False without building when the version is published from identical inputs.
    """
    tree = tree or repo
    digest = inputs_hash(tree)
    for entry in published_versions(repo, branch):
        same_aliases = set(aliases) <= set(entry.get("aliases", []))
        props = entry.get("properties") or {}
        if entry["version"] == version and props.get("inputs") == digest and same_aliases:
            if not force:
                return False
    args = ["deploy", "--branch", branch, "--update-aliases", "--ignore-remote-status"]
    args += ["--config-file", str(tree / "mkdocs.yml")]
    args += ["--prop-set-string", f"inputs={digest}"]
    if title:
        args += ["--title", title]
    if push:
        args.append("--push")
    mike(repo, tree, *args, version, *aliases)
    return True


def set_default(repo: Path, version_or_alias: str, *, branch: str, push: bool = False) -> None:
    args = ["set-default", "--branch", branch, "--ignore-remote-status"]
    mike(repo, repo, *args, *(["--push"] if push else []), version_or_alias)


def publish_all(repo: Path, *, branch: str, log=print) -> list[str]:
    """Publish every release tag, then the working tree as the current version (`latest`).

    Returns the versions that were (re)built.
    """
    current = project_version(repo)
    built = []
    for release in release_tags(repo):
        if release.version == current:
            continue  # the working tree is the newer truth for the current version
        with tempfile.TemporaryDirectory(prefix="tideway-tag-") as tmp:
            worktree = Path(tmp) / "tree"
            git(repo, "worktree", "add", "--detach", str(worktree), release.ref)
            try:
                if deploy(repo, release.version, branch=branch, tree=worktree):
                    built.append(release.version)
            finally:
                git(repo, "worktree", "remove", "--force", str(worktree))
    if deploy(repo, current, branch=branch, aliases=("latest",)):
        built.append(current)
    set_default(repo, "latest", branch=branch)
    for version in built:
        log(f"Published version {version} to branch {branch}.")
    return built


def export(repo: Path, branch: str, site_dir: Path) -> Path:
    """Make `site_dir` show the branch's tree, swapping a symlink so readers never see a half.

    `site_dir` becomes a symlink to `<site_dir>.snapshots/<commit>`; older snapshots go.
    """
    commit = git(repo, "rev-parse", branch)
    snapshots = site_dir.parent / f"{site_dir.name}.snapshots"
    target = snapshots / commit
    if not target.exists():
        snapshots.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=snapshots))
        staging.chmod(0o755)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit], cwd=repo, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=_bytes_io(archive)) as tar:
            tar.extractall(staging, filter="tar")
        staging.rename(target)
    if site_dir.exists() and not site_dir.is_symlink():
        raise PublishError(f"{site_dir} exists and is not a symlink made by publishing.")
    link = site_dir.parent / f".{site_dir.name}.new"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target.relative_to(site_dir.parent))
    os.replace(link, site_dir)
    for old in snapshots.iterdir():
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)
