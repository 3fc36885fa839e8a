"""Shared helpers of the SLA config tests: edited configs and a watched store."""

from collections.abc import Iterator

import pytest

from api.sla_config.store import ConfigStore
from api.sla_config.watcher import ConfigWatcher


@pytest.fixture
def watched(config_store: ConfigStore) -> Iterator[ConfigStore]:
    watcher = ConfigWatcher(config_store)
    watcher.start()
    yield config_store
    watcher.stop()
