"""What git knows about the docs: the last commit and date of every source file.

One `git log` over the docs directory per build, read as it comes and stopped once every
page asked about has been seen; a `git log` per page would cost more than the 3 % the plugin
may add to a build, and the whole history of a repository some years old (Material's: 2,486
commits touch its docs) costs more than a percent of it.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# A commit's header in the log (`%x01`), told apart from the file names (NUL-separated,
# `-z`) by a byte no path starts with.
HEADER = "\x01"
CHUNK = 1 << 16


@dataclass(frozen=True)
class LastChange:
    commit: str
    date: str  # YYYY-MM-DD, the committer date


def last_changes(
    docs_dir: Path, wanted: Iterable[str] | None = None
) -> dict[str, LastChange] | None:
    """Map each file under `docs_dir` (path relative to it, `/`-separated) to its last change:
    every file's, or, given `wanted`, at least those of its files that git has (the log stops
    once it has seen them all).

    None when `docs_dir` is not in a git checkout (or git is missing, or has no commit): the
    caller warns once.
    """
    try:
        top = _git(docs_dir, "rev-parse", "--show-toplevel")
        # `-z`: names as they are (`docs/快速开始.md`), not quoted with octal escapes.
        log = subprocess.Popen(
            ["git", "log", "--format=%x01%H %cs", "-z", "--name-only", "--no-renames",
             "--", "."],
            cwd=docs_dir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    prefix = docs_dir.resolve().relative_to(Path(top).resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    missing = None if wanted is None else set(wanted)
    changes: dict[str, LastChange] = {}
    change = None
    rest = b""
    ended = False
    with log:
        while missing is None or missing:
            chunk = log.stdout.read1(CHUNK)
            if not chunk:
                ended = True
                break
            *fields, rest = (rest + chunk).split(b"\0")
            for field in fields:
                text = field.decode("utf-8", "surrogateescape").lstrip("\n")
                if text.startswith(HEADER):
                    commit, _, date = text[1:].partition(" ")
                    change = LastChange(commit, date)
                elif text.startswith(prefix):
                    # Newest first: the first time a file shows up is its last change.
                    name = text[len(prefix) :]
                    if name not in changes:
                        changes[name] = change
                        if missing is not None:
                            missing.discard(name)
                            if not missing:
                                break
        if not ended:
            log.terminate()  # what it has not written yet is older than every page asked about
    if ended and log.returncode:
        return None  # a repository without a commit yet
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
