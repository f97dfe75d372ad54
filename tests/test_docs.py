"""The docs document this product: settings, API fields and commands are held true here."""

from __future__ import annotations

import json
import re
import subprocess

import yaml

from feedback_api.config import ENV_PREFIX, Settings
from tests.conftest import ROOT

DOCS = ROOT / "docs"


def bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", markdown, flags=re.S)


def test_every_setting_is_in_the_built_configuration_reference(published_site):
    page = published_site.site_dir / published_site.current / "reference/configuration/index.html"
    html = page.read_text()
    for name in Settings.model_fields:
        assert f"{ENV_PREFIX}{name.upper()}" in html, f"{name} missing from the reference"


def test_every_page_has_an_owner():
    for path in DOCS.rglob("*.md"):
        match = re.match(r"^---\n(.*?)\n---\n", path.read_text(), flags=re.S)
        assert match, f"{path} has no front matter"
        assert yaml.safe_load(match.group(1)).get("owner"), f"{path} has no owner"


def test_quickstart_curl_example_runs_against_a_live_server(live_server):
    blocks = [b for b in bash_blocks((DOCS / "quickstart.md").read_text()) if "curl" in b]
    assert len(blocks) == 1
    command = blocks[0].replace("http://127.0.0.1:8000", live_server.url)
    outputs = [
        subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    first, second = (json.loads(o) for o in outputs)
    assert first["page"] == "quickstart/" and first["rating"] == 0
    assert first == second  # the replay answers the same submission


def test_the_documented_commands_exist():
    makefile = (ROOT / "Makefile").read_text()
    for block in bash_blocks((DOCS / "quickstart.md").read_text()):
        for target in re.findall(r"^make (\w+)", block, flags=re.M):
            assert re.search(rf"^{target}:", makefile, flags=re.M), f"make {target} missing"
