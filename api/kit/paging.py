"""Opaque keyset cursors: the sort key of the last item of a page, encoded."""

import base64
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from api.kit.errors import InvalidInput, problem


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor from the sort key of the last item of a page."""
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode()


def invalid_cursor() -> InvalidInput:
    """The 422 for a cursor this API did not make."""
    return InvalidInput(detail=[problem(["query", "cursor"], "not a cursor returned by this API", "cursor")])


MAX_ID = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _valid_id(value: Any) -> bool:
    """A ticket id (a string as ids are) or a row id (an integer PostgreSQL's bigint holds)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= MAX_ID
    return isinstance(value, str) and len(value) <= 200 and not _CONTROL.search(value)


def decode_cursor(cursor: str) -> tuple[datetime | None, Any]:
    """The (instant, id) sort key inside a cursor, or a 422 naming the cursor parameter."""
    try:
        instant_text, last_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        instant = None if instant_text is None else datetime.fromisoformat(instant_text)
        if not _valid_id(last_id) or (instant is not None and instant.tzinfo is None):
            raise ValueError(cursor)
    except (ValueError, TypeError, OverflowError):
        raise invalid_cursor() from None
    return instant, last_id
