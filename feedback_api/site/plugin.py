"""The MkDocs plugin: stamps each page for the widget and writes the version's page manifest.

Enabled with one line, `- tideway`, under `plugins:` in mkdocs.yml.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.plugins import BasePlugin, get_plugin_logger

log = get_plugin_logger(__name__)

MANIFEST_NAME = "feedback-manifest.json"
MANIFEST_SCHEMA = 1
# Where a page asks for the settings reference generated from feedback_api/config.py.
CONFIG_REFERENCE_MARKER = "<!-- tideway:config-reference -->"
# Where a page asks for the API reference generated from the OpenAPI document.
API_REFERENCE_MARKER = "<!-- tideway:api-reference -->"


class TidewayConfig(base.Config):
    api_base = c.Type(str, default="/api/v1")
    """Where the widget posts feedback: a path on the site's origin or an absolute URL."""
    version = c.Optional(c.Type(str))
    """The version this build is; by default mike's version (`MIKE_DOCS_VERSION`)."""


class TidewayPlugin(BasePlugin[TidewayConfig]):
    def on_config(self, config):
        self.version = self.config.version or os.environ.get("MIKE_DOCS_VERSION") or "dev"
        self.pages: list[dict] = []
        # Templates read this from config.extra, which any theme that reads mkdocs.yml
        # (Material, Zensical) sees too.
        config.extra["tideway"] = {
            "version": self.version,
            "api_base": self.config.api_base.rstrip("/"),
        }
        return config

    def on_page_markdown(self, markdown, page, config, files):
        if CONFIG_REFERENCE_MARKER in markdown:
            from ..config import render_reference

            markdown = markdown.replace(CONFIG_REFERENCE_MARKER, render_reference())
        if API_REFERENCE_MARKER in markdown:
            from ..openapi import render_markdown

            markdown = markdown.replace(API_REFERENCE_MARKER, render_markdown())
        return markdown

    def on_page_context(self, context, page, config, nav):
        self.pages.append({"url": page.url, "src": page.file.src_uri, "title": page.title or ""})
        return context

    def on_post_build(self, config):
        manifest = {
            "schema": MANIFEST_SCHEMA,
            "version": self.version,
            "pages": sorted(self.pages, key=lambda p: p["url"]),
        }
        out = Path(config.site_dir) / MANIFEST_NAME
        out.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        log.info("Wrote %s (%d pages, version %s)", MANIFEST_NAME, len(self.pages), self.version)
