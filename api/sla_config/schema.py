"""The SLA configuration: targets per priority and customer tier, plus optional settings.

Two forms are accepted. The seed form maps priority -> tier -> {response, resolution} in seconds.
The extended form adds `alert_threshold` and `pause_statuses` beside the priorities, and lets
durations be written as "2h", "30m" or "1h30m" as well as seconds.
"""

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from api.kit.statuses import PAUSABLE_STATUSES
from api.sla_config.calendars import ALWAYS_OPEN_NAME, Calendar, Calendars, calendar_named
from api.sla_config.durations import Duration
from api.sla_config.notifications import Destination, DestinationName

ClockName = Literal["response", "resolution"]

# Top-level names that are settings, never priorities.
SETTING_KEYS: Final = frozenset({"alert_threshold", "pause_statuses", "notifications", "calendars", "calendar"})


@dataclass(frozen=True, slots=True)
class ClockTarget:
    """A target and the elapsed time at which its alert falls due, in microseconds."""

    target_us: int
    alert_us: int
    calendar: str = ALWAYS_OPEN_NAME

    @property
    def target_seconds(self) -> int:
        """The target in whole seconds."""
        return self.target_us // 1_000_000


def clock_target(seconds: int, alert_threshold: float, calendar: str = ALWAYS_OPEN_NAME) -> ClockTarget:
    """Build a target, counted in `calendar`, whose alert falls due when `alert_threshold` of it is left."""
    target_us = seconds * 1_000_000
    return ClockTarget(
        target_us=target_us, alert_us=target_us - math.floor(alert_threshold * target_us), calendar=calendar
    )


class TargetPair(BaseModel):
    """The response and resolution targets of one priority x tier, in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    response: Duration
    resolution: Duration
    calendar: str | None = Field(default=None, description="the calendar both clocks count in; none: the default")


class SlaConfig(BaseModel):
    """A validated, immutable SLA configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: dict[str, dict[str, TargetPair]]
    alert_threshold: float = Field(default=0.15, ge=0.0, le=1.0)
    pause_statuses: frozenset[str] = frozenset({"pending"})
    notifications: dict[DestinationName, Destination] = Field(default_factory=dict)
    calendars: Calendars = Field(default_factory=dict)
    calendar: str = ALWAYS_OPEN_NAME

    @cached_property
    def clock_targets(self) -> dict[tuple[str, str, str], ClockTarget]:
        """Every clock target by (priority, tier, clock), computed once; ingestion reads it per ticket."""
        return {
            (priority, tier, clock): clock_target(
                getattr(pair, clock), self.alert_threshold, pair.calendar or self.calendar
            )
            for priority, by_tier in self.targets.items()
            for tier, pair in by_tier.items()
            for clock in ("response", "resolution")
        }

    def calendar_of(self, priority: str, tier: str) -> Calendar:
        """The calendar the clocks of a priority x tier count in."""
        return calendar_named(self.calendars, self.targets[priority][tier].calendar or self.calendar)

    @model_validator(mode="before")
    @classmethod
    def _split_settings_from_priorities(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("the SLA config must be a mapping of priority -> tier -> targets")
        if "targets" in data and isinstance(data.get("targets"), dict):
            return data
        settings = {key: value for key, value in data.items() if key in SETTING_KEYS}
        priorities = {key: value for key, value in data.items() if key not in SETTING_KEYS}
        return {**settings, "targets": priorities}

    @field_validator("targets")
    @classmethod
    def _complete_matrix(cls, targets: dict[str, dict[str, TargetPair]]) -> dict[str, dict[str, TargetPair]]:
        if not targets:
            raise ValueError("at least one priority is required")
        tiers = {tier for by_tier in targets.values() for tier in by_tier}
        for priority, by_tier in targets.items():
            if not by_tier:
                raise ValueError(f"priority {priority!r} names no customer tier")
            missing = sorted(tiers - by_tier.keys())
            if missing:
                raise ValueError(f"priority {priority!r} lacks targets for tier(s) {', '.join(missing)}")
        return targets

    @field_validator("alert_threshold", mode="before")
    @classmethod
    def _threshold_is_a_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("alert_threshold is a number between 0 and 1, such as 0.15")
        return value

    @field_validator("pause_statuses", mode="before")
    @classmethod
    def _known_pause_statuses(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple | set | frozenset) or not all(isinstance(item, str) for item in value):
            raise ValueError("pause_statuses is a list of statuses")
        unknown = sorted(str(status) for status in value if status not in PAUSABLE_STATUSES)
        if unknown:
            allowed = ", ".join(sorted(PAUSABLE_STATUSES))
            raise ValueError(f"cannot pause on {', '.join(unknown)}; pausable statuses are {allowed}")
        return frozenset(value)

    @model_validator(mode="after")
    def _calendars_are_defined(self) -> "SlaConfig":
        known = {ALWAYS_OPEN_NAME, *self.calendars}
        named = {"calendar": self.calendar} | {
            f"{priority}.{tier}.calendar": pair.calendar
            for priority, by_tier in self.targets.items()
            for tier, pair in by_tier.items()
            if pair.calendar is not None
        }
        for where, name in named.items():
            if name not in known:
                raise ValueError(
                    f"{where} names calendar {name!r}, which is not defined; calendars: {', '.join(sorted(known))}"
                )
        return self

    @model_validator(mode="after")
    def _filters_name_known_segments(self) -> "SlaConfig":
        for name, destination in self.notifications.items():
            for label, named, known in (
                ("priorities", destination.priorities, self.priorities),
                ("tiers", destination.tiers, self.tiers),
            ):
                unknown = sorted(set(named or ()) - set(known))
                if unknown:
                    raise ValueError(
                        f"notifications.{name}.{label} names {', '.join(unknown)}, which the config does not define"
                    )
        return self

    @property
    def priorities(self) -> list[str]:
        """Priority names in file order."""
        return list(self.targets)

    @property
    def tiers(self) -> list[str]:
        """Customer tier names in file order."""
        return list(next(iter(self.targets.values())))

    def target(self, priority: str, tier: str, clock: ClockName) -> ClockTarget:
        """The target of one clock for a priority x tier."""
        return self.clock_targets[(priority, tier, clock)]

    def as_document(self) -> dict[str, Any]:
        """The config in its extended form, as stored and served."""
        return {
            "alert_threshold": self.alert_threshold,
            "pause_statuses": sorted(self.pause_statuses),
            "notifications": {
                name: destination.model_dump(mode="json") for name, destination in self.notifications.items()
            },
            "calendars": {name: calendar.as_document() for name, calendar in self.calendars.items()},
            "calendar": self.calendar,
            "targets": {
                priority: {tier: pair.model_dump(exclude_none=True) for tier, pair in by_tier.items()}
                for priority, by_tier in self.targets.items()
            },
        }
