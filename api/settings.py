"""Environment settings of the service, read once through `get_settings()`.

These are process settings (where the database is, where the SLA file is); the SLA targets
themselves live in the SLA config file and are reloaded while the service runs.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A key of the environment must be as hard to guess as one the service makes (sla_ and 43 characters).
MIN_KEY_LENGTH = 32


class Settings(BaseSettings):
    """Settings taken from environment variables (and an optional `.env` file)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql://user:password@host:port/db; unset starts the embedded PostgreSQL",
    )
    sla_config_path: Path = Field(default=Path("sla_config.yaml"), description="the SLA config file, watched")
    sla_sweep_interval_seconds: float = Field(default=60.0, gt=0, description="period of the safety-net pass")
    sla_config_polling: bool = Field(default=False, description="poll the config file instead of inotify")
    sla_data_dir: Path = Field(default=Path(".sla-data"), description="folder of the embedded PostgreSQL data")
    sla_evaluator_enabled: bool = Field(default=True, description="run the evaluator in this process")
    sla_max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0, description="largest accepted request body")
    sla_body_memory_budget_bytes: int = Field(
        default=96 * 1024 * 1024, gt=0, description="request bodies held at once; past it requests get 503"
    )
    sla_leader_retry_seconds: float = Field(default=1.0, gt=0, description="how often a standby tries to lead")
    sla_notifications_enabled: bool = Field(default=True, description="run the notification delivery worker")
    sla_notification_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="how long one delivery attempt may take"
    )
    sla_dashboard_url: str | None = Field(default=None, description="the dashboard's address, for links in messages")
    sla_auth: Literal["on", "off"] = Field(default="on", description="off: no key needed, for a trusted network")
    sla_admin_key: SecretStr | None = Field(default=None, description="a key with every scope, named admin")
    sla_dashboard_key: SecretStr | None = Field(default=None, description="the dashboard's key, named dashboard")
    sla_log_format: Literal["text", "json"] = Field(default="text", description="json: one JSON object a line")

    @field_validator("sla_admin_key", "sla_dashboard_key")
    @classmethod
    def _strong_key(cls, key: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """Refuse a key anyone could guess, such as the placeholder of .env.example."""
        if key is None:
            return None
        value = key.get_secret_value()
        if len(value) < MIN_KEY_LENGTH or "change-me" in value:
            name = (info.field_name or "key").upper()
            raise ValueError(
                f"{name} is a placeholder or shorter than {MIN_KEY_LENGTH} characters; make one with "
                "python3 -c \"import secrets; print('sla_' + secrets.token_urlsafe(32))\""
            )
        return key


@lru_cache
def get_settings() -> Settings:
    """The settings of this process."""
    return Settings()
