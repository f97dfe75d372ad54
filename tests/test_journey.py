"""The journey, walked as a newcomer walks it: the tutorial (docs/quickstart.md) followed word
for word on a fresh checkout, its command blocks run in the order written, on a port other
than 8000, with the mail sink it names (aiosmtpd on 127.0.0.1) and a reader and reviewers in
real Chromium. Reader to task to reviewer to mail to reader; a screenshot of every step."""

from __future__ import annotations

import email
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests import services
from tests.conftest import ROOT, make_docs_repo
from tests.test_docs import DOCS, LEDGER, VENV_BIN
from tests.test_serve_guide import Printed
from tideway_site import gates, publish

# It starts its own servers (scripts/serve, the sink): slow; the browser fixture marks browser.
pytestmark = pytest.mark.slow

TUTORIAL = "quickstart.md"
READER = "reader@example.com"
PASSWORD = "a long first password 1"
COMMENT = "Step 3 leaks the API token into the log."
MESSAGE_START = "---------- MESSAGE FOLLOWS ----------"
MESSAGE_END = "------------ END MESSAGE ------------"


class Sink:
    """The tutorial's mail sink (`python -m aiosmtpd`), read from what it prints."""

    def __init__(self, proc):
        self.proc = proc
        self.messages: list[email.message.Message] = []
        self.arrived: queue.Queue[email.message.Message] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        lines: list[str] | None = None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line == MESSAGE_START:
                lines = []
            elif line == MESSAGE_END and lines is not None:
                if lines and lines[0].startswith("mail options:"):
                    lines = lines[lines.index("") + 1 :]
                message = email.message_from_string("\n".join(lines) + "\n")
                self.messages.append(message)
                self.arrived.put(message)
                lines = None
            elif lines is not None:
                lines.append(line)

    def wait_for(self, subject: str, timeout: float = 30) -> email.message.Message:
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages if subject in str(m["Subject"])]
            if found:
                return found[-1]
            left = deadline - time.monotonic()
            assert left > 0, f"no mail {subject!r}; got {[m['Subject'] for m in self.messages]}"
            try:
                self.arrived.get(timeout=left)
            except queue.Empty:
                pass

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Tutorial:
    """The tutorial's command blocks, run one after the other in the order written, as a
    person pastes them in the checkout: `make serve` is the real scripts/serve (the Makefile's
    recipe after its install step), `.venv/bin/` the test's environment, and the ports free
    ones. Each run is recorded in the ledger the publishing gate reads."""

    def __init__(self, repo, env, port: int, sink_port: int):
        self.repo, self.env, self.port, self.sink_port = repo, env, port, sink_port
        self.blocks = [(c, b) for s, c, b in gates.tested_blocks(DOCS) if s == TUTORIAL]
        self.done = 0

    def as_run_here(self, text: str) -> str:
        text = text.replace("8611", str(self.port)).replace("8025", str(self.sink_port))
        text = text.replace(".venv/bin/", f"{VENV_BIN}/")
        serve = f"TIDEWAY_PORT={self.port} {sys.executable} {ROOT / 'scripts' / 'serve'}"
        return re.sub(rf"make serve PORT={self.port}", serve, text)

    def next(self, expect: str) -> tuple[str, str]:
        assert self.done < len(self.blocks), f"the tutorial has no block left for {expect!r}"
        context, command = self.blocks[self.done]
        assert expect in command, f"block {self.done + 1} of the tutorial: {command}"
        self.done += 1
        return context, command

    def run(self, expect: str, stdin: str | None = None) -> str:
        _, command = self.next(expect)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self.as_run_here(command)], cwd=self.repo,
            env=self.env, input=stdin, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        gates.record_run(LEDGER, command, done.returncode, TUTORIAL)
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        return done.stdout

    def start(self, expect: str) -> tuple[str, subprocess.Popen]:
        """A block that keeps running (a server), in a terminal of its own."""
        _, command = self.next(expect)
        proc = subprocess.Popen(
            ["bash", "-c", self.as_run_here(command)], cwd=self.repo, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        return command, proc


def printed_by_serve() -> list[str]:
    """The lines the tutorial shows `make serve` printing."""
    text = (DOCS / TUTORIAL).read_text(encoding="utf-8")
    shown = text.split("Then it says what comes next:", 1)[1].split("```text\n", 1)[1]
    return shown.split("```", 1)[0].splitlines()


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


def links(message) -> list[str]:
    body = message.get_payload(decode=True).decode()
    return [word.rstrip(".,") for word in body.split() if word.startswith("http")]


def test_the_tutorial_walks_reader_task_reviewer_mail_reader(tmp_path, browser, output_dir):
    started = time.monotonic()
    repo = make_docs_repo(tmp_path / "repo")
    port, sink_port = services.free_port(), services.free_port()
    assert 8000 not in (port, sink_port)
    base = f"http://127.0.0.1:{port}/"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDEWAY_")}
    # The sweep and mail loop every second, not every minute, so that the test need not wait;
    # the sink's output unbuffered, as in a terminal.
    env |= {"TIDEWAY_SWEEP_INTERVAL_SECONDS": "1", "PYTHONUNBUFFERED": "1"}
    tutorial = Tutorial(repo, env, port, sink_port)
    text = (DOCS / TUTORIAL).read_text(encoding="utf-8")
    assert text.count("```bash\n") == len(tutorial.blocks), "a command block is not tested"
    shots = iter(range(1, 100))

    def shot(page, name: str, full_page: bool = False) -> None:
        page.screenshot(path=str(output_dir / f"{next(shots):02d}-{name}.png"), full_page=full_page)

    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sink = None
    serve_command, proc = tutorial.start("make serve PORT=8611")
    serve = Printed(proc)
    try:
        # 1. make serve says what the tutorial shows it saying, on the served address.
        services.wait_for_port(port, timeout=120, proc=proc)
        lines = serve.until("Read it with:", timeout=60)
        expected = [tutorial.as_run_here(line) for line in printed_by_serve()]
        assert lines[-len(expected) :] == expected
        gates.record_run(LEDGER, serve_command, 0, TUTORIAL)

        # 2. The reader, through the real widget.
        page.goto("latest/quickstart/")
        form = page.locator("form.md-feedback")
        form.wait_for(state="visible")
        form.locator("button[data-md-value='0']").click()
        more = page.locator("form.tideway-more")
        more.wait_for(state="visible")
        more.get_by_label("Something is wrong").check()
        more.get_by_label("Tell us more (optional)").fill(COMMENT)
        more.get_by_label("Tell me by e-mail when this is fixed").check()
        more.get_by_label("E-mail address").fill(READER)
        shot(page, "reader-fills-the-follow-up")
        more.get_by_role("button", name="Send").click()
        more.wait_for(state="hidden")
        page.locator(".tideway-thanks").wait_for(state="visible")
        shot(page, "reader-is-thanked")

        # 3. A new address: the confirmation waits in the outbox, the acknowledgement after it.
        confirm_subject = "Confirm that you want mail about this page"
        deadline = time.monotonic() + 15
        while confirm_subject not in (waiting := tutorial.run("mail outbox")):
            assert time.monotonic() < deadline, waiting
            tutorial.done -= 1  # the widget's follow-up may still be on its way: again
            time.sleep(0.5)
        assert f"To: {READER}" in waiting, waiting
        assert "We got your feedback" not in waiting, waiting
        assert f"{base}0.1/quickstart/" in waiting and f"{base}api/v1/unsubscribe/" in waiting
        assert f"{base}api/v1/confirm/" in waiting, waiting

        # 4. The sink, then make serve again, pointed at it: the acknowledgement leaves.
        sink_command, sink_proc = tutorial.start("aiosmtpd")
        sink = Sink(sink_proc)
        services.wait_for_port(sink_port, timeout=30, proc=sink_proc)
        gates.record_run(LEDGER, sink_command, 0, TUTORIAL)
        serve.stop()
        serve_command, proc = tutorial.start("TIDEWAY_SMTP_PORT=8025 make serve PORT=8611")
        serve = Printed(proc)
        lines = serve.until("Mail:", timeout=60)
        assert "nothing rebuilt" in "\n".join(lines)
        assert lines[-1] == f"Mail: sent to 127.0.0.1:{sink_port} every 1 s."
        services.wait_for_http(f"{base}healthz", proc=proc)
        gates.record_run(LEDGER, serve_command, 0, TUTORIAL)
        confirmation = sink.wait_for(confirm_subject)
        assert confirmation["To"] == READER
        [confirm] = [link for link in links(confirmation) if "/api/v1/confirm/" in link]
        assert confirm.startswith(base), confirm
        page.goto(confirm)
        shot(page, "confirm-page")
        page.get_by_role("button", name=confirm_subject).click()
        page.get_by_role("heading", name="Confirmed").wait_for()
        ack = sink.wait_for("We got your feedback")
        assert ack["To"] == READER and ack["Date"]

        # 5. The first admin, made as the tutorial says; a reviewer made as review-tasks.md
        # shows (no password) is refused at sign-in with a sentence, not a 500.
        made = tutorial.run("users create admin", stdin=f"{PASSWORD}\n")
        assert "Created admin admin" in made
        documented = (DOCS / "concepts" / "review-tasks.md").read_text(encoding="utf-8")
        [make_ana] = re.findall(r"^flask --app feedback_api users create ana .*$", documented, re.M)
        done = subprocess.run(
            ["bash", "-c", f"{VENV_BIN}/{make_ana}"], cwd=repo, env=env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

        page.goto("dashboard/")
        page.get_by_label("Account name").fill("ana")
        page.get_by_label("Password").fill("any password at all")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Sign in").click()
        assert 400 <= answer.value.status < 500, answer.value.status
        refusal = page.get_by_role("alert").inner_text()
        assert "This account has no password yet" in refusal and "set-password ana" in refusal
        shot(page, "reviewer-without-password-refused")

        page.get_by_label("Account name").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Review queue").wait_for()
        row = page.locator("table.tasks tbody tr", has_text="Tutorial")
        # The sweep gives the task, opened before anyone could take it, to the admin.
        deadline = time.monotonic() + 20
        while "Unassigned" in row.inner_text():
            assert time.monotonic() < deadline, row.inner_text()
            time.sleep(0.5)
            page.reload()
        said = row.inner_text()
        assert "Urgent" in said and "Problem" in said and "0.1" in said, said
        assert "admin" in said, said
        shot(page, "queue-has-the-task", full_page=True)

        row.get_by_role("link").first.click()
        page.get_by_role("heading", name="What readers said (1)").wait_for()
        task_text = page.locator("main").inner_text()
        assert "urgent: signal word “leak”" in task_text, task_text
        assert COMMENT in task_text and "Something is wrong" in task_text
        shot(page, "task-says-why-urgent", full_page=True)

        # 6. Resolve it.
        version = publish.project_version(repo)
        panel = page.locator(".actions-panel")
        panel.locator("summary", has_text="Resolve").click()
        panel.get_by_label("Fixed in version").select_option(version)
        panel.get_by_label("Link to the change").fill("https://git.example.com/docs/commit/4f2e9a1")
        panel.get_by_role("button", name="Preview the reader's mail").click()
        page.locator(".mail-preview").wait_for()
        assert f"{base}{version}/quickstart/" in page.locator(".mail-preview").inner_text()
        shot(page, "resolve-preview", full_page=True)
        panel.get_by_role("button", name="Resolve", exact=True).click()
        page.get_by_text("is resolved").first.wait_for()
        shot(page, "task-resolved", full_page=True)

        # 7. The reader's mail, its links on the served address, and the way out.
        fixed = sink.wait_for("The page you told us about is fixed")
        assert fixed["To"] == READER and fixed["Date"]
        found = links(fixed)
        unsubscribe = "".join(fixed["List-Unsubscribe"].split()).strip("<>")
        assert f"{base}{version}/quickstart/" in found and unsubscribe in found
        assert "https://git.example.com/docs/commit/4f2e9a1" in found
        for link in [*found, unsubscribe]:
            if not link.startswith("https://git.example.com/"):
                assert link.startswith(base), link
                assert get(link) == 200, link
        page.goto(f"{base}{version}/quickstart/")
        shot(page, "mail-link-opens-the-page")
        page.goto(unsubscribe)
        shot(page, "unsubscribe-page")
        page.get_by_role("button", name="Stop mail to my address").click()
        page.wait_for_load_state()
        shot(page, "unsubscribed")
        page.get_by_role("heading", name="Unsubscribed").wait_for()
        assert "Your address is deleted" in page.locator("main").inner_text()

        # Under the hood: the requests the tutorial shows, on the served address.
        stored = tutorial.run("api/v1/feedback")
        assert stored.startswith("{") and '"install/"' in stored
        assert '"ready"' in tutorial.run("readyz")
        assert tutorial.done == len(tutorial.blocks), "a block of the tutorial did not run"
    finally:
        context.close()
        serve.stop()
        if sink is not None:
            sink.stop()
    assert time.monotonic() - started < 120
