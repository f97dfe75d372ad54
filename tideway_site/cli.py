"""`tideway-publish` and `tideway-manifest` (`scripts/publish` and `scripts/manifest` in a
clone): argument parsing only; the work is in publish.py, fill.py and manifest.py."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import fill, gates, manifest
from .publish import VERSIONS_FILE, PublishError, publish, repo_plan
from .versions import Plan, VersionSpec
from .zensical_build import BUILDERS

# The version name `--check` gives the working tree when it names none: the plugin's own
# name for an unpublished build.
CHECK_VERSION = "dev"


def publish_parser() -> argparse.ArgumentParser:
    """The options of `tideway-publish`; docs/reference/publish.md lists each one (a test
    holds them to it)."""
    parser = argparse.ArgumentParser(
        prog="tideway-publish",
        description="Build each changed docs version once, run the gates on that build, then "
        "publish it with mike. A failed gate publishes nothing.",
    )
    parser.add_argument("version", nargs="?", help="publish the working tree as VERSION")
    parser.add_argument("--all", action="store_true", help="every version in versions.yml")
    parser.add_argument("--alias", action="append", default=[], help="an alias (repeatable)")
    parser.add_argument("--default", action="store_true", help="make VERSION the site default")
    parser.add_argument("--title", help="the version's title in the selector")
    parser.add_argument("--dev", action="store_true", help="VERSION is not released yet")
    parser.add_argument("--push", action="store_true", help="push the branch to origin")
    parser.add_argument(
        "--check",
        action="store_true",
        help="run the gates, publish nothing (alone: the working tree)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if unchanged")
    parser.add_argument(
        "--prune", action="store_true", help="with --all: delete versions no longer listed"
    )
    parser.add_argument(
        "--builder",
        choices=BUILDERS,
        default="mkdocs",
        help="build with MkDocs (default) or Zensical",
    )
    parser.add_argument("--branch", default="gh-pages", help="publishing branch (gh-pages)")
    parser.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="also write the whole published site into DIR (for a Pages artifact)",
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the docs repository")
    parser.add_argument("--ledger", type=Path, help="tested-commands ledger (var/...)")
    parser.add_argument("--report-json", type=Path, help="write the gate report as JSON here")
    return parser


def publish_main(argv: list[str] | None = None) -> int:
    parser = publish_parser()
    args = parser.parse_args(argv)
    if args.check and not (args.version or args.all):
        args.version = CHECK_VERSION
    if bool(args.version) == args.all:
        parser.error("give either VERSION or --all")
    if args.check and args.output:
        parser.error("--check publishes nothing: no --output")
    if args.prune and not args.all:
        parser.error("--prune goes with --all")
    if args.prune and not (args.root / VERSIONS_FILE).exists():
        parser.error(f"--prune needs {VERSIONS_FILE}: the list of versions to keep")
    root = args.root.resolve()
    try:
        if args.all:
            plan = repo_plan(root)
        else:
            # One version from the working tree; versions.yml, if any, gives the site's
            # default and root redirects.
            plan = repo_plan(root) if (root / VERSIONS_FILE).exists() else Plan((), "latest")
            spec = VersionSpec(args.version, "", tuple(args.alias), args.title, args.dev)
            default = args.version if args.default else plan.default
            plan = Plan((spec,), default, plan.redirects)
        if args.check:
            outcome = publish(
                root,
                plan,
                branch_name=args.branch,
                force=True,
                check_only=True,
                ledger=args.ledger,
                builder=args.builder,
            )
        else:
            outcome = publish(
                root,
                plan,
                branch_name=args.branch,
                push=args.push,
                force=args.force,
                ledger=args.ledger,
                set_default=args.all or args.default,
                prune=args.prune,
                output=args.output.resolve() if args.output else None,
                builder=args.builder,
            )
    except PublishError as exc:
        print(exc, file=sys.stderr)
        return 2
    for version, results in outcome.gates.items():
        print(gates.report_table(version, results))
        annotations = gates.github_annotations(results)
        if annotations:
            print(annotations)
    if args.report_json:
        report = [gates.report_json(v, r) for v, r in outcome.gates.items()]
        args.report_json.write_text(json.dumps(report, indent=1))
    if not outcome.passed:
        print("A gate failed: nothing was published.", file=sys.stderr)
        return 1
    if outcome.unchanged and not args.check:
        print(f"Unchanged, not rebuilt: {', '.join(outcome.unchanged)}.")
    if outcome.deleted:
        print(f"Deleted, no longer in {VERSIONS_FILE}: {', '.join(outcome.deleted)}.")
    return 0


def manifest_parser() -> argparse.ArgumentParser:
    """The options of `tideway-manifest`; docs/reference/manifest.md lists each one (a test
    holds them to it)."""
    parser = argparse.ArgumentParser(
        prog="tideway-manifest",
        description="Write feedback-manifest.json for a built version (MkDocs or Zensical) "
        "from its HTML, after putting the feedback widget on the pages whose template lacks it.",
    )
    parser.add_argument("site_dir", type=Path, help="the built version's directory")
    parser.add_argument("--version", help="the version name (default: from the pages' stamps)")
    parser.add_argument(
        "--docs",
        type=Path,
        help="the docs sources: each page's source, and the pages whose front matter hides "
        "the widget",
    )
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    return parser


def manifest_main(argv: list[str] | None = None) -> int:
    args = manifest_parser().parse_args(argv)
    if not (args.site_dir / "index.html").exists():
        print(
            f"{args.site_dir} has no index.html: give a built version's directory.", file=sys.stderr
        )
        return 2
    # The widget first: the manifest then reads the pages as they are published.
    filled = fill.fill_site(args.site_dir, args.docs)
    notes = sys.stderr if args.stdout else sys.stdout  # --stdout's output is the JSON alone
    if filled.placed:
        print(
            f"Placed the feedback widget on {len(filled.placed)} page(s) whose template "
            f"lacks it: {', '.join(filled.placed)}.",
            file=notes,
        )
    for message in filled.messages():
        print(message, file=sys.stderr)
    doc = manifest.manifest_from_site(args.site_dir, args.version, args.docs)
    if args.stdout:
        print(json.dumps(doc, ensure_ascii=False, indent=1))
    else:
        out = manifest.write(args.site_dir, doc)
        print(f"Wrote {out} ({len(doc['pages'])} pages, version {doc['version']}).")
    return 0


def serve_main(argv: list[str] | None = None) -> int:
    """`tideway-serve`: the docs and the API, from the `server` extra's packages."""
    try:
        from feedback_api.run.serve import main
    except ModuleNotFoundError as exc:
        print(
            f"tideway-serve runs the feedback server, whose packages are not installed here "
            f"({exc.name} is missing): pip install 'tideway-docs[server]'",
            file=sys.stderr,
        )
        return 2
    return main(argv)
