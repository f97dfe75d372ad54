"""Publishing: build, run the gates on that build, then deploy the same build with mike, for
one version or for every version that `versions.yml` lists, rebuilding only the versions
whose inputs changed.

A version's inputs are hashed (every file its MkDocs configuration makes a build read, see
inputs.py; this plugin's own code and theme; its settings); mike stores the hash as the
version's `inputs` property in versions.json, and a version whose hash matches keeps its
published tree. Each changed version is built once: the site the gates passed is the site
published.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mike import mkdocs_utils

from . import banners, branch, inputs, zensical_build
from .branch import PublishError, export, git, git_env, published_versions
from .gates import DEFAULT_LEDGER, GateResult, run_gates
from .plugin import DEV_ENV
from .versions import Plan, VersionSpec, load_plan

__all__ = ["PublishError", "export", "publish", "publish_all", "project_version"]

# A release tag: v1, 1.2, v0.3.1 ... (the leading "v" is dropped for the version name).
RELEASE_TAG = re.compile(r"^v?(\d+(?:\.\d+){0,2})$")
# The plugin that builds every version is the installed one, whatever the ref: its code and
# theme are an input of every version (an upgrade of the plugin rebuilds them all).
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


def _hash_files(digest, paths: list[Path], tree: Path) -> None:
    for path in paths:
        # Named from the tree, so the same sources in another checkout hash the same.
        name = path.relative_to(tree) if path.is_relative_to(tree) else path
        digest.update(str(name).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")


def read_site(tree: Path) -> inputs.Site:
    try:
        return inputs.read_site(tree)
    except inputs.SiteConfigError as exc:
        raise PublishError(str(exc)) from None


def inputs_hash(
    tree: Path,
    spec: VersionSpec | None = None,
    site: inputs.Site | None = None,
    builder: str = "mkdocs",
    output: Path | None = None,
) -> str:
    """A content hash over everything a build of `spec` from `tree` reads, with `builder`.
    `output`, publishing's own output directory, is never an input (inside the tree, as
    `--output public`, snippets' whole-repository default would count it)."""
    tree = tree.resolve()
    site = site or read_site(tree)
    found = {p for root in site.inputs for p in inputs.files(root)}
    found |= {p for root in site.broad_inputs for p in inputs.files(root, tracked=True)}
    if output is not None:
        found = {p for p in found if not p.is_relative_to(output.resolve())}
    digest = hashlib.sha256()
    _hash_files(digest, sorted(found), tree)
    _hash_files(digest, inputs.files(PLUGIN_DIR), PLUGIN_DIR.parent)
    digest.update(site.settings.encode() + b"\0")
    if spec is not None:
        digest.update(f"dev={spec.dev}\0title={spec.title}\0".encode())
    if builder != "mkdocs":
        # Switching builders rebuilds (MkDocs builds hash as they always did: no republish).
        digest.update(f"builder={zensical_build.builder_identity()}\0".encode())
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
    output: Path | None = None,
    builder: str = "mkdocs",
    log=print,
) -> Outcome:
    """Publish the plan's versions (or `only` these) whose inputs changed.

    Each one is built once. With `gates`, every version built is checked, and if any gate
    fails nothing is deployed: the branch stays as it was; else the checked build is
    deployed. `check_only` stops after the gates. `prune` deletes the published versions the
    plan no longer lists. `output` receives the whole published site as files (aliases as
    copies), for a static host that takes a directory (a Pages artifact). `builder` builds
    every version with MkDocs or Zensical (zensical_build.py); the deploy is the same.
    """
    if builder not in zensical_build.BUILDERS:
        raise PublishError(f"No builder {builder!r}: one of {', '.join(zensical_build.BUILDERS)}.")
    outcome = Outcome()
    if push:
        branch.fetch_remote_branch(repo, branch_name)
    published = {v["version"]: v for v in published_versions(repo, branch_name)}
    specs = [s for s in plan.versions if not only or s.version in only]
    with ExitStack() as stack:
        todo = []
        for spec in specs:
            tree = stack.enter_context(checkout(repo, spec.ref))
            site = read_site(tree)
            digest = inputs_hash(tree, spec, site, builder, output)
            if not force and _is_current(published.get(spec.version), spec, digest):
                outcome.unchanged.append(spec.version)
            else:
                built = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tideway-")))
                todo.append((spec, tree, site, digest, built / "site"))
        # Every changed version is built before any is deployed: when a gate fails, nothing
        # is, not even the versions that passed.
        for spec, tree, site, _, out in todo:
            env = build_env(repo, spec)
            ledger_file = ledger or repo / DEFAULT_LEDGER
            if builder == "zensical" and gates:
                outcome.gates[spec.version] = zensical_build.run_gates(
                    tree, site, out, env, ledger_file, today, spec.version
                )
            elif builder == "zensical":
                built = zensical_build.build(site, out, env, spec.version)
                if not built.passed:
                    raise PublishError("\n".join(p.message for p in built.problems))
            elif gates:
                outcome.gates[spec.version] = run_gates(tree, out, env, ledger_file, today)
            else:
                build(tree, site, out, env)
        if not outcome.passed or check_only:
            return outcome
        for spec, tree, site, digest, out in todo:
            branch.deploy_built(
                tree,
                out,
                spec.version,
                branch=branch_name,
                aliases=spec.aliases,
                title=spec.title,
                props={"inputs": digest, **({"builder": builder} if builder != "mkdocs" else {})},
                mike_options=site.mike,
                use_directory_urls=site.use_directory_urls,
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
    if output is not None:
        branch.write_output(repo, branch_name, output)
        log(f"Wrote the whole site ({branch_name}) to {output}.")
    return outcome


def build(tree: Path, site: inputs.Site, out: Path, env: dict[str, str]) -> None:
    """Build a version without the gates (`make serve`): the build mike deploy would make,
    with mike's plugin added to the config as mike adds it (versioned `site_url`)."""
    # The console script, not `python -m`, for the reason gates.strict_build gives.
    mkdocs = str(Path(sys.executable).parent / "mkdocs")
    with mkdocs_utils.inject_plugin(str(site.config_file)) as config_file:
        done = subprocess.run(
            [mkdocs, "build", "--config-file", config_file, "--site-dir", str(out)],
            cwd=tree, env=env, capture_output=True, text=True,
        )  # fmt: skip
    if done.returncode != 0:
        raise PublishError(f"mkdocs build of {tree} failed:\n{done.stderr.strip()[-3000:]}")


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
    """`make serve`: every version of versions.yml (or the release tags), without gates, with
    the builder the branch was published with; the local branch keeps no version that
    versions.yml dropped.

    Returns the versions that were (re)built.
    """
    # Only versions.yml is a whole list; a plan made from release tags is not.
    prune = (repo / VERSIONS_FILE).exists()
    return publish(
        repo, repo_plan(repo), branch_name=branch, gates=False, prune=prune, log=log,
        builder=recorded_builder(published_versions(repo, branch)),
    ).built  # fmt: skip


def recorded_builder(published: list[dict]) -> str:
    """The builder the branch's versions were published with: each Zensical build records
    itself in versions.json (`properties.builder`), so `make serve` and `tideway-serve` keep
    a site published with Zensical built by Zensical instead of rebuilding it with MkDocs."""
    recorded = {(v.get("properties") or {}).get("builder", "mkdocs") for v in published}
    return "zensical" if "zensical" in recorded else "mkdocs"
