"""The widget's configuration and assets, without a browser: reason codes the API accepts,
strings in every language, the 4 KB budget on the built assets, the minified build in step."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml
from mkdocs.utils.yaml import get_yaml_loader

from feedback_api.config import DEFAULT_REASONS_HELPFUL, DEFAULT_REASONS_NOT_HELPFUL
from tests import services
from tests.conftest import ROOT

THEME = ROOT / "tideway_site" / "theme"
PARTIAL = THEME / "partials" / "tideway-feedback.html"
ASSETS = THEME / "assets" / "tideway"
TOOLS = ROOT / "tests" / "js"
API_REASONS = {1: set(DEFAULT_REASONS_HELPFUL), 0: set(DEFAULT_REASONS_NOT_HELPFUL)}
BUDGET = 4096  # bytes, the widget's own JS and CSS together, gzipped


def partial_value(name: str):
    """A `{% set name = {...} %}` literal of the partial, evaluated by Jinja."""
    source = PARTIAL.read_text()
    match = re.search(r"{% set " + name + r" = ({.*?}) %}", source, flags=re.S)
    assert match, f"{name} not found in {PARTIAL}"
    return jinja2.Environment().compile_expression(match.group(1))()


def feedback_config() -> dict:
    with open(ROOT / "mkdocs.yml", "rb") as f:
        return yaml.load(f, Loader=get_yaml_loader())["extra"]["analytics"]["feedback"]


def test_configured_reasons_are_ones_the_api_accepts():
    ratings = feedback_config()["ratings"]
    assert {r["data"] for r in ratings} == {0, 1}
    for rating in ratings:
        assert set(rating["reasons"]) <= API_REASONS[rating["data"]], rating["name"]


def test_the_partials_fallback_reasons_are_the_apis_defaults():
    defaults = partial_value("default_reasons")
    assert defaults["1"] == list(DEFAULT_REASONS_HELPFUL)
    assert defaults["0"] == list(DEFAULT_REASONS_NOT_HELPFUL)


def test_every_string_exists_in_every_language():
    strings = partial_value("builtin")
    assert set(strings) == {"en", "zh"}
    assert set(strings["en"]) == set(strings["zh"])
    for language, table in strings.items():
        for code in API_REASONS[0] | API_REASONS[1]:
            assert table.get(f"reason.{code}"), f"no {language} label for reason {code}"
        assert all(v.strip() for v in table.values()), language
        assert "{n}" in table["count"]


def test_the_writer_guide_lists_every_string_with_its_english_text():
    guide = (ROOT / "docs" / "guides" / "widget.md").read_text()
    for key, english in partial_value("builtin")["en"].items():
        assert f"| `{key}` | {english}" in guide, f"strings.{key} missing from the guide"


def test_the_built_page_carries_the_form_and_its_stamps(published_site):
    html = (published_site.site_dir / published_site.current / "quickstart/index.html").read_text()
    form = re.search(r'<form class="md-feedback" name="feedback" hidden(.*?)>', html, re.S)
    assert form, "Material's form markup (hidden until the script shows it)"
    stamps = {
        name: double or single
        for name, double, single in re.findall(
            r"""data-tideway-([a-z]+)=(?:"([^"]*)"|'([^']*)')""", form.group(1)
        )
    }
    assert stamps["page"] == "quickstart/" and stamps["version"] == published_site.current
    assert stamps["api"] == "/api/v1" and stamps["locale"] == "en"
    assert stamps["manifest"] == "../feedback-manifest.json"
    messages = json.loads(stamps["strings"])
    assert messages["queued"].startswith("Your feedback could not be sent yet.")
    # No inline script or style in the widget's markup: a strict CSP has nothing to allow.
    widget = html[html.index('<div class="tideway-feedback">') :]
    widget = widget[: widget.index('class="tideway-pin"')]
    assert "<script" not in widget and " style=" not in widget
    assert not re.search(r"\son[a-z]+=", widget), "inline event handler"


def widget_assets(site_version: Path) -> list[Path]:
    """The widget's files that a built page actually loads (not the version script, which
    every page of a versioned site loads, widget or not)."""
    html = (site_version / "quickstart/index.html").read_text()
    urls = re.findall(r'(?:href|src)="\.\./(assets/tideway/[^"]+)"', html)
    return [site_version / u for u in urls if not u.endswith("/versions.js")]


def test_widget_js_and_css_fit_in_4_kb_gzipped(published_site):
    assets = widget_assets(published_site.site_dir / published_site.current)
    assert sorted(a.name for a in assets) == ["feedback.css", "feedback.min.js"]
    sizes = {a.name: len(gzip.compress(a.read_bytes(), compresslevel=9)) for a in assets}
    print(f"widget gzipped: {sizes}, total {sum(sizes.values())} of {BUDGET} bytes")
    assert sum(sizes.values()) <= BUDGET, sizes


def test_the_minified_script_is_built_from_its_source(tmp_path):
    """feedback.min.js is what `npm run build --prefix tests/js` makes of feedback.js."""
    if not (TOOLS / "node_modules" / ".bin" / "terser").exists() or not shutil.which("node"):
        services.unavailable("terser missing: run `npm ci` in tests/js (make test does)")
    script = json.loads((TOOLS / "package.json").read_text())["scripts"]["build"]
    target = "../../tideway_site/theme/assets/tideway/feedback.min.js"
    assert target in script
    out = tmp_path / "feedback.min.js"
    subprocess.run(
        script.replace(target, str(out)), shell=True, cwd=TOOLS, check=True,
        env={"PATH": f"{TOOLS / 'node_modules' / '.bin'}:/usr/bin:/bin"},
    )  # fmt: skip
    assert out.read_text() == (ASSETS / "feedback.min.js").read_text(), (
        "feedback.min.js is stale: run `npm run build --prefix tests/js` and commit it"
    )


@pytest.mark.parametrize("name", ["feedback.js", "feedback.min.js"])
def test_the_script_has_no_eval_and_no_other_origin(name):
    source = (ASSETS / name).read_text()
    for banned in ("eval(", "new Function", "innerHTML", "document.cookie", "http://", "https://"):
        assert banned not in source, banned


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_widget_rendered_once_per_build_is_what_each_page_would_render(language):
    """The plugin renders the widget once per build and the partial fills in each page's URL
    and manifest address: the same markup as the partial's full render on every page."""
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"), theme={"name": "material", "language": language})
    plugin = config.plugins["tideway"]
    config = plugin.on_config(config)
    env = plugin.on_env(config.theme.get_env(), config=config, files=None)
    assert config.extra["tideway"]["widget"], "the plugin rendered no widget"
    template = env.get_template("partials/feedback.html")
    pages = [
        ({"url": "", "meta": {}}, "."),
        ({"url": "guides/writer/", "meta": {}}, "../.."),
        ({"url": 'odd/a&b"<c>/', "meta": {}}, "../.."),
        ({"url": "hidden/", "meta": {"hide": ["feedback"]}}, ".."),
    ]

    def words(html: str) -> list[str]:
        # The widget rendered once leaves out the line breaks (and indentation) between tags.
        return re.sub(r">\s*\n\s*<", "><", html).split()

    once = [template.render(config=config, page=p, base_url=b).split() for p, b in pages]
    config.extra["tideway"]["widget"] = None
    full = [words(template.render(config=config, page=p, base_url=b)) for p, b in pages]
    assert once == full
    widget = " ".join(once[1])
    assert 'data-tideway-page="guides/writer/"' in widget
    assert 'data-tideway-manifest="../../feedback-manifest.json"' in widget
    assert once[3] == []
