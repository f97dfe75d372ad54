"""Which versions and pages the published site has: read from mike's `versions.json` and
each version's `feedback-manifest.json` (written by the MkDocs plugin).

The source is the site directory beside the API, or the site's URL when the API runs on
another machine. Entries are re-read after a short time, so a version published while the
API runs is accepted without a restart.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

MANIFEST_NAME = "feedback-manifest.json"


class CatalogUnavailable(RuntimeError):
    """The published site cannot be read (not published yet, or its host is down)."""


class SiteCatalog:
    def __init__(self, site_dir: Path | None = None, site_url: str | None = None, ttl=5.0):
        if (site_dir is None) == (site_url is None):
            raise ValueError("give exactly one of site_dir and site_url")
        self.site_dir = site_dir
        self.site_url = site_url
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, object]] = {}

    # -- reading, with a small time-based cache ------------------------------------------
    def _read_json(self, relative: str):
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(relative)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        value = self._fetch(relative)
        with self._lock:
            self._cache[relative] = (now, value)
        return value

    def _fetch(self, relative: str):
        try:
            if self.site_url is not None:
                with urllib.request.urlopen(self.site_url + relative, timeout=3) as response:
                    return json.load(response)
            return json.loads((self.site_dir / relative).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise CatalogUnavailable(f"{relative}: HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise CatalogUnavailable(f"{relative}: {exc}") from None

    # -- questions the API asks ------------------------------------------------------------
    def versions(self) -> list[dict]:
        versions = self._read_json("versions.json")
        if versions is None:
            raise CatalogUnavailable("the site has no versions.json: nothing is published yet")
        return versions

    def resolve_version(self, name: str) -> str | None:
        """The version name for a version or an alias, or None if neither is published."""
        for entry in self.versions():
            if name == entry["version"] or name in entry.get("aliases", []):
                return entry["version"]
        return None

    def page(self, version: str, url: str) -> dict | None:
        manifest = self._read_json(f"{version}/{MANIFEST_NAME}")
        if manifest is None:
            return None
        index = self._index(version, manifest)
        return index.get(url)

    def _index(self, version: str, manifest: dict) -> dict[str, dict]:
        key = f"{version}/index"
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[1][0] is manifest:
                return hit[1][1]
        index = {p["url"]: p for p in manifest.get("pages", [])}
        with self._lock:
            self._cache[key] = (0.0, (manifest, index))
        return index

    def ready(self) -> bool:
        try:
            return bool(self.versions())
        except CatalogUnavailable:
            return False
