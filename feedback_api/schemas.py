"""Request and response models: one schema validates the input and documents the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

IdempotencyKey = Annotated[
    str,
    Field(
        min_length=16,
        max_length=100,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Client-chosen key (a UUID is fine); a replay with it stores nothing new.",
    ),
]


class FeedbackIn(BaseModel):
    """A reader's answer to "Was this page helpful?"."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    page: str = Field(
        max_length=512,
        description="The page's URL path within its version, as MkDocs gives it in `page.url` "
        '(`""` for the home page).',
    )
    version: str = Field(
        min_length=1, max_length=64, description="The mike version the reader was reading."
    )
    rating: Annotated[StrictInt, Field(ge=0, le=1)] = Field(
        description="`1` helpful, `0` not helpful."
    )
    comment: str | None = Field(None, max_length=2000, description="What the reader wrote.")
    idempotency_key: IdempotencyKey


class FeedbackOut(BaseModel):
    """The stored submission's public view."""

    id: int
    page: str
    version: str
    rating: Literal[0, 1]
    created_at: datetime
    task_id: int | None = Field(None, description="The review task it landed on, if any.")
