"""The MkDocs plugin: brings the widget's theme, stamps each page for the widget and writes
the version's page manifest.

Enabled with one line, `- tideway`, under `plugins:` in mkdocs.yml: the writer copies no
template. The plugin adds its theme directory (`theme/`) to the site's template search path,
after the site's own `custom_dir` (whose files win) and before Material's. Its options are
the schema below; `render_plugin_reference()` turns that schema into the docs' reference
table.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from importlib.metadata import entry_points
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, CombinedEvent, event_priority, get_plugin_logger

from . import banners, history, manifest, widget
from .gate_settings import GATES, GateSettings
from .owners import OwnersFile, OwnersFileError, read_owners
from .precompiled import PrecompiledTemplates

# Messages read "tideway: ...", the name the writer's mkdocs.yml knows the plugin by.
log = get_plugin_logger("tideway")

# A page asks for a reference generated from code with `<!-- tideway:NAME -->`. This
# plugin's options are one; installed packages add theirs as entry points of the group below
# (the feedback API adds its settings, OpenAPI and triage references), loaded only when a
# page names one, so a site without markers never imports them.
REFERENCE_START = "<!-- tideway:"
REFERENCE_MARKER = re.compile(re.escape(REFERENCE_START) + r"([a-z0-9-]+) -->")
REFERENCE_GROUP = "tideway.references"
# How the publish command tells a build that its version is not released yet.
DEV_ENV = "TIDEWAY_DOCS_DEV"
MANIFEST_NAME = manifest.MANIFEST_NAME
# The templates and assets the plugin brings (the widget, page stamps, version script).
THEME_DIR = Path(__file__).resolve().parent / "theme"
# A site whose custom_dir holds this file carries a copy of the theme (a version built from a
# git ref older than the plugin's theme, or a site set up by copying it): that copy is used
# as it is, since adding the plugin's would include its partials twice.
COPIED_THEME_MARK = Path("partials") / "tideway-head.html"
# The version selector and the banners are Material's mike integration.
VERSION_PROVIDER = "mike"


class GateNames(c.BaseConfigOption):
    """`true` (every gate), `false`, or a list of gate names; read as that list."""

    def __init__(self, default=None):
        super().__init__()
        self.default = default

    def run_validation(self, value):
        if isinstance(value, bool):
            return list(GATES) if value else []
        if not isinstance(value, list):
            raise c.ValidationError(f"expected true, false or a list of {', '.join(GATES)}")
        unknown = [str(name) for name in value if name not in GATES]
        if unknown:
            raise c.ValidationError(
                f"no gate is called {', '.join(unknown)}; the gates are {', '.join(GATES)}"
            )
        return list(value)


class TidewayConfig(base.Config):
    api_base = c.Type(str, default="/api/v1")
    version = c.Optional(c.Type(str))
    dev = c.Optional(c.Type(bool))
    freshness_days = c.Type(int, default=365)
    redirects = c.Type(dict, default={})
    banners = c.Type(bool, default=True)
    owners_file = c.Optional(c.File(exists=True))
    exempt = c.ListOfItems(c.Type(str), default=[])
    warn_only = GateNames(default=[])


# One line per option, rendered on the reference page; tests/test_plugin.py fails when an
# option has none.
OPTION_HELP = {
    "api_base": "Where the widget posts feedback: a path on the site's origin or an absolute URL.",
    "version": "The version this build is. Default: mike's version (`MIKE_DOCS_VERSION`), "
    "else `dev`.",
    "dev": "This version is not released yet: pages show a *not yet released* banner instead "
    f"of the outdated one. Default: the `{DEV_ENV}` environment variable, which "
    "`scripts/publish` sets for versions marked `dev: true` in `versions.yml`.",
    "freshness_days": "Days after its `reviewed:` date (or its last commit) that a page is "
    "stale; the publish command's freshness gate fails on stale pages.",
    "redirects": "Moved pages: `old.md: new.md` (source paths). Each old path gets a page "
    "that sends the reader, anchor included, to the new one.",
    "banners": "On a version that is not the default one, fill Material's outdated banner (or "
    "the *not yet released* banner) unless the site's own `main.html` fills its `outdated` "
    "block, and make the version selector keep the reader on the same page.",
    "owners_file": "A CODEOWNERS-style file (path relative to mkdocs.yml) giving pages "
    "without `owner:` front matter their owner by pattern; see *The owners file* below.",
    "exempt": "Source paths (patterns as in the owners file) that the owners and freshness "
    "checks pass over. Pages other plugins generate (a blog's archive, category and "
    "pagination pages) are passed over without being listed.",
    "warn_only": "Gates that report their problems without failing: `true` for all, or a "
    f"list of {', '.join(f'`{k}`' for k in GATES)}. The plugin's own warnings for `owners` "
    "and `freshness` become notes, so a strict build passes on them.",
}


def render_plugin_reference() -> str:
    rows = ["| Option | Default | Meaning |", "|---|---|---|"]
    for name, option in TidewayConfig._schema:
        default = option.default
        shown = "(none)" if default in (None, {}, []) else f"`{default}`"
        if isinstance(default, bool):
            shown = f"`{str(default).lower()}`"
        rows.append(f"| `{name}` | {shown} | {OPTION_HELP[name]} |")
    return "\n".join(rows) + "\n"


class TidewayPlugin(BasePlugin[TidewayConfig]):
    def on_config(self, config):
        self.gates = GateSettings.from_plugin_config(self.config)
        self.owners = OwnersFile([])
        if self.config.owners_file:
            try:
                self.owners = read_owners(Path(self.config.owners_file))
            except OwnersFileError as exc:
                raise PluginError(f"tideway: owners_file: {exc}") from None
        self.env = None
        self.context = None
        self.unplaced: list[str] = []
        # With a minifier the widget is held out of each page while it runs (_place).
        minify = config.plugins.get("minify")
        self.minifier = minify is not None and bool(minify.config.get("minify_html"))
        self.held: dict[str, str] = {}
        self.lost: list[str] = []
        # Without Material's feedback block no page has the widget, and none is missing.
        analytics = config.extra.get("analytics")
        self.widget_wanted = isinstance(analytics, dict) and bool(analytics.get("feedback"))
        self.version = self.config.version or os.environ.get("MIKE_DOCS_VERSION") or "dev"
        dev = self.config.dev
        self.dev = dev if dev is not None else os.environ.get(DEV_ENV, "") in {"1", "true"}
        self.pages: list[dict] = []
        # Each page's opening, its words read after the last page: one tight loop over
        # them all ran in half the time of the same calls spread between the pages' builds.
        self.openings: dict[str, str] = {}
        self.references: dict[str, str] = {}
        self.changes = None
        self.today = dt.date.today().isoformat()
        # Templates read this from config.extra, which any theme that reads mkdocs.yml
        # (Material, Zensical) sees too; values set there by hand serve builders that run
        # no plugins, and the plugin's own win here.
        config.extra["tideway"] = {
            **(config.extra.get("tideway") or {}),
            "version": self.version,
            "api_base": self.config.api_base.rstrip("/"),
            "dev": self.dev,
            "plugin": True,
        }
        _add_theme(config)
        version = _check_version_provider(config)
        default = version.get("default") or "latest"
        self.default_alias = default[0] if isinstance(default, list) else default
        return config

    def on_files(self, files, config):
        # Once the pages are known: the history is read back only as far as their last
        # changes (generated pages have none).
        docs_dir = Path(config.docs_dir)
        sources = [f.src_uri for f in files.documentation_pages() if not f.generated_by]
        self.changes = history.last_changes(docs_dir, sources)
        if self.changes is None:
            log.info(
                "%s is not in a git checkout: no commit stamps or review dates from git.", docs_dir
            )
        return files

    def _report(self, gate: str, message: str, *args) -> None:
        # A warn-only gate's problems are notes: a strict build does not stop on them.
        if gate in self.gates.warn_only:
            log.info(message + " (warn-only)", *args)
        else:
            log.warning(message, *args)

    def on_page_markdown(self, markdown, page, config, files):
        src = page.file.src_uri
        # A page another plugin made (the blog's archive, categories, pagination) has no
        # source to put front matter in, nor a git history.
        generated = bool(getattr(page.file, "generated_by", None))
        owner, reviewed, change = history.provenance(
            page.meta, src, generated, self.owners, self.changes, self.today
        )
        if self.gates.checks(src, generated):
            if not owner:
                self._report(
                    "owners",
                    "%s has no owner: add `owner: <team>` to its front matter, or a pattern "
                    "to the owners file.",
                    src,
                )
            if not reviewed:
                self._report(
                    "freshness",
                    "%s has no review date: add `reviewed: YYYY-MM-DD` or commit it.",
                    src,
                )
        page.meta["tideway"] = {
            "generated": generated,
            "source": src,
            "owner": owner,
            "reviewed": reviewed,
            "commit": change.commit if change else "",
            "hash": manifest.content_hash(markdown),
            # Front matter `priority:` (high, normal, low or a number): triage weighs by it.
            "priority": page.meta.get("priority"),
        }
        if self.widget_wanted:  # related pages are for the widget's thank-you only
            self.openings[page.url] = f"{page.title or ''} {markdown[: manifest.TERMS_TEXT]}"
        if REFERENCE_START not in markdown:  # most pages: a plain search, not the regex
            return markdown
        return REFERENCE_MARKER.sub(lambda m: self._reference(m, src), markdown)

    def _reference(self, marker: re.Match, src: str) -> str:
        name = marker.group(1)
        if name not in self.references:
            render = reference_renderer(name)
            if render is None:
                log.warning("%s asks for a reference no installed package renders: %s", src, name)
                return marker.group(0)
            self.references[name] = render()
        return self.references[name]

    def on_env(self, env, config, files):
        self.env = env
        if env.bytecode_cache is None:  # the theme's templates, compiled ahead of time
            env.bytecode_cache = PrecompiledTemplates("mkdocs")
        # Unset first: prerender needs the partial's full render, not a last build's widget.
        config.extra["tideway"]["widget"] = None
        if self.widget_wanted:
            config.extra["tideway"]["widget"] = widget.prerender(env, config)
        return env

    def on_page_context(self, context, page, config, nav):
        stamp = page.meta.get("tideway") or {}
        entry = {
            "url": page.url,
            "src": page.file.src_uri,
            "title": manifest.page_title(page.title),
            "owner": stamp.get("owner", ""),
            "reviewed": stamp.get("reviewed", ""),
            "commit": stamp.get("commit", ""),
            "hash": stamp.get("hash", ""),
            "priority": stamp.get("priority"),
            "anchors": [a.id for a in _walk_toc(page.toc)],
        }
        if stamp.get("generated"):
            entry["generated"] = True  # the gates pass over its owner and freshness
        self.pages.append(entry)
        self.context = context  # for the widget, should the page's template leave it out
        return context

    # First, before any other plugin's post_page: a minifier (mkdocs-minify-plugin) would
    # otherwise rewrite the markup that the banner and the widget are placed by.
    @event_priority(100)
    def _place(self, output, page, config):
        if self.widget_wanted and not widget.hidden(page.meta) and not widget.has_widget(output):
            output = self._add_widget(output, page)
        if self.config.banners:
            output = banners.inject(output, self.version, self.dev, self.default_alias, page.url)
        if self.minifier and self.widget_wanted:
            output, held = widget.hold(output)
            if held is not None:
                self.held[page.url] = held
        return output

    # Last, after the minifier: the widget it did not have to parse goes back in.
    @event_priority(-100)
    def _put_back(self, output, page, config):
        held = self.held.pop(page.url, None)
        if held is None:
            return output
        restored = widget.put_back(output, held)
        if restored is None:
            self.lost.append(page.url or "/")
            return output
        return restored

    on_post_page = CombinedEvent(_place, _put_back)

    def _add_widget(self, output: str, page) -> str:
        """The widget on a page whose template did not include it (see widget.py)."""
        if self.env is None or self.context is None:
            return output
        rendered = self.env.get_template("partials/feedback.html").render(self.context)
        if not rendered.strip():
            return output  # the site's own feedback.html leaves this page out
        placed = widget.place(output, rendered)
        if placed is None:
            self.unplaced.append(page.url or "/")
            return output
        return placed

    def on_post_build(self, config):
        if self.lost:
            log.warning(
                "%d page(s) have no feedback widget: the minifier, or a plugin after it, "
                "removed the element (%s) that held the widget's place: %s.",
                len(self.lost),
                widget.HELD,
                ", ".join(self.lost),
            )
        if self.unplaced:
            log.warning(
                "%d page(s) have no feedback widget: their template has no content container "
                "(an element of class md-content__inner) to put it in: %s. Give the template "
                "one, or add `hide: [feedback]` to the page's front matter.",
                len(self.unplaced),
                ", ".join(self.unplaced),
            )
        site_dir = Path(config.site_dir)
        pages = {p["src"]: p["url"] for p in self.pages}
        terms = {url: manifest.page_terms(text) for url, text in self.openings.items()}
        doc = manifest.assemble(self.version, self.pages, terms)
        doc["freshness_days"] = self.config.freshness_days
        moved = self._moved_pages(config, pages)
        if moved:
            doc["redirects"] = moved
        manifest.write(site_dir, doc)
        for old, new in self.config.redirects.items():
            if new not in pages:
                log.warning("redirects: %s -> %s, but %s is not a page.", old, new, new)
                continue
            banners.write_redirect(site_dir, banners.src_to_url(old), pages[new])
        log.info("Wrote %s (%d pages, version %s)", MANIFEST_NAME, len(self.pages), self.version)

    def _moved_pages(self, config, pages: dict[str, str]) -> dict[str, str]:
        """Old page URL -> new page URL, from this plugin's `redirects` and those of the
        mkdocs-redirects plugin (`redirect_maps`): an older version's banner and version
        selector follow them to the page's new place (assets/tideway/versions.js)."""
        maps = dict(self.config.redirects)
        other = config.plugins.get("redirects")
        if other is not None:
            maps.update(other.config.get("redirect_maps") or {})
        moved = {}
        for old, new in maps.items():
            target = pages.get(str(new).split("#", 1)[0])
            if target is not None:  # a page of this version, not another site
                moved[banners.src_to_url(old, config.use_directory_urls)] = target
        return moved


def _add_theme(config) -> None:
    """Put the plugin's theme into the template search path, right after the site's own
    custom_dir (its files win where both have one) and before Material's."""
    theme = config.theme
    dirs = theme.dirs
    ours = os.path.realpath(THEME_DIR)
    if any(os.path.realpath(d) == ours for d in dirs):
        return
    custom = theme.custom_dir
    if custom and (Path(custom) / COPIED_THEME_MARK).is_file():
        log.info(
            "%s has its own copy of the widget's templates (%s): the plugin's theme is not "
            "added. Delete the copy to use the plugin's.",
            custom,
            COPIED_THEME_MARK.as_posix(),
        )
        return
    at = 1 if custom and dirs and os.path.realpath(dirs[0]) == os.path.realpath(custom) else 0
    dirs.insert(at, str(THEME_DIR))


def _check_version_provider(config) -> dict:
    """Material shows the version selector, and the outdated slot the banners go into, only
    with `extra.version.provider: mike`: set it when missing, refuse another."""
    version = config.extra.get("version")
    if version is None:
        version = config.extra["version"] = {}
    if not isinstance(version, dict):
        raise PluginError(
            f"extra.version must be a mapping (provider: {VERSION_PROVIDER}), not {version!r}."
        )
    provider = version.get("provider")
    if provider is None:
        version["provider"] = VERSION_PROVIDER
        log.info(
            "extra.version.provider is not set: set to %r, for the version selector and the "
            "banners of versions published with mike.",
            VERSION_PROVIDER,
        )
    elif provider != VERSION_PROVIDER:
        raise PluginError(
            f"extra.version.provider is {provider!r}, but the tideway plugin's versions (the "
            f"version selector, the banners, the version each feedback is stored under) are "
            f"published with mike: set extra.version.provider to {VERSION_PROVIDER!r} in "
            f"mkdocs.yml, or remove it and the plugin sets it."
        )
    return version


def reference_renderer(name: str):
    """What renders `<!-- tideway:NAME -->`, or None when no installed package does."""
    if name == "plugin-reference":
        return render_plugin_reference
    for entry in entry_points(group=REFERENCE_GROUP, name=name):
        return entry.load()
    return None


def _walk_toc(items):
    for item in items:
        yield item
        yield from _walk_toc(item.children)
