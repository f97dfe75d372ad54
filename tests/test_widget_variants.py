"""The widget on sites configured otherwise: Chinese, light and dark palettes (axe-core and
screenshots), instant navigation, an API on another origin.

Each variant is the product's own docs built with one more config file (`INHERIT: mkdocs.yml`)
into a copy of the published site, in place of the current version, and served for real.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mkdocs.utils.yaml import get_yaml_loader

from tests import services
from tests.conftest import ROOT
from tests.test_widget import rows, start_server, stop, view, wait_queue_empty, wait_rows

AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def build_variant(published_site, dest: Path, config: dict, edit=None) -> Path:
    """The published site with its current version rebuilt from mkdocs.yml plus `config`
    (and `edit(repo)` applied to the sources first, if given)."""
    repo = dest / "repo"
    shutil.copytree(published_site.repo, repo, symlinks=True)
    if edit:
        edit(repo)
    variant = repo / "mkdocs-variant.yml"
    variant.write_text(yaml.safe_dump({"INHERIT": "mkdocs.yml", **config}, allow_unicode=True))
    site = dest / "site"
    shutil.copytree(published_site.site_dir, site, symlinks=True)
    out = site / published_site.current
    shutil.rmtree(out)
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(variant), "-d", str(out)],
        cwd=repo, check=True, capture_output=True,
        env={**os.environ, "MIKE_DOCS_VERSION": published_site.current},
    )  # fmt: skip
    return site


def plugins_with(published_site, **tideway_options) -> list:
    """mkdocs.yml's plugin list, with options for the tideway plugin."""
    with open(published_site.repo / "mkdocs.yml", "rb") as f:
        plugins = yaml.load(f, Loader=get_yaml_loader())["plugins"]
    named = [p if isinstance(p, str) else next(iter(p)) for p in plugins]
    plugins[named.index("tideway")] = {"tideway": tideway_options}
    return plugins


def axe_violations(page) -> list[str]:
    if not AXE.exists():
        services.unavailable(f"{AXE} missing: run `npm ci` in tests/js (make test does)")
    if not page.evaluate("!!window.axe"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => (await axe.run(document.querySelector('.tideway-feedback'), {
             runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                              'wcag22aa', 'best-practice']}})
           ).violations.flatMap(v => v.nodes.map(n =>
             `${v.id}: ${n.target.join(' ')}: ${n.failureSummary}`))"""
    )
    return found


def hide_feedback_on_home(repo: Path) -> None:
    """Material's per-page switch, in the home page's front matter: `hide: [feedback]`."""
    home = repo / "docs" / "index.md"
    home.write_text(home.read_text().replace("---\n", "---\nhide: [feedback]\n", 1))


@pytest.fixture(scope="module")
def zh_site(published_site, tmp_path_factory):
    happy, sad = "material/emoticon-happy-outline", "material/emoticon-sad-outline"
    return build_variant(
        published_site,
        tmp_path_factory.mktemp("zh"),
        {
            "theme": {"language": "zh"},
            "extra": {
                "analytics": {
                    "feedback": {
                        "title": "本页内容对你有帮助吗？",
                        "ratings": [
                            {"icon": happy, "name": "有帮助", "data": 1, "note": "感谢反馈！"},
                            {
                                "icon": sad,
                                "name": "有待改进",
                                "data": 0,
                                "note": "感谢反馈！",
                                # A writer's own choice of reasons, and its question:
                                "reasons": ["inaccurate", "broken_example", "outdated", "other"],
                                "reasons_title": "哪里需要改进？",
                            },
                        ],
                        # A writer's own wording for any string:
                        "strings": {"send": "发送反馈", "reason.outdated": "与新版本不符"},
                    }
                }
            },
        },
        edit=hide_feedback_on_home,
    )


def test_a_page_can_leave_the_widget_out(zh_site, published_site):
    version = zh_site / published_site.current
    assert "tideway-feedback" not in (version / "index.html").read_text()
    assert "tideway-feedback" in (version / "quickstart" / "index.html").read_text()


@pytest.fixture(scope="module")
def themed_server(published_site, tmp_path_factory):
    """Material's light and dark palettes, following the reader's system setting, and instant
    navigation, which follows only links listed in sitemap.xml: those URLs come from site_url
    and must match the served host, port and path."""
    port, version = services.free_port(), published_site.current
    toggle = {"icon": "material/brightness-7", "name": "Switch palette"}
    site = build_variant(
        published_site,
        tmp_path_factory.mktemp("themed"),
        {
            "site_url": f"http://127.0.0.1:{port}/{version}/",
            "theme": {
                "palette": [
                    {
                        "media": "(prefers-color-scheme: light)",
                        "scheme": "default",
                        "toggle": toggle,
                    },
                    {"media": "(prefers-color-scheme: dark)", "scheme": "slate", "toggle": toggle},
                ]  # fmt: skip
            },
        },
    )
    server = start_server(site, tmp_path_factory.mktemp("store"), port=port)
    yield server
    stop(server)


def test_chinese_site_speaks_chinese_end_to_end(
    browser, zh_site, published_site, tmp_path, output_dir
):
    server = start_server(zh_site, tmp_path)
    try:
        page = browser.new_page(viewport=DESKTOP["viewport"])
        page.goto(f"{server.url}/{published_site.current}/quickstart/")
        form = page.locator("form.md-feedback")
        form.wait_for(state="visible")
        assert "本页内容对你有帮助吗？" in form.inner_text()
        form.get_by_role("button", name="有待改进").click()
        more = page.locator("form.tideway-more")
        more.wait_for(state="visible")
        # One thank-you, the site's own (not the writer's note, which Material shows), at once.
        thanks = page.locator(".tideway-thanks p").first.inner_text()
        assert thanks == "谢谢！你的反馈已送达本页的编写者。"
        reasons = more.locator("fieldset:visible")
        assert reasons.locator("legend").inner_text() == "哪里需要改进？"
        assert reasons.locator("label").all_inner_texts() == [
            "内容有误",
            "示例无法运行",
            "与新版本不符",
            "其他",
        ]
        more.get_by_label("示例无法运行").check()
        more.get_by_label("详细说明（选填）").fill("第二步的命令少了端口号")
        assert page.locator("#tideway-count").inner_text() == "11 / 2000 字"
        more.get_by_label("问题修复后发邮件通知我").check()
        more.get_by_label("电子邮箱").fill("reader@localhost")
        page.locator(".tideway-feedback").screenshot(path=str(output_dir / "follow-up.png"))
        more.get_by_role("button", name="发送反馈").click()
        # The API's refusal, in the reader's language.
        page.locator(".tideway-status", has_text="请输入有效的电子邮箱地址。").wait_for()
        more.get_by_label("电子邮箱").fill("reader@example.com")
        more.get_by_role("button", name="发送反馈").click()
        page.locator("form.tideway-more").wait_for(state="hidden")  # sent
        assert "谢谢！" in page.locator(".tideway-thanks").inner_text()
        page.locator(".tideway-feedback").screenshot(path=str(output_dir / "thanks.png"))
        [row] = wait_rows(server, 1, notify=True)
        assert row["locale"] == "zh-Hans" and row["comment"] == "第二步的命令少了端口号"
        page.reload()
        page.get_by_role("button", name="修改评价").wait_for()
        assert "你已评价过本页。" in page.locator(".tideway-rated").inner_text()
        page.close()
    finally:
        stop(server)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_accessible_and_presentable_in_both_palettes(
    browser, themed_server, published_site, output_dir, scheme
):
    """axe-core finds no violation in the widget in any state; screenshots for a person."""
    server = view(themed_server)
    url = f"{server.url}/{published_site.current}/quickstart/"
    for device, options in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(color_scheme=scheme, **options)
        page = context.new_page()
        page.goto(url)
        widget = page.locator(".tideway-feedback")
        page.locator("form.md-feedback").wait_for(state="visible")
        expected = "slate" if scheme == "dark" else "default"
        assert page.evaluate("document.body.dataset.mdColorScheme") == expected
        assert axe_violations(page) == []

        paragraph = page.locator("article h2 + p").first
        paragraph.click(click_count=3)
        page.locator(".tideway-pin").wait_for(state="visible")
        assert axe_violations(page) == []
        page.locator(".tideway-pin").scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / f"{device}-passage-control.png"))
        page.locator(".tideway-pin").click()
        more = page.locator("form.tideway-more")
        more.wait_for(state="visible")
        more.locator("input[value=hard_to_follow]").check()
        more.locator("#tideway-comment").fill("The second step assumes a running server.")
        more.locator("[name=notify]").check()
        more.locator("#tideway-email").fill("reader@example.com")
        assert axe_violations(page) == []
        widget.screenshot(path=str(output_dir / f"{device}-follow-up.png"))
        more.locator("[type=submit]").click()
        page.locator("form.tideway-more").wait_for(state="hidden")  # sent
        page.wait_for_timeout(300)  # the related pages arrive
        assert axe_violations(page) == []
        widget.screenshot(path=str(output_dir / f"{device}-thanks.png"))
        page.reload()
        page.locator(".tideway-rated").wait_for(state="visible")
        assert axe_violations(page) == []
        widget.screenshot(path=str(output_dir / f"{device}-rated.png"))
        context.close()
    assert len(rows(server)) == 2


def test_instant_navigation_mounts_once_per_page(browser, themed_server, published_site):
    server, version = view(themed_server), published_site.current
    page = browser.new_page(viewport=DESKTOP["viewport"])
    posts = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.post_data_json)
            if r.method == "POST" and "/api/v1/feedback" in r.url
            else None
        ),
    )
    try:
        page.goto(f"{server.url}/{version}/")
        page.locator("form.md-feedback").wait_for(state="visible")
        page.evaluate("window.stillTheSameDocument = true")
        links = page.locator(".md-sidebar--primary a.md-nav__link[href]")
        root = f"{server.url}/{version}/"
        hrefs = links.evaluate_all(
            "(as, here) => [...new Set(as.filter(a => a.offsetParent && !a.hash && a.href != here)"
            ".map(a => a.href))]",
            page.url,
        )
        assert len(hrefs) >= 3, hrefs
        for href in hrefs[:3]:
            index = links.evaluate_all("(as, h) => as.findIndex(a => a.href == h)", href)
            links.nth(index).click()
            page.wait_for_url(href)
            path = href.removeprefix(root)
            form = page.locator(f"form.md-feedback[data-tideway-page='{path}']")
            form.wait_for(state="visible")
        assert page.evaluate("window.stillTheSameDocument") is True  # no reload happened

        form.locator("button[data-md-value='0']").click()
        page.locator("form.tideway-more").wait_for(state="visible")
        page.locator("article p").first.click(click_count=3)
        page.locator(".tideway-pin").wait_for(state="visible")
        assert page.locator(".tideway-pin").count() == 1
        wait_rows(server, 1, page=path, version=version)
        page.wait_for_timeout(300)
        assert len(posts) == 1  # one listener, not one per page visited

        page.go_back()  # back to a page seen before: mounted afresh, still unrated
        page.wait_for_url(hrefs[1])
        path = hrefs[1].removeprefix(root)
        form = page.locator(f"form.md-feedback[data-tideway-page='{path}']")
        form.wait_for(state="visible")
        form.locator("button[data-md-value='1']").click()
        wait_rows(server, 2, page=path, rating=1)
        assert page.evaluate("window.stillTheSameDocument") is True
    finally:
        page.close()


def test_api_on_another_origin(browser, published_site, tmp_path):
    """api_base points at an API on another origin, which grants the site's origin."""
    # Ports first: the site is built with the API's address, the API allows the site's.
    site_port, api_port = services.free_port(), services.free_port()
    site_origin, api_origin = f"http://127.0.0.1:{site_port}", f"http://127.0.0.1:{api_port}"
    site = build_variant(
        published_site,
        tmp_path / "variant",
        {"plugins": plugins_with(published_site, api_base=f"{api_origin}/api/v1")},
    )
    servers = []
    try:
        for name, port, env in (
            ("site", site_port, {"TIDEWAY_SITE_API_ORIGINS": api_origin}),
            ("api", api_port, {"TIDEWAY_ALLOWED_ORIGINS": site_origin}),
        ):
            (tmp_path / name).mkdir()
            servers.append(start_server(site, tmp_path / name, port=port, **env))
        page = browser.new_page()
        hosts = set()
        page.on("request", lambda r: hosts.add(re.match(r"\w+://[^/]+", r.url).group(0)))
        page.goto(f"{site_origin}/{published_site.current}/quickstart/")
        page.locator("form.md-feedback button[data-md-value='0']").click()
        more = page.locator("form.tideway-more")
        more.wait_for(state="visible")
        more.locator("#tideway-comment").fill("Sent across origins.")
        more.locator("[type=submit]").click()
        page.locator("form.tideway-more").wait_for(state="hidden")  # sent
        wait_queue_empty(page)
        assert rows(servers[0]) == []
        [row] = wait_rows(servers[1], 1, comment="Sent across origins.")
        assert hosts == {site_origin, api_origin}
        page.close()
    finally:
        for server in servers:
            stop(server)
