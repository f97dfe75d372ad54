"""Row ids as they arrive from outside: URL segments, JSON bodies and form fields.

Every id column is an `Integer`: 32 bits on PostgreSQL, and SQLite raises `OverflowError`
past 64. An id beyond `MAX_ID` can name no row, so it is "no such thing" (404 in a URL,
422 in a body), decided here once instead of at each query.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() also takes "²"

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in every route of the app: a number past MAX_ID matches no route (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_id(raw: object) -> int | None:
    """A form field's id, or None if it is not one (not digits, zero, or out of range)."""
    text = str(raw if raw is not None else "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
