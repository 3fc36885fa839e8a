"""Query parameters that name priorities or tiers must name ones the config in force defines."""

from collections.abc import Sequence

from api.kit.errors import InvalidInput, problem
from api.sla_config.store import ActiveConfig


def check_segments(active: ActiveConfig, *, priority: Sequence[str] = (), customer_tier: Sequence[str] = ()) -> None:
    """A 422 naming the parameter when a filter names a priority or tier the config does not define."""
    problems = []
    for name, values, known in (
        ("priority", priority, active.config.priorities),
        ("customer_tier", customer_tier, active.config.tiers),
    ):
        unknown = [value for value in values if value not in known]
        if unknown:
            message = (
                f"unknown {name.replace('_', ' ')} {', '.join(map(repr, unknown))}; the config names {', '.join(known)}"
            )
            problems.append(problem(["query", name], message, "value_error"))
    if problems:
        raise InvalidInput(detail=problems)
