"""What git knows about the docs: the last commit and date of every source file.

One `git log` over the docs directory per build, parsed into a dict; a `git log` per page
would cost more than the 3 % the plugin may add to a build.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LastChange:
    commit: str
    date: str  # YYYY-MM-DD, the committer date


def last_changes(docs_dir: Path) -> dict[str, LastChange] | None:
    """Map each file under `docs_dir` (path relative to it, `/`-separated) to its last change.

    None when `docs_dir` is not in a git checkout (or git is missing): the caller warns once.
    """
    try:
        top = _git(docs_dir, "rev-parse", "--show-toplevel")
        log = _git(docs_dir, "log", "--format=%x00%H %cs", "--name-only", "--no-renames", "--", ".")
    except (OSError, subprocess.CalledProcessError):
        return None
    prefix = docs_dir.resolve().relative_to(Path(top).resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    changes: dict[str, LastChange] = {}
    for entry in log.split("\0")[1:]:
        header, _, names = entry.partition("\n")
        commit, _, date = header.partition(" ")
        for name in names.splitlines():
            if name.startswith(prefix):
                # Newest first: the first time a file shows up is its last change.
                changes.setdefault(name[len(prefix) :], LastChange(commit, date))
    return changes


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def as_text(value) -> str:
    """A front matter value as the stamps carry it (YAML reads `2026-11-24` as a date)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def provenance(
    meta: dict, src: str, generated: bool, owners, changes: dict[str, LastChange] | None, today: str
) -> tuple[str, str, LastChange | None]:
    """A page's owner, review date and last change, by one rule for every builder (the
    plugin's stamps in a MkDocs build, the manifest of a Zensical build): front matter first,
    then the owners file and git. A page another plugin made (the blog's archive) has no
    source to put front matter in, nor a git history."""
    change = None if generated else (changes or {}).get(src)
    owner = as_text(meta.get("owner")) or owners.owner_of(src)
    reviewed = as_text(meta.get("reviewed")) or (change.date if change else "")
    if not reviewed and changes is not None and not generated:
        # In git but never committed: a page being written now is as fresh as it gets.
        reviewed = today
    return owner, reviewed, change
