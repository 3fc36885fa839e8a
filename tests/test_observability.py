"""What operators see from outside: Prometheus metrics by SPEC's names, and logs that carry request ids."""

import json
import math
import time
from contextlib import ExitStack
from datetime import timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from api.kit import clock, database
from bench.harness import api_process
from tests.builders import snapshot_json
from tests.conftest import SEED_CONFIG, fresh_database
from tests.receiver import running_receiver

pytestmark = pytest.mark.slow

TICKETS = [f"OBS-{number}" for number in range(3)]


@pytest.fixture(scope="module")
def observed(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str], list[str]]:
    """Run an API with JSON logs through a few requests; its /metrics text, its log lines, and request ids sent back."""
    url = fresh_database(server_url, "sla_observability_test")
    database.migrate(url)
    folder = tmp_path_factory.mktemp("observability")
    log = folder / "api.log"
    with running_receiver() as receiver, ExitStack() as stack:
        # Every event also goes to a webhook receiver, so the delivery metrics have samples to show.
        config = folder / "sla_config.yaml"
        config.write_text(f"{SEED_CONFIG}\nnotifications:\n  oncall:\n    url: {receiver.url()}\n")
        api = stack.enter_context(
            api_process(
                url, log=log, SLA_LOG_FORMAT="json", SLA_LEADER_RETRY_SECONDS="0.2", SLA_CONFIG_PATH=str(config)
            )
        )
        created = clock.utc_now() - timedelta(hours=5)
        batch = [snapshot_json(ticket_id, created_at=created) for ticket_id in TICKETS]
        answered = requests.post(
            f"{api.base}/tickets", json=batch, headers={"X-Request-ID": "trace-post-1"}, timeout=10
        )
        assert answered.status_code == 200
        assert requests.post(f"{api.base}/tickets", json=[{"id": "OBS-bad"}], timeout=10).status_code == 422
        made_up = requests.get(f"{api.base}/tickets/{TICKETS[0]}", timeout=10).headers["x-request-id"]
        deadline = time.monotonic() + 20
        while len(requests.get(f"{api.base}/alerts", timeout=10).json()["items"]) < 4 * len(TICKETS):
            assert time.monotonic() < deadline, "the evaluator recorded nothing"
            time.sleep(0.1)
        receiver.wait_for(4 * len(TICKETS), timeout=20)
        deadline = time.monotonic() + 10
        # Counted when each attempt ends, and no longer pending once its outcome is committed.
        counted = f'sla_notification_deliveries_total{{destination="oncall",result="delivered"}} {4 * len(TICKETS)}.0'
        while True:
            text = requests.get(f"{api.base}/metrics", timeout=10).text
            if counted in text and "\nsla_notification_pending 0.0\n" in text:
                break
            assert time.monotonic() < deadline, "the deliveries were not all counted and settled"
            time.sleep(0.1)
    return text, log.read_text().splitlines(), ["trace-post-1", made_up]


def samples(text: str) -> dict[str, list[Sample]]:
    """Every family of the exposition by name, as the Prometheus client's own parser reads it."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(found: list[Sample], name: str, **labels: str) -> float:
    """The value of the one sample `name` with these labels."""
    [match] = [s for s in found if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return match.value


def test_metrics_carry_the_spec_names_and_labels(observed: tuple[str, list[str], list[str]]) -> None:
    families = samples(observed[0])
    assert value(families["sla_snapshots"], "sla_snapshots_total", outcome="created") == len(TICKETS)
    assert value(families["sla_snapshot_batches_rejected"], "sla_snapshot_batches_rejected_total") == 1
    for kind in ("alert", "breach"):
        for clock_name in ("response", "resolution"):
            events = value(families["sla_events"], "sla_events_total", kind=kind, clock=clock_name)
            assert events == len(TICKETS)
    delays = families["sla_event_delay_seconds"]
    assert value(delays, "sla_event_delay_seconds_count") == 4 * len(TICKETS)
    # Due hours before they were posted: each recorded within the +Inf bucket only, above an hour late.
    assert value(delays, "sla_event_delay_seconds_bucket", le="3600.0") == 0
    assert value(families["sla_evaluator_leader"], "sla_evaluator_leader") == 1
    assert value(families["sla_evaluator_pass_seconds"], "sla_evaluator_pass_seconds_count") >= 1
    assert math.isnan(value(families["sla_next_due_seconds"], "sla_next_due_seconds"))  # all four clocks are past
    assert value(families["sla_config_version"], "sla_config_version") == 1
    assert value(families["sla_config_reloads"], "sla_config_reloads_total", result="applied") == 1
    assert value(families["sla_notification_pending"], "sla_notification_pending") == 0
    deliveries = families["sla_notification_deliveries"]
    assert value(deliveries, "sla_notification_deliveries_total", destination="oncall", result="delivered") == 4 * len(
        TICKETS
    )
    assert value(families["sla_notification_oldest_pending_seconds"], "sla_notification_oldest_pending_seconds") == 0
    http = families["sla_http_requests"]
    assert value(http, "sla_http_requests_total", handler="/tickets/{ticket_id:path}", method="GET", status="200") == 1
    assert value(http, "sla_http_requests_total", handler="/tickets", method="POST", status="422") == 1
    durations = families["sla_http_request_duration_seconds"]
    assert value(durations, "sla_http_request_duration_seconds_count", handler="/tickets", method="POST") == 2


def test_no_ticket_id_is_ever_a_label(observed: tuple[str, list[str], list[str]]) -> None:
    labels = {v for found in samples(observed[0]).values() for sample in found for v in sample.labels.values()}
    assert labels
    assert [label for label in labels if "OBS-" in label] == []


def test_json_logs_are_one_object_a_line_and_carry_the_request_id(observed: tuple[str, list[str], list[str]]) -> None:
    _, lines, request_ids = observed
    records = [json.loads(line) for line in lines if line.strip()]
    assert len(records) > 5
    assert all({"time", "level", "logger", "message", "request_id"} <= set(record) for record in records)
    for request_id in request_ids:
        carrying = [record for record in records if record["request_id"] == request_id]
        assert carrying, request_id
        assert any(record["logger"] == "uvicorn.access" for record in carrying)
    assert any("SLA config version 1 in force" in record["message"] for record in records)
