"""Durations as the config writes them: whole seconds, or strings like "2h", "30m", "1h30m", "1d"."""

import re
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Field

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")
_UNIT_SECONDS: Final = (86_400, 3_600, 60, 1)


def parse_duration(value: Any) -> int:
    """Turn 900, "900", "15m" or "1h30m" into whole seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '2h' or '30m'")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        match = _DURATION.match(text)
        if match and any(match.groups()):
            return sum(int(part) * unit for part, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if part)
    raise ValueError(f"{value!r} is not a duration: use whole seconds or a string like '2h', '30m', '1h30m'")


MAX_TARGET_SECONDS: Final = 365 * 86_400

# A target: positive and at most 365 days, so every deadline stays within the instants the service stores.
Duration = Annotated[int, BeforeValidator(parse_duration), Field(gt=0, le=MAX_TARGET_SECONDS)]
