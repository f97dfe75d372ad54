"""How a reader's words are shown: escaped, isolated from the page's text direction, with
invisible direction controls made visible.

A right-to-left override in a comment (U+202E) could otherwise reorder what follows it on
the reviewer's screen ("gnp.exe" showing as "exe.png"); inside <bdi> it cannot leak out,
and shown as a marker the reviewer sees that it was there.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from . import bp

# Embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def reader_markup(value: object) -> Markup:
    """Reader-supplied text as safe HTML: escaped, in <bdi>, direction controls shown."""
    if value is None or value == "":
        return Markup("")
    parts = []
    last = 0
    raw = str(value)
    for match in BIDI_CONTROLS.finditer(raw):
        parts.append(escape(raw[last : match.start()]))
        code = f"U+{ord(match.group()):04X}"
        parts.append(
            Markup('<span class="bidi-mark" title="direction control {0}">[{0}]</span>').format(
                code
            )
        )
        last = match.end()
    parts.append(escape(raw[last:]))
    return Markup('<bdi class="reader">{}</bdi>').format(Markup("").join(parts))


def plain(value: object) -> str:
    """Reader text for places that take no markup (a title attribute, a CSV cell)."""
    text = "" if value is None else str(value)
    return BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


bp.add_app_template_filter(reader_markup, "reader")
bp.add_app_template_filter(plain, "plain")
