"""Read and validate `sla_config.yaml`, turning every problem into one readable message."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from api.sla_config.schema import SlaConfig

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 50
MAX_NODES = 100_000


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


def _measure(root: yaml.Node) -> tuple[int, int]:
    """How deep the document nests and how many nodes it has once aliases are expanded.

    Aliases make the document a graph whose expansion can be exponentially larger than its text
    (a "billion laughs"), so sizes are added up per node once, bottom-up, without recursion.
    """
    order: list[yaml.Node] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(_children(node))
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    for node in reversed(order):
        children = _children(node)
        size[id(node)] = 1 + sum(size.get(id(child), 0) for child in children)
        depth[id(node)] = 1 + max((depth.get(id(child), 0) for child in children), default=0)
        if size[id(node)] > MAX_NODES:
            return depth[id(node)], size[id(node)]
    return depth[id(root)], size[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _scan(text: str) -> None:
    """Refuse, from the parser's events alone and before anything is built, a document too long or too deep."""
    depth = 0
    for events, event in enumerate(yaml.parse(text, Loader=yaml.CSafeLoader), start=1):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(f"the document nests more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if events > MAX_NODES:
            raise ConfigError(f"the document holds more than {MAX_NODES:,} values")


def _document(text: str) -> Any:
    """The YAML document, read by the C loader, refused when it nests too deep or expands too far."""
    _scan(text)
    loader = yaml.CSafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        depth, size = _measure(node)
        if depth > MAX_DEPTH:
            raise ConfigError(f"the document nests {depth} levels deep; at most {MAX_DEPTH} are allowed")
        if size > MAX_NODES:
            raise ConfigError(f"the document expands to more than {MAX_NODES:,} values (aliases included)")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_text(text: str) -> ParsedConfig:
    """Validate the YAML text of an SLA config."""
    try:
        document = _document(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}") from exc
    try:
        config = SlaConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    except (TypeError, ValueError, RecursionError) as exc:  # a validator met a value of a shape it does not expect
        raise ConfigError(f"the config cannot be read: {exc}") from exc
    return ParsedConfig(config=config, content_hash=fingerprint(config))


def parse_bytes(raw: bytes, name: str = "the config") -> ParsedConfig:
    """Validate a config given as bytes: at most 1 MiB of UTF-8 YAML."""
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"{name} is over {MAX_FILE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name} is not UTF-8: byte {exc.start} cannot be read") from exc
    return parse_text(text)


def load_file(path: Path) -> ParsedConfig:
    """Read and validate the SLA config file at `path`: at most 1 MiB of UTF-8 YAML."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_bytes(raw, str(path))
