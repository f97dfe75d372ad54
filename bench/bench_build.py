"""The plugin's cost: building a few hundred pages with Material plus `tideway`, against
plain Material on the same docs, in one run on this machine.

Generates a docs tree (a git repository, so the plugin's git history runs too), then builds
it with `mkdocs build`, alternating plain and plugin builds so that machine noise hits both
alike. The result is the ratio of the best CPU times of the build commands and their
children (the plugin's import and its `git log` count): on a shared machine wall time swings
with other people's work, CPU time less, and the best of several runs is the one least
disturbed. Medians, best wall times and each round's own ratio (its two builds ran side
by side) are printed beside it. The budget is 1.03. With
`--instructions` each is also built once under callgrind, whose instruction counts the
machine's load does not move (CPU time swings by a tenth between rounds on a shared machine).

With `--feedback` both sites configure Material's feedback block (`extra.analytics.feedback`),
as a site that adopts the widget does: plain Material then renders its own feedback form, and
the plugin its widget, on every page.

With `--site DIR` the docs are a copy of a real site instead (DIR holds its mkdocs.yml, e.g.
the vendored tests/sites/mkdocs-material): built as it is, and with `- tideway` added to its
`plugins:` list, as the writer guide has a writer do. When DIR is a git checkout's top it is
cloned with its history, which the plugin reads (a real repository's years of commits cost
more than one commit does).

    .venv/bin/python bench/bench_build.py [--pages 300 | --site DIR] [--rounds 7]
        [--feedback] [--baseline-code DIR] [--instructions]
"""

from __future__ import annotations

import argparse
import compileall
import functools
import logging
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")

from mkdocs.commands.build import build  # noqa: E402
from mkdocs.config import load_config  # noqa: E402
from mkdocs.plugins import CombinedEvent  # noqa: E402

WORDS = (
    "version publish reader feedback rating widget gunicorn nginx proxy store sqlite "
    "postgres manifest anchor heading review owner freshness gate build theme material "
    "selector banner redirect alias latest release changelog install deploy backup restore "
    "retention metrics health ready token secret origin limit queue task triage"
).split()
CONFIG = """site_name: Bench
theme:
  name: material
  font: false
plugins:
{plugins}
markdown_extensions:
  - toc:
      permalink: true
  - admonition
extra:
  version:
    provider: mike
{feedback}"""
FEEDBACK = """  analytics:
    feedback:
      title: Was this page helpful?
      ratings:
        - icon: material/thumb-up-outline
          name: This page was helpful
          data: 1
        - icon: material/thumb-down-outline
          name: This page could be improved
          data: 0
"""


def make_docs(root: Path, pages: int, feedback: bool = False) -> None:
    rng = random.Random(7)
    docs = root / "docs"
    for n in range(pages):
        section = docs / f"section-{n % 12}"
        section.mkdir(parents=True, exist_ok=True)
        body = [f"---\nowner: team-{n % 5}\n---\n", f"# Page {n}\n"]
        for h in range(4):
            body.append(f"\n## {rng.choice(WORDS).title()} {h}\n")
            for _ in range(3):
                body.append(" ".join(rng.choice(WORDS) for _ in range(60)) + "\n\n")
            other = rng.randrange(pages)
            body.append(f"See [page {other}](../section-{other % 12}/page-{other}.md).\n")
        (section / f"page-{n}.md").write_text("".join(body))
    (docs / "index.md").write_text("---\nowner: team-0\n---\n# Bench\n\nGenerated pages.\n")
    for name, plugins in (("plain", "  - search"), ("tideway", "  - search\n  - tideway")):
        block = FEEDBACK if feedback else ""
        (root / f"{name}.yml").write_text(CONFIG.format(plugins=plugins, feedback=block))
    commit_all(root)


def copy_site(site: Path, root: Path, feedback: bool = False) -> int:
    """A copy of the real site in `site`, configured as plain.yml and tideway.yml; the number
    of its Markdown pages. A git checkout's top is cloned, history and all, as a writer's CI
    checks it out to publish (the plugin reads the pages' last commits from it); any other
    directory is copied and committed once, as make_docs."""
    if (site / ".git").exists():
        subprocess.run(["git", "clone", "-q", str(site), str(root)], check=True)
    else:
        ignore = shutil.ignore_patterns(".git", "site")
        shutil.copytree(site, root, dirs_exist_ok=True, ignore=ignore)
        commit_all(root)
    lines = (root / "mkdocs.yml").read_text(encoding="utf-8").splitlines()
    if feedback and not any(line.strip() == "feedback:" for line in lines):
        lines = with_feedback_block(lines)
    (root / "plain.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if "plugins:" in lines:  # a block list: the plugin goes last, as in the writer guide
        first = lines.index("plugins:") + 1
        pad = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        end = first
        while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t-#"):
            end += 1
        while not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#"):
            end -= 1  # blank lines and comments before the next key stay there
        lines[end:end] = [f"{pad}- tideway"]
    else:  # MkDocs' default list, search, and the plugin
        lines += ["plugins:", "  - search", "  - tideway"]
    (root / "tideway.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(1 for _ in (root / "docs").rglob("*.md"))


def with_feedback_block(lines: list[str]) -> list[str]:
    """`lines` of a block-style mkdocs.yml with FEEDBACK's block under `extra:`, beside an
    analytics provider the site has."""
    block = FEEDBACK.rstrip("\n").splitlines()  # "  analytics:", "    feedback:", ...
    if "  analytics:" in lines:
        at = lines.index("  analytics:") + 1
        return lines[:at] + block[1:] + lines[at:]
    if "extra:" in lines:
        at = lines.index("extra:") + 1
        return lines[:at] + block + lines[at:]
    return [*lines, "extra:", *block]


def commit_all(root: Path) -> None:
    git = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@tideway.invalid"]
    subprocess.run(git + ["init", "-q"], cwd=root, check=True)
    subprocess.run(git + ["add", "-A"], cwd=root, check=True)
    subprocess.run(git + ["commit", "-qm", "docs"], cwd=root, check=True)


HOOK_SECONDS: list[float] = []


def time_the_plugins_events() -> None:
    """Add up the CPU time spent inside the plugin's own events, build by build."""
    from tideway_site.plugin import TidewayPlugin

    def timed(event):
        @functools.wraps(event)  # keeps its priority (mkdocs_priority)
        def run(self, *args, **kwargs):
            start = time.process_time()
            try:
                return event(self, *args, **kwargs)
            finally:
                HOOK_SECONDS[-1] += time.process_time() - start

        return run

    for name in ("on_files", "on_env", "on_page_markdown", "on_page_context", "on_post_build"):
        setattr(TidewayPlugin, name, timed(getattr(TidewayPlugin, name)))
    handlers = TidewayPlugin.__dict__["on_post_page"].methods  # before and after a minifier
    TidewayPlugin.on_post_page = CombinedEvent(*(timed(handler) for handler in handlers))
    on_config = TidewayPlugin.on_config

    def start_build(self, config):
        HOOK_SECONDS.append(0.0)
        return timed(on_config)(self, config)

    TidewayPlugin.on_config = start_build


def compile_plugin(code: Path | None) -> None:
    """Write the plugin's bytecode, as pip does when it installs the package: a writer's
    builds load it from there (MkDocs', Material's and their dependencies' have theirs), and
    a process told not to write bytecode (PYTHONDONTWRITEBYTECODE) would otherwise compile
    the plugin's modules from source in every build."""
    package = (code or Path(__file__).resolve().parents[1]) / "tideway_site"
    compileall.compile_dir(package, quiet=1)


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed_build(root: Path, name: str, code: Path | None = None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `mkdocs build`, run as a writer runs it: in a
    fresh interpreter, so the plugin's import counts, and no build inherits the garbage of
    the one before (in one process, every build ran slower than the last). `code`: another
    checkout whose plugin to load instead of this one's."""
    env = {**os.environ, "PYTHONPATH": str(code)} if code else None
    config = "tideway" if code else name
    cpu, wall = cpu_seconds(), time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "-q",
            "-f",
            f"{config}.yml",
            "-d",
            f"site-{name}",
        ],
        cwd=root,
        env=env,
        check=True,
    )
    return cpu_seconds() - cpu, time.perf_counter() - wall


def instructions(root: Path, code: dict[str, Path | None]) -> dict[str, int]:
    """Instructions of one build of each, counted by callgrind (and of its children: the
    plugin's `git` commands). Unlike CPU time they do not change with the machine's other
    work, so a difference of 1 % shows; the builds run side by side (each 50 times slower).
    Each process reports into a file of its own: a child's report on its stderr would reach
    whoever reads that stderr (the plugin, which captures git's), not this script."""
    runs = {}
    for name, checkout in code.items():
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same sets' order in every run
        if checkout:
            env["PYTHONPATH"] = str(checkout)
        config = "tideway" if checkout else name
        reports = root / f"callgrind-{name}"
        reports.mkdir()
        runs[name] = reports, subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
             "--trace-children=yes", f"--log-file={reports}/%p", sys.executable, "-m",
             "mkdocs", "build", "-q", "-f", f"{config}.yml", "-d", f"site-cg-{name}"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    counts = {}
    for name, (reports, proc) in runs.items():
        _, err = proc.communicate()
        logs = [path.read_text() for path in reports.iterdir()]
        if proc.returncode:
            raise RuntimeError(f"the {name} build failed under callgrind:\n{err[-2000:]}")
        # One "I refs:" line per process (the build, then each child): all count.
        counts[name] = sum(
            int(n.replace(",", "")) for log in logs for n in INSTRUCTIONS.findall(log)
        )
    return counts


INSTRUCTIONS = re.compile(r"I\s+refs:\s+([\d,]+)")


def events_seconds(root: Path, builds: int = 2) -> float:
    """CPU seconds inside the plugin's own events per build (best of `builds`, in this
    process, after a warm-up build)."""
    time_the_plugins_events()
    for _ in range(builds + 1):
        config = load_config(str(root / "tideway.yml"), site_dir=str(root / "site-events"))
        build(config)
    return min(HOOK_SECONDS[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument(
        "--site", type=Path, help="a real site's directory (its mkdocs.yml) instead of --pages"
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--feedback", action="store_true", help="both sites configure the feedback block"
    )
    parser.add_argument(
        "--baseline-code",
        type=Path,
        help="another checkout: its plugin is built too, in every round, and compared",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each build's instructions once under valgrind (callgrind): a "
        "figure that the machine's load does not move; minutes for a few hundred pages",
    )
    args = parser.parse_args()
    if args.site:
        args.site = args.site.resolve()  # before the run moves into its own directory
    code = {"plain": None, "tideway": None}
    if args.baseline_code:
        code["baseline"] = args.baseline_code.resolve()
    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="tideway-bench-") as tmp:
        root = Path(tmp)
        if args.site:
            pages = copy_site(args.site, root, args.feedback)
        else:
            make_docs(root, args.pages, args.feedback)
            pages = args.pages + 1
        os.chdir(root)
        for checkout in code.values():
            compile_plugin(checkout)
        for name in code:  # warm-up: the file system's caches
            timed_build(root, name, code[name])
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in code}
        for i in range(args.rounds):
            names = list(code)
            order = names if i % 2 == 0 else names[::-1]
            for name in order:
                times[name].append(timed_build(root, name, code[name]))
        in_hooks = events_seconds(root)
        counted = instructions(root, code) if args.instructions else {}
    cpu = {k: min(c for c, _ in v) for k, v in times.items()}
    median = {k: statistics.median(c for c, _ in v) for k, v in times.items()}
    wall = {k: min(w for _, w in v) for k, v in times.items()}
    block = ", feedback block on both" if args.feedback else ""
    site = f" ({args.site.name})" if args.site else ""
    print(f"pages: {pages}{site}, rounds: {args.rounds}{block}")
    labels = {
        "plain": "plain Material    ",
        "tideway": "Material + tideway",
        "baseline": "baseline checkout ",
    }
    for name in code:
        label = labels[name]
        runs = [round(c, 2) for c, _ in times[name]]
        print(
            f"{label}: CPU best {cpu[name]:.3f} s, median {median[name]:.3f} s {runs}, "
            f"best wall {wall[name]:.3f} s"
        )
    ratio = cpu["tideway"] / cpu["plain"]
    print(
        f"ratio tideway/plain: CPU best {ratio:.3f}, CPU median "
        f"{median['tideway'] / median['plain']:.3f}, best wall "
        f"{wall['tideway'] / wall['plain']:.3f} (budget 1.03, on CPU best)"
    )
    # Each round's two builds ran next to each other: their ratio is spared the slower
    # drifts of a shared machine (one round in another tenant's busy minute, both slow).
    paired = [t / p for (t, _), (p, _) in zip(times["tideway"], times["plain"], strict=True)]
    print(
        f"ratio tideway/plain, round by round: best {min(paired):.3f}, median "
        f"{statistics.median(paired):.3f}"
    )
    if "baseline" in code:
        print(
            f"ratio tideway/baseline: CPU best {cpu['tideway'] / cpu['baseline']:.3f}, CPU "
            f"median {median['tideway'] / median['baseline']:.3f}; baseline/plain: CPU best "
            f"{cpu['baseline'] / cpu['plain']:.3f}, median "
            f"{median['baseline'] / median['plain']:.3f}"
        )
    if counted:
        shown = ", ".join(f"{name} {n / 1e6:,.0f} M" for name, n in counted.items())
        print(
            f"instructions, one build each: {shown}; ratio tideway/plain "
            f"{counted['tideway'] / counted['plain']:.3f}"
        )
    print(
        f"time in the plugin's own events: {in_hooks:.3f} s per build, "
        f"{in_hooks / cpu['plain']:.1%} of a plain build"
    )
    return 0 if ratio <= 1.03 else 1


if __name__ == "__main__":
    sys.exit(main())
