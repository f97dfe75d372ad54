"""Publishing: run the gates, then deploy with mike, for one version or for every version
that `versions.yml` lists, rebuilding only the versions whose inputs changed.

A version's inputs are hashed (its docs, mkdocs.yml and overrides, this plugin's own code,
and its settings); mike stores the hash as the version's `inputs` property in versions.json,
and a version whose hash matches keeps its published tree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import banners, branch
from .branch import PublishError, export, git, git_env, published_versions
from .gates import DEFAULT_LEDGER, GateResult, run_gates
from .plugin import DEV_ENV
from .versions import Plan, VersionSpec, load_plan

__all__ = ["PublishError", "export", "publish", "publish_all", "project_version"]

# A release tag: v1, 1.2, v0.3.1 ... (the leading "v" is dropped for the version name).
RELEASE_TAG = re.compile(r"^v?(\d+(?:\.\d+){0,2})$")
# What a build reads from its tree; a change to any of them means the version is rebuilt.
BUILD_INPUTS = ("docs", "mkdocs.yml", "overrides")
# The plugin that builds every version is the installed one, whatever the ref: its code is
# an input of every version.
PLUGIN_DIR = Path(__file__).resolve().parent
VERSIONS_FILE = "versions.yml"


def project_version(root: Path) -> str:
    try:
        with open(root / "pyproject.toml", "rb") as fh:
            return tomllib.load(fh)["project"]["version"]
    except (OSError, KeyError) as exc:
        raise PublishError(
            f"No versions.yml, and no project version in pyproject.toml ({exc}): "
            "list the versions to publish in versions.yml."
        ) from None


def _hash_paths(digest, root: Path, names) -> None:
    for name in names:
        base = root / name
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in paths:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")


def inputs_hash(tree: Path, spec: VersionSpec | None = None) -> str:
    """A content hash over everything a build of `spec` from `tree` reads."""
    digest = hashlib.sha256()
    _hash_paths(digest, tree, BUILD_INPUTS)
    _hash_paths(digest, PLUGIN_DIR.parent, [PLUGIN_DIR.name])
    if spec is not None:
        digest.update(f"dev={spec.dev}\0title={spec.title}\0".encode())
    return digest.hexdigest()[:16]


def release_plan(repo: Path) -> Plan:
    """Without versions.yml: every release tag, and the working tree as `latest`."""
    current = project_version(repo)
    releases = []
    for tag in git(repo, "tag", "--list").splitlines():
        match = RELEASE_TAG.match(tag.strip())
        if match and match.group(1) != current:
            releases.append(VersionSpec(match.group(1), f"refs/tags/{tag.strip()}"))
    releases.sort(key=lambda s: tuple(int(p) for p in s.version.split(".")))
    return Plan((*releases, VersionSpec(current, "", ("latest",))), "latest")


def repo_plan(repo: Path) -> Plan:
    path = repo / VERSIONS_FILE
    if not path.exists():
        return release_plan(repo)
    try:
        return load_plan(path)
    except ValueError as exc:
        raise PublishError(str(exc)) from None


@dataclass
class Outcome:
    built: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    gates: dict[str, list[GateResult]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(r.passed for results in self.gates.values() for r in results)


@contextmanager
def checkout(repo: Path, ref: str) -> Iterator[Path]:
    """The tree to build: the working tree for "", else a throwaway worktree of `ref`."""
    if not ref:
        yield repo
        return
    with tempfile.TemporaryDirectory(prefix="tideway-ref-") as tmp:
        worktree = Path(tmp) / "tree"
        try:
            git(repo, "worktree", "add", "--detach", str(worktree), ref)
        except PublishError:
            raise PublishError(
                f"The git ref {ref!r} does not exist here; fetch it, or fix versions.yml."
            ) from None
        try:
            yield worktree
        finally:
            git(repo, "worktree", "remove", "--force", str(worktree))


def build_env(repo: Path, spec: VersionSpec) -> dict[str, str]:
    env = git_env(repo)
    env["MIKE_DOCS_VERSION"] = spec.version
    env[DEV_ENV] = "1" if spec.dev else ""
    return env


def _is_current(entry: dict | None, spec: VersionSpec, digest: str) -> bool:
    if entry is None:
        return False
    same_inputs = (entry.get("properties") or {}).get("inputs") == digest
    return same_inputs and set(spec.aliases) <= set(entry.get("aliases", []))


def publish(
    repo: Path,
    plan: Plan,
    *,
    branch_name: str,
    only: tuple[str, ...] = (),
    set_default: bool = True,
    gates: bool = True,
    push: bool = False,
    force: bool = False,
    check_only: bool = False,
    prune: bool = False,
    ledger: Path | None = None,
    today: dt.date | None = None,
    log=print,
) -> Outcome:
    """Publish the plan's versions (or `only` these) whose inputs changed.

    With `gates`, every version to be built is checked first, and if any gate fails nothing
    is deployed: the branch stays as it was. `check_only` stops after the gates. `prune`
    deletes the published versions the plan no longer lists.
    """
    outcome = Outcome()
    if push:
        branch.fetch_remote_branch(repo, branch_name)
    published = {v["version"]: v for v in published_versions(repo, branch_name)}
    specs = [s for s in plan.versions if not only or s.version in only]
    with ExitStack() as stack:
        todo = []
        for spec in specs:
            tree = stack.enter_context(checkout(repo, spec.ref))
            digest = inputs_hash(tree, spec)
            if not force and _is_current(published.get(spec.version), spec, digest):
                outcome.unchanged.append(spec.version)
            else:
                todo.append((spec, tree, digest))
        if gates:
            for spec, tree, _ in todo:
                with tempfile.TemporaryDirectory(prefix="tideway-gates-") as out:
                    outcome.gates[spec.version] = run_gates(
                        tree,
                        Path(out) / "site",
                        build_env(repo, spec),
                        ledger or repo / DEFAULT_LEDGER,
                        today,
                    )
            if not outcome.passed or check_only:
                return outcome
        for spec, tree, digest in todo:
            branch.mike_deploy(
                repo,
                tree,
                spec.version,
                branch=branch_name,
                aliases=spec.aliases,
                title=spec.title,
                props={"inputs": digest},
                env=build_env(repo, spec),
            )
            outcome.built.append(spec.version)
            log(f"Published version {spec.version} to branch {branch_name}.")
    if prune and not only:
        listed = {spec.version for spec in plan.versions}
        outcome.deleted = [v for v in published if v not in listed]
        if outcome.deleted:
            branch.mike_delete(repo, outcome.deleted, branch=branch_name)
            log(f"Deleted version(s) {', '.join(outcome.deleted)}, no longer in the plan.")
    if branch.head(repo, branch_name) is None:
        return outcome
    if (
        set_default
        and plan.find(plan.default)
        and not branch.is_default(repo, branch_name, plan.default)
    ):
        branch.set_default(repo, plan.default, branch=branch_name)
    root = {"404.html": root_404(repo, branch_name, plan)}
    branch.commit_root_files(repo, branch_name, root, "Root 404 page and redirects")
    if push:
        branch.push(repo, branch_name)
        log(f"Pushed branch {branch_name} to origin.")
    return outcome


def root_404(repo: Path, branch_name: str, plan: Plan) -> str:
    """The root 404.html, themed as the default version's own 404 page where it has one."""
    published = published_versions(repo, branch_name)
    # The version's own directory: an alias may be a symlink, or only redirect pages.
    version_dir = next(
        (v["version"] for v in published if plan.default in (v["version"], *v.get("aliases", []))),
        None,
    )
    themed = None
    if version_dir:
        try:
            themed = git(repo, "show", f"{branch_name}:{version_dir}/404.html")
        except PublishError:
            pass  # built without a 404 page: the bare one
    return banners.root_404(plan.default, plan.redirects, themed, version_dir or "")


def publish_all(repo: Path, *, branch: str, log=print) -> list[str]:
    """`make serve`: every version of versions.yml (or the release tags), without gates; the
    local branch keeps no version that versions.yml dropped.

    Returns the versions that were (re)built.
    """
    # Only versions.yml is a whole list; a plan made from release tags is not.
    prune = (repo / VERSIONS_FILE).exists()
    return publish(
        repo, repo_plan(repo), branch_name=branch, gates=False, prune=prune, log=log
    ).built
