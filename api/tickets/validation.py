"""Validate a whole batch of snapshots before anything is written; every problem is reported at once."""

from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from api.kit.errors import BadRequest, InvalidInput, problem
from api.sla_config.store import ActiveConfig
from api.tickets.schemas import FIELD_ORDER, ID_PATTERN_MESSAGE, SnapshotIn, unknown_segment_problems

MAX_BATCH = 10_000
SINGLE_SNAPSHOT = TypeAdapter(SnapshotIn)
SNAPSHOT_LIST = TypeAdapter(list[SnapshotIn])

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


def parse_batch(body: bytes, active: ActiveConfig) -> list[SnapshotIn]:
    """The snapshots of a request body (a JSON array, or one object), or the error naming every problem."""
    stripped = body.lstrip()
    if not stripped:
        raise BadRequest("the request body is empty: send a JSON array of snapshots or one snapshot object")
    single = stripped[:1] == b"{"
    try:
        snapshots = [SINGLE_SNAPSHOT.validate_json(body)] if single else SNAPSHOT_LIST.validate_json(body)
    except ValidationError as exc:
        if any(item["type"] == "json_invalid" for item in exc.errors()):
            reason = exc.errors()[0]["msg"]
            raise BadRequest(f"the body is not valid JSON: {reason}") from None
        if not single and exc.errors()[0]["type"] == "list_type":
            raise InvalidInput(
                detail=[problem(["body"], "send a JSON array of snapshots or one snapshot object", "type_error")]
            ) from None
        raw = orjson.loads(body)
        items = [raw] if single else raw
        unknown = _segment_problems([item if isinstance(item, dict) else {} for item in items], single, active)
        raise InvalidInput(detail=_in_field_order(_problems(exc, ["body"]) + unknown)) from None
    named = ({s.priority for s in snapshots}, {s.customer_tier for s in snapshots})
    if not (named[0] <= set(active.config.priorities) and named[1] <= set(active.config.tiers)):
        raise InvalidInput(detail=_segment_problems(snapshots, single, active))
    if not snapshots:
        raise InvalidInput(detail=[problem(["body"], "the batch is empty: send 1 to 10,000 snapshots", "too_short")])
    if len(snapshots) > MAX_BATCH:
        raise InvalidInput(
            detail=[problem(["body"], f"{len(snapshots)} snapshots: at most {MAX_BATCH:,} per request", "too_long")]
        )
    return snapshots
