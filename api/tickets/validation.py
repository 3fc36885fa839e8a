"""Validate a whole batch of snapshots before anything is written; every problem is reported at once."""

import json
from typing import Annotated, Any

import pydantic_core
from pydantic import Field, TypeAdapter, ValidationError

from api.kit.errors import BadRequest, InvalidInput, problem
from api.sla_config.store import ActiveConfig
from api.tickets.schemas import FIELD_ORDER, ID_PATTERN_MESSAGE, SnapshotIn, unknown_segment_problems

MAX_BATCH = 10_000
MAX_PROBLEMS = 100
SINGLE_SNAPSHOT = TypeAdapter(SnapshotIn)
# The length is checked as the list is read, so a huge batch is refused before its items are validated.
SNAPSHOT_LIST = TypeAdapter(Annotated[list[SnapshotIn], Field(min_length=1, max_length=MAX_BATCH)])
FIELD_TOKENS = [f'"{name}"'.encode() for name in SnapshotIn.model_fields]

BATCH_SCHEMA = {
    "oneOf": [
        {
            "type": "array",
            "items": {"$ref": "#/components/schemas/SnapshotIn"},
            "minItems": 1,
            "maxItems": MAX_BATCH,
        },
        {"$ref": "#/components/schemas/SnapshotIn"},
    ]
}


def _message(item: Any) -> str:
    if item["type"] == "string_pattern_mismatch" and item["loc"][-1:] == ("id",):
        return ID_PATTERN_MESSAGE
    return str(item["msg"]).removeprefix("Value error, ")


def _problems(error: ValidationError, prefix: list[str | int]) -> list[dict[str, Any]]:
    return [problem([*prefix, *item["loc"]], _message(item), item["type"]) for item in error.errors(include_url=False)]


def _segment_problems(items: list[Any], single: bool, active: ActiveConfig) -> list[dict[str, Any]]:
    priorities, tiers = active.config.priorities, active.config.tiers
    return [
        problem(["body", *([] if single else [index]), name], message, "value_error")
        for index, item in enumerate(items)
        for name, message in unknown_segment_problems(item, priorities, tiers)
    ]


def _in_field_order(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def position(item: dict[str, Any]) -> tuple[int, int]:
        loc = item["loc"]
        index = next((part for part in loc if isinstance(part, int)), -1)
        return index, next((FIELD_ORDER[part] for part in loc if part in FIELD_ORDER), -1)

    return sorted(problems, key=position)


def _capped(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_PROBLEMS problems, and a last entry saying how many there were in all."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    total = problem(["body"], f"{len(problems):,} problems in all; the first {MAX_PROBLEMS} are listed", "too_many")
    return [*problems[:MAX_PROBLEMS], total]


def _refusal(error: ValidationError, body: bytes, single: bool, active: ActiveConfig) -> Exception:
    """The 400 or 422 that a batch pydantic refused deserves."""
    first = error.errors(include_url=False)[0]
    if any(item["type"] == "json_invalid" for item in error.errors(include_url=False)):
        return BadRequest(f"the body is not valid JSON: {first['msg']}")
    if not single and first["loc"] == ():
        messages = {
            "list_type": "send a JSON array of snapshots or one snapshot object",
            "too_short": "the batch is empty: send 1 to 10,000 snapshots",
            "too_long": f"more than {MAX_BATCH:,} snapshots: at most {MAX_BATCH:,} per request",
        }
        if first["type"] in messages:
            return InvalidInput(detail=[problem(["body"], messages[first["type"]], first["type"])])
    # NaN, Infinity and numbers out of range are read as floats here, to say where the bad values are.
    raw = pydantic_core.from_json(body, allow_inf_nan=True)
    items = [raw] if single else raw
    unknown = _segment_problems([item if isinstance(item, dict) else {} for item in items], single, active)
    return InvalidInput(detail=_capped(_in_field_order(_problems(error, ["body"]) + unknown)))


def _repeated_key(body: bytes, snapshots: list[SnapshotIn], single: bool) -> dict[str, Any] | None:
    """The problem of an object naming a key twice (JSON keeps only the last value), if any.

    Counting the quoted field names in the raw text settles the common case at once: they match
    the fields read unless a key repeats, a value spells a field name, or keys use escapes; only
    then is the body parsed again, object by object.
    """
    present = sum(len(snapshot.model_fields_set) for snapshot in snapshots)
    if b"\\u" not in body and sum(body.count(token) for token in FIELD_TOKENS) == present:
        return None
    found: list[dict[str, Any]] = []
    index = -1

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal index
        index += 1
        names = [name for name, _ in pairs]
        repeated = next((name for name in names if names.count(name) > 1), None)
        if repeated is not None and not found:
            location: list[str | int] = ["body", repeated] if single else ["body", index, repeated]
            found.append(problem(location, f"{repeated} is given twice in one object", "repeated_key"))
        return dict(pairs)

    json.loads(body, object_pairs_hook=pairs_hook)
    return found[0] if found else None


def parse_batch(body: bytes, active: ActiveConfig) -> list[SnapshotIn]:
    """The snapshots of a request body (a JSON array, or one object), or the error naming every problem."""
    stripped = body.lstrip()
    if not stripped:
        raise BadRequest("the request body is empty: send a JSON array of snapshots or one snapshot object")
    single = stripped[:1] == b"{"
    try:
        snapshots = [SINGLE_SNAPSHOT.validate_json(body)] if single else SNAPSHOT_LIST.validate_json(body)
    except ValidationError as exc:
        raise _refusal(exc, body, single, active) from None
    repeated = _repeated_key(body, snapshots, single)
    if repeated is not None:
        raise InvalidInput(detail=[repeated])
    named = ({s.priority for s in snapshots}, {s.customer_tier for s in snapshots})
    if not (named[0] <= set(active.config.priorities) and named[1] <= set(active.config.tiers)):
        raise InvalidInput(detail=_capped(_segment_problems(snapshots, single, active)))
    return snapshots
