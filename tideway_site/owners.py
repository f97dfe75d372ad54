"""Who owns a page without `owner:` front matter: an owners file, and which pages the owner
and freshness gates pass over (the `exempt` option). Both use one pattern language.

The owners file reads like GitHub's CODEOWNERS, over source paths relative to the docs
directory (`guide/setup.md`, `blog/posts/launch.md`):

    # pattern      owner
    *              docs-team
    /blog/         marketing
    reference/**   api-team

Blank lines and `#` comments are skipped; the last matching line wins; a pattern with no
owner after it leaves its pages without one. A pattern without a `/` (other than a trailing
one) matches at any depth; with one, or with a leading `/`, from the docs directory; a
trailing `/` matches what is inside a directory; `*` and `?` stay within one path segment,
`**` spans any number. A page's own `owner:` front matter wins over the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


def _segment(glob: str) -> str:
    out = []
    for char in glob:
        out.append("[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char))
    return "".join(out)


def compile_pattern(pattern: str) -> re.Pattern:
    """A CODEOWNERS-style pattern as a regular expression over docs-relative paths."""
    inner = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in inner
    segments = inner.split("/") if inner else ["**"]
    body = ""
    for at, segment in enumerate(segments):
        last = at == len(segments) - 1
        if segment == "**":
            body += ".*" if last else "(?:[^/]+/)*"
        else:
            body += _segment(segment) + ("" if last else "/")
    # A pattern names a file, or a directory and everything in it; with a trailing "/" only
    # the latter.
    tail = "/.*" if pattern.endswith("/") else "(?:/.*)?"
    return re.compile(("" if anchored else "(?:.*/)?") + body + tail + r"\Z")


class Patterns:
    """A list of patterns; matches a path when any of them does (the `exempt` option)."""

    def __init__(self, patterns: list[str] | tuple[str, ...] = ()):
        self.patterns = tuple(patterns)
        self._compiled = [compile_pattern(p) for p in self.patterns]

    def match(self, path: str) -> bool:
        return any(regex.match(path) for regex in self._compiled)


@dataclass(frozen=True)
class OwnerRule:
    pattern: str
    owner: str  # "" when the line names none
    line: int
    regex: re.Pattern


class OwnersFileError(ValueError):
    """A line of the owners file that cannot be read; the message names the file and line."""


class OwnersFile:
    def __init__(self, rules: list[OwnerRule], name: str = "owners file"):
        self.rules = rules
        self.name = name

    def owner_of(self, path: str) -> str:
        """The owner the last matching line names ("" when none matches or it names none)."""
        for rule in reversed(self.rules):
            if rule.regex.match(path):
                return rule.owner
        return ""


def parse_owners(text: str, name: str = "owners file") -> OwnersFile:
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, *owners = line.split()
        if len(owners) > 1:
            # A page has one owner: the team its review tasks are routed to.
            raise OwnersFileError(
                f"{name}, line {number}: {pattern!r} names {len(owners)} owners "
                f"({', '.join(owners)}); a page has one owner, the team its review tasks "
                "go to: keep one."
            )
        owner = owners[0] if owners else ""
        rules.append(OwnerRule(pattern, owner, number, compile_pattern(pattern)))
    return OwnersFile(rules, name)


def read_owners(path: Path) -> OwnersFile:
    return parse_owners(path.read_text(encoding="utf-8"), str(path))
