"""The config in force: invalid edits never apply, versions follow meaning, a bad start falls back."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.sla_config.loader import ConfigError
from api.sla_config.store import ConfigStore
from tests.builders import EDITED, high_gold_response, wait_for
from tests.conftest import SEED_CONFIG


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param("low: [", id="bad-yaml"),
        pytest.param(SEED_CONFIG.replace("resolution: 10800", "resolution: 10800, escalation: 60"), id="unknown-key"),
        pytest.param(SEED_CONFIG.replace("response: 900", "response: -1"), id="negative-target"),
        pytest.param("alert_threshold: 2\n" + SEED_CONFIG, id="threshold-outside-0-1"),
        pytest.param("alert_threshold: true\n" + SEED_CONFIG, id="threshold-true"),
        pytest.param(SEED_CONFIG + "pause_statuses: [[pending]]\n", id="nested-pause-statuses"),
        pytest.param(SEED_CONFIG.replace("response: 900,", "response: 400000000000,"), id="target-of-12700-years"),
        pytest.param(SEED_CONFIG.replace("response: 900,", "response: 366d,"), id="target-over-365-days"),
        pytest.param(SEED_CONFIG + "x: " + "[" * 5000 + "]" * 5000 + "\n", id="5000-levels-deep"),
        pytest.param(SEED_CONFIG + "x: [" + ",".join(["1"] * 300_000) + "]\n", id="huge-list"),
        pytest.param(
            SEED_CONFIG
            + "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            + "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            + "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
            id="alias-bomb",
        ),
        pytest.param(SEED_CONFIG + "#" * 1_100_000 + "\n", id="over-1-mib"),
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


def test_a_file_that_is_not_utf8_is_refused_with_its_reason(watched: ConfigStore) -> None:
    good_version = watched.active.version
    watched.path.write_bytes(SEED_CONFIG.encode() + b"# caf\xe9\n")

    wait_for(lambda: watched.last_error is not None)
    assert watched.last_error is not None
    assert "not UTF-8" in watched.last_error.message
    assert watched.active.version == good_version


def test_the_error_clears_when_the_file_means_the_config_in_force_again(watched: ConfigStore) -> None:
    watched.path.write_text("low: [")
    wait_for(lambda: watched.last_error is not None)
    watched.path.write_text(SEED_CONFIG)
    wait_for(lambda: watched.last_error is None)


@pytest.mark.parametrize(
    "broken",
    [b"# caf\xe9\n", SEED_CONFIG.encode() + b"pause_statuses: [[pending]]\n", b"x: " + b"[" * 5000 + b"]" * 5000],
    ids=["not-utf8", "nested-pause-statuses", "deep"],
)
def test_a_process_that_starts_with_an_unreadable_file_starts_on_the_newest_stored_version(
    config_store: ConfigStore, sessions: sessionmaker[Session], broken: bytes
) -> None:
    config_store.path.write_text(EDITED)
    assert config_store.reload()
    config_store.path.write_bytes(broken)

    restarted = ConfigStore(path=config_store.path, sessions=sessions)
    restarted.load_initial()

    assert restarted.active.version == config_store.active.version
    assert high_gold_response(restarted) == 600
    assert restarted.last_error is not None
