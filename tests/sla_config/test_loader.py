"""The config file's two forms, and the reasons an invalid file is refused."""

import re

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


NOTIFY_BASE = "low:\n  gold: {response: 60, resolution: 600}\nnotifications:\n  oncall:\n"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("    url: http://x/h\n    format: pigeon\n", "Input should be 'webhook', 'slack' or 'apprise'"),
        ("    url: not a url\n", "url must be an http:// or https:// URL"),
        ("    url: nope://x\n    format: apprise\n", "not an Apprise URL"),
        ("    url: http://x/h\n    priorities: [urgent]\n", "priorities names urgent"),
        ("    url: http://x/h\n    tiers: [platinum]\n", "tiers names platinum"),
        ("    url: http://x/h\n    secret_env: SLA_NOT_SET_ANYWHERE\n", "SLA_NOT_SET_ANYWHERE, which is not set"),
        ("    url: http://x/h\n    kinds: [page]\n", "Input should be 'alert' or 'breach'"),
        ("    url: http://x/h\n    retries: [0s]\n", "more than 0 seconds"),
        ("    url: http://x/h\n    retries: 5m\n", "retries is a list"),
        ("    url: http://x/h\n    colour: red\n", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_notifications_section_is_refused_with_its_reason(lines: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_text(NOTIFY_BASE + lines)


def test_a_signing_secret_must_be_a_standard_webhooks_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLA_BAD_SECRET", "not-base64-!!")
    with pytest.raises(ConfigError) as refused:
        parse_text(NOTIFY_BASE + "    url: http://x/h\n    secret_env: SLA_BAD_SECRET\n")
    assert "SLA_BAD_SECRET is not a signing secret" in str(refused.value)
    assert "not-base64" not in str(refused.value)


def test_notifications_and_calendars_are_reserved_names_not_priorities() -> None:
    parsed = parse_text(NOTIFY_BASE + "    url: https://hooks.example.com/sla\n    kinds: breach\n")
    assert parsed.config.priorities == ["low"]
    assert parsed.config.notifications["oncall"].kinds == ("breach",)
