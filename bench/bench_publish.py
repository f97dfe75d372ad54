"""Incremental publishing: re-publishing N versions of which one changed, against running
`mike deploy` for every version (what a CI job does without `scripts/publish --all`), in one
run on this machine.

A temporary repository gets N commits, one per version, of a generated docs tree; both sides
publish all N once, then one version's docs change and both publish all N again. The second
round is what is compared: mike rebuilds N versions, `publish --all` one (gated: a strict
build plus the deploy build). Prints both times and the ratio.

    .venv/bin/python bench/bench_publish.py [--versions 4] [--pages 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")

from bench.bench_build import make_docs  # noqa: E402
from tideway_site import branch, publish  # noqa: E402
from tideway_site.versions import Plan, VersionSpec  # noqa: E402

GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@tideway.invalid"]


def make_repo(root: Path, versions: int, pages: int) -> list[str]:
    make_docs(root, pages)
    (root / "tideway.yml").rename(root / "mkdocs.yml")
    (root / "plain.yml").unlink()
    refs = []
    for n in range(versions):
        (root / "docs" / "index.md").write_text(f"---\nowner: team-0\n---\n# Bench {n}\n")
        subprocess.run(GIT + ["add", "-A"], cwd=root, check=True)
        subprocess.run(GIT + ["commit", "-qm", f"v{n}"], cwd=root, check=True)
        refs.append(subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=root, text=True))
    return [r.strip() for r in refs]


def mike_each(root: Path, plan: Plan) -> float:
    """The baseline: `mike deploy` of every version, each from its checkout."""
    start = time.perf_counter()
    for spec in plan.versions:
        with publish.checkout(root, spec.ref) as tree:
            branch.mike_deploy(root, tree, spec.version, branch="mike-site", env=None)
    return time.perf_counter() - start


def ours(root: Path, plan: Plan, gates: bool) -> tuple[float, list[str]]:
    start = time.perf_counter()
    outcome = publish.publish(
        root, plan, branch_name="tideway-site", gates=gates, ledger=root / "none.json",
        log=lambda _m: None,
    )  # fmt: skip
    assert outcome.passed, outcome.gates
    return time.perf_counter() - start, outcome.built


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=4)
    parser.add_argument("--pages", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tideway-bench-") as tmp:
        root = Path(tmp)
        refs = make_repo(root, args.versions, args.pages)
        # The newest version from the working tree, the others from their commits.
        specs = [VersionSpec(f"1.{n}", ref) for n, ref in enumerate(refs[:-1])]
        plan = Plan((*specs, VersionSpec(f"1.{len(refs) - 1}", "", ("latest",))), "latest")
        mike_each(root, plan)
        ours(root, plan, gates=True)
        page = root / "docs" / "index.md"
        page.write_text(page.read_text() + "\nChanged.\n")  # one version's inputs change
        baseline = mike_each(root, plan)
        gated, built = ours(root, plan, gates=True)
        page.write_text(page.read_text() + "\nChanged again.\n")
        ungated, _ = ours(root, plan, gates=False)
    print(f"versions: {args.versions}, pages per version: {args.pages + 1}")
    print(f"mike deploy for each version:       {baseline:.2f} s")
    print(f"publish --all (gated), rebuilt {built}: {gated:.2f} s")
    print(f"publish --all (no gates, make serve): {ungated:.2f} s")
    print(
        f"ratio gated/mike-each: {gated / baseline:.2f}   no gates/mike-each: "
        f"{ungated / baseline:.2f}   (one build of {args.versions}: {1 / args.versions:.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
