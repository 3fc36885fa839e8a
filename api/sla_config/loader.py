"""Read and validate `sla_config.yaml`, turning every problem into one readable message."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from api.sla_config.schema import SlaConfig


class ConfigError(Exception):
    """The SLA config file cannot be read or is not valid."""


@dataclass(frozen=True, slots=True)
class ParsedConfig:
    """A valid config and the fingerprint of its meaning."""

    config: SlaConfig
    content_hash: str


def fingerprint(config: SlaConfig) -> str:
    """A stable hash of what the config means, blind to comments and key order."""
    canonical = json.dumps(config.as_document(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"] if part != "targets")
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{location}: {message}" if location else message)
    return "; ".join(problems)


def parse_text(text: str) -> ParsedConfig:
    """Validate the YAML text of an SLA config."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}") from exc
    try:
        config = SlaConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    return ParsedConfig(config=config, content_hash=fingerprint(config))


def load_file(path: Path) -> ParsedConfig:
    """Read and validate the SLA config file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_text(text)
