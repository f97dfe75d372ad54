"""The publish gates: a version is published only when every gate passes.

strict build; internal links and anchors; every page has an owner; no page past its freshness
limit; every command block marked as tested ran. Each gate returns a GateResult; the report
is a table for people and JSON for CI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .htmlpage import built_pages, read_page
from .manifest import MANIFEST_NAME

# A command block marked as tested: `<!-- tested: CONTEXT -->` right above a ```bash fence.
# tests/test_docs.py runs every such block and records it in the ledger this gate reads.
TESTED_BLOCK = re.compile(r"<!-- tested: ([a-z-]+) -->\n```bash\n(.*?)```", re.S)
DEFAULT_LEDGER = Path("var/tested-commands.json")


@dataclass
class Problem:
    file: str  # a docs source path (or a built page's URL when no source is known)
    message: str


@dataclass
class GateResult:
    gate: str
    problems: list[Problem] = field(default_factory=list)
    skipped: str = ""  # why the gate could not run (then it fails)

    @property
    def passed(self) -> bool:
        return not self.problems and not self.skipped


def block_id(command: str) -> str:
    return hashlib.sha256(command.strip().encode()).hexdigest()[:12]


def tested_blocks(docs_dir: Path):
    """(source path, context, command) of every block marked as tested, in file order."""
    for path in sorted(docs_dir.rglob("*.md")):
        for match in TESTED_BLOCK.finditer(path.read_text(encoding="utf-8")):
            yield path.relative_to(docs_dir).as_posix(), match.group(1), match.group(2)


def strict_build(tree: Path, out_dir: Path, env: dict[str, str]) -> GateResult:
    # The console script, not `python -m`: that would import the tree's own feedback_api
    # (an old ref's plugin) ahead of the installed one.
    # Not --quiet: it hides warnings from the counter that makes --strict fail.
    cmd = [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict"]
    cmd += ["--config-file", str(tree / "mkdocs.yml"), "--site-dir", str(out_dir)]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    result = GateResult("strict build")
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
        problems = [ln for ln in lines if ln.startswith(("WARNING", "ERROR"))] or lines[-5:]
        result.problems = [Problem("mkdocs.yml", line) for line in problems]
    return result


def _resolve(page_url: str, href: str) -> tuple[str, str] | None:
    """The site-relative path and fragment a link points to; None when it leaves the site."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith("//"):
        return None
    path = unquote(parts.path)
    if not path:
        return page_url, unquote(parts.fragment)
    if path.startswith("/"):
        return None  # absolute paths depend on where the site is served: not checkable here
    stack = page_url.split("/")[:-1]
    for piece in path.split("/"):
        if piece == "..":
            if not stack:
                return None  # above the version's root: another version, not ours to check
            stack.pop()
        elif piece not in ("", "."):
            stack.append(piece)
    joined = "/".join(stack) + ("/" if path.endswith("/") and stack else "")
    return joined, unquote(parts.fragment)


def check_links(site_dir: Path, sources: dict[str, str]) -> GateResult:
    """Every internal link leads to a file of the build, and its anchor to an id there."""
    result = GateResult("links and anchors")
    pages = {url: read_page(path) for url, path in built_pages(site_dir)}
    for url, page in pages.items():
        for href in page.links:
            target = _resolve(url, href)
            if target is None:
                continue
            path, fragment = target
            where = sources.get(url, url or "index")
            if path not in pages:
                file = site_dir / path / "index.html" if path.endswith("/") or not path else None
                if not (file or site_dir / path).exists():
                    result.problems.append(Problem(where, f"broken link {href!r}"))
                continue
            if fragment and fragment not in pages[path].ids:
                result.problems.append(Problem(where, f"missing anchor {href!r}"))
    return result


def check_owners(manifest: dict) -> GateResult:
    result = GateResult("owners")
    for page in manifest["pages"]:
        if not page.get("owner"):
            result.problems.append(Problem(page["src"], "no owner: add `owner:` front matter"))
    return result


def check_freshness(manifest: dict, today: dt.date) -> GateResult:
    days = int(manifest.get("freshness_days", 365))
    result = GateResult(f"freshness ({days} days)")
    for page in manifest["pages"]:
        try:
            reviewed = dt.date.fromisoformat(page.get("reviewed") or "")
        except ValueError:
            result.problems.append(Problem(page["src"], "no review date (`reviewed:` or git)"))
            continue
        if (today - reviewed).days > days:
            result.problems.append(
                Problem(page["src"], f"last reviewed {reviewed}, more than {days} days ago")
            )
    return result


def check_tested_commands(docs_dir: Path, ledger_path: Path) -> GateResult:
    result = GateResult("tested commands")
    try:
        ledger = json.loads(ledger_path.read_text())["blocks"]
    except (OSError, ValueError, KeyError):
        ledger = {}
    for src, _context, command in tested_blocks(docs_dir):
        entry = ledger.get(block_id(command))
        first = command.strip().splitlines()[0]
        if entry is None:
            result.problems.append(
                Problem(
                    src, f"`{first}` has not run: run tests/test_docs.py (ledger {ledger_path})"
                )
            )
        elif entry.get("exit") != 0:
            result.problems.append(Problem(src, f"`{first}` failed with exit {entry.get('exit')}"))
    return result


def run_gates(
    tree: Path, out_dir: Path, env: dict[str, str], ledger: Path, today: dt.date | None = None
) -> list[GateResult]:
    """Build `tree` strictly into `out_dir`, then check the build; the build feeds the rest."""
    results = [strict_build(tree, out_dir, env)]
    manifest_file = out_dir / MANIFEST_NAME
    # A strict build that failed on warnings still wrote the site: the other gates then say
    # which pages are at fault. Without a manifest (no plugin, or a fatal error) they cannot.
    if not manifest_file.exists():
        why = "no manifest: is the `tideway` plugin in mkdocs.yml?"
        if not results[0].passed:
            why = "the build failed"
        for name in ("links and anchors", "owners", "freshness", "tested commands"):
            results.append(GateResult(name, skipped=why))
        return results
    manifest = json.loads(manifest_file.read_text())
    sources = {p["url"]: "docs/" + p["src"] for p in manifest["pages"]}
    results.append(check_links(out_dir, sources))
    results.append(check_owners(manifest))
    results.append(check_freshness(manifest, today or dt.date.today()))
    results.append(check_tested_commands(tree / "docs", ledger))
    return results


def report_table(version: str, results: list[GateResult]) -> str:
    width = max(len(r.gate) for r in results)
    lines = [f"Gates for version {version}:"]
    for r in results:
        state = "pass" if r.passed else ("SKIPPED" if r.skipped else "FAIL")
        count = (
            f"  ({r.skipped})"
            if r.skipped
            else (f"  {len(r.problems)} problem(s)" if r.problems else "")
        )
        lines.append(f"  {r.gate.ljust(width)}  {state}{count}")
        lines += [f"      {p.file}: {p.message}" for p in r.problems]
    return "\n".join(lines)


def report_json(version: str, results: list[GateResult]) -> dict:
    return {
        "version": version,
        "passed": all(r.passed for r in results),
        "gates": [{**asdict(r), "passed": r.passed} for r in results],
    }


def github_annotations(results: list[GateResult]) -> str:
    """`::error` lines GitHub Actions shows on the pull request's files."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return ""
    lines = [
        f"::error file={p.file},title={r.gate}::{p.message}" for r in results for p in r.problems
    ]
    return "\n".join(lines)


def record_run(ledger_path: Path, command: str, exit_code: int, source: str) -> None:
    """Note in the ledger that a marked block ran (tests/test_docs.py calls this)."""
    try:
        ledger = json.loads(ledger_path.read_text())
    except (OSError, ValueError):
        ledger = {"blocks": {}}
    ledger.setdefault("blocks", {})[block_id(command)] = {
        "file": source,
        "exit": exit_code,
        "ran_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = ledger_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(ledger, indent=1, sort_keys=True))
    tmp.replace(ledger_path)
