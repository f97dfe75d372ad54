"""Request and response models: one schema validates the input and documents the API.

The OpenAPI document (openapi.py) and the API reference page are generated from these
models, so a rule written here is a rule documented there.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    model_validator,
)

from feedback_api.http.body import FieldProblem

COMMENT_MAX = 2000
SELECTION_MAX = 500
REASONS_MAX = 6
# How long after the POST its amend token may add details (PATCH /api/v1/feedback/{id}).
AMEND_WINDOW = timedelta(minutes=30)

# C0 controls and DEL, and the C1 block; newline and tab are allowed in free text only.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# RFC 5646 language tag, the common shapes: language[-script][-region][-variant]*.
_BCP47 = re.compile(
    r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$"
)


def _page_path(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    if _SCHEME.match(value) or value.startswith(("/", "\\")) or "\\" in value or "//" in value:
        raise ValueError("must be a path within the version, like quickstart/")
    if any(part in (".", "..") for part in value.split("/")):
        raise ValueError("must not contain . or .. segments")
    if "?" in value or "#" in value:
        raise ValueError("must not contain a query or a fragment")
    return value


def _free_text(limit: int):
    def normalise(value: str) -> str | None:
        value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
        if _CONTROL_IN_TEXT.search(value):
            raise ValueError("must not contain control characters other than newline and tab")
        value = value.strip()
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters (got {len(value)})")
        return value or None

    return normalise


def _email(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain line breaks")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def _locale(value: str) -> str:
    if not _BCP47.match(value):
        raise ValueError("must be a BCP 47 language tag such as en, zh-Hans or pt-BR")
    return value


PagePath = Annotated[
    str,
    Field(
        max_length=512,
        description="The page's URL path within its version, as MkDocs gives it in `page.url` "
        '(`""` for the home page, `quickstart/`). Must be a page the published site has in '
        "that version.",
        examples=["quickstart/"],
    ),
    AfterValidator(_page_path),
]
VersionName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="A published mike version or alias (`latest`); the stored value is the "
        "version's name.",
        examples=["0.1"],
    ),
]
IdempotencyKey = Annotated[
    str,
    Field(
        min_length=16,
        max_length=100,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Client-chosen key (a UUID is fine); a replay with it stores nothing new. "
        "May be sent as the `Idempotency-Key` header instead.",
    ),
]
Comment = Annotated[
    str,
    Field(
        max_length=COMMENT_MAX * 2,  # a hard cap before normalisation; the rule is below
        description=f"What the reader wrote: at most {COMMENT_MAX} characters after "
        "normalisation (NFC, line breaks as `\\n`, trimmed); control characters other than "
        "newline and tab are refused.",
    ),
    AfterValidator(_free_text(COMMENT_MAX)),
]
Selection = Annotated[
    str,
    Field(
        max_length=SELECTION_MAX * 2,
        description=f"The passage the reader selected, at most {SELECTION_MAX} characters "
        "after normalisation.",
    ),
    AfterValidator(_free_text(SELECTION_MAX)),
]
Anchor = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\s\x00-\x1f\x7f#<>\"']+$",
        description="The id of the heading nearest to the selection (only with `selection`).",
    ),
]
ReasonCode = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
Reasons = Annotated[
    list[ReasonCode],
    Field(
        max_length=REASONS_MAX,
        description=f"At most {REASONS_MAX} distinct reason codes; the allowed codes depend on "
        "the rating (`TIDEWAY_REASONS_HELPFUL`, `TIDEWAY_REASONS_NOT_HELPFUL`).",
    ),
]
Email = Annotated[
    str,
    Field(
        max_length=320,
        description="Where to tell the reader that the page was fixed; kept only when "
        "`notify` is true.",
    ),
    AfterValidator(_email),
]
Locale = Annotated[
    str,
    Field(max_length=35, description="The reader's language, a BCP 47 tag."),
    AfterValidator(_locale),
]
Notify = Annotated[
    StrictBool,
    Field(description="The reader's consent to be told by e-mail when the page is fixed."),
]


class _Details(BaseModel):
    """Fields a reader may give with the rating, or add later with PATCH."""

    model_config = ConfigDict(extra="forbid")

    reasons: Reasons | None = None
    comment: Comment | None = None
    selection: Selection | None = None
    anchor: Anchor | None = None
    email: Email | None = None
    notify: Notify | None = None
    locale: Locale | None = None

    @model_validator(mode="after")
    def _consistent(self):
        if self.reasons is not None and len(set(self.reasons)) != len(self.reasons):
            raise FieldProblem("reasons", "reasons must not repeat a code")
        if self.anchor is not None and self.selection is None:
            raise FieldProblem("anchor", "anchor is only allowed with a selection")
        if self.notify and not self.email:
            raise FieldProblem("email", "notify needs an email address")
        return self

    def stored_details(self) -> dict:
        """The details as the store keeps them: the address only with consent."""
        details = self.model_dump(include=set(_Details.model_fields))
        details["reasons"] = details["reasons"] or []
        details["notify"] = bool(details["notify"])
        if not details["notify"]:
            details["email"] = None
        return details


def check_reasons(reasons: list[str] | None, rating: int, info_or_sets) -> None:
    """Reasons must come from the set for the rating (a different set for 1 and 0)."""
    if not reasons:
        return
    allowed = info_or_sets[rating]
    unknown = [r for r in reasons if r not in allowed]
    if unknown:
        label = "helpful" if rating == 1 else "not helpful"
        raise FieldProblem(
            "reasons",
            f"unknown reason(s) for a {label} rating: {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed)}",
        )


class FeedbackIn(_Details):
    """A reader's answer to "Was this page helpful?"."""

    page: PagePath
    version: VersionName
    rating: Annotated[StrictInt, Field(ge=0, le=1, description="`1` helpful, `0` not helpful.")]
    idempotency_key: IdempotencyKey | None = None

    @model_validator(mode="after")
    def _reasons_for_rating(self, info: ValidationInfo):
        if info.context and "reasons" in info.context:
            check_reasons(self.reasons, self.rating, info.context["reasons"])
        return self


class FeedbackAmend(_Details):
    """Details added to a rating recorded a moment before (within the amend window)."""

    @model_validator(mode="after")
    def _not_empty(self):
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self

    def applied_to(self, stored: FeedbackIn, reasons: dict[int, list[str]]) -> FeedbackIn:
        """The submission with these changes, checked by the same rules as a new one (new
        reasons against today's sets; stored ones were checked when they came)."""
        merged = stored.model_dump() | self.model_dump(exclude_unset=True)
        context = {"reasons": reasons} if "reasons" in self.model_fields_set else None
        return FeedbackIn.model_validate(merged, context=context)


class FeedbackOut(BaseModel):
    """The stored submission's public view."""

    id: int = Field(description="The submission's id.")
    page: str = Field(description="The page, as stored.")
    version: str = Field(description="The version's name (an alias is resolved).")
    rating: Literal[0, 1] = Field(description="The rating.")
    reasons: list[str] = Field(default_factory=list, description="The reasons given.")
    created_at: datetime = Field(description="When it was stored (UTC).")
    task_id: int | None = Field(
        None,
        description="The review task it is on, if any, once routed. Routing follows the "
        "acknowledgement, so the answer to a new submission's POST normally has `null`; a "
        "reviewer sees the task moments later (`GET /api/v1/tasks`), and a replay or an "
        "amend answers the task the submission is on by then.",
    )
    amend_token: str | None = Field(
        None,
        description="Bearer token for `PATCH /api/v1/feedback/{id}` during the amend window; "
        "only in answers to the POST.",
    )
    amend_until: datetime | None = Field(
        None,
        description="When the amend window closes "
        f"({int(AMEND_WINDOW.total_seconds() // 60)} minutes after `created_at`); only in "
        "answers to the POST.",
    )


class ErrorDetail(BaseModel):
    field: str = Field(description="The field, dotted for nested ones, or `(body)`.")
    problem: str = Field(description="What was wrong with it.")


class ErrorBody(BaseModel):
    code: str = Field(description="Machine-readable error code (see the table of codes).")
    message: str = Field(description="A sentence for a person.")
    details: list[ErrorDetail] | None = Field(None, description="For validation errors.")


class ErrorResponse(BaseModel):
    """Every error on an `/api/` path has this shape."""

    error: ErrorBody
