"""The config file's two forms, and the reasons an invalid file is refused."""

import pytest

from api.sla_config.loader import ConfigError, parse_text
from tests.builders import EXTENDED
from tests.conftest import SEED_CONFIG


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
