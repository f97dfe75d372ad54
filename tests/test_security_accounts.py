"""Issue 16 finding 2 and issue 15 item 3: sessions and tokens end when they should, and
accounts are run from the CLI with no dead ends.

A cookie copied before sign-out opens nothing after it; a session lives at most
`TIDEWAY_DASHBOARD_SESSION_HOURS` however much it is used; tokens expire and can be revoked;
a new password, deactivation or `users end-sessions` ends every session of the user; an
account made without a password gets a clear refusal at sign-in, not a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feedback_api.store.models import ApiToken
from tests.review_fixtures import cli
from tests.test_dashboard import PASSWORD, app_with, csrf_of, sign_in

NEW_PASSWORD = "a brand new passphrase"
COOKIE = "tideway_dashboard"


def create(app, name: str, password: str | None = PASSWORD, role: str = "reviewer") -> str:
    args = ["users", "create", name, "--email", f"{name}@example.test", "--team", "docs-team",
            "--role", role]  # fmt: skip
    if password is None:
        return cli(app, *args)
    return cli(app, *args, "--password-stdin", input=password + "\n")


def copied_cookie(client) -> str:
    return client.get_cookie(COOKIE, path="/dashboard").value


def opens_queue(app, cookie: str) -> bool:
    """A fresh browser holding a stolen copy of the cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie, path="/dashboard")
    return "Review queue" in thief.get("/dashboard/").text


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(client, app):
    create(app, "ana")
    assert sign_in(client, "ana").status_code == 303
    stolen = copied_cookie(client)
    assert opens_queue(app, stolen)
    token = csrf_of(client.get("/dashboard/").text)
    assert client.post("/dashboard/sign-out", data={"csrf_token": token}).status_code == 303
    assert not opens_queue(app, stolen)
    # Signing in again works, with a session of its own.
    assert sign_in(client, "ana").status_code == 303
    assert "Review queue" in client.get("/dashboard/").text


def test_a_session_has_an_absolute_lifetime_that_use_does_not_extend(published_site, sqlite_url):
    app = app_with(published_site, sqlite_url, dashboard_session_hours=1)
    create(app, "ana")
    client = app.test_client()
    sign_in(client, "ana")
    # Used every few minutes (never idle), but signed in 61 minutes ago.
    with client.session_transaction("/dashboard/") as session:
        session["began"] -= 61 * 60
    page = client.get("/dashboard/")
    assert "Review queue" not in page.text
    assert "session ended" in page.text
    app.extensions["store"].dispose()


def test_the_session_lifetime_is_a_documented_setting(client):
    from feedback_api.config import render_reference

    assert "`TIDEWAY_DASHBOARD_SESSION_HOURS` | `12`" in render_reference()


def test_set_password_end_sessions_and_deactivate_end_every_session(client, app):
    create(app, "ana")
    for password, command in (
        (PASSWORD, ["users", "set-password", "ana", "--password-stdin"]),
        (NEW_PASSWORD, ["users", "end-sessions", "ana"]),
        (NEW_PASSWORD, ["users", "deactivate", "ana"]),
    ):
        assert sign_in(client, "ana", password).status_code == 303, command
        stolen = copied_cookie(client)
        assert opens_queue(app, stolen), command
        cli(app, *command, input=NEW_PASSWORD + "\n")
        assert not opens_queue(app, stolen), command
        assert "Review queue" not in client.get("/dashboard/").text, command
    # Deactivated: the right password does not sign in; reactivated, it does.
    assert sign_in(client, "ana", NEW_PASSWORD).status_code == 401
    assert "is active again" in cli(app, "users", "reactivate", "ana")
    assert sign_in(client, "ana", NEW_PASSWORD).status_code == 303
    assert "ana\treviewer\tdocs-team\ttier 1\tactive" in cli(app, "users", "list")


def test_an_account_without_a_password_gets_a_clear_refusal_then_a_password(client, app):
    made = create(app, "bo", password=None)
    refused = sign_in(client, "bo", "anything at all")
    assert refused.status_code == 401, refused.text[:300]  # was a 500 (AttributeError)
    assert "This account has no password yet" in refused.text
    assert "users set-password bo --password-stdin" in refused.text
    assert "no dashboard password yet" in made and "users set-password bo" in made
    cli(app, "users", "set-password", "bo", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert sign_in(client, "bo", NEW_PASSWORD).status_code == 303
    assert "Review queue" in client.get("/dashboard/").text


def test_short_passwords_are_refused_with_the_rule(app):
    runner = app.test_cli_runner()
    short = runner.invoke(
        args=["users", "create", "cy", "--email", "c@example.test", "--team", "t",
              "--password-stdin"], input="short\n",
    )  # fmt: skip
    assert short.exit_code != 0
    assert "at least 12 characters" in short.output
    create(app, "cy", password=None)
    again = runner.invoke(args=["users", "set-password", "cy", "--password-stdin"], input="x" * 11)
    assert again.exit_code != 0 and "at least 12 characters" in again.output
    missing = runner.invoke(args=["users", "set-password", "nobody", "--password-stdin"],
                            input=NEW_PASSWORD)  # fmt: skip
    assert missing.exit_code != 0 and "no user called nobody" in missing.output


def test_api_tokens_expire_and_can_be_revoked(client, app):
    create(app, "ana", password=None)
    runner = app.test_cli_runner()
    made = runner.invoke(args=["tokens", "create", "ana", "--label", "ci", "--days", "7"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()  # stdout is the token alone, for TOKEN=$(...)
    assert token.startswith("tdw_") and "\n" not in token
    expected = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
    assert f"Expires {expected}" in made.stderr
    listed = cli(app, "tokens", "list", "ana")
    assert "ci\tcreated" in listed and f"expires {expected}" in listed and "live" in listed
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tasks", headers=auth).status_code == 200
    # Seven days later (the clock moved on; here the row does).
    with app.extensions["store"].transaction() as db:
        for row in db.query(ApiToken):
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    expired = client.get("/api/v1/tasks", headers=auth)
    assert expired.status_code == 401 and expired.json["error"]["code"] == "unauthorized"
    assert "expired" in cli(app, "tokens", "list", "ana")
    # A default token lasts 90 days; revoking ends it at once.
    fresh = cli(app, "tokens", "create", "ana").strip()
    assert (
        client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    )
    assert "Revoked 2 token(s) of ana" in cli(app, "tokens", "revoke", "ana")
    assert (
        client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {fresh}"}).status_code == 401
    )


def test_tokens_made_before_expiry_existed_get_an_end(store_url):
    """Migration 0009: a token stored by 0008's code expires 90 days after the upgrade."""
    from alembic import command
    from sqlalchemy import text

    from feedback_api.store import make_engine
    from tests.test_review_schema import _migrate

    _migrate(store_url, command.downgrade, "0008")
    engine = make_engine(store_url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (name, email, display_name, role, team, tier, active, "
                    "created_at) VALUES ('old', 'o@example.test', 'Old', 'reviewer', 't', 1, "
                    ":t, :now)"
                ),
                {"t": True, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (user_id, token_hash, name, created_at) "
                    "SELECT id, :h, 'old', :now FROM users WHERE name = 'old'"
                ),
                {"h": "0" * 64, "now": now - timedelta(days=400)},
            )
        _migrate(store_url, command.upgrade, "head")
        with engine.connect() as conn:
            epoch = conn.execute(text("SELECT session_epoch FROM users")).scalar_one()
            expires = conn.execute(text("SELECT expires_at FROM api_tokens")).scalar_one()
    finally:
        engine.dispose()
    assert epoch == 0
    if isinstance(expires, str):  # SQLite hands back text
        expires = datetime.fromisoformat(expires)
    expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    assert timedelta(days=89) < expires - now <= timedelta(days=90, minutes=5)


def test_one_token_can_be_revoked_and_the_others_keep_working(client, app):
    create(app, "ana", password=None)
    create(app, "bo", password=None)
    first = cli(app, "tokens", "create", "ana", "--label", "laptop").strip()
    second = cli(app, "tokens", "create", "ana", "--label", "ci").strip()
    theirs = cli(app, "tokens", "create", "bo").strip()
    listed = cli(app, "tokens", "list", "ana").splitlines()
    laptop_id = next(line.split("\t")[0] for line in listed if "\tlaptop\t" in line)
    bo_id = cli(app, "tokens", "list", "bo").split("\t")[0]

    runner = app.test_cli_runner()
    refused = runner.invoke(args=["tokens", "revoke", "ana", "--id", bo_id])
    assert refused.exit_code != 0 and f"ana has no token {bo_id}" in refused.output
    assert "Revoked 1 token(s) of ana" in cli(app, "tokens", "revoke", "ana", "--id", laptop_id)

    def status(token):
        auth = {"Authorization": f"Bearer {token}"}
        return client.get("/api/v1/tasks", headers=auth).status_code

    assert (status(first), status(second), status(theirs)) == (401, 200, 200)
    states = {line.split("\t")[0]: line for line in cli(app, "tokens", "list", "ana").splitlines()}
    assert states[laptop_id].endswith("revoked")
