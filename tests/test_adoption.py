"""A writer adopts the widget on a real MkDocs site that nobody here wrote, following
docs/guides/writer.md word for word.

The site is Material for MkDocs' own documentation (tests/sites/mkdocs-material, MIT): 96
pages, the blog plugin, its own `custom_dir` with `main.html` and `home.html`, hooks, a
snippet appended to every page and a Google Analytics provider. The guide's command blocks
(`<!-- tested: writer -->`) run in the order written, in a git repository holding that site,
with a fresh venv that has only `pip install tideway-docs` (from wheels: no network); the
guide's file blocks (`<!-- writer: FILE -->`) are put into the site's files as the guide
says. Only the environment is the test's: the venv, the port, the temporary directory.
The second test publishes the same site with Zensical, as the guide's Zensical section says:
its `writer-zensical` blocks, with the guide's versions.yml and mkdocs.yml blocks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests import services
from tests.conftest import GIT_ENV, ROOT, LiveServer, run_git
from tideway_site import gates, manifest

pytestmark = pytest.mark.slow

DOCS = ROOT / "docs"
GUIDE_SRC = "guides/writer.md"
GUIDE = DOCS / GUIDE_SRC
LEDGER = ROOT / gates.DEFAULT_LEDGER
SITE = ROOT / "tests" / "sites" / "mkdocs-material"
# Wheels of tideway-docs' dependencies, made by the Makefile (`make test` does it).
WHEELHOUSE = ROOT / "var" / "wheelhouse"
# A file block: what the guide tells the writer to put into that file of the site.
FILE_BLOCK = re.compile(r"<!-- writer: (\S+) -->\n```\w+\n(.*?)```", re.S)
BLOG_POST = "blog/2021/09/13/search-better-faster-smaller/"  # owned by /blog/ in OWNERS
STORE = Path("var/feedback.sqlite3")  # tideway-serve's store, in the site's repository
# What a docs build must not pull in: the feedback API's stack.
WEB_STACK = ("flask", "sqlalchemy", "alembic", "gunicorn", "psycopg", "redis", "pydantic")


def run(cmd: list[str], cwd: Path, env: dict, timeout: float = 300) -> str:
    done = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )  # fmt: skip
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def writer_env(tmp_path_factory) -> dict[str, str]:
    """A fresh venv with nothing installed, and an environment in which `pip install`
    finds tideway-docs (built from this tree) and its dependencies without the network."""
    if not (WHEELHOUSE / ".complete").exists():
        services.unavailable(f"no wheels in {WHEELHOUSE}: run `make var/wheelhouse/.complete`")
    base = tmp_path_factory.mktemp("writer-env")
    src, dist, venv = base / "src", base / "dist", base / "venv"
    skip = shutil.ignore_patterns("__pycache__")
    for name in ("feedback_api", "tideway_site"):
        shutil.copytree(ROOT / name, src / name, ignore=skip)
    shutil.copy2(ROOT / "pyproject.toml", src / "pyproject.toml")
    pip_env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": f"{dist} {WHEELHOUSE}"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDEWAY_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    env |= pip_env
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
        base,
        env,
    )
    run([sys.executable, "-m", "venv", str(venv)], base, env)
    env |= {
        **GIT_ENV,
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
        "NO_MKDOCS_2_WARNING": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env["WRITER_VENV"] = str(venv)
    return env


def block_end(lines: list[str], start: int, pad: str = "") -> int:
    """Where the block opened by the line before `start` ends: at the first line indented no
    deeper than `pad`, less the blank and comment lines before it (they belong to what
    follows)."""
    end = start
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(pad + " ")):
        end += 1
    while end > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def plugin_entry(entry) -> list[str]:
    if isinstance(entry, str):
        return [f"  - {entry}"]
    [(name, options)] = entry.items()
    dumped = yaml.safe_dump(options, sort_keys=False, indent=2).splitlines()
    return [f"  - {name}:", *("      " + line for line in dumped)]


def add_plugins(lines: list[str], entries: list) -> list[str]:
    """Add the guide's plugin entries to the end of the site's `plugins:` list: a bare name
    the site has already stays as the site has it; an entry with options replaces it."""
    start = lines.index("plugins:") + 1
    end = block_end(lines, start)
    items: list[list[str]] = []
    for line in lines[start:end]:
        if line.startswith("  - "):
            items.append([line])
        else:
            items[-1].append(line)
    for entry in entries:
        name = entry if isinstance(entry, str) else next(iter(entry))
        mine = [i for i, item in enumerate(items) if re.match(rf"  - {name}(:|$)", item[0])]
        if not mine:
            items.append(plugin_entry(entry))
        elif not isinstance(entry, str):
            items[mine[0]] = plugin_entry(entry)
    return lines[:start] + [line for item in items for line in item] + lines[end:]


def add_mapping(lines: list[str], data: dict, pad: str) -> list[str]:
    """Merge a mapping into the lines of a YAML block indented by `pad`: keys the site has
    are descended into, the others are added at the end of the block."""
    for key, value in data.items():
        at = next((i for i, line in enumerate(lines) if line == f"{pad}{key}:"), None)
        if at is None:
            dumped = yaml.safe_dump({key: value}, sort_keys=False, indent=2, allow_unicode=True)
            lines = lines + [pad + line for line in dumped.splitlines()]
            continue
        assert isinstance(value, dict), f"{key}: the guide changes a value the site has"
        end = block_end(lines, at + 1, pad)
        lines = lines[: at + 1] + add_mapping(lines[at + 1 : end], value, pad + "  ") + lines[end:]
    return lines


def apply_to_mkdocs_yml(text: str, snippet: str) -> str:
    """The guide's mkdocs.yml snippet, merged into the site's configuration as a writer
    would: the site keeps everything it has (its YAML tags too: it is edited as text)."""
    wanted = yaml.safe_load(snippet)
    lines = add_plugins(text.splitlines(), wanted.pop("plugins", []))
    return "\n".join(add_mapping(lines, wanted, "")) + "\n"


class WriterGuide:
    """The guide's blocks in the order written: command blocks run in the site's repository
    (a server block in a process of its own), file blocks go into the site's files."""

    def __init__(self, repo: Path, env: dict[str, str]):
        self.repo, self.env = repo, env
        text = GUIDE.read_text(encoding="utf-8")
        self.commands = [
            (ctx, cmd)
            for src, ctx, cmd in gates.tested_blocks(DOCS)
            if src == GUIDE_SRC and ctx in ("writer", "writer-serve")
        ]
        others = [c for s, ctx, c in gates.tested_blocks(DOCS) if s == GUIDE_SRC]
        assert text.count("```bash\n") == len(others), "a command block of the guide is untested"
        self.files = FILE_BLOCK.findall(text)
        self.done = self.filed = 0

    def _next(self, expect: str) -> tuple[str, str]:
        assert self.done < len(self.commands), f"the guide has no command left for {expect!r}"
        context, command = self.commands[self.done]
        assert expect in command, f"command block {self.done + 1} of the guide: {command}"
        self.done += 1
        return context, command

    def run(self, expect: str, again: bool = False, fails: bool = False) -> str:
        """The next command block (or, `again`, the last one run that says `expect`), as the
        writer types it; with `fails`, it is expected to fail (its next run is recorded over
        this one)."""
        if again:
            context, command = next(
                (ctx, cmd) for ctx, cmd in reversed(self.commands[: self.done]) if expect in cmd
            )
        else:
            context, command = self._next(expect)
        assert context == "writer", command
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command], cwd=self.repo, env=self.env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        gates.record_run(LEDGER, command, done.returncode, GUIDE_SRC)
        output = done.stdout + done.stderr
        assert (done.returncode != 0) == fails, f"{command}\n{output[-6000:]}"
        return output

    def start(self, expect: str, log: Path, **env: str) -> tuple[str, subprocess.Popen]:
        context, command = self._next(expect)
        assert context == "writer-serve", command
        proc = subprocess.Popen(
            ["bash", "-c", command], cwd=self.repo, env={**self.env, **env},
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return command, proc

    def write(self, name: str) -> None:
        """The next file block, which must be for `name`, into the site."""
        assert self.filed < len(self.files), f"the guide has no file block left for {name}"
        target, content = self.files[self.filed]
        assert target == name, f"file block {self.filed + 1} of the guide is for {target}"
        self.filed += 1
        path = self.repo / name
        if name == "mkdocs.yml":
            path.write_text(apply_to_mkdocs_yml(path.read_text(encoding="utf-8"), content))
        else:
            path.write_text(content)


def follow_the_report(repo: Path, report: str) -> dict[str, list[str]]:
    """What a writer does with the first check's report: `hide: [feedback]` on each page the
    build could not put the widget on, and each link to a missing anchor pointed at its page.
    Returns what was changed, by file."""
    fixed: dict[str, list[str]] = {}
    for urls in re.findall(r"have no feedback widget: .*?: (\S+(?:, \S+)*)\. ", report):
        for url in urls.split(", "):
            src = f"docs/{url}index.md"
            path = repo / src
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("---\n", "---\nhide: [feedback]\n", 1))
            fixed.setdefault(src, []).append("hide: [feedback]")
    for src, target in re.findall(r"(docs/\S+\.md): missing anchor '(\S+)'", report):
        page, anchor = target.split("#")
        link = f"{page.rstrip('/').rsplit('/', 1)[-1]}.md#{anchor}"
        path = repo / src
        text = path.read_text(encoding="utf-8")
        assert link in text, f"{src} has no link {link}"
        path.write_text(text.replace(link, link.split("#")[0]))
        fixed.setdefault(src, []).append(link)
    return fixed


def wait_for_tasks(store: Path, count: int, timeout: float = 15) -> list[tuple]:
    """The review tasks in `store` (page, version, team), once there are `count`."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(store) as conn:
            found = conn.execute("SELECT page, version, team FROM tasks ORDER BY id").fetchall()
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def commit(repo: Path, message: str) -> None:
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", message)


def feedback_rows(store: Path) -> list[tuple]:
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT page, version, rating FROM feedback ORDER BY id").fetchall()


def wait_for_row(store: Path, count: int, timeout: float = 15) -> tuple:
    """The `count`th rating stored in the SQLite file `store`, once it is there."""
    deadline = time.monotonic() + timeout
    while len(found := feedback_rows(store)) < count:
        assert time.monotonic() < deadline, f"expected {count} stored ratings, found {found}"
        time.sleep(0.1)
    return found[count - 1]


def test_a_writer_adopts_the_widget_on_material_for_mkdocs_own_docs(
    writer_env, tmp_path, browser, output_dir
):
    started = time.monotonic()
    repo = tmp_path / "material-docs"
    shutil.copytree(SITE, repo)
    (repo / "TIDEWAY-NOTES.md").unlink()
    run_git(repo, "init", "-q", "-b", "main")
    commit(repo, "The site as its authors wrote it")
    guide = WriterGuide(repo, writer_env)
    venv_python = Path(writer_env["WRITER_VENV"]) / "bin" / "python"

    # Install: the plugin and its commands, no web stack.
    guide.run("pip install tideway-docs")
    assert (repo / ".gitignore").read_text().endswith("\nvar/\n")
    found = run(
        [str(venv_python), "-c", "import importlib.util as u, sys; "
         f"print(' '.join(m for m in {WEB_STACK!r} if u.find_spec(m)))"],
        repo, writer_env,
    )  # fmt: skip
    assert found.strip() == "", f"the plugin-only install brought {found}"
    assert shutil.which("tideway-publish", path=writer_env["PATH"])
    # The server is an extra: without it, tideway-serve says what to install.
    refused = subprocess.run(["tideway-serve"], cwd=repo, env=writer_env, capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "pip install 'tideway-docs[server]'" in refused.stderr

    # Add the plugin and own the pages: the site keeps its theme, provider and plugins.
    guide.write("mkdocs.yml")
    guide.write("OWNERS")
    guide.write("mkdocs.yml")
    config = (repo / "mkdocs.yml").read_text()
    assert "  - tideway:\n      owners_file: OWNERS\n" in config
    assert "custom_dir: material/overrides" in config and "provider: google" in config

    # Check: the first check fails on what this site brings (links to anchors that are gone);
    # the writer does what the report says, and the check passes.
    report = guide.run("tideway-publish --check", fails=True)
    fixed = {src: sorted(what) for src, what in follow_the_report(repo, report).items()}
    assert fixed == {
        "docs/blog/posts/insiders-now-free-for-everyone.md": [
            "ensuring-data-privacy.md#advanced-settings",
            "setting-up-a-blog.md#advanced-settings",
            "setting-up-tags.md#advanced-settings",
        ],
    }, report
    guide.run("tideway-publish --check", again=True)
    print(f"checked ({time.monotonic() - started:.0f} s)")

    # Publish 1.0: every page of it carries the widget, and the site's own theme (its
    # announce bar, CSS and scripts from custom_dir) stays.
    guide.write("versions.yml")
    commit(repo, "The feedback widget, page owners and version 1.0")
    out = guide.run("tideway-publish --all")
    assert "Published version 1.0 to branch gh-pages" in out, out
    published = tmp_path / "1.0"
    published.mkdir()
    archive = subprocess.run(
        ["git", "archive", "gh-pages", "1.0"], cwd=repo, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(published)], input=archive, check=True)
    pages = sorted((published / "1.0").rglob("index.html"))
    sources = list((repo / "docs").rglob("*.md"))
    assert len(sources) == 96 and len(pages) > len(sources)  # the blog's pages come on top
    for path in pages:
        html = path.read_text(encoding="utf-8")
        where = path.relative_to(published)
        if where.as_posix() == "1.0/insiders/index.html":
            assert "md-feedback" not in html  # a redirect page (template: redirect.html)
            continue
        assert html.count('<form class="md-feedback" name="feedback"') == 1, where
        assert 'data-tideway-version="1.0"' in html, where
        assert "assets/stylesheets/custom.f120bdc6.min.css" in html, where
        assert "assets/javascripts/custom.f46acd93.min.js" in html, where
        assert "For updates follow" in html, where
    print(f"{len(pages)} pages of 1.0, each with the widget ({time.monotonic() - started:.0f} s)")

    # 2.0 after an edit, from the working tree; 1.0 from its tag, unchanged. Nothing changed
    # since: nothing is rebuilt.
    page = repo / "docs" / "getting-started.md"
    page.write_text(page.read_text() + "\nInstalling 2.0 is the same.\n")
    guide.write("versions.yml")
    commit(repo, "Version 2.0")
    out = guide.run("tideway-publish --all")
    assert "Published version 2.0 to branch gh-pages" in out, out
    assert "Unchanged, not rebuilt: 1.0." in out, out
    out = guide.run("tideway-publish --all", again=True)
    assert "Unchanged, not rebuilt: 2.0, 1.0." in out, out

    # Serve the published site with the API, and read it as a reader would, with every
    # request to another origin (Google's scripts and fonts) refused.
    guide.run("pip install 'tideway-docs[server]'")
    port = services.free_port()
    url = f"http://127.0.0.1:{port}"
    command, proc = guide.start("tideway-serve", tmp_path / "serve.log", TIDEWAY_PORT=str(port))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        services.wait_for_http(f"{url}/healthz", timeout=180, proc=proc)
        gates.record_run(LEDGER, command, 0, GUIDE_SRC)
        assert "nothing rebuilt" in (tmp_path / "serve.log").read_text()
        context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(url + "/") else route.abort()
            ),
        )
        reader = context.new_page()
        reader.goto(f"{url}/")
        reader.wait_for_url(f"{url}/latest/")
        reader.goto(f"{url}/latest/setup/")
        form = reader.locator("form.md-feedback")
        form.wait_for(state="visible")
        form.locator("button[data-md-value='1']").click()
        assert wait_for_row(repo / STORE, 1) == ("setup/", "2.0", 1)
        reader.locator(".md-version__current").wait_for()
        assert reader.locator(".md-version__current").inner_text().strip() == "2.0"
        listed = [t.strip() for t in reader.locator(".md-version__link").all_inner_texts()]
        assert listed[:2] == ["2.0", "1.0"], listed
        assert reader.locator("[data-md-component=outdated]").is_hidden()
        reader.screenshot(path=str(output_dir / "latest.png"))

        reader.goto(f"{url}/1.0/getting-started/")
        banner = reader.locator("[data-md-component=outdated]")
        banner.wait_for(state="visible")
        assert "You are reading version 1.0, which is not the latest release." in (
            banner.inner_text()
        )
        services.wait_in_page(
            reader,
            "document.querySelector('a[data-tideway-latest]').href"
            ".endsWith('/latest/getting-started/')",
        )
        assert "For updates follow" in reader.locator("[data-md-component=announce]").inner_text()
        form.wait_for(state="visible")
        form.locator("button[data-md-value='0']").click()
        assert wait_for_row(repo / STORE, 2) == ("getting-started/", "1.0", 0)
        reader.screenshot(path=str(output_dir / "old-version.png"))

        # Not helpful on a blog post: its task goes to the team the owners file names.
        reader.goto(f"{url}/latest/{BLOG_POST}")
        form.wait_for(state="visible")
        form.locator("button[data-md-value='0']").click()
        assert wait_for_row(repo / STORE, 3) == (BLOG_POST, "2.0", 0)
        assert wait_for_tasks(repo / STORE, 2) == [
            ("getting-started/", "1.0", "docs-team"),
            (BLOG_POST, "2.0", "community-team"),
        ]
    finally:
        context.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    print(f"served and rated ({time.monotonic() - started:.0f} s)")

    # A change in the site's own custom_dir rebuilds the version built from the working tree.
    main_html = repo / "material" / "overrides" / "main.html"
    main_html.write_text(main_html.read_text().replace("For updates follow", "For news follow"))
    commit(repo, "Announce bar")
    out = guide.run("tideway-publish --all", again=True)
    assert "Published version 2.0 to branch gh-pages" in out, out
    assert "Unchanged, not rebuilt: 1.0." in out, out
    assert "For news follow" in run_git(repo, "show", "gh-pages:2.0/index.html")
    assert "For updates follow" in run_git(repo, "show", "gh-pages:1.0/index.html")
    assert guide.done == len(guide.commands) and guide.filed == len(guide.files)
    print(f"adopted in {time.monotonic() - started:.0f} s")


# The same site published with Zensical, which runs no MkDocs plugins. The writer follows the
# guide's "Sites built with Zensical": the guide's mkdocs.yml, OWNERS and versions.yml blocks,
# its Zensical mkdocs.yml block and `tideway-publish ... --builder zensical`, in an environment
# that has Zensical beside the package (this one's). Nothing is copied into the theme by hand.
# The one page left without it: a redirect (Material's redirect.html, a meta refresh and a
# script) has no content to put it in, and sends its reader on before anyone could rate it.
REDIRECT = "insiders/"
ZENSICAL_CONTEXT = "writer-zensical"
ZENSICAL_FILE_BLOCK = re.compile(rf"<!-- {ZENSICAL_CONTEXT}: (\S+) -->\n```\w+\n(.*?)```", re.S)


def manifest_urls(version_dir: Path) -> dict[str, str]:
    doc = json.loads((version_dir / manifest.MANIFEST_NAME).read_text())
    return {p["url"]: p.get("src", "") for p in doc["pages"]}


def widgets_by_url(version_dir: Path) -> dict[str, int]:
    return {
        path.parent.relative_to(version_dir).as_posix().removeprefix(".") + "/": (
            path.read_text(encoding="utf-8").count('class="md-feedback"')
        )
        for path in sorted(version_dir.rglob("index.html"))
    }


def test_the_same_site_published_with_zensical_stores_ratings_by_version(
    writer_env, tmp_path, browser, sqlite_url, output_dir
):
    started = time.monotonic()
    repo = tmp_path / "material-docs"
    shutil.copytree(SITE, repo)
    (repo / "TIDEWAY-NOTES.md").unlink()
    theme_before = {p.relative_to(SITE).as_posix() for p in (SITE / "material").rglob("*")}
    text = GUIDE.read_text()
    blocks = FILE_BLOCK.findall(text)
    config = repo / "mkdocs.yml"
    for name, content in blocks + ZENSICAL_FILE_BLOCK.findall(text):
        if name == "mkdocs.yml":
            config.write_text(apply_to_mkdocs_yml(config.read_text(), content))
        elif name == "OWNERS":
            (repo / name).write_text(content)
    assert "warn_only:\n      - links\n" in config.read_text()  # the Zensical block's
    versions = [content for name, content in blocks if name == "versions.yml"]
    assert len(versions) == 2, versions
    install, ignore, command = [
        cmd for src, ctx, cmd in gates.tested_blocks(DOCS)
        if src == GUIDE_SRC and ctx == ZENSICAL_CONTEXT
    ]  # fmt: skip
    assert "--builder zensical" in command and "--output public" in command
    # The writer's own venv, with the plugin-only install and Zensical beside it.
    env = writer_env

    def publish(command: str = command) -> str:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command], cwd=repo, env=env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        gates.record_run(LEDGER, command, done.returncode, GUIDE_SRC)
        assert done.returncode == 0, f"{command}\n{(done.stdout + done.stderr)[-6000:]}"
        return done.stdout + done.stderr

    # 1.0, from the working tree, tagged; then 2.0 on top, and 1.0 from its tag.
    run_git(repo, "init", "-q", "-b", "main")
    publish(install)
    assert shutil.which("zensical", path=env["PATH"]).startswith(env["WRITER_VENV"])
    publish(ignore)
    (repo / "versions.yml").write_text(versions[0])
    commit(repo, "The feedback widget, page owners and version 1.0, built with Zensical")
    run_git(repo, "tag", "v1.0")
    out = publish()
    assert "Published version 1.0 to branch gh-pages" in out, out
    page = repo / "docs" / "getting-started.md"
    page.write_text(page.read_text() + "\nInstalling 2.0 is the same.\n")
    (repo / "versions.yml").write_text(versions[1])
    commit(repo, "Version 2.0")
    out = publish()
    assert "Published version 2.0 to branch gh-pages" in out, out
    assert "Unchanged, not rebuilt: 1.0." in out, out
    print(f"published 1.0 and 2.0 ({time.monotonic() - started:.0f} s)")

    # A change in the site's own custom_dir rebuilds the version built from the working tree.
    main_html = repo / "material" / "overrides" / "main.html"
    main_html.write_text(main_html.read_text().replace("For updates follow", "For news follow"))
    commit(repo, "Announce bar")
    out = publish()
    assert "Published version 2.0 to branch gh-pages" in out, out
    assert "Unchanged, not rebuilt: 1.0." in out, out
    # The writer's tree holds nothing of the build (the output is ignored, as the guide says):
    # no theme copied in, no temporary file.
    assert run_git(repo, "status", "--porcelain") == ""
    # Python's own cache of the site's hooks (which MkDocs' config loading imports) aside.
    theme_after = {
        p.relative_to(repo).as_posix()
        for p in (repo / "material").rglob("*")
        if "__pycache__" not in p.parts
    }
    assert theme_after == {p for p in theme_before if "__pycache__" not in p}
    print(f"rebuilt 2.0 ({time.monotonic() - started:.0f} s)")

    layout = repo / "public"
    assert "For news follow" in (layout / "2.0" / "index.html").read_text()
    assert "For updates follow" in (layout / "1.0" / "index.html").read_text()
    assert [v["version"] for v in json.loads((layout / "versions.json").read_text())] == [
        "2.0",
        "1.0",
    ]
    for version in ("1.0", "2.0"):
        widgets = widgets_by_url(layout / version)
        assert len(widgets) == 108, len(widgets)
        assert {url for url, count in widgets.items() if count != 1} == {REDIRECT}, widgets
        urls = manifest_urls(layout / version)
        assert urls["setup/"] == "setup/index.md" and urls["getting-started/"] == (
            "getting-started.md"
        )

    server = LiveServer(
        {"TIDEWAY_DATABASE_URL": sqlite_url, "TIDEWAY_SITE_DIR": str(layout),
         "TIDEWAY_RATE_LIMIT_CLIENT": "1000/minute"}
    ).start()  # fmt: skip
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(server.url + "/")
                else route.abort()
            ),
        )
        reader = context.new_page()
        reader.goto(f"{server.url}/")
        reader.wait_for_url(f"{server.url}/latest/")
        reader.goto(f"{server.url}/latest/setup/")
        form = reader.locator("form.md-feedback")
        form.wait_for(state="visible")
        form.locator("button[data-md-value='1']").click()
        store = Path(sqlite_url.removeprefix("sqlite:///"))
        assert wait_for_row(store, 1) == ("setup/", "2.0", 1)
        reader.locator(".md-version__current").wait_for()
        listed = [t.strip() for t in reader.locator(".md-version__link").all_inner_texts()]
        assert listed[:2] == ["2.0", "1.0"], listed
        assert reader.locator("[data-md-component=outdated]").is_hidden()

        reader.goto(f"{server.url}/1.0/getting-started/")
        banner = reader.locator("[data-md-component=outdated]")
        banner.wait_for(state="visible")
        assert "You are reading version 1.0, which is not the latest release." in (
            banner.inner_text()
        )
        assert "For updates follow" in reader.locator("[data-md-component=announce]").inner_text()
        form.wait_for(state="visible")
        form.locator("button[data-md-value='0']").click()
        assert wait_for_row(store, 2) == ("getting-started/", "1.0", 0)
        reader.screenshot(path=str(output_dir / "zensical-old-version.png"))

        # A blog archive view, whose template has no widget: publishing put it there.
        reader.goto(f"{server.url}/latest/blog/archive/2021/")
        form.wait_for(state="visible")
        form.locator("button[data-md-value='1']").click()
        assert wait_for_row(store, 3) == ("blog/archive/2021/", "2.0", 1)
    finally:
        context.close()
        server.stop()
    print(f"served and rated ({time.monotonic() - started:.0f} s)")
