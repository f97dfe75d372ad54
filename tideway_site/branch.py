"""The publishing branch: mike deploys onto it, we add root files, push it, export it.

mike commits each build under `/<version>/` on a publishing branch, keeps `versions.json`
at its root and writes the root redirect to the default version. This module drives it
in processes of its own (mike's git code works on the current directory and reads the git
identity from the environment) and never pushes unless asked.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


class PublishError(RuntimeError):
    """Publishing cannot go on; the message says why and what to do."""


def git(repo: Path, *args: str, env: dict | None = None, input: str | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, input=input
    )
    if result.returncode != 0:
        raise PublishError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def git_env(repo: Path) -> dict[str, str]:
    """The environment for mike and git commits: our tools on PATH, and a git identity.

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


def head(repo: Path, branch: str) -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or None


def published_versions(repo: Path, branch: str) -> list[dict]:
    try:
        raw = git(repo, "show", f"{branch}:versions.json")
    except PublishError:
        return []
    return json.loads(raw)


def mike(repo: Path, cwd: Path, *args: str, env: dict | None = None) -> None:
    # mike has no __main__; its console script sits beside our interpreter.
    cmd = [str(Path(sys.executable).parent / "mike"), *args]
    result = subprocess.run(cmd, cwd=cwd, env=env or git_env(repo), capture_output=True, text=True)
    if result.returncode != 0:
        raise PublishError(
            f"mike {' '.join(args)} failed:\n{result.stderr.strip() or result.stdout.strip()}"
        )


def mike_deploy(
    repo: Path,
    tree: Path,
    version: str,
    *,
    branch: str,
    aliases: tuple[str, ...] = (),
    title: str | None = None,
    props: dict[str, str] | None = None,
    env: dict | None = None,
) -> None:
    args = ["deploy", "--branch", branch, "--update-aliases", "--ignore-remote-status"]
    args += ["--config-file", str(tree / "mkdocs.yml")]
    for key, value in (props or {}).items():
        args += ["--prop-set-string", f"{key}={value}"]
    if title:
        args += ["--title", title]
    mike(repo, tree, *args, version, *aliases, env=env)


def deploy_built(
    tree: Path,
    site_dir: Path,
    version: str,
    *,
    branch: str,
    aliases: tuple[str, ...] = (),
    title: str | None = None,
    props: dict[str, str] | None = None,
    mike_options: dict | None = None,
    use_directory_urls: bool = True,
    env: dict | None = None,
) -> None:
    """Commit an already built `site_dir` as `version` with mike's own deploy (its layout,
    alias rules and versions.json), without building again: see mike_commit.py."""
    options = mike_options or {}
    args = ["--site-dir", str(site_dir), "--branch", branch]
    args += ["--alias-type", options.get("alias_type") or "symlink"]
    if options.get("redirect_template"):
        args += ["--template", str(tree / options["redirect_template"])]
    if not use_directory_urls:
        args.append("--no-directory-urls")
    for key, value in (props or {}).items():
        args += ["--prop-set-string", f"{key}={value}"]
    if title:
        args += ["--title", title]
    # -P: not the tree's own tideway_site (an old ref's) ahead of the installed one.
    cmd = [sys.executable, "-P", "-m", "tideway_site.mike_commit", *args, version, *aliases]
    result = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise PublishError(
            f"mike deploy of {version} failed:\n{result.stderr.strip() or result.stdout.strip()}"
        )


def mike_delete(repo: Path, versions: list[str], *, branch: str) -> None:
    mike(repo, repo, "delete", "--branch", branch, "--ignore-remote-status", *versions)


def set_default(repo: Path, version_or_alias: str, *, branch: str) -> None:
    mike(repo, repo, "set-default", "--branch", branch, "--ignore-remote-status", version_or_alias)


def is_default(repo: Path, branch: str, version_or_alias: str) -> bool:
    """Whether mike's root redirect already points to `version_or_alias` (saves a mike run)."""
    try:
        index = git(repo, "show", f"{branch}:index.html")
    except PublishError:
        return False
    return f'url={version_or_alias}/"' in index


def commit_root_files(repo: Path, branch: str, files: dict[str, str], message: str) -> bool:
    """Add or replace files at the branch's root (mike writes only index.html there).

    Plain git plumbing on a throwaway index, so the working tree and its index are never
    touched. Returns False when the files are already there as given.
    """
    env = git_env(repo)
    with tempfile.TemporaryDirectory(prefix="tideway-index-") as tmp:
        env["GIT_INDEX_FILE"] = str(Path(tmp) / "index")
        parent = git(repo, "rev-parse", f"refs/heads/{branch}")
        git(repo, "read-tree", parent, env=env)
        for name, text in files.items():
            blob = git(repo, "hash-object", "-w", "--stdin", input=text, env=env)
            git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=env)
        tree = git(repo, "write-tree", env=env)
    if tree == git(repo, "rev-parse", f"{parent}^{{tree}}"):
        return False
    commit = git(repo, "commit-tree", tree, "-p", parent, "-m", message, env=env)
    git(repo, "update-ref", f"refs/heads/{branch}", commit, parent)
    return True


def fetch_remote_branch(repo: Path, branch: str, remote: str = "origin") -> None:
    """Start from what the remote published, so a push adds to it instead of replacing it."""
    if not git(repo, "ls-remote", "--heads", remote, branch):
        return
    try:
        git(repo, "fetch", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}")
    except PublishError as exc:
        raise PublishError(
            f"The local branch {branch} has commits that {remote} does not: {exc}. "
            f"Delete the local branch (git branch -D {branch}) to start from {remote}'s."
        ) from None


def push(repo: Path, branch: str, remote: str = "origin") -> None:
    git(repo, "push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}")


def _extract(repo: Path, commit: str, dest: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=repo, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="tar")


# What tells a directory written by write_output from anything else: never delete that.
OUTPUT_MARK = "versions.json"


def write_output(repo: Path, branch: str, out_dir: Path) -> None:
    """Write the branch's whole tree into `out_dir` as plain files: mike's aliases (symlinks
    on the branch) become copies, since a static host's upload may not follow links.

    `out_dir` is replaced when it holds an earlier output; any other non-empty directory is
    refused.
    """
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / OUTPUT_MARK).is_file():
        raise PublishError(
            f"{out_dir} is not empty and holds no {OUTPUT_MARK}: give a new directory for "
            "--output, the whole published site goes there."
        )
    commit = git(repo, "rev-parse", branch)
    with tempfile.TemporaryDirectory(prefix="tideway-output-") as tmp:
        tree = Path(tmp) / "tree"
        _extract(repo, commit, tree)
        staging = Path(tmp) / "site"
        shutil.copytree(tree, staging, symlinks=False)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staging, out_dir)


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
        _extract(repo, commit, staging)
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
