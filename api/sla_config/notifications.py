"""The `notifications:` section of the SLA config: where events go, and which ones.

A destination's signing secret is never in the file: `secret_env` names the environment variable
holding it, and only that name is stored or shown.
"""

import os
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

import apprise
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from standardwebhooks import Webhook

from api.sla_config.durations import parse_duration

Format = Literal["webhook", "slack", "apprise"]
Kind = Literal["alert", "breach"]
ClockFilter = Literal["response", "resolution"]

DEFAULT_RETRIES: Final = (5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400)
MAX_RETRIES: Final = 20
MAX_RETRY_WAIT_SECONDS: Final = 7 * 86_400


def _as_tuple(value: Any) -> Any:
    """A single filter value is a list of one."""
    return (value,) if isinstance(value, str) else value


Filter = Annotated[tuple[str, ...] | None, BeforeValidator(_as_tuple)]


def redact_url(url: str) -> str:
    """A URL with only its scheme and host: paths, queries and user info often carry tokens."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}/…" if parts.scheme else "…"


class Destination(BaseModel):
    """One receiver of SLA events and the filters that pick its events (each defaults to all)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    format: Format = "webhook"
    secret_env: str | None = None
    kinds: tuple[Kind, ...] | None = None
    clocks: tuple[ClockFilter, ...] | None = None
    priorities: Filter = None
    tiers: Filter = None
    retries: tuple[int, ...] = DEFAULT_RETRIES

    @field_validator("kinds", "clocks", mode="before")
    @classmethod
    def _single_value(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("retries", mode="before")
    @classmethod
    def _retry_waits(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise ValueError("retries is a list of waits such as [5s, 5m, 1h]")
        if len(value) > MAX_RETRIES:
            raise ValueError(f"at most {MAX_RETRIES} retries")
        waits = tuple(parse_duration(item) for item in value)
        if any(wait <= 0 or wait > MAX_RETRY_WAIT_SECONDS for wait in waits):
            raise ValueError("each wait is more than 0 seconds and at most 7 days")
        return waits

    @model_validator(mode="after")
    def _reachable_and_signed(self) -> "Destination":
        if self.format == "apprise":
            if not apprise.Apprise().add(self.url):
                raise ValueError("url is not an Apprise URL this service can send to (mailto://, msteams://, ...)")
        else:
            parts = urlsplit(self.url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ValueError(f"url must be an http:// or https:// URL, not {redact_url(self.url)}")
        if self.secret_env is not None:
            if self.format != "webhook":
                raise ValueError("secret_env signs webhooks only")
            secret = os.environ.get(self.secret_env)
            if not secret:
                raise ValueError(f"secret_env names {self.secret_env}, which is not set in the environment")
            try:
                Webhook(secret)
            except Exception:  # the library's errors may quote the secret: say only what is wrong
                raise ValueError(f"{self.secret_env} is not a signing secret (whsec_ followed by base64)") from None
        return self

    def secret(self) -> str | None:
        """The signing secret, read from the environment at the moment it is needed."""
        return os.environ.get(self.secret_env) if self.secret_env else None

    def matches(self, *, kind: str, clock: str, priority: str, customer_tier: str) -> bool:
        """Whether an event passes this destination's filters."""
        return all(
            allowed is None or value in allowed
            for allowed, value in (
                (self.kinds, kind),
                (self.clocks, clock),
                (self.priorities, priority),
                (self.tiers, customer_tier),
            )
        )

    def filter_document(self, name: str) -> dict[str, Any]:
        """The filters as the evaluation pass matches them in SQL (null means all)."""
        return {
            "name": name,
            "kinds": self.kinds,
            "clocks": self.clocks,
            "priorities": self.priorities,
            "tiers": self.tiers,
        }

    def public(self) -> dict[str, Any]:
        """What may be shown of the destination: its URL redacted, its secret only by variable name."""
        return {**self.model_dump(mode="json"), "url": redact_url(self.url)}


DestinationName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
