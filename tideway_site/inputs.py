"""What a build of a docs site reads, found in its MkDocs configuration rather than by fixed
names: the config file and every `INHERIT`ed parent, `docs_dir`, the theme's `custom_dir`,
`hooks`, `watch`, the folders pymdownx.snippets includes from, and the folders and files
that plugins name in their options. Publishing hashes them to decide what to rebuild; a
file left out here is a change published as "unchanged".
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mkdocs.config import load_config
from mkdocs.plugins import BasePlugin

CONFIG_NAMES = ("mkdocs.yml", "mkdocs.yaml")
# `INHERIT: parent.yml` at the top level of a config file (MkDocs reads it before YAML tags).
INHERIT = re.compile(r"^INHERIT:\s*['\"]?([^'\"#\n]+?)['\"]?\s*(?:#.*)?$", re.M)
# A plugin option naming a path a build reads (the blog's folders are inside docs_dir and
# counted there; social cards' `cards_layout_dir`, macros' `include_dir` are not). Caches are
# written by the build itself: hashing them would rebuild forever.
PLUGIN_PATH_OPTION = re.compile(r"(_dir|_dirs|_file|_files|_path|_paths|_template|^paths?)$")
NOT_AN_INPUT = re.compile(r"cache|site|output")
# Folders that builds write into a tree they read: Python's bytecode, and `.cache`, where
# Zensical (and Material's social and privacy plugins) keep what they fetched or rendered.
# Counted, they would change the hash of a site that git does not tell to ignore them.
BUILD_CACHES = {"__pycache__", ".cache"}


# Top-level values a build writes into its pages; a config may take them from the environment
# (`site_url: !ENV SITE_URL`), so they count as they are loaded, not as the file spells them.
ENV_SETTINGS = ("site_name", "site_url", "repo_url", "edit_uri", "copyright", "extra")


class SiteConfigError(RuntimeError):
    """The site's MkDocs configuration cannot be read; the message says which and why."""


@dataclass(frozen=True)
class Site:
    """A site's configuration as publishing needs it."""

    config_file: Path
    docs_dir: Path
    use_directory_urls: bool
    inputs: tuple[Path, ...]  # files and folders, absolute, each read by a build
    # Folders a build may read any file of, snippets' base paths ("." by default): only
    # what git tracks or would track counts there, not a virtualenv or a build output.
    broad_inputs: tuple[Path, ...]
    mike: dict  # the `mike` plugin's own options when the site lists it, else {}
    # The configuration's own values that `!ENV` may set without the file changing.
    settings: str = ""
    custom_dir: Path | None = None  # the theme's `custom_dir`, absolute


def config_file(tree: Path) -> Path:
    for name in CONFIG_NAMES:
        if (tree / name).is_file():
            return tree / name
    if (tree / "zensical.toml").is_file():
        raise SiteConfigError(
            f"{tree} has zensical.toml but no mkdocs.yml: publishing reads a site's settings "
            "from mkdocs.yml, which Zensical reads too. Keep them in mkdocs.yml."
        )
    raise SiteConfigError(f"{tree} has no mkdocs.yml: publish from the docs site's root.")


def inherited(config: Path) -> list[Path]:
    """The config file and its INHERIT chain, child first."""
    chain = [config]
    while match := INHERIT.search(chain[-1].read_text(encoding="utf-8")):
        parent = (chain[-1].parent / match.group(1).strip()).resolve()
        if parent in chain or not parent.is_file():
            break  # MkDocs itself reports a missing parent when it loads the config
        chain.append(parent)
    return chain


def read_site(tree: Path) -> Site:
    path = config_file(tree)
    try:
        config = load_config(str(path))
    except Exception as exc:  # MkDocs raises its own errors and plain OSErrors alike
        raise SiteConfigError(f"{path} cannot be loaded: {exc}") from None
    inputs = [*inherited(path), Path(config.docs_dir)]
    if config.theme.custom_dir:
        inputs.append(Path(config.theme.custom_dir))
    inputs += [Path(module.__file__) for module in config.hooks.values()]
    inputs += [Path(w) for w in config.watch]
    # Relative to the build's working directory, which publishing sets to the tree.
    broad = [tree / p for p in _snippet_paths(config)]
    mike = {}
    for name, plugin in config.plugins.items():
        if not isinstance(plugin, BasePlugin):
            continue  # a hook: counted above
        if name == "mike":
            mike = dict(plugin.config)
        inputs += _plugin_paths(plugin.config, path.parent)
    return Site(
        path, Path(config.docs_dir), config.use_directory_urls, _existing(inputs),
        _existing(broad), mike, _settings(config),
        Path(config.theme.custom_dir) if config.theme.custom_dir else None,
    )  # fmt: skip


def _settings(config) -> str:
    values = {key: config.get(key) for key in ENV_SETTINGS}
    # A value YAML made from a Python name (`!!python/name:`) counts by its type only: its
    # repr would carry a memory address that differs on every run.
    return json.dumps(values, sort_keys=True, default=lambda o: type(o).__name__)


def _existing(paths: list[Path]) -> tuple[Path, ...]:
    return tuple(sorted({p.resolve() for p in paths if p.exists()}, key=str))


def _snippet_paths(config) -> list[str]:
    if "pymdownx.snippets" not in config.markdown_extensions:
        return []
    options = config.mdx_configs.get("pymdownx.snippets") or {}
    base = options.get("base_path", ["."])  # pymdownx's default: the working directory
    return [base] if isinstance(base, str) else list(base)


def _plugin_paths(options, config_dir: Path) -> list[Path]:
    found = []
    for key, value in options.items():
        if not PLUGIN_PATH_OPTION.search(key) or NOT_AN_INPUT.search(key):
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, str) and item and "://" not in item:
                found.append(config_dir / item)
    return found


def files(root: Path, *, tracked: bool = False) -> list[Path]:
    """The files under `root`; with `tracked`, git's view of them (tracked, or untracked and
    not ignored) when `root` is in a git checkout."""
    if root.is_file():
        return [root]
    names: set[str] = set()
    if tracked:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
        )
        if listed.returncode == 0:
            names = {n for n in listed.stdout.decode().split("\0") if n}
    if names:
        paths = (root / n for n in names)
    else:
        paths = (p for p in root.rglob("*") if ".git" not in p.relative_to(root).parts)
    return sorted(
        p for p in paths if p.is_file() and not BUILD_CACHES & set(p.relative_to(root).parts)
    )
