"""The product's docs built by Zensical (Material's successor, which runs no MkDocs plugins):
the page stamps, the widget's markup, and the manifest made by the `manifest` command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

ZENSICAL = Path(sys.executable).parent / "zensical"
WIDGET_PARTIAL = "partials/feedback.html"


def zensical_build(project: Path) -> subprocess.CompletedProcess:
    if not ZENSICAL.exists():
        pytest.fail("zensical is not installed: `make test` installs it from constraints.txt")
    return subprocess.run(
        [str(ZENSICAL), "build", "--clean"], cwd=project,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def copy_product(dest: Path, *, widget: bool = True) -> Path:
    for name in ("docs", "overrides"):
        shutil.copytree(ROOT / name, dest / name)
    shutil.copy2(ROOT / "mkdocs.yml", dest / "mkdocs.yml")
    if not widget:
        # Material's own feedback partial instead of the widget's: what this leaves to test
        # (stamps, manifest) does not depend on the widget's template.
        (dest / "overrides" / WIDGET_PARTIAL).unlink()
    return dest


@pytest.fixture(scope="module")
def stamped_site(tmp_path_factory) -> Path:
    project = copy_product(tmp_path_factory.mktemp("zensical") / "project", widget=False)
    done = zensical_build(project)
    assert done.returncode == 0, done.stderr[-2000:]
    return project / "site"


def test_pages_built_by_zensical_carry_the_stamps(stamped_site):
    html = (stamped_site / "guides" / "writer" / "index.html").read_text()
    assert '<meta name="tideway:page" content="guides/writer/">' in html
    assert '<meta name="tideway:owner" content="docs-team">' in html
    assert '<meta name="tideway:title" content="Writer guide">' in html


def test_the_manifest_command_reads_a_zensical_site(stamped_site):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "manifest"), str(stamped_site),
         "--version", "0.1", "--docs", str(ROOT / "docs")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads((stamped_site / "feedback-manifest.json").read_text())
    assert doc["schema"] == 1 and doc["version"] == "0.1"
    by_url = {p["url"]: p for p in doc["pages"]}
    sources = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert {p["src"] for p in doc["pages"]} == sources
    writer = by_url["guides/writer/"]
    assert writer["title"] == "Writer guide" and writer["owner"] == "docs-team"
    assert "gates" in writer["anchors"]
    assert 0 < len(writer["related"]) <= 3
    assert by_url[""]["src"] == "index.md"


def test_zensical_builds_the_product_docs_with_the_widget(tmp_path):
    project = copy_product(tmp_path / "project")
    done = zensical_build(project)
    # Zensical's template engine (MiniJinja) lacks some of Jinja2: a partial that uses them
    # fails here, naming the template and line.
    assert done.returncode == 0, done.stderr[-2000:]
    html = (project / "site" / "quickstart" / "index.html").read_text()
    form = re.search(r'<form class="md-feedback"[^>]*>', html)
    assert form, "no feedback form"
    assert 'data-tideway-page="quickstart/"' in form.group(0)
    assert "data-tideway-api=" in form.group(0)
    assert "assets/tideway/feedback" in html
