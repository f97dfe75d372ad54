"""Issue 16: what a stranger types shows as text on every HTML page a reader or a reviewer
can reach, in real Chromium against a real gunicorn server.

The corpus is planted once, through every way in a stranger has (the feedback fields, an
amend, the widget, unsubscribe and confirm tokens, query strings, the sign-in form and its
`next`, paths), and by a reviewer through the API (notes, reasons, a change link). Then
every page where it can show is opened once per browser context, and each must show:
no dialog, no element of the corpus (each carries `data-pwn` or sets `window.__xss`), no
Content-Security-Policy violation, no script error, and the text itself where it belongs.
Every HTML answer on the way carries the security headers that fit it.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import create_engine, text

from feedback_api.http.headers import APP_PAGE_CSP
from feedback_api.ingest.schemas import COMMENT_MAX, SELECTION_MAX
from tests import services
from tests.conftest import LiveServer
from tests.test_dashboard import PASSWORD
from tests.test_dashboard_browser import create_account, flask_cli, submit

pytestmark = pytest.mark.slow  # starts its own server (one for the module)

# What strangers may type. Each would run script (setting window.__xss or opening a dialog),
# add an element (marked data-pwn), restyle the page or leave it if it reached the HTML, an
# attribute, a URL or a template unescaped.
CORPUS = [
    "<script data-pwn>window.__xss = 1; alert('script')</script>",
    "<img data-pwn src=x onerror=\"window.__xss = 2; alert('img')\">",
    '"><svg data-pwn onload="window.__xss = 3; alert(\'svg\')"></svg>',
    "'><svg data-pwn onload='window.__xss = 4'></svg>",
    '" autofocus onfocus="window.__xss = 5" x="',
    "' autofocus onfocus='window.__xss = 6' x='",
    "javascript:window.__xss = 7; alert('js-url')",
    '<a data-pwn href="javascript:window.__xss = 8">click me</a>',
    "</textarea></title></bdi></pre></script><script data-pwn>window.__xss = 9</script>",
    '<iframe data-pwn src="javascript:window.__xss = 10"></iframe>',
    '<math data-pwn><mi xlink:href="javascript:window.__xss = 11">x</mi></math>',
    "<svg><script>window.__xss = 12</script></svg>",
    "<style data-pwn>body { display: none }</style>",
    '<base data-pwn href="http://evil.example/">',
    '<meta data-pwn http-equiv="refresh" content="0; url=javascript:window.__xss = 13">',
    '<form data-pwn action="http://evil.example/"><button>go</button></form>',
    "<div <b data-pwn>unclosed <!-- broken & markup ]]> <![CDATA[ x",
    "{{ 7 * 7 }} {% raw %} ${7*7} #{7*7} <%= 7*7 %>",
    '=HYPERLINK("http://evil.example","csv")',
    "+cmd|' /C calc'!A0 @SUM(1+1) -1+1",
    "price list\u202egnp.exe and \u2067isolate\u2069",
    "\uff1cscript\uff1ewindow.__xss = 14\uff1c/script\uff1e zero\u200bwidth <scr\u200bipt>",
    "\\u003cscript\\u003ewindow.__xss = 15\\u003c/script\\u003e &lt;b&gt; &#60;i&#62;",
]
LONG = "<b data-pwn>" + "A" * (COMMENT_MAX - 40) + "</b>"  # as long as a comment may be
# One string that carries every payload: for places that take a single value (a query
# string, a path, a form field, the widget's comment).
COMPOSITE = " ".join(CORPUS)
assert len(COMPOSITE) <= COMMENT_MAX
# A URL path segment takes no "/", and a server decodes %2F before routing.
TOKEN = COMPOSITE.replace("/", "")
# Valid e-mail addresses (RFC 5322 dot-atoms) that still look like markup or a formula.
EMAILS = ["{{7*7}}'x=1@example.com", "=cmd|'x'!a0@example.com", "`alert`@example.com"]
# A reviewer's text (notes, reasons) and a change link the API accepts (http(s), no spaces).
FIX_URL = 'https://evil.example/"><svg/data-pwn/onload=window.__xss=16>'

PROBE_INIT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample));
"""
PROBE = """() => ({
  xss: window.__xss === undefined ? null : window.__xss,
  pwn: document.querySelectorAll('[data-pwn]').length,
  csp: window.__csp || [],
  links: [...document.querySelectorAll('a[href], area[href]')]
    .map(a => a.getAttribute('href')).filter(h => /^\\s*(javascript|data|vbscript):/i.test(h)),
  forms: [...document.querySelectorAll('form[action]')]
    .map(f => f.action).filter(a => !a.startsWith(location.origin)),
  base: [...document.querySelectorAll('base')].length,
  title: document.title,
})"""


def query(**values) -> str:
    return "?" + urlencode(values)


class Visitor:
    """One browser context: every page it opens is probed, every HTML answer kept."""

    def __init__(self, browser, server):
        self.context = browser.new_context(base_url=server.url)
        self.context.add_init_script(PROBE_INIT)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        self.answers = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(f"{self.page.url}: {e}"))
        self.page.on(
            "console",
            lambda m: self.console.append(m.text) if "Security Policy" in m.text else None,
        )
        self.page.on(
            "response", lambda r: self.answers.append(r) if r.request.is_navigation_request() else 0
        )
        self.visited: list[str] = []

    def goto(self, path: str, status: int | None = None, idle: bool = False, then=None):
        """Open `path`; `then`, when the page goes on by itself, waits for where it ends."""
        answer = self.page.goto(path)
        if status is not None:
            assert answer.status == status, (path, answer.status)
        if then is not None:
            then.wait_for()
        self.settle(path, idle)
        return answer

    def settle(self, what: str, idle: bool = False) -> dict:
        """Wait for the page, then hold it to the rules; `what` names it in a failure."""
        self.page.wait_for_load_state("networkidle" if idle else "load")
        found = self.page.evaluate(PROBE)
        where = f"{what} ({self.page.url})"
        assert found["xss"] is None, f"script ran on {where}: {found['xss']}"
        assert found["pwn"] == 0, f"an element of the corpus on {where}"
        assert found["csp"] == [], f"CSP violations on {where}: {found['csp']}"
        assert found["links"] == [], f"script links on {where}: {found['links']}"
        assert found["forms"] == [], f"forms posting elsewhere on {where}: {found['forms']}"
        assert found["base"] == 0, f"a <base> on {where}"
        assert self.dialogs == [], f"a dialog on {where}: {self.dialogs}"
        assert self.errors == [], f"script errors: {self.errors}"
        assert self.console == [], f"CSP reports on {where}: {self.console}"
        self.visited.append(self.page.url)
        return found

    def submit_form(self, action: str, fields: dict[str, str]) -> None:
        """POST a form from the page, as a browser would (the page's CSP allows only 'self')."""
        with self.page.expect_navigation():
            self.page.evaluate(
                """([action, fields]) => {
                  const form = document.createElement('form');
                  form.method = 'post';
                  form.action = action;
                  for (const [name, value] of Object.entries(fields)) {
                    const field = document.createElement('textarea');
                    field.name = name;
                    field.value = value;
                    form.appendChild(field);
                  }
                  document.body.appendChild(form);
                  form.submit();
                }""",
                [action, fields],
            )

    def close(self):
        self.context.close()


def html_answers(visitor: Visitor) -> list[tuple[str, int, dict[str, str]]]:
    found = []
    for answer in visitor.answers:
        headers = answer.all_headers()
        if headers.get("content-type", "").startswith("text/html"):
            found.append((answer.url, answer.status, headers))
    return found


def assert_headers_fit(server, visitor: Visitor) -> None:
    """Every HTML answer: not sniffed, never framed; Flask's pages under the strict CSP
    and never cached; a token's page sends no Referer; the docs load nothing from elsewhere."""
    answers = html_answers(visitor)
    assert answers
    for url, status, headers in answers:
        path = url[len(server.url) :]
        where = f"{status} {url[:120]}"
        assert headers.get("x-content-type-options") == "nosniff", where
        assert headers.get("x-frame-options") == "DENY", where
        csp = headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, where
        # The charset is the server's word, not the browser's guess (WhiteNoise quotes it).
        assert "charset=utf-8" in headers["content-type"].lower().replace('"', ""), where
        if path.startswith(("/dashboard", "/api/")):
            assert csp == APP_PAGE_CSP, where
            assert headers.get("cache-control") == "no-store", where
        else:
            assert "default-src 'self'" in csp and "object-src 'none'" in csp, where
            assert "http:" not in csp and "https:" not in csp and "*" not in csp, where
        if path.startswith(("/api/v1/unsubscribe/", "/api/v1/confirm/")):
            assert headers.get("referrer-policy") == "no-referrer", where


def api(server, method: str, path: str, body: dict | None = None, token: str | None = None):
    request = urllib.request.Request(
        server.url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers, answer.read()


def stored(server, sql: str, **params) -> list:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def planted(published_site, migrated_sqlite, tmp_path_factory):
    """A server whose store holds the corpus wherever a stranger or a reviewer can put it."""
    base = tmp_path_factory.mktemp("xss")
    shutil.copyfile(migrated_sqlite, base / "feedback.sqlite3")
    url = f"sqlite:///{base / 'feedback.sqlite3'}"
    server = LiveServer(
        {
            "TIDEWAY_DATABASE_URL": url,
            "TIDEWAY_SITE_DIR": str(published_site.site_dir),
            # Every submission here comes from 127.0.0.1; the limits are tested elsewhere.
            "TIDEWAY_RATE_LIMIT_CLIENT": "1000/minute",
        }
    ).start()
    server.database_url = url
    try:
        yield plant(server, published_site)
    finally:
        server.stop()


def plant(server, published_site) -> dict:
    v = published_site.current
    create_account(server, "ana", role="admin")
    token = flask_cli(server, "tokens", "create", "ana").strip()
    # Every payload in the free-text fields of one page's task, with a hostile address each.
    answers = [
        submit(
            server,
            page="reference/api/",
            version=v,
            comment=item,
            selection=item[:SELECTION_MAX],
            anchor="javascript:alert(1)",
            notify=True,
            email=EMAILS[i % len(EMAILS)],
        )  # fmt: skip
        for i, item in enumerate(CORPUS)
    ]
    # The writer routes each just after answering it: the tasks are read once routed.
    tasks = {services.routed_task(server.database_url, a["id"]) for a in answers}
    [task] = tasks
    # The amend path gives a submission the longest comment.
    first = submit(server, page="reference/api/", version=v, rating=0)
    status, _, body = api(server, "PATCH", f"/api/v1/feedback/{first['id']}",
                          {"comment": LONG}, token=first["amend_token"])  # fmt: skip
    assert status == 200, body
    # Fields with a closed vocabulary refuse the corpus, in JSON (never a page).
    for field in ("page", "version", "reasons", "locale", "anchor", "email"):
        value = [COMPOSITE] if field == "reasons" else COMPOSITE
        fields = {"page": "reference/api/", "version": v, "rating": 0, field: value}
        if field == "anchor":
            fields["selection"] = "x"
        fields["idempotency_key"] = f"refused-{field}-0000000"
        status, headers, body = api(server, "POST", "/api/v1/feedback", fields)
        assert 400 <= status < 500 and headers["Content-Type"] == "application/json", field
    # A reviewer's own text: a note, a priority reason, and a resolved task's change link.
    for path, payload in [
        (f"/api/v1/tasks/{task}/notes", {"text": COMPOSITE}),
        (f"/api/v1/tasks/{task}/priority", {"priority": "important", "reason": COMPOSITE}),
    ]:
        status, _, body = api(server, "POST", path, payload, token=token)
        assert status in (200, 201), (path, body)
    fixed = submit(server, page="quickstart/", version=v, comment=CORPUS[2])["id"]
    fixed = services.routed_task(server.database_url, fixed)
    status, _, body = api(
        server, "POST", f"/api/v1/tasks/{fixed}/transitions",
        {"action": "resolve", "fixed_in_version": v, "fix_url": FIX_URL, "reason": COMPOSITE},
        token=token,
    )  # fmt: skip
    assert status == 200, body
    return {"server": server, "task": task, "fixed": fixed, "version": v}


# -- the reader's pages --------------------------------------------------------------------


def test_a_readers_pages_show_the_corpus_as_text(browser, planted):
    server, v = planted["server"], planted["version"]
    reader = Visitor(browser, server)
    page = reader.page
    try:
        # The published docs, with the corpus in the query (Material's search and highlight
        # read ?q= and ?h=) and the fragment.
        frag = quote(COMPOSITE, safe="")
        reader.goto(f"/{v}/quickstart/{query(q=COMPOSITE, h=COMPOSITE)}#{frag}", 200, idle=True)
        assert page.locator("input.md-search__input").input_value() == COMPOSITE
        reader.goto(f"/{v}/quickstart/", 200, idle=True)
        # The widget: the corpus as the comment, a hostile (valid) address, then the thanks,
        # and the page again with the answer remembered.
        page.locator("form.md-feedback button[data-md-value='0']").click()
        more = page.locator("form.tideway-more")
        more.get_by_label("Tell us more (optional)").fill(COMPOSITE)
        more.get_by_label("Tell me by e-mail when this is fixed").check()
        more.get_by_label("E-mail address").fill(EMAILS[0])
        more.get_by_role("button", name="Send").click()
        page.locator(".tideway-thanks").wait_for(state="visible")
        reader.settle("the widget's thanks", idle=True)
        deadline = time.monotonic() + 10
        while not stored(server, "SELECT id FROM feedback WHERE comment = :c", c=COMPOSITE):
            assert time.monotonic() < deadline, "the widget's comment was not stored"
            time.sleep(0.1)
        reader.goto(f"/{v}/quickstart/", 200, idle=True)
        page.locator(".tideway-rated").wait_for(state="visible")
        reader.settle("the widget, remembered")

        # The site's 404, for a path of the corpus, with and without a version; its script
        # sends a versionless path on to the default version and says what is missing there.
        for path in (f"/{quote(TOKEN)}/", f"/{v}/{quote(TOKEN)}/?{quote(CORPUS[2])}"):
            reader.goto(path, 404, idle=True, then=page.get_by_text("does not exist in version"))

        # The unsubscribe and confirm pages for a token of the corpus, and the answer to
        # their button.
        # Two tokens: all the corpus, and a javascript: URL (the page's form once posted to
        # its token).
        tokens = [TOKEN, next(item for item in CORPUS if item.startswith("javascript:"))]
        for kind, button in [("unsubscribe", "Stop mail"), ("confirm", "Confirm that")]:
            for token in tokens:
                reader.goto(f"/api/v1/{kind}/{quote(token, safe='')}", 200)
                with page.expect_navigation():
                    page.get_by_role("button", name=button).click()
                page.get_by_role("heading", name="Link not recognised").wait_for()
                reader.settle(f"the {kind} answer")

        # The sign-in page: `next` from the query, then refused with the corpus as the name.
        reader.goto(f"/dashboard/{query(next=COMPOSITE)}", 200)
        assert page.locator("input[name=next]").input_value() == COMPOSITE
        page.get_by_label("Account name").fill(COMPOSITE)
        page.get_by_label("Password").fill("wrong password")
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        reader.settle("a refused sign-in")
        assert page.get_by_label("Account name").input_value() == COMPOSITE.strip()
        assert page.locator("input[name=next]").input_value() == COMPOSITE
        # A signed-out visit to a task keeps its query in `next`.
        wanted = f"/dashboard/tasks/{planted['task']}{query(x=COMPOSITE)}"
        reader.goto(wanted, 200)
        assert page.locator("input[name=next]").input_value() == wanted

        # The dashboard's error pages: a path of the corpus, a huge id, a wrong method, a
        # form without its token, a body over the limit.
        reader.goto(f"/dashboard/{quote(TOKEN)}", 404)
        reader.goto("/dashboard/tasks/99999999999999999999999", 404)
        reader.goto("/dashboard/sign-in", 405)
        reader.submit_form("/dashboard/sign-in", {"name": COMPOSITE, "next": COMPOSITE})
        page.get_by_role("heading", name="The form had expired").wait_for()
        reader.settle("sign-in without its token")
        reader.submit_form("/dashboard/sign-in", {"name": COMPOSITE * 20})
        page.get_by_role("heading", name="Request Entity Too Large").wait_for()
        reader.settle("a body over the limit")
        # Flask's own page for a wrong method outside the dashboard and the API.
        reader.submit_form(f"/static/{quote(TOKEN)}", {"x": COMPOSITE})
        page.get_by_role("heading", name="Method Not Allowed").wait_for()
        reader.settle("a wrong method on the site")
        assert_headers_fit(server, reader)
    finally:
        reader.close()


# -- the reviewer's pages ------------------------------------------------------------------


def test_a_reviewers_pages_show_the_corpus_as_text(browser, planted):
    server, task, fixed = planted["server"], planted["task"], planted["fixed"]
    reviewer = Visitor(browser, server)
    page = reviewer.page
    try:
        # Sign in through a `next` of the corpus that is still a dashboard path.
        reviewer.goto(f"/dashboard/{query(next='/dashboard/' + query(page=COMPOSITE))}")
        page.get_by_label("Account name").fill("ana")
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Review queue").wait_for()
        reviewer.settle("the queue after sign-in")
        assert page.locator("#f-page").input_value() == COMPOSITE[:512].strip()

        # The queue with the corpus spread over its filters (a request line is at most 4 KiB),
        # and as it is.
        names = ("state", "priority", "category", "owner", "team", "version", "page", "p")
        filters = {name: " ".join(CORPUS[i :: len(names)]) for i, name in enumerate(names)}
        reviewer.goto(f"/dashboard/{query(**filters)}", 200)
        reviewer.goto("/dashboard/", 200)
        assert page.locator("table.tasks tbody tr").count() >= 1

        # The task page: every payload is there, as text, and none is a link.
        reviewer.goto(f"/dashboard/tasks/{task}", 200)
        comments = page.locator(".submission .comment").all_inner_texts()
        selections = page.locator(".submission .selection").all_inner_texts()
        for item in CORPUS:
            shown = item.replace("\u202e", "[U+202E]").replace("\u2067", "[U+2067]")
            shown = shown.replace("\u2069", "[U+2069]")
            assert shown in comments, item
            assert shown[:SELECTION_MAX] in selections, item
        assert LONG in comments
        # The readers' anchor is no heading of the page: shown, never linked.
        assert page.locator("a[href*='javascript']").count() == 0
        timeline = page.locator("ol.timeline, .timeline").first.inner_text()
        assert "{{ 7 * 7 }}" in timeline and "<script data-pwn>" in timeline
        # The resolve form's preview (the reader's mail) and a refused resolution echo what
        # was typed, a version that is none included.
        csrf = page.locator("input[name=csrf_token]").first.input_value()
        typed = {"csrf_token": csrf, "fixed_in_version": COMPOSITE[:64], "fix_url": FIX_URL,
                 "reason": COMPOSITE}  # fmt: skip
        for what, extra in [("the resolve preview", {"preview": "1"}), ("a refused link", {})]:
            reviewer.submit_form(f"/dashboard/tasks/{task}/resolve", {**typed, **extra})
            reviewer.settle(what)
            assert page.locator("#fix-url").input_value() == FIX_URL, what
            assert page.locator("#resolve-reason").input_value() == COMPOSITE.strip(), what
        assert page.locator("#fix-url-error").is_visible()
        reviewer.submit_form(f"/dashboard/tasks/{task}/resolve",
                             {**typed, "fix_url": "https://git.example.com/c/1"})  # fmt: skip
        reviewer.settle("a refused version")
        assert COMPOSITE[:64].strip() in page.locator("#fixed-in-error").inner_text()

        # A resolved task whose change link is no http(s) URL a browser would follow as is.
        reviewer.goto(f"/dashboard/tasks/{fixed}", 200)
        assert page.locator("a[href*='evil.example']").count() == 0
        assert FIX_URL in page.locator("main").inner_text()

        # Insights, with the corpus in their query; a report and an export of the corpus.
        reviewer.goto(f"/dashboard/insights{query(days=COMPOSITE, version=COMPOSITE)}", 200)
        reviewer.goto("/dashboard/insights", 200)
        reviewer.goto(f"/dashboard/insights/{quote(TOKEN)}.csv", 404)
        reviewer.goto(f"/dashboard/tasks/export{query(format=COMPOSITE)}", 422)
        for path in ("/dashboard/tasks/export?format=csv", "/dashboard/insights/fixes.csv"):
            answer = reviewer.context.request.get(path)
            assert answer.status == 200
            assert answer.headers["content-type"].startswith("text/csv"), path
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["content-disposition"].startswith("attachment"), path
        assert_headers_fit(server, reviewer)
        assert len(reviewer.visited) >= 12
    finally:
        reviewer.close()
