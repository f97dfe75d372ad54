"""Who may change a task: every reviewer reads every team's queue; a reviewer changes only
their own team's tasks (or one they own) and never takes a task from its owner; an admin
changes any. Through the reviewer API and the dashboard alike."""

from __future__ import annotations

from feedback_api.store.models import Task
from tests.review_fixtures import cli, reviewers, send  # noqa: F401  (fixture)
from tests.test_dashboard import add_task, add_user, csrf_of, sign_in


def test_a_reviewer_of_another_team_reads_but_cannot_change_a_task(app, client, reviewers):  # noqa: F811
    # reference/api/ is platform-team's (its front matter); ana works for docs-team.
    task_id = send(client, page="reference/api/")["task_id"]
    ana = reviewers.auth("ana")
    assert client.get(f"/api/v1/tasks/{task_id}", headers=ana).status_code == 200
    writes = [
        ("notes", {"text": "mine now"}),
        ("assign", {"owner": "ana"}),
        ("priority", {"priority": "urgent", "reason": "because"}),
        ("transitions", {"action": "wont_fix"}),
    ]
    for what, body in writes:
        refused = client.post(f"/api/v1/tasks/{task_id}/{what}", json=body, headers=ana)
        assert refused.status_code == 403, (what, refused.json)
        assert "platform-team" in refused.json["error"]["message"]
    # A reviewer of that team may; so may an admin.
    cli(app, "users", "create", "pia", "--email", "pia@example.test", "--team", "platform-team")
    pia = {"Authorization": f"Bearer {cli(app, 'tokens', 'create', 'pia').strip()}"}
    noted = client.post(f"/api/v1/tasks/{task_id}/notes", json={"text": "on it"}, headers=pia)
    assert noted.status_code == 200, noted.json
    root = reviewers.auth("root")
    closed = client.post(
        f"/api/v1/tasks/{task_id}/transitions", json={"action": "wont_fix"}, headers=root
    )
    assert closed.status_code == 200, closed.json


def test_the_dashboard_refuses_another_team_s_task_and_a_bulk_take(app, client):
    store = app.extensions["store"]
    add_user(store, "ana", team="docs-team")
    pia = add_user(store, "pia", team="platform-team")
    theirs = add_task(store, page="", team="docs-team")
    ours = add_task(store, page="reference/api/", team="platform-team")
    sign_in(client, "pia")
    page = client.get(f"/dashboard/tasks/{theirs}")
    assert page.status_code == 200  # reading is open to every reviewer
    refused = client.post(
        f"/dashboard/tasks/{theirs}/note",
        data={"note": "not my team", "csrf_token": csrf_of(page.text)},
    )
    assert refused.status_code == 403 and "docs-team" in refused.text

    def bulk(ids):
        token = csrf_of(client.get("/dashboard/").text)
        form = {"task_ids": [str(i) for i in ids], "owner_id": str(pia), "csrf_token": token}
        return client.post("/dashboard/tasks/assign", data=form)

    assert bulk([ours, theirs]).status_code == 403
    with store.transaction() as db:  # one transaction: nothing taken, not even half
        assert (db.get(Task, ours).owner_id, db.get(Task, theirs).owner_id) == (None, None)
    assert bulk([ours]).status_code == 303
    with store.transaction() as db:
        assert db.get(Task, ours).owner_id == pia
