"""The docs document this product: settings, API fields, error codes, commands and links are
held true here, on the built site and by running the commands the docs mark as tested."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from feedback_api.config import ENV_PREFIX, Settings
from feedback_api.http.errors import ERROR_CODES
from feedback_api.ingest.schemas import AMEND_WINDOW, FeedbackIn, FeedbackOut
from tests.conftest import ROOT, make_docs_repo
from tideway_site import gates

DOCS = ROOT / "docs"
LEDGER = ROOT / gates.DEFAULT_LEDGER
VENV_BIN = os.path.dirname(sys.executable)


def built(published_site, url: str) -> str:
    return (published_site.site_dir / published_site.current / url / "index.html").read_text()


def nav_files(items) -> list[str]:
    files = []
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        files += nav_files(value) if isinstance(value, list) else [value]
    return files


def test_every_setting_is_in_the_built_configuration_reference(published_site):
    html = built(published_site, "reference/configuration")
    for name in Settings.model_fields:
        assert f"{ENV_PREFIX}{name.upper()}" in html, f"{name} missing from the reference"


def test_every_api_field_and_error_code_is_in_the_built_api_reference(published_site):
    html = built(published_site, "reference/api")
    for model in (FeedbackIn, FeedbackOut):
        for name in model.model_fields:
            assert f"<code>{name}</code>" in html, f"{model.__name__}.{name} missing"
    for code in ERROR_CODES:
        assert f"<code>{code}</code>" in html, f"error code {code} missing from the API page"


def test_every_plugin_option_is_in_the_built_plugin_reference(published_site):
    from tideway_site.plugin import TidewayConfig

    html = built(published_site, "reference/plugin")
    for name, _option in TidewayConfig._schema:
        assert f"<code>{name}</code>" in html, f"plugin option {name} missing"


def test_every_page_has_an_owner_and_is_in_the_nav():
    nav = set(nav_files(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]))
    for path in DOCS.rglob("*.md"):
        match = re.match(r"^---\n(.*?)\n---\n", path.read_text(), flags=re.S)
        assert match, f"{path} has no front matter"
        assert yaml.safe_load(match.group(1)).get("owner"), f"{path} has no owner"
        assert path.relative_to(DOCS).as_posix() in nav, f"{path} is not in the nav"


def test_zero_broken_links_or_anchors_in_the_built_docs(published_site):
    site = published_site.site_dir / published_site.current
    manifest = json.loads((site / "feedback-manifest.json").read_text())
    result = gates.check_links(site, {p["url"]: p["src"] for p in manifest["pages"]})
    assert result.problems == []
    # The gate sees the docs' links: a link it cannot resolve would be reported.
    assert sum(len(gates.read_page(path).links) for _, path in gates.built_pages(site)) > 20


def run_block(command: str, cwd, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def on_server(command: str, url: str) -> str:
    """A block written for `make serve` (on 8000, or the tutorial's PORT), sent to `url`."""
    return re.sub(r"http://127\.0\.0\.1:\d+", url, command)


def test_command_blocks_marked_tested_run_against_a_live_server(live_server):
    blocks = [(s, c) for s, ctx, c in gates.tested_blocks(DOCS) if ctx == "server"]
    assert len(blocks) >= 3
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    for source, command in blocks:
        done = run_block(on_server(command, live_server.url), ROOT, env)
        gates.record_run(LEDGER, command, done.returncode, source)
        assert done.returncode == 0, f"{source}: {command}\n{done.stderr}"
        assert done.stdout.strip().startswith("{"), f"{source}: not a JSON answer: {done.stdout}"


def test_command_blocks_marked_tested_run_in_a_fresh_repository(tmp_path):
    repo = make_docs_repo(tmp_path / "repo")
    shutil.copytree(ROOT / "scripts", repo / "scripts")
    blocks = [(s, c) for s, ctx, c in gates.tested_blocks(DOCS) if ctx == "repo"]
    assert blocks
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "NO_MKDOCS_2_WARNING": "1"}
    for source, command in blocks:
        done = run_block(command, repo, env)
        gates.record_run(LEDGER, command, done.returncode, source)
        assert done.returncode == 0, f"{source}: {command}\n{done.stderr}"
    # The Zensical recipe in the writer guide left a manifest of the built site.
    manifest = json.loads((repo / "site/feedback-manifest.json").read_text())
    assert {"", "quickstart/", "guides/writer/"} <= {p["url"] for p in manifest["pages"]}


def test_the_tutorial_rating_is_idempotent(live_server):
    command = next(c for _, ctx, c in gates.tested_blocks(DOCS) if "api/v1/feedback" in c)
    command = on_server(command, live_server.url)
    env = {**os.environ}
    first, second = (json.loads(run_block(command, ROOT, env).stdout) for _ in range(2))
    assert first["page"] == "install/" and first["rating"] == 0
    assert first == second  # the replay answers the same submission


def test_the_documented_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    for path in [*DOCS.rglob("*.md"), ROOT / "README.md"]:
        for target in re.findall(r"^make ([\w-]+)", path.read_text(), flags=re.M):
            assert re.search(rf"^{target}:", makefile, flags=re.M), f"make {target} missing"


def test_the_writer_guide_sends_writers_to_a_workflow_for_their_repository():
    # This project's own workflow (.github/workflows/docs.yml) installs from this clone; a
    # writer's is in guides/ci.md, which tests/test_writer_ci.py runs.
    guide = (DOCS / "guides" / "writer.md").read_text()
    section = guide.split("## Publish from CI", 1)[1].split("\n## ", 1)[0]
    assert "](ci.md)" in section
    assert "constraints.txt" not in guide and "scripts/" not in guide


@pytest.mark.parametrize("name", ["Tutorial", "Install", "Concepts", "Guides", "Operations"])
def test_the_nav_has_the_diataxis_sections(name):
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    assert name in {next(iter(item)) for item in nav if isinstance(item, dict)}


def test_the_metrics_the_monitoring_page_names_are_served(live_server):
    import urllib.request

    named = set(re.findall(r"`(tideway_\w+)", (DOCS / "operations" / "monitoring.md").read_text()))
    assert len(named) >= 4
    with urllib.request.urlopen(f"{live_server.url}/metrics", timeout=10) as response:
        served = response.read().decode()
    for name in named:
        assert f"# HELP {name} " in served, f"{name} is documented but not served"


def test_the_docs_state_the_amend_window_the_server_enforces():
    # The window has one home (feedback_api/ingest/schemas.py); prose that names it agrees.
    minutes = int(AMEND_WINDOW.total_seconds() // 60)
    stated = {
        page: {int(n) for n in re.findall(r"(?:for|during|within) (\d+) minutes", text)}
        for page in ("reference/api.md", "guides/widget.md")
        for text in [(DOCS / page).read_text(encoding="utf-8")]
    }
    assert stated["reference/api.md"] == {minutes}, stated
    assert stated["guides/widget.md"] <= {minutes}, stated


def test_the_debian_packages_the_docs_name_are_those_make_test_installs():
    script = (ROOT / "scripts" / "install-system-deps").read_text()
    installed = re.findall(r"need\+=\(([\w-]+)\)", script)
    assert len(installed) >= 5
    for path in (ROOT / "README.md", DOCS / "install.md"):
        text = " ".join(path.read_text(encoding="utf-8").split())
        stated = text.split("Debian packages", 1)[1].split("when", 1)[0]
        assert set(re.findall(r"`([\w-]+)`", stated)) == set(installed), path


def test_the_benchmark_commands_the_docs_show_exist_with_their_options():
    # Figures are only worth what the command behind them: each one shown can be run again.
    shown: dict[str, set[str]] = {}
    for path in [*DOCS.rglob("*.md"), ROOT / "README.md"]:
        for script, rest in re.findall(r"bench/(\w+\.py)([^`|\n]*)", path.read_text()):
            shown.setdefault(script, set()).update(re.findall(r"(--[a-z][\w-]*)", rest))
    assert {"bench_build.py", "bench_ingest.py", "bench_review.py"} <= set(shown)
    for script, options in sorted(shown.items()):
        assert (ROOT / "bench" / script).is_file(), f"bench/{script} is named but missing"
        if not options:
            continue
        usage = subprocess.run(
            [sys.executable, str(ROOT / "bench" / script), "--help"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
        missing = {option for option in options if option not in usage}
        assert not missing, f"bench/{script} has no {sorted(missing)}"
