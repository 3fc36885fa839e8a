"""Hot reload of sla_config.yaml: valid edits apply within about a second, invalid ones never do."""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.sla_config.loader import ConfigError, parse_text
from api.sla_config.store import ConfigStore
from api.sla_config.watcher import ConfigWatcher
from tests.builders import wait_for
from tests.conftest import SEED_CONFIG

EDITED = SEED_CONFIG.replace("{response: 900,  resolution: 10800}", "{response: 600,  resolution: 7200}")
EXTENDED = """
alert_threshold: 0.25
pause_statuses: [pending, open]
low:
  silver: {response: 2h, resolution: 1d}
  gold:   {response: 1h, resolution: 12h}
high:
  silver: {response: 30m, resolution: 6h}
  gold:   {response: 15m, resolution: 3h}
"""


@pytest.fixture
def watched(config_store: ConfigStore) -> Iterator[ConfigStore]:
    watcher = ConfigWatcher(config_store)
    watcher.start()
    yield config_store
    watcher.stop()


def high_gold_response(store: ConfigStore) -> int:
    return store.active.config.targets["high"]["gold"].response


def test_the_seed_form_and_the_extended_form_mean_what_they_say() -> None:
    seed = parse_text(SEED_CONFIG).config
    extended = parse_text(EXTENDED).config

    assert seed.targets["low"]["silver"].resolution == 86_400
    assert (seed.alert_threshold, seed.pause_statuses) == (0.15, frozenset({"pending"}))
    assert extended.targets["high"]["gold"].response == 900
    assert extended.targets["low"]["silver"].resolution == 86_400
    assert (extended.alert_threshold, extended.pause_statuses) == (0.25, frozenset({"pending", "open"}))
    assert parse_text(str(extended.as_document()).replace("'", '"')).config == extended


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("low: [", "invalid YAML", id="bad-yaml"),
        pytest.param(
            SEED_CONFIG + "\n  platinum: {response: 1, resolution: 2, escalate: 3}", "escalate", id="unknown-key"
        ),
        pytest.param(SEED_CONFIG.replace("response: 900", "response: -900"), "greater than 0", id="negative-target"),
        pytest.param("alert_threshold: 1.5\n" + SEED_CONFIG, "alert_threshold", id="threshold-above-1"),
        pytest.param("alert_threshold: -0.1\n" + SEED_CONFIG, "alert_threshold", id="threshold-below-0"),
        pytest.param(SEED_CONFIG.replace("response: 900", "response: soon"), "not a duration", id="bad-duration"),
        pytest.param(SEED_CONFIG + "urgent: 5\n", "urgent", id="priority-not-a-mapping"),
        pytest.param("pause_statuses: [closed]\n" + SEED_CONFIG, "cannot pause", id="pause-on-closed"),
        pytest.param(
            "low:\n  silver: {response: 1, resolution: 2}\nhigh:\n  gold: {response: 1, resolution: 2}\n",
            "lacks targets",
            id="incomplete-matrix",
        ),
        pytest.param("", "mapping", id="empty-file"),
    ],
)
def test_an_invalid_file_is_refused_with_a_readable_reason(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_text(text)


def test_a_saved_edit_is_in_force_within_about_a_second(watched: ConfigStore) -> None:
    version = watched.active.version

    watched.path.write_text(EDITED)

    took = wait_for(lambda: high_gold_response(watched) == 600)
    assert took < 1.5
    assert watched.active.version == version + 1
    assert watched.last_error is None


def test_an_editor_save_by_rename_is_seen(watched: ConfigStore) -> None:
    temporary = watched.path.with_name(".sla_config.yaml.swp")
    temporary.write_text(EDITED)
    os.replace(temporary, watched.path)

    wait_for(lambda: high_gold_response(watched) == 600)


def test_a_kubernetes_style_symlink_swap_is_seen(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    mount = tmp_path / "mount"
    (mount / "..v1").mkdir(parents=True)
    (mount / "..v1" / "sla_config.yaml").write_text(SEED_CONFIG)
    (mount / "..data").symlink_to("..v1")
    (mount / "sla_config.yaml").symlink_to("..data/sla_config.yaml")
    store = ConfigStore(path=mount / "sla_config.yaml", sessions=sessions)
    store.load_initial()
    watcher = ConfigWatcher(store)
    watcher.start()
    try:
        (mount / "..v2").mkdir()
        (mount / "..v2" / "sla_config.yaml").write_text(EDITED)
        (mount / "..data_tmp").symlink_to("..v2")
        os.replace(mount / "..data_tmp", mount / "..data")

        wait_for(lambda: high_gold_response(store) == 600)
    finally:
        watcher.stop()


def test_a_polling_watcher_sees_edits_too(config_store: ConfigStore) -> None:
    watcher = ConfigWatcher(config_store, polling=True)
    watcher.start()
    try:
        time.sleep(0.1)
        config_store.path.write_text(EDITED)
        wait_for(lambda: high_gold_response(config_store) == 600)
    finally:
        watcher.stop()


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param("low: [", id="bad-yaml"),
        pytest.param(SEED_CONFIG.replace("resolution: 10800", "resolution: 10800, escalation: 60"), id="unknown-key"),
        pytest.param(SEED_CONFIG.replace("response: 900", "response: -1"), id="negative-target"),
        pytest.param("alert_threshold: 2\n" + SEED_CONFIG, id="threshold-outside-0-1"),
    ],
)
def test_an_invalid_edit_keeps_the_last_good_config_and_reports_why(watched: ConfigStore, broken: str) -> None:
    watched.path.write_text(EDITED)
    wait_for(lambda: high_gold_response(watched) == 600)
    good_version = watched.active.version

    watched.path.write_text(broken)

    wait_for(lambda: watched.last_error is not None)
    assert high_gold_response(watched) == 600
    assert watched.active.version == good_version

    watched.path.write_text(SEED_CONFIG)
    wait_for(lambda: watched.last_error is None and high_gold_response(watched) == 900)
    assert watched.active.version == good_version + 1


def test_get_config_shows_the_version_in_force_and_the_last_error(client: TestClient, config_path: Path) -> None:
    before = client.get("/config").json()
    assert before["last_error"] is None
    assert before["config"]["targets"]["high"]["gold"] == {"response": 900, "resolution": 10800}

    config_path.write_text("high: {gold: {response: -5}}")
    wait_for(lambda: client.get("/config").json()["last_error"] is not None)

    after = client.get("/config").json()
    assert after["version"] == before["version"]
    assert after["config"] == before["config"]
    assert "greater than 0" in after["last_error"]["message"]


def test_reverting_to_an_earlier_config_is_a_new_version(config_store: ConfigStore) -> None:
    first = config_store.active.version
    config_store.path.write_text(EDITED)
    config_store.reload()
    config_store.path.write_text(SEED_CONFIG)
    config_store.reload()

    assert config_store.active.version == first + 2


def test_reformatting_without_changing_meaning_keeps_the_version(config_store: ConfigStore) -> None:
    version = config_store.active.version
    config_store.path.write_text("# comment\n" + SEED_CONFIG.replace("900", "15m"))

    assert config_store.reload()
    assert config_store.active.version == version


def test_a_start_with_an_invalid_file_falls_back_to_the_newest_stored_version(
    config_store: ConfigStore, sessions: sessionmaker[Session]
) -> None:
    config_store.path.write_text("low: [")

    restarted = ConfigStore(path=config_store.path, sessions=sessions)
    active = restarted.load_initial()

    assert active.version == config_store.active.version
    assert restarted.last_error is not None


def test_a_start_with_an_invalid_file_and_nothing_stored_fails_clearly(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "sla_config.yaml"
    path.write_text("low: [")

    with pytest.raises(ConfigError, match="invalid YAML"):
        ConfigStore(path=path, sessions=sessions).load_initial()
