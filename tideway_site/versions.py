"""The maintained versions of a docs site (`versions.yml`): plain data, no git, no I/O beyond
reading the file. `scripts/publish --all` publishes what this describes.

    default: latest            # the version or alias the site root and the root 404 go to
    redirects:                 # moved pages, for links without a version: old URL -> new URL
      quickstart/: tutorial/
    versions:                  # newest first
      - version: "0.1"
        ref: ""                # "" is the working tree; else any git ref (a commit SHA travels)
        aliases: [latest]
        title: "0.1"
      - version: "0.2"
        dev: true              # not released yet: a "not yet released" banner
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class VersionSpec:
    version: str
    ref: str = ""  # "" means the working tree
    aliases: tuple[str, ...] = ()
    title: str | None = None
    dev: bool = False


@dataclass(frozen=True)
class Plan:
    versions: tuple[VersionSpec, ...]
    default: str = "latest"
    redirects: dict[str, str] = field(default_factory=dict)

    def find(self, name: str) -> VersionSpec | None:
        for spec in self.versions:
            if name == spec.version or name in spec.aliases:
                return spec
        return None


def parse_plan(data: object, source: str = "versions.yml") -> Plan:
    """Check and convert the YAML document; a ValueError says what to fix."""
    if not isinstance(data, dict) or not isinstance(data.get("versions"), list):
        raise ValueError(f"{source}: expected a mapping with a `versions:` list.")
    specs, names = [], {}
    for i, entry in enumerate(data["versions"], 1):
        if not isinstance(entry, dict) or "version" not in entry:
            raise ValueError(f"{source}: entry {i} has no `version:`.")
        unknown = set(entry) - {"version", "ref", "aliases", "title", "dev"}
        if unknown:
            raise ValueError(f"{source}: entry {i} has unknown keys: {', '.join(sorted(unknown))}.")
        version = str(entry["version"])
        if not VERSION_NAME.match(version):
            raise ValueError(f"{source}: {version!r} is not a version name like 1.2 or 1.2-beta.")
        aliases = tuple(str(a) for a in entry.get("aliases") or ())
        for name in (version, *aliases):
            if name in names:
                raise ValueError(
                    f"{source}: {name!r} is used by both {names[name]!r} and {version!r}; "
                    "a version or alias names one version."
                )
            names[name] = version
        specs.append(
            VersionSpec(
                version=version,
                ref=str(entry.get("ref") or ""),
                aliases=aliases,
                title=str(entry["title"]) if entry.get("title") else None,
                dev=bool(entry.get("dev", False)),
            )
        )
    if sum(1 for s in specs if not s.ref) > 1:
        raise ValueError(
            f"{source}: only one version can be built from the working tree (ref: '')."
        )
    default = str(data.get("default") or "latest")
    if default not in names:
        raise ValueError(f"{source}: default {default!r} is not one of its versions or aliases.")
    redirects = data.get("redirects") or {}
    if not isinstance(redirects, dict):
        raise ValueError(f"{source}: `redirects:` must map old URLs to new URLs.")
    return Plan(tuple(specs), default, {str(k): str(v) for k, v in redirects.items()})


def load_plan(path: Path) -> Plan:
    return parse_plan(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
