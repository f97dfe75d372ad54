"""The SVG charts and the reader-text filter as pure functions: escaped, script-free, and
drawn from the numbers they are given."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

from feedback_api.dashboard.charts import (
    Series,
    bar_chart,
    before_after_chart,
    share_line_chart,
)
from feedback_api.dashboard.text import plain, reader_markup

HOSTILE = '<script>alert(1)</script><svg onload="alert(2)">\u202egnp.exe'
SVG = "{http://www.w3.org/2000/svg}"


def parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))  # well-formed XML, or this raises


def texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def assert_inert(root: ET.Element) -> None:
    for el in root.iter():
        assert el.tag.removeprefix(SVG) not in ("script", "foreignObject", "a", "image")
        for name in el.attrib:
            assert not name.lower().startswith("on"), name
            assert name != "style"


def test_bar_chart_escapes_labels_and_scales_bars_to_values():
    root = parse(bar_chart([(HOSTILE, 8), ("quickstart/", 2)], title=HOSTILE))
    assert_inert(root)
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 4 * widths[1]
    assert any("<script>" in t for t in texts(root))  # shown as text, not parsed as markup
    assert root.find(f"{SVG}title").text.endswith("[U+202E]gnp.exe")


def test_line_chart_places_points_by_share_and_day():
    series = [Series("0.1", [(date(2026, 1, 1), 0.0), (date(2026, 1, 11), 1.0)])]
    root = parse(share_line_chart(series, "Helpful share", width=644, height=240))
    circles = list(root.iter(f"{SVG}circle"))
    (x0, y0), (x1, y1) = ((float(c.get("cx")), float(c.get("cy"))) for c in circles)
    assert x0 < x1 and y0 > y1  # later and higher
    assert y0 - y1 == 240 - 12 - 28  # 0 % to 100 % spans the plot height
    assert "2026-01-01 0%" in root.find(f"{SVG}desc").text


def test_line_chart_without_data_says_so():
    root = parse(share_line_chart([], "Helpful share"))
    assert "No ratings in this period" in texts(root)


def test_before_after_chart_shows_both_shares_or_says_none_yet():
    root = parse(before_after_chart([(HOSTILE, 0.25, None), ("b/", 0.5, 0.75)], "Fixes"))
    assert_inert(root)
    labels = texts(root)
    assert "after: no ratings yet" in labels
    assert "25%" in labels and "75%" in labels


def test_reader_markup_isolates_and_reveals_direction_overrides():
    html = str(reader_markup('a<b>"\u202eevil\u2066'))
    assert html.startswith('<bdi class="reader">') and html.endswith("</bdi>")
    assert "&lt;b&gt;&#34;" in html
    assert "[U+202E]" in html and "[U+2066]" in html
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", html)
    assert plain("x\u202ey") == "x[U+202E]y"
