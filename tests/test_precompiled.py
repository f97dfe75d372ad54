"""The theme's templates compiled ahead of time (tideway_site/precompiled.py): current, used
by real builds, and never used where they would render something else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from bench.bench_build import FEEDBACK
from tideway_site import precompiled, precompiled_templates


def test_the_committed_code_is_what_the_templates_and_this_jinja_make():
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in precompiled.OUT_DIR.glob("*.py")}
    made = precompiled.generate()
    names = made.keys() | on_disk.keys()
    stale = sorted(name for name in names if made.get(name) != on_disk.get(name))
    assert not stale, (
        f"precompiled_templates/ is out of date ({', '.join(stale)}): run "
        "`.venv/bin/python -m tideway_site.precompiled` and commit what it writes"
    )


def build(site: Path, out: str, precompiled_on: bool) -> str:
    """Build `site` in a fresh interpreter, with the ahead-of-time code or without it; the
    names of the modules the build took code from."""
    probe = f"""
import sys
from mkdocs.__main__ import cli
from tideway_site import precompiled
used = []
code = precompiled._code
precompiled._code = lambda module, filename: used.append(module) or code(module, filename)
if not {precompiled_on!r}:
    precompiled.PrecompiledTemplates.get_bucket = lambda self, env, name, filename, source: (
        precompiled.Bucket(env, name, ""))
try:
    cli(["build", "-q", "--site-dir", {out!r}])
finally:
    print(",".join(sorted(used)))
"""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MIKE_DOCS_VERSION": "2.0"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=site, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.fixture
def site(tmp_path) -> Path:
    (tmp_path / "docs" / "guide").mkdir(parents=True)
    (tmp_path / "docs" / "index.md").write_text("---\nowner: docs\n---\n# Home\n\nHello.\n")
    (tmp_path / "docs" / "guide" / "install.md").write_text(
        '---\nowner: "R&D <ops>"\n---\n# Install & "run"\n\n## Steps\n\nRun it.\n'
    )
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Site\ntheme:\n  name: material\n  font: false\n"
        "plugins:\n  - search\n  - tideway\nextra:\n" + FEEDBACK  # the benchmark's block
    )
    return tmp_path


def test_a_build_renders_the_same_pages_from_the_code_as_from_the_templates(site):
    used = build(site, "site-code", precompiled_on=True)
    assert {"mkdocs_partials_tideway_feedback_html", "mkdocs_partials_tideway_head_html"} <= set(
        used.split(",")
    )
    assert build(site, "site-compiled", precompiled_on=False) == ""
    for page in ("index.html", "guide/install/index.html", "404.html"):
        code = (site / "site-code" / page).read_text(encoding="utf-8")
        assert code == (site / "site-compiled" / page).read_text(encoding="utf-8")
        assert 'class="tideway-feedback"' in code or page == "404.html"
    # The banner's own environment (autoescaped): a version that is not the default one.
    assert 'data-tideway-banner="outdated"' in (site / "site-code" / "index.html").read_text()


def test_a_sites_own_partial_is_compiled_from_its_source(site):
    (site / "overrides" / "partials").mkdir(parents=True)
    (site / "overrides" / "partials" / "tideway-scripts.html").write_text(
        '<script src="{{ base_url }}/js/site-own.js"></script>\n'
    )
    yml = site / "mkdocs.yml"
    theme = "  font: false\n"
    yml.write_text(yml.read_text().replace(theme, theme + "  custom_dir: overrides\n"))
    used = build(site, "site", precompiled_on=True).split(",")
    assert "mkdocs_partials_tideway_scripts_html" not in used
    assert "mkdocs_partials_tideway_head_html" in used
    page = (site / "site" / "index.html").read_text(encoding="utf-8")
    assert 'src="./js/site-own.js"' in page
    assert "assets/tideway/feedback.min.js" not in page


def test_the_code_is_not_used_where_jinja_would_compile_otherwise():
    name = "partials/tideway-head.html"
    source = (precompiled.THEME_DIR / name).read_text(encoding="utf-8")
    mkdocs_env = precompiled.environments()["mkdocs"]

    def code(env, text):
        return precompiled.PrecompiledTemplates("mkdocs").get_bucket(env, name, None, text).code

    assert code(mkdocs_env, source) is not None
    assert code(mkdocs_env, source + "\n") is None  # another source
    other = precompiled.environments()["mkdocs"]
    other.trim_blocks = True  # a plugin that compiles with other settings
    assert code(other, source) is None
    assert code(jinja2.Environment(), source) is None
    assert set(precompiled_templates.SETTINGS) == {"mkdocs", "banner"}
