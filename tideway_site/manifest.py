"""The page manifest of one version: `feedback-manifest.json` at the version's root.

    {"schema": 1, "version": "0.1", "pages": [{"url", "src", "title", "owner", "reviewed",
      "commit", "hash", "priority", "anchors": [ids], "related": [{"url", "title"}]}]}

The feedback API reads `url`, `src`, `title`, `owner` and `priority` (front matter, or
null); the widget reads `related`. The plugin writes
it during a build; `manifest_from_site` derives the same from a built site's HTML, so a site
that Zensical (or anything without our plugin) built gets one too.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import yaml
from markupsafe import Markup

MANIFEST_NAME = "feedback-manifest.json"
MANIFEST_SCHEMA = 1
RELATED_LIMIT = 3
# The most frequent words of a page stand for it; more words cost time and add noise.
TERMS_PER_PAGE = 30
TERMS_TEXT = 2000  # characters
# A term on more pages than this tells nothing about which of them are related, and walking
# its pages would make the cost grow with the square of the site.
MAX_PAGES_PER_TERM = 20
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n(?:---|\.\.\.)\s*$", re.S | re.M)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
H1 = re.compile(r"^#\s+(.+?)(?:\s+#+)?(?:\s*\{[^}]*\})?\s*$", re.M)
# Four characters or more, from a letter to a letter or digit: a word's trailing `-` or `_`
# (`flag-`, `name_`) is left out by the pattern itself, not stripped word by word after.
WORD = re.compile(r"[a-z][a-z0-9_-]{2,}[a-z0-9]")
STOPWORDS = frozenset(
    """
    about above after again also another because been before being below between both
    cannot could does doing down during each every from further have having here into
    itself just more most much must never only other over same should some such than that
    their them then there these they this those through under until very what when where
    which while will with within would your yours without page pages
    """.split()
)


def page_title(title: str | None) -> str:
    """A page's title as text: MkDocs gives it as HTML (`&amp;`, inline markup), the way
    Jinja's `striptags` reads it (partials/tideway-head.html stamps the same)."""
    if not title:
        return ""
    if "<" not in title and "&" not in title:  # most titles: no markup to strip
        return " ".join(title.split())
    return Markup(title).striptags()


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def page_terms(text: str) -> frozenset[str]:
    # A page's opening says what it is about; reading only that keeps the plugin's cost
    # flat however long the pages are.
    words = Counter(WORD.findall(text[:TERMS_TEXT].lower()))
    return frozenset(w for w, _ in words.most_common(TERMS_PER_PAGE + 20) if w not in STOPWORDS)


def related_pages(terms: dict[str, frozenset[str]], titles: dict[str, str]) -> dict[str, list]:
    """Up to three pages sharing the most distinctive terms with each page.

    A term's weight is its inverse document frequency, so words that every page uses
    (the product's name) do not make every page related to every other.
    """
    postings: dict[str, list[str]] = defaultdict(list)
    for url, words in terms.items():
        for word in words:
            postings[word].append(url)
    total = len(terms)
    weight = {
        w: math.log(total / len(urls)) if len(urls) <= MAX_PAGES_PER_TERM else 0.0
        for w, urls in postings.items()
    }
    related = {}
    for url, words in terms.items():
        scores: Counter[str] = Counter()
        for word in words:
            if weight[word] <= 0:
                continue
            for other in postings[word]:
                if other != url:
                    scores[other] += weight[word]
        best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:RELATED_LIMIT]
        related[url] = [{"url": other, "title": titles[other]} for other, _ in best]
    return related


def assemble(version: str, pages: list[dict], terms: dict[str, frozenset[str]]) -> dict:
    """The manifest document from page entries (without `related`) and their terms."""
    titles = {p["url"]: p["title"] for p in pages}
    related = related_pages(terms, titles)
    for page in pages:
        page["related"] = related.get(page["url"], [])
    return {
        "schema": MANIFEST_SCHEMA,
        "version": version,
        "pages": sorted(pages, key=lambda p: p["url"]),
    }


def write(site_dir: Path, manifest: dict) -> Path:
    out = site_dir / MANIFEST_NAME
    # Compact: every reader's widget downloads it, and `indent` takes json's slow pure-Python
    # encoder (a third of the plugin's last event on a site of 300 pages).
    text = json.dumps(manifest, ensure_ascii=False, separators=(",", ":"))
    out.write_text(text, encoding="utf-8")
    return out


def url_source(url: str) -> list[str]:
    """The Markdown sources that a page URL comes from by MkDocs' own rule, most likely first."""
    stem = url.rstrip("/")
    if stem.endswith(".html"):
        return [stem.removesuffix(".html") + ".md"]
    return [f"{stem}.md", f"{stem}/index.md"] if stem else ["index.md"]


def front_matter(text: str) -> tuple[dict, str]:
    """A Markdown page's front matter (empty when it has none or it is not a mapping) and
    the rest of its text."""
    front = FRONT_MATTER.match(text)
    if not front:
        return {}, text
    try:
        meta = yaml.safe_load(front.group(1)) or {}
    except yaml.YAMLError:
        meta = {}
    return (meta if isinstance(meta, dict) else {}), text[front.end() :]


def markdown_title(path: Path) -> tuple[str, str]:
    """A Markdown page's title and slug as a blog names its post: front matter `title` (or
    the first level-1 heading), front matter `slug`."""
    meta, text = front_matter(path.read_text(encoding="utf-8", errors="replace"))
    heading = H1.search(FENCE.sub("", text))  # not a shell comment in a code block
    title = meta.get("title") or (heading.group(1) if heading else "")
    return " ".join(str(title).split()).casefold(), str(meta.get("slug") or "")


def page_sources(pages: list[dict], docs_dir: Path | None) -> dict[str, str]:
    """The Markdown source of each built page without a `source` stamp, by URL.

    A page whose URL follows MkDocs' rule (`a/b/` from `a/b.md` or `a/b/index.md`) comes from
    that file. A blog post does not: its URL is made of its date and slug, in formats of the
    blog's configuration (and Zensical's pages carry no source), so it is the one Markdown
    file left over whose title is the page's, or, among several, whose `slug` ends its URL.
    A page matched by neither was generated (a blog's archive, category and index pages).
    """
    found, unmatched = {}, []
    for page in pages:
        candidates = url_source(page["url"])
        found[page["url"]] = candidates[0]
        existing = [c for c in candidates if docs_dir is not None and (docs_dir / c).is_file()]
        if existing:
            found[page["url"]] = existing[0]
        else:
            unmatched.append(page)
    if docs_dir is None or not unmatched:
        return found
    claimed = set(found.values())
    by_title = defaultdict(list)
    for path in sorted(docs_dir.rglob("*.md")):
        src = path.relative_to(docs_dir).as_posix()
        if src not in claimed:
            title, slug = markdown_title(path)
            by_title[title].append((src, slug))
    for page in unmatched:
        sources = by_title.get(" ".join(page["title"].split()).casefold(), [])
        if len(sources) > 1:
            last = page["url"].rstrip("/").rsplit("/", 1)[-1]
            sources = [(src, slug) for src, slug in sources if slug == last]
        if len(sources) == 1:
            found[page["url"]] = sources[0][0]
    return found


def manifest_from_site(site_dir: Path, version: str | None = None, docs_dir=None) -> dict:
    """Derive a version's manifest from its built HTML (the `manifest` command)."""
    # Imported here: the plugin, which every build loads, never reads built HTML.
    from .htmlpage import built_pages, read_page

    pages, terms = [], {}
    versions_seen = set()
    for url, path in built_pages(site_dir):
        built = read_page(path)
        if built.redirect:
            continue
        stamps = built.stamps
        url = stamps.get("page", url)
        versions_seen.add(stamps.get("version", ""))
        title = stamps.get("title") or built.title.split(" - ")[0].strip()
        pages.append(
            {
                "url": url,
                "src": stamps.get("source", ""),
                "title": title,
                "owner": stamps.get("owner", ""),
                "reviewed": stamps.get("reviewed", ""),
                "commit": stamps.get("commit", ""),
                "hash": stamps.get("hash") or content_hash(built.text),
                "priority": stamps.get("priority") or None,
                "anchors": built.headings,
            }
        )
        terms[url] = page_terms(f"{title} {built.text}")
    unstamped = [p for p in pages if not p["src"]]
    sources = page_sources(unstamped, docs_dir)
    for page in unstamped:
        page["src"] = sources[page["url"]]
    if version is None:
        stamped = {v for v in versions_seen if v}
        version = stamped.pop() if len(stamped) == 1 else site_dir.resolve().name
    return assemble(version, pages, terms)
