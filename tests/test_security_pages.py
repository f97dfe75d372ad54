"""Issue 16, findings 1 and 9: the pages a reader or a reviewer reaches on the public origin.

The unsubscribe page never turns its token into a link target, the sign-in `next` parameter
cannot be steered off /dashboard/, and every answer (docs files from WhiteNoise, the site's
404, API JSON, the unsubscribe page, the dashboard) carries the security headers that fit it,
checked on a real gunicorn server and in Chromium.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import urllib.error
import urllib.request

import pytest

from feedback_api.http.errors import ERROR_CODES
from tests.test_dashboard import PASSWORD, add_user, csrf_of

EVIL_TOKEN = "javascript:alert(document.domain)"


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read().decode()


# -- finding 1: the unsubscribe page and the sign-in redirect ---------------------------------


def test_the_unsubscribe_form_posts_to_a_server_built_url_under_a_strict_csp(client):
    page = client.get(f"/api/v1/unsubscribe/{EVIL_TOKEN}")
    assert page.status_code == 200
    action = re.search(r'<form method="post" action="([^"]*)"', page.text).group(1)
    assert action == "/api/v1/unsubscribe/javascript:alert(document.domain)"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the token is the URL
    assert not re.search(r"<script|\sstyle=|\son[a-z]+=", page.text)


def test_clicking_stop_mail_on_a_crafted_link_runs_no_script(live_server, browser, output_dir):
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/api/v1/unsubscribe/{EVIL_TOKEN}")
    page.screenshot(path=str(output_dir / "unsubscribe-confirm.png"))
    page.get_by_role("button", name="Stop mail to my address").click()
    try:
        page.get_by_role("heading", name="Link not recognised").wait_for(timeout=5_000)
    finally:
        assert dialogs == [], f"the link's script ran: {dialogs}"
    page.screenshot(path=str(output_dir / "unsubscribe-refused.png"))
    # Themed by the origin's own stylesheet (no inline style, nothing from a CDN).
    card = page.locator("section.card")
    assert card.evaluate("e => getComputedStyle(e).borderTopStyle") != "none"
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "serif"
    context.close()


@pytest.mark.parametrize(
    "target",
    [
        "/dashboard/../api/v1/unsubscribe/javascript:alert(1)",
        "/dashboard/%2e%2e/api/v1/unsubscribe/x",
        "/dashboard/%2E%2e/api/",
        "/dashboard/.%2e/api/",
        "/dashboard/%252e%252e/api/",
        "/dashboard/./../api/",
        "/dashboard/tasks/..%2f..%2fapi%2fv1",
        "/dashboard/..\\api",
        "/dashboard/%5c..%5capi",
        "/dashboard/%2f%2fevil.example",
    ],
)
def test_sign_in_next_refuses_every_spelling_of_a_path_outside_the_dashboard(client, app, target):
    add_user(app.extensions["store"], "ana")
    token = csrf_of(client.get("/dashboard/").text)
    response = client.post(
        "/dashboard/sign-in",
        data={"name": "ana", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/"


def test_sign_in_next_still_follows_a_dashboard_path_with_its_query(client, app):
    add_user(app.extensions["store"], "ana")
    token = csrf_of(client.get("/dashboard/").text)
    target = "/dashboard/?state=new&page=guides%2Fx"
    response = client.post(
        "/dashboard/sign-in",
        data={"name": "ana", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.headers["Location"] == target


# -- finding 9: headers on every answer ---------------------------------------------------------


def _no_framing(headers: dict[str, str]) -> None:
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"]


def test_every_kind_of_answer_of_the_served_product_has_its_headers(live_server, published_site):
    base = live_server.url
    docs = [
        f"{base}/{published_site.current}/",  # WhiteNoise: a page
        f"{base}/{published_site.current}/quickstart/",
        f"{base}/versions.json",  # WhiteNoise: a data file
        f"{base}/no-such-page/",  # Flask: the site's themed 404
    ]
    for url in docs:
        status, headers, _ = fetch(url)
        assert status in (200, 404), url
        _no_framing(headers)
        # Material's own inline scripts may run; nothing from another origin may.
        assert "default-src 'self'" in headers["Content-Security-Policy"], url
    for url in (f"{base}/api/v1/tasks", f"{base}/healthz", f"{base}/api/v1/openapi.json"):
        status, headers, _ = fetch(url)
        _no_framing(headers)
        assert headers["Content-Security-Policy"].startswith("default-src 'none'"), url
    status, headers, _ = fetch(f"{base}/api/v1/unsubscribe/abc")
    _no_framing(headers)
    assert headers["Referrer-Policy"] == "no-referrer"
    for url in (f"{base}/dashboard/", f"{base}/dashboard/no-such-page"):
        status, headers, body = fetch(url)
        _no_framing(headers)
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "no-store"
    assert "dashboard.css" in body  # the themed error page, not werkzeug's bare one


def test_the_static_servers_own_answers_have_the_site_headers(live_server, published_site):
    """WhiteNoise answers some requests itself: a redirect for a missing slash, 304, 405."""
    host, port = live_server.url.removeprefix("http://").rstrip("/").split(":")
    page = f"/{published_site.current}/quickstart/"

    def ask(method: str, path: str, **headers) -> tuple[int, dict[str, str]]:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request(method, path, headers=headers)
            answer = connection.getresponse()
            answer.read()
            return answer.status, dict(answer.headers)
        finally:
            connection.close()

    status, headers = ask("GET", page)
    etag = headers["ETag"]
    answers = {
        "missing slash": ask("GET", page.rstrip("/")),
        "not modified": ask("GET", page, **{"If-None-Match": etag}),
        "wrong method": ask("POST", page),
    }
    assert [status for status, _ in answers.values()] == [302, 304, 405]
    for what, (_, headers) in answers.items():
        assert "default-src 'self'" in headers.get("Content-Security-Policy", ""), what
        _no_framing(headers)


VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_the_docs_csp_lets_material_work_and_reports_no_violation(
    live_server, published_site, browser
):
    context = browser.new_context()
    context.add_init_script(VIOLATIONS)
    page = context.new_page()
    page.goto(f"{live_server.url}/{published_site.current}/quickstart/")
    page.wait_for_load_state("networkidle")
    # Material's scripts ran (the search is wired up by its bundle, through its worker).
    page.keyboard.press("/")
    page.keyboard.type("review")
    page.locator(".md-search-result__item").first.wait_for(timeout=10_000)
    assert page.evaluate("window.__csp") == []
    context.close()


def raw_answer(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """What the server answers to bytes no HTTP client would send."""
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, dict(answer.headers), answer.read()


MALFORMED = {
    "request line too long": (b"GET /" + b"<script>" * 600 + b" HTTP/1.1\r\n\r\n", 414),
    "too many header fields": (
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n",
        431,
    ),
    "not a request line": (b"<script>alert(1)</script>\r\n\r\n", 400),
    "bad header name": (b"GET / HTTP/1.1\r\nBad<Header>: 1\r\n\r\n", 400),
    "unknown transfer coding": (
        b"POST /api/v1/feedback HTTP/1.1\r\nTransfer-Encoding: br\r\n\r\n",
        501,
    ),
}


@pytest.mark.parametrize("what", MALFORMED)
def test_requests_the_http_server_refuses_get_the_error_shape_and_headers(live_server, what):
    # gunicorn answers these before the app: they got its bare HTML page, without headers.
    request, status = MALFORMED[what]
    got, headers, body = raw_answer(live_server.url, request)
    assert got == status
    assert headers["Content-Type"] == "application/json"
    assert headers["Connection"] == "close"
    error = json.loads(body)["error"]
    assert ERROR_CODES[error["code"]][0] == status and error["message"]
    assert b"script" not in body  # the stranger's bytes are not echoed
    _no_framing(headers)
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
