"""mike's own deploy of a site that is already built: the version's directory, its aliases
and versions.json, committed to the publishing branch exactly as `mike deploy` commits
them, without the build `mike deploy` would run first.

branch.deploy_built runs this in the tree being published (`python -P -m
tideway_site.mike_commit ...`): mike's git code works on the current directory's repository.
"""

from __future__ import annotations

import argparse
import sys

from mike import commands, git_utils, jsonpath


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tideway_site.mike_commit")
    parser.add_argument("--site-dir", required=True, help="the built version")
    parser.add_argument("--branch", required=True)
    parser.add_argument("--title")
    parser.add_argument("--alias-type", default="symlink", choices=("symlink", "copy", "redirect"))
    parser.add_argument("--template", help="mike's redirect template, for --alias-type redirect")
    parser.add_argument("--no-directory-urls", action="store_true")
    parser.add_argument("--prop-set-string", action="append", default=[], metavar="PROP=STRING")
    parser.add_argument("version")
    parser.add_argument("aliases", nargs="*")
    args = parser.parse_args(argv)
    cfg = {"site_dir": args.site_dir, "use_directory_urls": not args.no_directory_urls}
    try:
        with commands.deploy(
            cfg,
            args.version,
            args.title,
            args.aliases,
            update_aliases=True,
            alias_type=commands.AliasType[args.alias_type],
            template=args.template,
            branch=args.branch,
            set_props=[jsonpath.parse_set(p) for p in args.prop_set_string],
        ):
            pass  # mike builds here; the site was built (and gated) before
    except git_utils.GitEmptyCommit:
        pass  # republished as it was (--force): the branch already holds this build
    except (ValueError, git_utils.GitError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
