"""Wires review work into the app: the triage policy and owners, the ingest hook that puts
feedback on tasks, and the reviewer and unsubscribe blueprints."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from feedback_api.ingest.catalog import CatalogUnavailable

from . import notify
from .core.policy import OwnerRule, TriagePolicy, load_owners, load_policy
from .intake import IntakeContext, attach_amended, attach_rows


@dataclass
class ReviewContext:
    policy: TriagePolicy
    owners: list[OwnerRule]
    intake: IntakeContext

    def published_versions(self) -> list[str]:
        """Version names and aliases of the published site; empty when it cannot be read."""
        catalog = self.intake.catalog
        try:
            entries = catalog.versions() if catalog is not None else []
        except CatalogUnavailable:
            return []
        return [name for e in entries for name in (e["version"], *e.get("aliases", []))]

    def attach_amended(self, conn, row: dict) -> int | None:
        """The ingest's hook for an amended submission: the task it is (now) on."""
        return attach_amended(self.intake, conn, row)

    def team_of(self, version: str, page: str) -> str:
        """The team a page belongs to by front matter, owners file or default (for reports)."""
        return self.intake.team_of(version, page)


def init_review(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    policy = load_policy(settings.triage_policy_file)
    owners = load_owners(settings.owners_file)
    intake = IntakeContext(
        policy=policy,
        owners=owners,
        default_team=settings.default_team,
        catalog=app.extensions["catalog"],
        mail=notify.ReaderMail.from_settings(settings, app.config["SECRET"]),
    )
    app.extensions["review"] = ReviewContext(policy, owners, intake)
    app.extensions["group_commit"].on_batch = lambda conn, rows: attach_rows(intake, conn, rows)

    from . import api, unsubscribe

    app.register_blueprint(api.bp)
    app.register_blueprint(unsubscribe.bp)
